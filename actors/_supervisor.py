"""The arena supervisor: sole owner of the arena's state, one command at a time, in its mailbox.

Every command is handled on the supervisor's thread, so commands are serialized without a lock: validate
against the live state, emit the events (gapless seq, ``caused_by``, the injected clock's time, the
injected generator's ids), fold them in with the same ``Fold.apply`` the store uses, and tell the writer.
The command logic itself lives in plain functions (``_commands``, ``_trades``, ``_cycle``); this actor
adds what needs an actor: the writer's back-pressure and failure, and the agent actors' lives.

Back-pressure: the writer reports each commit (``Committed``); when more than ``high_water`` submitted
events are not yet durable, the supervisor asks the writer to ``Flush`` and waits. The writer never waits
on the supervisor, so that wait cannot deadlock, and memory stays bounded however fast callers go.

Crash boundaries: between ``BeginAtomic`` and ``EndAtomic`` nothing is submitted, and the block goes to the
writer as one ``Submit`` (one transaction); a block still open at ``Shutdown`` or stop is discarded, never
committed, and every later command is refused naming it (``actors/_backlog.py``).
"""

from __future__ import annotations

import logging
import math
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from events import (
    REASON_LIMIT,
    AgentFailed,
    ArenaError,
    Fold,
    MarksRecorded,
    SimulationStarted,
    Tier,
    ValidationError,
    equity,
    nav,
)
from store import Head
from trading import BUILTIN_STRATEGIES, MIN_TRADE_NOTIONAL, PerformanceBook, select_underperformers

from ._agent_pool import AgentPool
from ._backlog import Backlog
from ._clock import SimClock
from ._commands import (
    allocate,
    check_conservation,
    demote,
    graduate,
    kill,
    mutate,
    open_arena,
    release,
    spawn,
)
from ._cycle import run_cycle
from ._emitter import Emitter
from ._ids import SequentialIds
from ._latch import LeanActor
from ._messages import (
    AgentCrashed,
    AgentRefs,
    AllocateCapital,
    BeginAtomic,
    ChangeTier,
    CheckConservation,
    CloseStep,
    Demote,
    Emigrate,
    EndAtomic,
    ExecuteOrders,
    FlushLog,
    GetBreakdown,
    GetCycle,
    GetEquity,
    GetEventCounts,
    GetHead,
    GetMetrics,
    GetNav,
    GetState,
    GetTime,
    Graduate,
    Immigrate,
    KillAgent,
    KillUnderperformers,
    MutateAgent,
    OpenArena,
    OpenStep,
    Portfolios,
    Record,
    RecordMarks,
    ReleaseCapital,
    ReportStuck,
    RunEvolutionCycle,
    SetTime,
    Shutdown,
    SpawnAgent,
    SpawnAgents,
    StartRun,
    StepAgents,
    Subscribe,
)
from ._migration import emigrate, immigrate
from ._reports import breakdown_of
from ._subscriptions import SubscriptionHub
from ._timeouts import stop_and_wait
from ._trades import execute_orders, liquidation_prices, portfolio_of
from ._writer import EventWriter
from ._writer_messages import Committed, WriterFailed

if TYPE_CHECKING:
    from collections.abc import Callable
    from decimal import Decimal
    from types import TracebackType

    import pykka
    from pydantic import JsonValue

    from events import ArenaState
    from trading import Genome, Portfolio, Strategies

    from ._agent import StrategyFactory
    from ._clock import Clock
    from ._ids import IdGenerator
    from ._sink import EventSink

__all__ = ["CLOSED_MESSAGE", "MAX_RESTARTS", "ArenaSupervisor", "SupervisorConfig"]

logger = logging.getLogger(__name__)

CLOSED_MESSAGE = "arena is closed; open it again with Arena.open(path)"

MAX_RESTARTS = 3
"""Restarts an agent gets under the ``restart`` policy; its next failure kills it."""


