"""Opening an arena: check the options, recover an existing one from its store, start its supervisor.

Recovery reads the store on a connection of its own, in the caller's thread, and closes it before the
event writer opens the store for writing in its thread: SQLite connections belong to the thread that
opened them. An in-memory arena gets a named in-memory database of its own, so that a replay can open a
reader on it just as it would on a file.

One writer per file, for the arena's whole life. Recovery opens the store as a writer, which takes the
file's writer lock (``store.WriterLock``) before anything is read, and closes it with ``hand_over()``,
keeping the lock held; the writer's store adopts that lock (``SQLiteEventStore.open(path, lock=...)``)
and releases it when the writer closes it, after the arena's last commit. So from before recovery to
after the writer has closed, no other process (and no other arena of this process) can write the file;
a second ``Arena.open`` on it is refused at once, naming the holder's pid. Until the writer's thread
has opened the store, the lock belongs to ``start``, which releases it if the arena fails to start.

No half-made files: a refused ``Arena.open`` leaves nothing behind. Options are checked before the store
is touched; a new store that ``start`` created is removed again if the arena then fails to start (a
missing or bad ``total_capital``, a writer that cannot open it) while its log is still empty.
"""

from __future__ import annotations

import logging
import random
import uuid
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, get_args

from events import ArenaError, ArenaOpened, Fold, StoreError, ValidationError, format_money, money
from store import SQLiteEventStore, WriterLock, remove_store
from trading import BUILTIN_STRATEGIES, MIN_TRADE_NOTIONAL, PerformanceBook, Strategies

from ._checks import float_arg, int_arg
from ._client import ArenaClient
from ._clock import Clock, SystemClock
from ._messages import AgentFailurePolicy, OpenArena
from ._pooled import MAX_WORKERS
from ._supervisor import ArenaSupervisor, SupervisorConfig

if TYPE_CHECKING:
    import os
    from collections.abc import Callable
    from decimal import Decimal

    from events import ArenaState
    from store import Synchronous

    from ._agent import StrategyFactory
    from ._ids import IdGenerator
    from ._sink import EventSink

