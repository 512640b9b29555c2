"""``Arena``: the synchronous API, callable from any thread, as a thin facade over the actors.

Each method checks its arguments in the caller's thread, sends one typed command to the supervisor and
waits (with a timeout) for the answer; a refused command raises its ``ArenaError`` here, in the caller's
thread. Many threads may call one arena at once: their commands queue in the supervisor's mailbox and
run one at a time, which is what makes every command atomic without a lock.

Durability: a command's events are in the live state when the call returns, and durable after the next
``flush()`` (which ``close()`` and ``replay_events()`` do); with ``synchronous="full"`` what ``flush()``
acknowledged survives power loss too.

Exit: every actor runs on a daemon thread, so a script that forgets ``close()`` still exits; an exit
hook closes every arena still open first (flushing it), so nothing it answered is lost either.
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, TypeVar

from events import ArenaError, UserEvent, ValidationError, user_event_fields
from trading import BUILTIN_STRATEGIES, BrokerConfig, EvolutionPolicy, check_selection

from ._checks import (
    agent_id_arg,
    allocations_arg,
    amount_arg,
    broker_arg,
    event_types_arg,
    genome_arg,
    int_arg,
    marks_arg,
    metrics_arg,
    policy_arg,
    reason_arg,
    tier_arg,
)
from ._client import LogFilter
from ._floor import TradingFloor
from ._frames import frame as log_frame
from ._messages import (
    AllocateCapital,
    CheckConservation,
    Demote,
    Emigrate,
    GetBreakdown,
    GetCycle,
    GetEquity,
    GetHead,
    GetNav,
    GetState,
    Graduate,
    Immigrate,
    KillAgent,
    KillUnderperformers,
    MutateAgent,
    Record,
    ReleaseCapital,
    RunEvolutionCycle,
    SpawnAgent,
    SpawnAgents,
    Subscribe,
)
from ._migration import emigrants_arg, island_arg
from ._recovery import start, supervisor_config
from ._subscriptions import DEFAULT_MAX_PENDING, new_subscription
from ._timeouts import ASK_TIMEOUT, FLUSH_TIMEOUT

if TYPE_CHECKING:
    import os
    from collections.abc import Callable, Iterable, Iterator, Mapping
    from decimal import Decimal
    from types import TracebackType
    from typing import Self

    import pandas as pd

    from events import AgentDemoted, AgentGraduated, AnyEvent, ArenaState, CapitalAllocated, Tier
    from store import Head, Synchronous
    from trading import AgentMetrics, Genome, Strategies

    from ._agent import StrategyFactory
    from ._client import ArenaClient
    from ._clock import Clock
    from ._frames import MoneyMode
    from ._ids import IdGenerator
    from ._messages import AgentFailurePolicy
    from ._migration import Emigrant
    from ._reports import AllocationBreakdown, ConservationReport, CycleReport
    from ._sink import EventSink
    from ._subscriptions import Subscription

__all__ = ["Arena"]

U = TypeVar("U", bound=UserEvent)

logger = logging.getLogger(__name__)


def _flag(value: object, field: str) -> bool:
    if not isinstance(value, bool):
        msg = f"{field}: {value!r} is not a flag; pass True or False"
        raise ValidationError(msg, field=field, value=value)
    return value


_OPEN: set[Arena] = set()
"""Arenas not closed yet, for the exit hook; held strongly, as their running actors are."""


@atexit.register
def _close_forgotten() -> None:
    """Close (and so flush) every arena its caller never closed, as the interpreter exits."""
    for arena in list(_OPEN):
        try:
            arena.close()
        except ArenaError:
            logger.exception("arena: closing a forgotten arena at exit failed")


MAX_SPAWN: Final = 1_000_000
"""Most agents one ``spawn_agents`` call adds: one command, so one bounded message and answer."""


class Arena:
    """A running arena: its supervisor, event writer and agents. Open one with ``Arena.open``.

    Use it as a context manager, or call ``close()``. Every method is safe to call from any thread. Every
    refused command raises an ``ArenaError`` subclass with its context as attributes and changes nothing,
    except over-allocation, which records ``AllocationRejected`` before raising ``AllocationError``.
    """

    def __init__(
        self,
        client: ArenaClient,
        *,
        path: str | os.PathLike[str] | None,
        strategies: Strategies = BUILTIN_STRATEGIES,
    ) -> None:
        """Wrap a started arena; call ``Arena.open`` instead."""
        self._client = client
        self._floor = TradingFloor(client)
        self._path = path
        self._strategies = strategies
        self._closing = threading.Lock()  # close() is idempotent across threads; no domain state here
        _OPEN.add(self)

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str] | None,
        *,
        total_capital: Decimal | int | str | None = None,
        synchronous: Synchronous = "normal",
        snapshot_every: int | None = 10_000,
        high_water: int = 100_000,
        seed: int | None = None,
        clock: Clock | None = None,
        ids: IdGenerator | None = None,
        on_agent_failure: AgentFailurePolicy = "kill",
        strategy_factory: StrategyFactory | None = None,
        strategies: Strategies | None = None,
        min_trade_notional: Decimal | int | str | None = None,
        max_batch: int = 1000,
        max_delay: float = 0.05,
        sink_factory: Callable[[], EventSink] | None = None,
        accept_loss: bool = False,
        agent_workers: int | None = None,
    ) -> Arena:
        """Create a new arena, or recover an existing one from its store and continue its log gaplessly.

        Args:
            path: The store file; ``None`` for an in-memory store (tests, embedding).
            total_capital: Funding of a new arena (emits ``ArenaOpened``). When reopening, omit it or pass
                the amount the arena was opened with.
            synchronous: ``"normal"`` survives a process crash; ``"full"`` makes every flushed batch
                survive power loss (one fsync per commit).
            snapshot_every: Store a state snapshot every this many events (in the same transaction), so
                reopening folds at most this many; None for no snapshots. An arena of more than half as
                many agents snapshots every twice its agents instead (a snapshot costs in proportion to
                the agents: ``actors/_backlog.py``'s ``snapshot_interval``).
            high_water: Most events submitted but not yet durable before a command waits for the disk.
            seed: Seeds agent genomes, mutations and event ids; with a ``SimClock`` the same seed and
                commands give a byte-identical log.
            clock: Stamps events; ``SystemClock()`` by default, ``SimClock()`` for simulations.
            ids: Agent and event ids; sequential ids (``a-000001``) continuing the log by default.
            on_agent_failure: ``"kill"`` (default) kills an agent whose strategy raises and releases its
                capital; ``"restart"`` starts it again from its genome, up to ``MAX_RESTARTS`` (3) times,
                then kills it.
            strategy_factory: Builds each agent's strategy from its genome; ``strategies.build`` by default.
            strategies: The strategies the arena spawns, breeds and builds (``Strategies``);
                ``BUILTIN_STRATEGIES`` by default. Reopen an arena with the registry it was run with: a
                stored genome of a strategy the registry lacks starts no actor and cannot be bred.
            min_trade_notional: The smallest fill (quantity times price) that counts as evidence and
                ends an idle spell in the performance book evolution judges; recorded in a new arena's
                ``ArenaOpened`` config. None: ``MIN_TRADE_NOTIONAL`` for a new arena, the recorded one
                for a reopened arena (another value is refused there).
            max_batch: The writer commits once this many events are buffered.
            max_delay: The writer commits once the oldest buffered event waited this many seconds.
            sink_factory: Replaces the SQLite store (benchmarks use ``NullSink``); ``path`` must be None,
                and ``replay_events`` is unavailable.
            accept_loss: Reopen a store whose log lost events a flush had acknowledged (its receipt says
                how many), continuing from what is left; refused by default.
            agent_workers: Threads the agent actors share (each agent is an actor with its own mailbox,
                run on this pool); None for ``default_workers()``: the cores, from 2 to 4.

        Raises:
            ValidationError: an option is malformed, or ``total_capital`` is missing for a new arena or
                differs from a reopened one's.
            StoreError: the store cannot be opened or is not an Arena store.

        """
        config = supervisor_config(
            synchronous=synchronous,
            snapshot_every=snapshot_every,
            high_water=high_water,
            seed=seed,
            on_agent_failure=on_agent_failure,
            strategy_factory=strategy_factory,
            max_batch=max_batch,
            max_delay=max_delay,
            clock=clock,
            strategies=strategies,
            min_trade_notional=min_trade_notional,
            agent_workers=agent_workers,
        )
        client = start(
            path,
            total_capital=total_capital,
            synchronous=synchronous,
            config=config,
            clock=clock,
            ids=ids,
            sink_factory=sink_factory,
            accept_loss=_flag(accept_loss, "accept_loss"),
        )
        return cls(client, path=path, strategies=config.strategies)

    # --- lifecycle ------------------------------------------------------------------------------------

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        try:
            self.close()
        except ArenaError:
            if error is None:
                raise
            logger.exception("arena: closing after %r also failed", error)

    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called."""
        return self._client.closed

    @property
    def floor(self) -> TradingFloor:
        """The driver's side of the arena: agents' actors and metrics, their accounts, fills and time."""
        return self._floor

    @property
    def path(self) -> str | os.PathLike[str] | None:
        """The store file, or None for an in-memory or null store."""
        return self._path

    @property
    def strategies(self) -> Strategies:
        """The strategies this arena spawns, breeds and builds (immutable)."""
        return self._strategies

    def close(self) -> None:
        """Flush, then stop the agents, the supervisor and the writer, in that order; idempotent.

        An atomic block still open (``floor.atomic()`` left by an exception or an interrupt) is
        discarded, never committed, with a warning saying how many events: the store ends at the last
        complete block, and every later call's error names the discarded block.

        Raises:
            EventSourcingError: the final flush failed (the writer had failed); every actor is stopped
                anyway, and the store holds everything flushed before.

        """
        with self._closing:
            if self._client.closed:
                return
            try:
                # a supervisor that stopped has had its writer commit everything as it stopped
                if self._client.supervisor.is_alive():
                    self._client.flush()
            finally:
                self._client.closed = True
                self._client.stop()
                _OPEN.discard(self)

    def flush(self) -> Head:
        """Wait until every event of every command answered so far is durable; return the durable head.

        While an atomic block is open (``floor.atomic()``), its events are not made durable: the answer is
        the head before the block, which becomes durable whole when it ends.

        Raises:
            EventSourcingError: the writer failed; the message names the cause and the last durable seq.

        """
        return self._client.flush()

    def head(self) -> Head:
        """Return the seq and chain hash of the last event applied (durable after ``flush()``)."""
        head: Head = self._ask(GetHead())
        return head

    def cycle(self) -> int:
        """Return the number of the last evolution cycle started (0 before any), without copying the state.

        One supervisor round trip: cheap enough for a driver's ``stop`` to ask after every step (a
        ``state()`` copies every agent's record: 6 ms at 200 agents).
        """
        cycle: int = self._ask(GetCycle())
        return cycle

    def state(self) -> ArenaState:
        """Return an immutable copy of the arena's state as of the last command."""
        state: ArenaState = self._ask(GetState())
        return state

    # --- agents ---------------------------------------------------------------------------------------

    def spawn_agent(self, genome: Genome | None = None, *, tier: Tier | str = "simulation") -> str:
        """Add an agent with no capital and start its actor; return its id.

        Args:
            genome: Its strategy and parameters; None draws one of the arena's strategies from its
                seeded rng.
            tier: The tier it starts in.

        Raises:
            ValidationError: the genome's strategy is not one of the arena's ``strategies``, or its
                parameters do not fit that strategy's space; nothing is emitted.

        """
        agent_id: str = self._ask(SpawnAgent(genome_arg(genome), tier_arg(tier)))
        return agent_id

    def spawn_agents(
        self, genomes: int | Sequence[Genome | None], *, tier: Tier | str = "simulation"
    ) -> tuple[str, ...]:
        """Add many agents in one command, in order; return their ids.

        The events and ids are exactly those of calling ``spawn_agent`` once per genome, without a round
        trip each: what a stress test or a population of 10^4-10^5 agents needs.

        Args:
            genomes: One genome per agent (None draws one from the seeded rng), or how many to draw.
            tier: The tier every one starts in.

        Raises:
            ValidationError: ``genomes`` is neither a count from 0 to 1,000,000 nor a sequence of
                genomes, or a genome does not fit the arena's strategies (its index named); nothing
                was spawned.

        """
        if isinstance(genomes, int) and not isinstance(genomes, bool):
            count = int_arg(genomes, "genomes", minimum=0, maximum=MAX_SPAWN) or 0
            wanted: tuple[Genome | None, ...] = (None,) * count
        elif isinstance(genomes, Sequence) and not isinstance(genomes, str | bytes):
            wanted = tuple(genome_arg(genome) for genome in genomes)
            int_arg(len(wanted), "len(genomes)", minimum=0, maximum=MAX_SPAWN)
        else:
            msg = (
                f"spawn_agents: genomes must be a count or a sequence of genomes, got {genomes!r}; "
                "pass a count such as 100, or a list of genomes"
            )
            raise ValidationError(msg, field="genomes", value=genomes)
        agent_ids: tuple[str, ...] = self._ask(SpawnAgents(wanted, tier_arg(tier)), timeout=FLUSH_TIMEOUT)
        return agent_ids

    def kill_agent(
        self,
        agent_id: str,
        reason: str,
        *,
        marks: Mapping[str, Decimal] | None = None,
        broker: BrokerConfig | None = None,
    ) -> Decimal:
        """Kill an agent, then sell its holdings; return what went back to the treasury.

        ``AgentKilled`` returns its cash; its holdings are then sold through ``broker`` (slippage and fees)
        at ``marks`` where given, else at the latest recorded marks, and one ``CapitalReleased`` returns
        the proceeds, each ``caused_by`` the kill. Nothing of value is ever written off.

        Raises:
            UnknownAgentError: no such agent.
            AgentNotAliveError: the agent was killed already.
            ValidationError: a holding has no price, given or recorded; nothing changed.

        """
        released: Decimal = self._ask(
            KillAgent(agent_id_arg(agent_id), reason_arg(reason), marks_arg(marks), broker_arg(broker))
        )
        return released

    def graduate_to_proving(self, agent_id: str, *, reason: str = "promoted by the caller") -> AgentGraduated:
        """Promote a ``simulation`` agent to ``proving``, recording ``reason`` in the ``AgentGraduated``.

        Raises:
            ValidationError: ``reason`` is empty or longer than 1000 characters.
            GraduationError: the agent is not in ``simulation``; nothing changed.

        """
        return self._graduate(agent_id, "proving", reason)

    def graduate_to_arena(self, agent_id: str, *, reason: str = "promoted by the caller") -> AgentGraduated:
        """Promote a ``proving`` agent to ``arena``, recording ``reason`` in the ``AgentGraduated``.

        Raises:
            ValidationError: ``reason`` is empty or longer than 1000 characters.
            GraduationError: the agent is not in ``proving``; nothing changed.

        """
        return self._graduate(agent_id, "arena", reason)

    def demote(self, agent_id: str, *, reason: str = "demoted by the caller") -> AgentDemoted:
        """Move an agent one tier down (arena -> proving -> simulation), recording ``reason``.

        Raises:
            ValidationError: ``reason`` is empty or longer than 1000 characters.
            UnknownAgentError, AgentNotAliveError: no live agent has the id; nothing changed.
            GraduationError: the agent is in ``simulation``, the bottom tier; nothing changed.

        """
        demoted: AgentDemoted = self._ask(Demote(agent_id_arg(agent_id), reason_arg(reason)))
        return demoted

    def mutate_agent(self, parent_id: str, *, seed: int | None = None) -> str:
        """Breed a child from a live parent's genome; return the child's id.

        Emits ``AgentSpawned`` (``parent_id`` set), ``caused_by`` the parent's spawn event, and
        ``AgentMutated`` (the changes, and ``seed`` if given), ``caused_by`` the child's spawn. ``seed``
        makes the mutation reproducible.
        """
        child: str = self._ask(
            MutateAgent(agent_id_arg(parent_id, "parent_id"), int_arg(seed, "seed", optional=True))
        )
        return child

    # --- capital --------------------------------------------------------------------------------------

    def allocate_capital(
        self, allocations: Mapping[str, Decimal | int | str]
    ) -> tuple[CapitalAllocated, ...]:
        """Move capital from the treasury to each agent, all or nothing; one ``CapitalAllocated`` each.

        Raises:
            ValidationError: an amount is not an exact positive amount (a float, NaN, negative, more than
                8 places).
            UnknownAgentError, AgentNotAliveError: an agent cannot take capital; nothing moved.
            AllocationError: the amounts add up to more than the treasury holds; ``AllocationRejected`` is
                recorded and nothing moved. ``requested`` and ``available`` say by how much.

        """
        allocated: tuple[CapitalAllocated, ...] = self._ask(AllocateCapital(allocations_arg(allocations)))
        return allocated

    def release_capital(self, agent_id: str, amount: Decimal | int | str | None = None) -> Decimal:
        """Return ``amount`` of an agent's cash (all of it if None) to the treasury; return the amount.

        Raises:
            AllocationError: ``amount`` is more than the agent holds; nothing moved.

        """
        checked = None if amount is None else amount_arg(amount, "amount")
        released: Decimal = self._ask(ReleaseCapital(agent_id_arg(agent_id), checked))
        return released

    def verify_capital_conservation(self) -> ConservationReport:
        """Check ``free + allocated == total`` exactly on the live state; record ``CapitalConservationCheck``.

        Raises:
            CapitalConservationError: the books do not balance (the failed check is recorded first).

        """
        report: ConservationReport = self._ask(CheckConservation())
        return report

    def nav(self) -> Decimal:
        """Return the net asset value at the latest marks: the treasury plus every live agent's equity."""
        value: Decimal = self._ask(GetNav())
        return value

    def equity(self, agent_id: str) -> Decimal:
        """Return an agent's cash plus its holdings at the latest marks (zero once it is dead).

        Raises:
            UnknownAgentError: no such agent.

        """
        value: Decimal = self._ask(GetEquity(agent_id_arg(agent_id)))
        return value

    def get_capital_allocation_breakdown(self) -> AllocationBreakdown:
        """Return where the capital is: total, free, allocated, by tier and by agent."""
        breakdown: AllocationBreakdown = self._ask(GetBreakdown())
        return breakdown

    # --- the log --------------------------------------------------------------------------------------

    def replay_events(
        self,
        agent_id: str | None = None,
        event_types: Sequence[str] | None = None,
        from_seq: int | None = None,
        to_seq: int | None = None,
    ) -> Iterator[AnyEvent]:
        """Flush, then stream the stored events matching every filter, in seq order, in bounded memory.

        The replay is of the log as of the call; filters are checked now, not at the first ``next``.

        Raises:
            ValidationError: a filter is malformed (e.g. an unknown event type).
            EventSourcingError: the writer failed, or the arena has no store (a null sink).

        """
        head = self.flush()
        if agent_id is not None:
            agent_id_arg(agent_id)
        # the log as of this call: events appended while the caller reads are not part of this replay
        last = head.seq if to_seq is None else to_seq
        if type(last) is int:  # anything else (a bool, text, ...) goes on to be refused by the store
            last = min(last, head.seq)
        return self._client.read(LogFilter(agent_id, event_types_arg(event_types), from_seq, last))

    # --- evolution ----------------------------------------------------------------------------------

    def kill_underperformers(
        self,
        metric: str,
        *,
        threshold: float | None = None,
        bottom_fraction: float | None = None,
        metrics: Mapping[str, AgentMetrics] | None = None,
        marks: Mapping[str, Decimal] | None = None,
        broker: BrokerConfig | None = None,
    ) -> tuple[str, ...]:
        """Kill every live agent worse than ``threshold`` on ``metric``, or the worst ``bottom_fraction``.

        ``metric`` is an ``AgentMetrics`` field; larger is worse for ``max_drawdown``, smaller for the
        rest. ``metrics`` defaults to the arena's performance book (each live agent's stint in its tier).
        Returns the killed ids, worst first.

        Raises:
            ValidationError: ``metric`` is unknown, or not exactly one of ``threshold`` and
                ``bottom_fraction`` is given, or it is out of range.

        """
        check_selection(metric, threshold, bottom_fraction)
        judged = self._metrics(metrics)
        command = KillUnderperformers(
            metric, threshold, bottom_fraction, judged, marks_arg(marks), broker_arg(broker)
        )
        killed: tuple[str, ...] = self._ask(command)
        return killed

    def run_evolution_cycle(
        self,
        policy: EvolutionPolicy,
        *,
        metrics: Mapping[str, AgentMetrics] | None = None,
        marks: Mapping[str, Decimal] | None = None,
        seed: int | None = None,
        broker: BrokerConfig | None = None,
    ) -> CycleReport:
        """Kill, promote, demote, breed and reallocate as one serialized step, under ``policy``.

        The cycle's events form one causal tree rooted at its ``EvolutionCycleStarted``, and every kill,
        promotion and demotion records the planner's reason and evidence.

        Args:
            policy: The rules.
            metrics: Fitness inputs per agent; by default the arena's performance book (each live agent's
                stint in its current tier, from the ledger's marks, flows and fills).
            marks: Prices at which killed agents' positions are sold; without, at the latest recorded marks.
            seed: Seeds the cycle's tournaments and mutations; by default the arena's rng.
            broker: Fees and slippage of the liquidation sales.

        Raises:
            ValidationError: a metric is not finite, or ``marks`` misses a symbol a killed agent holds.
            EvolutionError: a parent's genome cannot be bred.

        """
        checked = policy_arg(policy)
        judged = self._metrics(metrics)
        cycle_seed = int_arg(seed, "seed", optional=True)
        command = RunEvolutionCycle(checked, judged, marks_arg(marks), cycle_seed, broker_arg(broker))
        report: CycleReport = self._ask(command, timeout=FLUSH_TIMEOUT)
        return report

    # --- islands ----------------------------------------------------------------------------------------

    def emigrate(
        self, count: int, *, destination: str, barrier: int, policy: EvolutionPolicy | None = None
    ) -> tuple[Emigrant, ...]:
        """Send copies of the ``count`` fittest live agents' genomes to island ``destination``.

        Ranked as evolution ranks (``trading.fitness_ranking`` under ``policy``, the performance book's
        stints, judged agents first, ties by id). Records one ``AgentEmigrated`` per emigrant, fittest
        first, and flushes, so each ``Emigrant``'s seq and hash are durable when it is handed on. The
        agents stay here, with their capital; fewer than ``count`` go when fewer live agents have metrics.

        Args:
            count: How many to send, 0 or more.
            destination: The receiving island's name.
            barrier: The migration barrier's number, from 1.
            policy: Whose fitness ranks them; ``EvolutionPolicy()`` by default.

        Raises:
            ValidationError: an argument is malformed; nothing is emitted.

        """
        int_arg(count, "count", minimum=0)
        island_arg(destination, "destination")
        int_arg(barrier, "barrier", minimum=1)
        checked = policy_arg(policy if policy is not None else EvolutionPolicy())
        emigrants: tuple[Emigrant, ...] = self._ask(Emigrate(count, destination, barrier, checked))
        self.flush()
        return emigrants

    def immigrate(self, emigrants: Sequence[Emigrant], *, source: str, island: str) -> tuple[str, ...]:
        """Spawn each emigrant from island ``source`` as a new agent of this arena, island ``island``.

        Records ``AgentImmigrated`` (naming the source's seq and hash) then the new agent's
        ``AgentSpawned`` (``caused_by`` it, in ``simulation``, no capital: the next evolution cycle's
        reallocation funds it) per emigrant, in order, and flushes. Returns the new agents' ids.

        Raises:
            ValidationError: ``emigrants`` is not a sequence of ``Emigrant`` of one barrier, a name is
                malformed, an emigrant is bound for another island, or a genome does not fit this arena's
                strategies; nothing is emitted.

        """
        checked = emigrants_arg(emigrants)
        command = Immigrate(checked, island_arg(source, "source"), island_arg(island, "island"))
        agent_ids: tuple[str, ...] = self._ask(command)
        self.flush()
        return agent_ids

    # --- the embedder's events and subscriptions ------------------------------------------------------

    def record(self, event_class: type[U], /, **fields: Any) -> U:  # noqa: ANN401  (payload fields of any type; the event model checks them)
        """Append an event of the embedder's own: numbered, stamped, chained, stored and verified like ours.

        ``event_class`` is a ``UserEvent`` subclass registered with ``events.register_event_type``;
        ``fields`` are its payload and, optionally, ``agent_id`` (an agent of this arena). It moves no
        capital. Returns the event as recorded (durable after the next ``flush()``).

        Raises:
            ValidationError: the class is not a registered user event (a built-in one included), a field
                is reserved (``seq``, ``event_id``, ``timestamp``, ``caused_by``, ``event_type``),
                unknown, missing or malformed; nothing was recorded.
            UnknownAgentError: ``agent_id`` names no agent of this arena; nothing was recorded.

        """
        checked = user_event_fields(event_class, fields, timestamp=datetime.now(UTC))
        recorded: U = self._ask(Record(event_class, checked))
        return recorded

    def subscribe(
        self,
        callback: Callable[[AnyEvent], object],
        *,
        event_types: Iterable[str] | None = None,
        agent_id: str | None = None,
        from_seq: int | None = None,
        max_pending: int = DEFAULT_MAX_PENDING,
        on_overflow: Callable[[Subscription], object] | None = None,
    ) -> Subscription:
        """Call ``callback`` with every durable event matching the filters, once each, in seq order.

        Delivery runs on a thread of the subscription's own after each commit, so a slow callback never
        blocks the arena. Without ``from_seq`` it starts with the first event committed after this call;
        with it, the stored log from ``from_seq`` is replayed first, then live delivery follows with no
        gap and no duplicate. More than ``max_pending`` undelivered events cancel the subscription
        (``state == "overflowed"``, ``on_overflow`` called): resume with ``from_seq=sub.last_seq + 1``.
        A callback that raises cancels its own subscription only (``state == "failed"``, ``error``).
        ``close()`` ends every subscription after it has delivered what was committed.

        Raises:
            ValidationError: a filter or option is malformed (an unknown event type names the known ones).
            EventSourcingError: ``from_seq`` with a null sink, which stores nothing to replay.

        """
        types = event_types_arg(event_types)
        client = self._client

        def replay(first: int, last: int) -> Iterator[AnyEvent]:
            return client.read(LogFilter(agent_id, types, first, last))

        subscription = new_subscription(
            callback,
            event_types=types,
            agent_id=agent_id,
            from_seq=from_seq,
            max_pending=max_pending,
            on_overflow=on_overflow,
            replay=replay if client.readable else None,
        )
        self._ask(Subscribe(subscription))
        return subscription

    # --- results as data ----------------------------------------------------------------------------

    def frame(
        self,
        name: str,
        *,
        money: MoneyMode = "decimal",
        agent_id: str | None = None,
        event_types: Sequence[str] | None = None,
        from_seq: int | None = None,
        to_seq: int | None = None,
    ) -> pd.DataFrame:
        """Flush, then return frame ``name`` of the log as a pandas DataFrame (``actors.frame``).

        ``name`` is one of ``actors.FRAMES``: ``events``, ``fills``, ``equity``, ``nav``, ``cycles``,
        ``agents``. Money is exact ``Decimal`` unless ``money="float"``. The filters pick rows; every
        figure is folded from the whole log up to ``to_seq`` (the head by default). Needs the analysis
        extra: ``pip install 'arena-runtime[analysis]'``.

        Raises:
            ValidationError: a name or filter is malformed, or does not apply to the frame.
            UnknownAgentError: ``agent_id`` was never spawned.
            EventSourcingError: the writer failed, or the arena has no store (a null sink).
            ArenaError: pandas is not installed.

        """
        return log_frame(
            self.replay_events(),  # the frame stops reading at to_seq itself, and checks it first
            name,
            money=money,
            agent_id=agent_id,
            event_types=event_types,
            from_seq=from_seq,
            to_seq=to_seq,
        )

    # --- plumbing -------------------------------------------------------------------------------------

    def _ask(self, message: object, *, timeout: float = ASK_TIMEOUT) -> Any:  # noqa: ANN401  (callers narrow it)
        return self._client.ask(message, timeout=timeout)

    def _metrics(
        self, given: Mapping[str, AgentMetrics] | None
    ) -> tuple[tuple[str, AgentMetrics], ...] | None:
        """Return ``given`` checked, or None: the supervisor then reads its performance book."""
        checked = metrics_arg(given)
        return None if checked is None else tuple(checked)

    def _graduate(self, agent_id: str, to_tier: str, reason: str) -> AgentGraduated:
        command = Graduate(agent_id_arg(agent_id), tier_arg(to_tier), reason_arg(reason))
        graduated: AgentGraduated = self._ask(command)
        return graduated