@dataclass(frozen=True, slots=True)
class SupervisorConfig:
    """How the supervisor runs: options of ``Arena.open``, validated there."""

    seed: int | None = None
    snapshot_every: int | None = 10_000
    high_water: int = 100_000
    on_agent_failure: Literal["kill", "restart"] = "kill"
    strategy_factory: StrategyFactory | None = None
    strategies: Strategies = BUILTIN_STRATEGIES
    max_batch: int = 1000
    max_delay: float = 0.05
    min_trade_notional: Decimal | None = None
    """None: the recorded floor of a reopened arena, ``MIN_TRADE_NOTIONAL`` for a new one."""
    agent_workers: int | None = None
    """Threads the agent actors share (``ActorPool``); None for ``default_workers()``."""


class ArenaSupervisor(LeanActor):
    """Own the arena's state, its event writer and its agent actors.

    Asked: every command of ``_messages`` (answers as documented there; a refused command raises its
    ``ArenaError`` in the asker's thread). Told: ``Committed`` and ``WriterFailed`` by the writer,
    ``AgentCrashed`` by agents.

    Args:
        sink_factory: Opens the store, in the writer's thread.
        state: The recovered state of a reopened arena, or None for a new one.
        book: The recovered performance book of a reopened arena (folded from its whole log).
        config: Options.
        clock: Stamps every event.
        ids: Agent and event ids; by default ``SequentialIds`` continuing the state, seeded by the config.

    """

    use_daemon_thread = True  # an arena its caller forgot to close must not keep the process alive

    def __init__(
        self,
        sink_factory: Callable[[], EventSink],
        *,
        state: ArenaState | None,
        config: SupervisorConfig,
        clock: Clock,
        ids: IdGenerator | None = None,
        book: PerformanceBook | None = None,
    ) -> None:
        super().__init__()
        fold = state.thaw() if state is not None else Fold()
        seed = config.seed
        # a seeded event id is a function of (seed, seq): a reopened arena continues the same ids
        ids = ids or SequentialIds.resuming(seed, agent_ids=fold.agents)
        # the evidence evolution judges: folded from the events as they are emitted, in this thread; a
        # reopened arena's book is recovery's fold of its whole log
        floor = config.min_trade_notional if config.min_trade_notional is not None else MIN_TRADE_NOTIONAL
        self._book = book if book is not None else PerformanceBook(min_trade_notional=floor)
        self._em = Emitter(fold, clock=clock, ids=ids, observer=self._book.observe)
        # reseeded past the head on reopen, so a reopened arena does not redraw its first run's genomes
        self._rng = random.Random(None if seed is None else f"arena-rng/{seed}/{fold.seq}")  # noqa: S311  (simulation, not secrets)
        self._sink_factory = sink_factory
        self._config = config
        self._writer: pykka.ActorRef[Any] | None = None
        # both need our actor_ref, which exists from on_start
        self._pool: AgentPool
        self._log: Backlog
        self._closed = False
        self._crashes: list[AgentCrashed] = []
        self._hub = SubscriptionHub(fold.seq)  # the writer publishes every commit to it
        self._portfolio_cache: dict[str, tuple[tuple[Decimal, int], Portfolio]] = {}

    def on_start(self) -> None:
        """Start the writer (it opens the store in its own thread) and an actor per live agent."""
        self._pool = AgentPool(
            self.actor_ref,
            self._config.strategy_factory,
            self._config.strategies,
            workers=self._config.agent_workers,
        )
        self._writer = EventWriter.start(
            self._sink_factory,
            listener=self.actor_ref,
            max_batch=self._config.max_batch,
            max_delay=self._config.max_delay,
            on_commit=self._hub.publish,
        )
        self._log = Backlog(
            self._writer,
            durable_seq=self._em.fold.seq,
            high_water=self._config.high_water,
            snapshot_every=self._config.snapshot_every,
        )
        for agent_id in sorted(self._em.fold.agents):
            if self._em.existing(agent_id).alive:
                self._start_agent(agent_id)

    def on_receive(self, message: Any) -> Any:  # noqa: ANN401  (pykka's signature: replies are any value)
        """Handle one command, query or report; then submit the events collected, if nothing else waits.

        Group commit at the source: while more messages wait in the mailbox (callers queueing up), their
        events are collected and submitted together, one ``Submit`` for many commands, so the writer
        wakes and commits far less often under load. As soon as the mailbox is empty, or a batch is
        full, the collected events go to the writer, so an idle arena adds no latency.
        """
        try:
            return self._receive(message)
        finally:
            pending = self._em.pending
            if pending and (pending >= self._config.max_batch or self.actor_inbox.empty()):
                self._log.submit(self._em)

    def _receive(self, message: object) -> object:  # noqa: C901, PLR0911, PLR0912  (one case per message)
        match message:
            case Committed(head=head):
                self._log.committed(head)
                return None
            case WriterFailed(cause=cause, last_durable_seq=seq):
                self._log.failed(cause, seq)
                return None
            case AgentCrashed():
                self._crashes.append(message)
                return None
            case _:
                self._record_crashes()
        match message:
            case GetState():
                return self._em.fold.freeze()
            case GetHead():
                return Head(self._em.fold.seq, self._em.fold.head_hash)
            case GetTime():
                return self._em.clock.now()
            case GetEventCounts():
                return dict(self._em.counts)
            case GetCycle():
                return self._em.fold.cycle
            case GetBreakdown():
                return breakdown_of(self._em.fold.freeze())
            case GetNav():
                fold = self._em.fold
                return nav(fold.treasury, fold.agents.values(), fold.marks)
            case GetEquity(agent_id=agent_id):
                return equity(self._em.existing(agent_id), self._em.fold.marks)
            case Portfolios():
                return dict(sorted(self._portfolios().items()))
            case AgentRefs():
                return self._pool.refs()
            case StepAgents(bars=bars, collector=collector):
                return self._pool.tell_step(bars, self._portfolios(), collector)
            case SetTime(moment=moment):
                self._set_time(moment)
            case Shutdown():
                self._closed = True
                return self._log.discard(self._em)  # an unfinished atomic block is never committed
            case FlushLog():
                return self._log.flush(self._em)
            case Subscribe(subscription=subscription):
                if self._closed:
                    raise ArenaError(CLOSED_MESSAGE)
                self._hub.add(subscription)
            case _:
                return self._command(message)
        return None

    def on_failure(
        self,
        exception_type: type[BaseException] | None,  # noqa: ARG002  (pykka's hook signature)
        exception_value: BaseException | None,
        traceback: TracebackType | None,  # noqa: ARG002  (pykka already logged it)
    ) -> None:
        """Stop the agents and the writer: without their supervisor they would only leak threads."""
        logger.error("arena supervisor stopped after an unexpected error: %r", exception_value)
        self._stop_children()

    def on_stop(self) -> None:
        """Stop the agents, then hand the writer what is still collected and stop it (it commits first)."""
        self._stop_children()

    def _stop_children(self) -> None:
        # The writer never waits on us and agents only tell us, so waiting for their stops cannot hang.
        self._pool.stop_all()
        writer, self._writer = self._writer, None
        if writer is not None:
            self._log.discard(self._em)  # stopped inside an atomic block (no Shutdown): never commit it
            if self._em.pending and writer.is_alive():
                self._log.submit(self._em)
            stop_and_wait([writer])
        self._hub.close()  # after the writer's last commit, which subscribers still receive

    # --- commands -------------------------------------------------------------------------------------

    def _command(self, message: object) -> object:
        if self._closed:  # naming the atomic block discarded at close, if there was one
            discarded = self._log.discarded
            raise ArenaError(CLOSED_MESSAGE if discarded is None else discarded.message)
        self._log.check_writable()
        return self._dispatch(message)

    def _dispatch(self, message: object) -> object:  # noqa: C901, PLR0911, PLR0912, PLR0915  (one case per command)
        em = self._em
        match message:
            case BeginAtomic():
                self._log.begin(em)
                return None
            case EndAtomic():
                self._log.end(em)
                return None
            case OpenStep(moment=moment):
                if self._log.holding:  # checked before the clock moves: a refused step changes nothing
                    self._log.begin(em)  # raises, naming the open block
                self._set_time(moment)
                self._log.begin(em)
                return None
            case CloseStep(marks=marks):
                if not self._log.holding:  # checked before the marks are emitted
                    self._log.end(em)  # raises: no block is open
                em.emit(MarksRecorded, marks=dict(marks))
                self._log.end(em)
                return None
            case OpenArena(arena_id=arena_id, total_capital=total, config=config):
                open_arena(em, arena_id=arena_id, total_capital=total, config=dict(config))
                return Head(em.fold.seq, em.fold.head_hash)
            case SpawnAgent(genome=genome, tier=tier):
                return self._spawn(genome, tier)
            case SpawnAgents(genomes=genomes, tier=tier):
                return self._spawn_many(genomes, tier)
            case AllocateCapital(allocations=allocations):
                return allocate(em, allocations)
            case ReleaseCapital(agent_id=agent_id, amount=amount):
                return release(em, agent_id, amount)
            case KillAgent(agent_id=agent_id, reason=reason, marks=marks, broker=broker):
                killing = kill(em, agent_id, reason, marks=_dict(marks), broker=broker)
                self._pool.stop(agent_id)
                return killing.released
            case KillUnderperformers():
                return self._kill_underperformers(message)
            case Graduate(agent_id=agent_id, to_tier=to_tier, reason=reason):
                graduated = graduate(em, agent_id, to_tier, reason=reason)
                self._pool.tell(agent_id, ChangeTier(to_tier))
                return graduated
            case Demote(agent_id=agent_id, reason=reason):
                demoted = demote(em, agent_id, reason=reason)
                self._pool.tell(agent_id, ChangeTier(demoted.to_tier))
                return demoted
            case MutateAgent(parent_id=parent_id, seed=seed):
                rng = self._rng if seed is None else random.Random(seed)  # noqa: S311  (simulation, not secrets)
                spawned, _ = mutate(em, parent_id, rng=rng, seed=seed, strategies=self._config.strategies)
                self._start_agent(spawned.agent_id)
                return spawned.agent_id
            case RunEvolutionCycle():
                return self._evolve(message)
            case Emigrate(count=count, destination=destination, barrier=barrier, policy=policy):
                metrics = self._book.metrics()
                return emigrate(em, metrics, policy, count=count, destination=destination, barrier=barrier)
            case Immigrate():
                return self._immigrate(message)
            case StartRun(manifest=manifest):
                return em.emit(SimulationStarted, manifest=dict(manifest))
            case GetMetrics(lifetime=lifetime):
                return self._book.lifetime() if lifetime else self._book.metrics()
            case ExecuteOrders(orders=orders, prices=prices, broker=broker):
                return execute_orders(em, orders, dict(prices), broker)
            case CheckConservation():
                return check_conservation(em)
            case ReportStuck(agent_id=agent_id, problem=problem):
                em.existing(agent_id)  # an unknown id is refused here, with its own error
                incarnation = self._pool.incarnation(agent_id)
                if incarnation is not None:
                    self._agent_crashed(AgentCrashed(agent_id, "StepTimeout", problem, incarnation))
                return None
            case RecordMarks(marks=marks):
                em.emit(MarksRecorded, marks=dict(marks))
                return None
            case Record(event_class=event_class, fields=fields):
                payload = dict(fields)
                if payload.get("agent_id") is not None:
                    em.existing(payload["agent_id"])  # an unknown id is refused, as by every command
                return em.emit(event_class, **payload)
            case _:
                msg = f"arena supervisor: {message!r} is not a command; send one of the _messages classes"
                raise ValidationError(msg, field="message", value=message)

    def _spawn(self, genome: Genome | None, tier: Tier) -> str:
        strategies = self._config.strategies  # a genome it cannot build is refused before anything is emitted
        checked = strategies.random_genome(self._rng) if genome is None else strategies.check(genome)
        spawned = spawn(self._em, genome=checked, tier=tier)
        self._start_agent(spawned.agent_id, checked)
        return spawned.agent_id

    def _immigrate(self, message: Immigrate) -> tuple[str, ...]:
        strategies = self._config.strategies
        arrivals = immigrate(
            self._em, message.emigrants, source=message.source, island=message.island, strategies=strategies
        )
        for spawned in arrivals:
            self._start_agent(spawned.agent_id)
        return tuple(spawned.agent_id for spawned in arrivals)

    def _spawn_many(self, genomes: tuple[Genome | None, ...], tier: Tier) -> tuple[str, ...]:
        """Spawn one agent per genome; each given genome is checked before any draw or any event."""
        strategies = self._config.strategies
        given: dict[int, Genome] = {}
        for index, genome in enumerate(genomes):
            if genome is not None:
                try:
                    given[index] = strategies.check(genome)
                except ValidationError as e:
                    msg = f"spawn_agents: genomes[{index}]: {e.msg}; nothing was spawned"
                    raise ValidationError(msg, field="genomes", value=index) from e
        spawned = []
        with self._pool.batched():  # their first turns (on_start) go to the workers together, at the end
            for index in range(len(genomes)):
                genome = given.get(index)
                checked = strategies.random_genome(self._rng) if genome is None else genome
                agent_id = spawn(self._em, genome=checked, tier=tier).agent_id
                self._start_agent(agent_id, checked)
                spawned.append(agent_id)
        return tuple(spawned)

    def _kill_underperformers(self, message: KillUnderperformers) -> tuple[str, ...]:
        metrics = self._book.metrics() if message.metrics is None else dict(message.metrics)
        victims = select_underperformers(
            message.metric,
            metrics,
            self._em.alive_ids(),
            threshold=message.threshold,
            bottom_fraction=message.bottom_fraction,
        )
        marks = _dict(message.marks)
        for agent_id in victims:  # every victim's holdings must have a price before anyone dies
            liquidation_prices(self._em, agent_id, marks)
        rule = (
            f"threshold {message.threshold}"
            if message.threshold is not None
            else f"the worst {message.bottom_fraction} of {len(metrics)} judged"
        )
        for agent_id in victims:
            score = getattr(metrics[agent_id], message.metric)
            reason = f"underperformer: {message.metric} {score} is past {rule}"
            # JSON has no infinity: an unbounded score is recorded as its text, as the reason words it
            shown = score if math.isfinite(score) else str(score)
            evidence: dict[str, JsonValue] = {message.metric: shown, "judged": len(metrics)}
            kill(self._em, agent_id, reason, evidence=evidence, marks=marks, broker=message.broker)
            self._pool.stop(agent_id)
        return tuple(victims)

    def _evolve(self, message: RunEvolutionCycle) -> object:
        rng = self._rng if message.seed is None else random.Random(message.seed)  # noqa: S311  (simulation, not secrets)
        report = run_cycle(
            self._em,
            message.policy,
            self._book.metrics() if message.metrics is None else dict(message.metrics),
            min_trade_notional=self._book.min_trade_notional,
            rng=rng,
            marks=_dict(message.marks),
            broker=message.broker,
            strategies=self._config.strategies,
        )
        for agent_id in report.killed:
            self._pool.stop(agent_id)
        for agent_id, tier in (*report.graduated, *report.demoted):
            self._pool.tell(agent_id, ChangeTier(tier))
        for _, child_id in report.children:
            self._start_agent(child_id)
        return report

    def _record_crashes(self) -> None:
        """Record the crash reports that arrived since the last command, in agent-id order.

        Reports arrive in whatever order the agents' threads ran; recording them as they come would make
        the log depend on scheduling. Agents report a crash before they answer the step that caused it,
        so by the time the driver's next command arrives, every crash of the step is here to be sorted.
        """
        crashes, self._crashes = self._crashes, []
        for report in sorted(crashes, key=lambda r: (r.agent_id, r.incarnation)):
            self._agent_crashed(report)

    def _agent_crashed(self, report: AgentCrashed) -> None:
        """Record ``AgentFailed`` and apply the failure policy; a report that cannot be acted on is logged."""
        if self._closed or not self._pool.is_current(report.agent_id, report.incarnation):
            return  # already killed or restarted: a late report from an actor that is gone
        if self._log.failure is not None:
            logger.error("agent %s crashed after the log stopped growing; not recorded", report.agent_id)
            return
        failures: int = self._em.existing(report.agent_id).failures
        # a strategy that fails every time would otherwise be restarted forever, one event per restart
        restart = self._config.on_agent_failure == "restart" and failures < MAX_RESTARTS
        action: Literal["killed", "restarted", "halted"] = "restarted" if restart else "killed"
        if not restart:
            try:
                liquidation_prices(self._em, report.agent_id)
            except ValidationError as e:  # it cannot be killed without writing holdings off: stop it instead
                logger.error("agent %s crashed and is halted, not killed: %s", report.agent_id, e.msg)  # noqa: TRY400  (the reason, not a traceback)
                action = "halted"
        try:
            failed = self._em.emit(
                AgentFailed,
                agent_id=report.agent_id,
                error_type=report.error_type,
                message=report.message[:REASON_LIMIT],
                action=action,
            )
            if action == "restarted":
                self._start_agent(report.agent_id)
            elif action == "halted":
                self._pool.stop(report.agent_id)
            else:
                reason = f"strategy raised {report.error_type}: {report.message}"[:REASON_LIMIT]
                kill(self._em, report.agent_id, reason, cause=failed.event_id)
                self._pool.stop(report.agent_id)
        except ArenaError:
            logger.exception("arena: could not apply the failure policy to agent %s", report.agent_id)

    # --- agent actors ---------------------------------------------------------------------------------

    def _portfolios(self) -> dict[str, Portfolio]:
        """Return each live agent's portfolio, rebuilding only those whose account changed.

        A portfolio is immutable, and an account changes only by a transfer (its cash) or a fill (its
        trade count), so ``(cash, trades)`` tells a stale one; most agents do neither in most steps.
        """
        cache = self._portfolio_cache
        live = self._em.fold.live
        if len(cache) > len(live):  # agents died since: forget theirs
            for agent_id in [agent_id for agent_id in cache if agent_id not in live]:
                del cache[agent_id]
        result: dict[str, Portfolio] = {}
        for agent_id, agent in live.items():
            key = (agent.allocation, agent.trades)
            cached = cache.get(agent_id)
            if cached is None or cached[0] != key:
                cached = cache[agent_id] = (key, portfolio_of(agent))
            result[agent_id] = cached[1]
        return result

    def _start_agent(self, agent_id: str, genome: Genome | None = None) -> None:
        record = self._em.existing(agent_id)
        self._pool.start(agent_id, record.genome, record.tier, genome)

    def _set_time(self, moment: object) -> None:
        clock = self._em.clock
        if not isinstance(clock, SimClock):
            msg = f"set_time: the arena's clock is a {type(clock).__name__}; open it with clock=SimClock()"
            raise ValidationError(msg, field="clock", value=type(clock).__name__)
        clock.set(moment)  # type: ignore[arg-type]  # SimClock.set validates it and names a bad value


def _dict(pairs: tuple[tuple[str, Any], ...] | None) -> dict[str, Any] | None:
    return None if pairs is None else dict(pairs)
