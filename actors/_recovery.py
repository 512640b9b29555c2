"""Opening an arena: check the options, recover an existing one from its store, start its supervisor.

Recovery reads the store on a connection of its own, in the caller's thread, and closes it before the
event writer opens the store for writing in its thread: SQLite connections belong to the thread that
opened them, and a store has one writer. An in-memory arena gets a named in-memory database of its own,
so that a replay can open a reader on it just as it would on a file.
"""

from __future__ import annotations

import logging
import random
import uuid
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, get_args

from events import ArenaOpened, StoreError, ValidationError, money
from store import SQLiteEventStore

from ._checks import float_arg, int_arg
from ._client import ArenaClient
from ._clock import Clock, SystemClock
from ._messages import AgentFailurePolicy, OpenArena
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


def recover(path: str | os.PathLike[str], *, synchronous: Synchronous) -> Recovered | None:
    """Return what the store at ``path`` holds, or None if it holds no events yet (a new arena).

    Raises:
        StoreError: the file is not an Arena store, is damaged, or cannot be opened.

    """
    with SQLiteEventStore.open(path, synchronous=synchronous) as store:
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
    logger.info("recovered arena %s at seq %d from %s", state.arena_id, state.seq, path)
    return Recovered(state=state, funding=opened.total_capital)


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
    return SupervisorConfig(
        seed=int_arg(seed, "seed", optional=True),
        snapshot_every=int_arg(snapshot_every, "snapshot_every", minimum=1, optional=True),
        high_water=int_arg(high_water, "high_water", minimum=1) or 1,
        on_agent_failure=on_agent_failure,  # type: ignore[arg-type]  # checked against the Literal above
        strategy_factory=strategy_factory,
        max_batch=int_arg(max_batch, "max_batch", minimum=1) or 1,
        max_delay=float_arg(max_delay, "max_delay"),
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
) -> ArenaClient:
    """Recover or fund the arena, start its supervisor (which starts the writer) and flush once.

    Flushing surfaces a store the writer cannot open here, rather than at the first command, and makes
    ``ArenaOpened`` durable. If anything fails, every actor started is stopped again before the error is
    raised.
    """
    if sink_factory is not None and path is not None:
        msg = (
            f"sink_factory: given together with path {str(path)!r}; pass one of them (path=None with a sink)"
        )
        raise ValidationError(msg, field="sink_factory", value=sink_factory)
    recovered = recover(path, synchronous=synchronous) if path is not None else None
    funding = check_funding(total_capital, recovered, path)
    factory, open_reader = _store_openers(path, synchronous=synchronous, sink_factory=sink_factory)
    supervisor = ArenaSupervisor.start(
        factory,
        state=recovered.state if recovered is not None else None,
        config=config,
        clock=clock if clock is not None else SystemClock(),
        ids=ids,
    )
    sink_name = getattr(sink_factory, "__name__", type(sink_factory).__name__)
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
            }
            client.ask(OpenArena(arena_id_for(config.seed), funding, tuple(options.items())))
            client.flush()
    except BaseException:
        client.stop()
        raise
    return client


def _store_openers(
    path: str | os.PathLike[str] | None,
    *,
    synchronous: Synchronous,
    sink_factory: Callable[[], EventSink] | None,
) -> tuple[Callable[[], EventSink], Callable[[], SQLiteEventStore] | None]:
    """Return how the writer opens the arena's sink, and how a replay opens a reader on it (if it can)."""
    if sink_factory is not None:
        return sink_factory, None
    if path is not None:
        return (
            partial(SQLiteEventStore.open, path, synchronous=synchronous),
            partial(SQLiteEventStore.open, path, readonly=True),
        )
    name = f"arena-{uuid.uuid4().hex}"  # private to this arena, so two in-memory arenas never share one
    return (
        partial(SQLiteEventStore.open, None, memory_name=name),
        partial(SQLiteEventStore.open, None, memory_name=name, readonly=True),
    )