__all__ = [
    "Recovered",
    "arena_id_for",
    "check_funding",
    "recover",
    "start",
    "supervisor_config",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Recovered:
    """What reopening needs from an existing store."""

    state: ArenaState
    """The state at the head: latest snapshot plus the tail."""
    funding: Decimal
    """``total_capital`` of its ``ArenaOpened``."""
    book: PerformanceBook
    """Every live agent's performance, folded from the whole log (as the live arena kept it)."""


def recover(
    path: str | os.PathLike[str], *, synchronous: Synchronous, accept_loss: bool = False
) -> tuple[Recovered | None, WriterLock]:
    """Return what the store at ``path`` holds (None if no events yet: a new arena) and its writer lock.

    The lock is held: pass it to the writer's ``SQLiteEventStore.open(path, lock=...)``, or release it.

    Raises:
        StoreError: another writer holds the file; its log lost acknowledged events (and ``accept_loss``
            is False); the file is not an Arena store, is damaged, or cannot be opened.

    """
    store = SQLiteEventStore.open(path, synchronous=synchronous, accept_loss=accept_loss)
    try:
        recovered = _recovered(store, path)
    except BaseException:
        store.close()
        raise
    lock = store.hand_over()
    if recovered is not None:
        state = recovered.state
        logger.info("recovered arena %s at seq %d from %s", state.arena_id, state.seq, path)
    return recovered, lock


def _recovered(store: SQLiteEventStore, path: str | os.PathLike[str]) -> Recovered | None:
    if store.head().seq == 0:
        return None
    state = store.load_state()
    opened = next(iter(store.read(to_seq=1)), None)
    if not isinstance(opened, ArenaOpened):
        msg = (
            f"store {str(path)!r}: its first event is not ArenaOpened; the file was not written by an "
            "arena; pass the path of an Arena store or a new path"
        )
        raise StoreError(msg, path=str(path), seq=1)
    return Recovered(state=state, funding=opened.total_capital, book=_book(store, opened))


def _book(store: SQLiteEventStore, opened: ArenaOpened) -> PerformanceBook:
    """Fold the whole log into a performance book under the floor the arena was opened with.

    The book is a function of the log alone, so this gives exactly the book the arena had when it
    stopped: a resumed run judges its agents on the same evidence an uninterrupted one would. O(events).
    """
    recorded = opened.config.get("min_trade_notional")
    floor = MIN_TRADE_NOTIONAL if recorded is None else money(str(recorded), field="min_trade_notional")
    book, working = PerformanceBook(min_trade_notional=floor), Fold()
    for event in store.read():
        working.apply(event)
        book.observe(event, working)
    return book


def check_floor(min_trade_notional: Decimal | None, recovered: Recovered | None) -> None:
    """Refuse a reopen with another evidence floor than the one the arena's book was kept with.

    Raises:
        ValidationError: ``min_trade_notional`` was given and differs from the recorded one.

    """
    if recovered is None or min_trade_notional is None:
        return
    recorded = recovered.book.min_trade_notional
    if min_trade_notional != recorded:
        msg = (
            f"min_trade_notional: {format_money(min_trade_notional)} differs from {format_money(recorded)}, "
            "the floor this arena's evidence was counted against; omit it when reopening"
        )
        raise ValidationError(msg, field="min_trade_notional", value=min_trade_notional)


def check_funding(total_capital: object, recovered: Recovered | None, path: object) -> Decimal | None:
    """Return the funding of a new arena; for a reopened one, check ``total_capital`` agrees with it.

    Raises:
        ValidationError: a new arena has no ``total_capital``, or it is not an exact positive amount, or a
            reopened arena was funded with a different amount.

    """
    if recovered is None:
        if total_capital is None:
            msg = (
                "total_capital: a new arena needs its funding; pass total_capital=Decimal(...) "
                "(it may be omitted only when reopening an existing store)"
            )
            raise ValidationError(msg, field="total_capital", value=None)
        return money(total_capital, field="total_capital", allow_zero=False)
    if total_capital is not None:
        given = money(total_capital, field="total_capital", allow_zero=False)
        if given != recovered.funding:
            msg = (
                f"total_capital: {given} differs from the {recovered.funding} that the arena at "
                f"{str(path)!r} was opened with; omit total_capital when reopening, or pass the same amount"
            )
            raise ValidationError(msg, field="total_capital", value=total_capital)
    return None


def supervisor_config(
    *,
    synchronous: object,
    snapshot_every: object,
    high_water: object,
    seed: object,
    on_agent_failure: object,
    strategy_factory: StrategyFactory | None,
    max_batch: object,
    max_delay: object,
    clock: object,
    strategies: object = None,
    min_trade_notional: object = None,
    agent_workers: object = None,
) -> SupervisorConfig:
    """Check ``Arena.open``'s options and return the supervisor's configuration.

    Raises:
        ValidationError: an option is of the wrong type or out of range, named in the message.

    """
    if synchronous not in {"normal", "full"}:
        msg = f"synchronous: {synchronous!r} is not a mode; pass 'normal' or 'full'"
        raise ValidationError(msg, field="synchronous", value=synchronous)
    if on_agent_failure not in get_args(AgentFailurePolicy):
        msg = f"on_agent_failure: {on_agent_failure!r} is not a policy; pass 'kill' or 'restart'"
        raise ValidationError(msg, field="on_agent_failure", value=on_agent_failure)
    if clock is not None and not isinstance(clock, Clock):
        msg = f"clock: {clock!r} has no now() method; pass SystemClock(), SimClock() or None"
        raise ValidationError(msg, field="clock", value=clock)
    if strategy_factory is not None and not callable(strategy_factory):
        msg = f"strategy_factory: {strategy_factory!r} is not callable; pass a function of a Genome, or None"
        raise ValidationError(msg, field="strategy_factory", value=strategy_factory)
    if strategies is not None and not isinstance(strategies, Strategies):
        msg = (
            f"strategies: {strategies!r} is not a Strategies registry; "
            "pass Strategies(StrategySpec(...), ...), or None for the built-in strategies"
        )
        raise ValidationError(msg, field="strategies", value=strategies)
    return SupervisorConfig(
        seed=int_arg(seed, "seed", optional=True),
        snapshot_every=int_arg(snapshot_every, "snapshot_every", minimum=1, optional=True),
        high_water=int_arg(high_water, "high_water", minimum=1) or 1,
        on_agent_failure=on_agent_failure,  # type: ignore[arg-type]  # checked against the Literal above
        strategy_factory=strategy_factory,
        strategies=BUILTIN_STRATEGIES if strategies is None else strategies,
        max_batch=int_arg(max_batch, "max_batch", minimum=1) or 1,
        max_delay=float_arg(max_delay, "max_delay"),
        min_trade_notional=(
            None if min_trade_notional is None else money(min_trade_notional, field="min_trade_notional")
        ),
        agent_workers=int_arg(agent_workers, "agent_workers", minimum=1, maximum=MAX_WORKERS, optional=True),
    )


def arena_id_for(seed: int | None) -> str:
    """Return a new arena's id: random, or drawn from ``seed`` so a seeded run is byte-identical."""
    if seed is None:
        return str(uuid.uuid4())
    rng = random.Random(f"arena-id/{seed}")  # noqa: S311  (an id, not a secret)
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def start(
    path: str | os.PathLike[str] | None,
    *,
    total_capital: object,
    synchronous: Synchronous,
    config: SupervisorConfig,
    clock: Clock | None,
    ids: IdGenerator | None,
    sink_factory: Callable[[], EventSink] | None,
    accept_loss: bool = False,
) -> ArenaClient:
    """Recover or fund the arena, start its supervisor (which starts the writer) and flush once.

    Flushing surfaces a store the writer cannot open here, rather than at the first command, and makes
    ``ArenaOpened`` durable. If anything fails, every actor started is stopped again, the writer lock is
    released and a store created here is removed (module docstring) before the error is raised.

    The accept_loss option reopens a store whose log lost acknowledged events (as in
    ``SQLiteEventStore.open``); the other arguments are ``Arena.open``'s, checked already.
    """
    if sink_factory is not None and path is not None:
        msg = (
            f"sink_factory: given together with path {str(path)!r}; pass one of them (path=None with a sink)"
        )
        raise ValidationError(msg, field="sink_factory", value=sink_factory)
    launch = partial(_launch, synchronous=synchronous, config=config, clock=clock, ids=ids)
    if path is None:
        funding = check_funding(total_capital, None, None)
        if sink_factory is not None:
            name = getattr(sink_factory, "__name__", type(sink_factory).__name__)
            return launch(sink_factory, None, recovered=None, funding=funding, sink_name=name)
        memory = f"arena-{uuid.uuid4().hex}"  # private to this arena, so two in-memory arenas never share one
        return launch(
            partial(SQLiteEventStore.open, None, memory_name=memory),
            partial(SQLiteEventStore.open, None, memory_name=memory, readonly=True),
            recovered=None,
            funding=funding,
        )
    created = not Path(path).exists()
    try:
        recovered, lock = recover(path, synchronous=synchronous, accept_loss=accept_loss)
    except BaseException:
        if created and Path(path).exists():
            _forget(path, None)  # e.g. the disk filled up while the schema was created
        raise
    writer = _WriterOpener(path, synchronous=synchronous, lock=lock)
    try:
        funding = check_funding(total_capital, recovered, path)
        check_floor(config.min_trade_notional, recovered)
        return launch(
            writer,
            partial(SQLiteEventStore.open, path, readonly=True),
            recovered=recovered,
            funding=funding,
        )
    except BaseException:
        if writer.called:  # the writer's store adopted the lock, and released it as the writer stopped
            if created:
                _forget(path, None)
        else:
            if created:
                _forget(path, lock)
            lock.release()
        raise


class _WriterOpener:
    """Opens the writer's store with the lock recovery handed over; remembers whether it was called.

    Called in the writer's thread. From that call on the store owns the lock (it releases it when it
    closes, or at once if opening fails), so ``start`` releases it only if the call never came.
    """

    def __init__(self, path: str | os.PathLike[str], *, synchronous: Synchronous, lock: WriterLock) -> None:
        self.path = path
        self._synchronous: Synchronous = synchronous
        self._lock = lock
        self.called = False

    def __call__(self) -> SQLiteEventStore:
        self.called = True
        return SQLiteEventStore.open(self.path, synchronous=self._synchronous, lock=self._lock)


def _launch(
    factory: Callable[[], EventSink],
    open_reader: Callable[[], SQLiteEventStore] | None,
    *,
    recovered: Recovered | None,
    funding: Decimal | None,
    synchronous: Synchronous,
    config: SupervisorConfig,
    clock: Clock | None,
    ids: IdGenerator | None,
    sink_name: str = "sink",
) -> ArenaClient:
    """Start the supervisor on ``factory``, flush once, and open the arena if it is new."""
    supervisor = ArenaSupervisor.start(
        factory,
        state=recovered.state if recovered is not None else None,
        book=recovered.book if recovered is not None else None,
        config=config,
        clock=clock if clock is not None else SystemClock(),
        ids=ids,
    )
    client = ArenaClient(supervisor, open_reader=open_reader, sink_name=sink_name)
    try:
        client.flush()  # a store the writer cannot open fails here, with the writer's own words
        if funding is not None:
            options: dict[str, str | int | float | bool | None] = {
                "synchronous": synchronous,
                "snapshot_every": config.snapshot_every,
                "high_water": config.high_water,
                "seed": config.seed,
                "on_agent_failure": config.on_agent_failure,
                "max_batch": config.max_batch,
                "max_delay": config.max_delay,
                "clock": type(clock).__name__ if clock is not None else "SystemClock",
                "min_trade_notional": format_money(config.min_trade_notional or MIN_TRADE_NOTIONAL),
            }
            client.ask(OpenArena(arena_id_for(config.seed), funding, tuple(options.items())))
            client.flush()
    except BaseException:
        client.stop()
        raise
    return client


def _forget(path: str | os.PathLike[str], lock: WriterLock | None) -> None:
    """Remove a store this failed ``Arena.open`` created, if its log is still empty; never raise.

    ``lock`` is the writer lock when the caller still holds it; otherwise it is taken here, so a store
    another writer opened in the meantime is left alone.
    """
    try:
        held = lock if lock is not None else WriterLock.acquire(path)
    except StoreError as e:  # another writer has it now: it is theirs
        logger.debug("arena: leaving %s to the writer that holds it: %s", str(path), e)
        return
    try:
        with SQLiteEventStore.open(path, readonly=True) as store:
            empty = store.head().seq == 0
        if empty:
            remove_store(path, lock=held)
    except ArenaError as e:
        logger.warning("arena: the store %s made by a failed open is left behind: %s", str(path), e)
    finally:
        if lock is None:
            held.release()
