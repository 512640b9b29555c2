"""The simulation driver: a step-synchronous clock over a market feed, driving every agent of an arena.

One step per bar timestamp, in this order:

1. the arena's ``SimClock`` moves to the step's time, so every event is stamped with simulated time and
   the log holds no wall-clock time at all;
2. the orders of the previous step fill at this step's opens, handed to the arena in a canonical order
   (agent id, then the agent's own order), so the log does not depend on which agent answered first;
3. an evolution cycle runs if ``policy.cycle_days`` of simulated time have passed since the last one
   (or since the arena opened), valuing agents and selling killed agents' holdings at the recorded
   marks (the closes of the step before);
4. every live agent is told ``OnBars`` at once, by one supervisor command (all the step's bars in one
   message, with its ledger portfolio: cash, positions and average costs); the answers come back as
   messages and the driver waits for them once, before the next step (``floor.step_agents``): the
   agents do the strategy work on the pool's workers, the supervisor stays the only writer of capital;
5. the step's closes are recorded as marks (one ``MarksRecorded``), so NAV and every agent's equity at
   any seq follow from the log alone.

Together with seeded ids, genomes and cycles, that makes a run a function of its seed and feed: the same
seed writes a byte-identical log (the same head hash) however the threads are scheduled.

A run continues an arena that already has a history: bars at or before the time of its last event are
skipped, so a closed arena reopened on the same feed picks up where it stopped.
"""

from __future__ import annotations

import itertools
import logging
import random
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING

from events import (
    AgentNotAliveError,
    ArenaOpened,
    SimulationStarted,
    ValidationError,
    from_minor,
    to_minor,
)
from trading import MIN_TRADE_NOTIONAL, BrokerConfig, EvolutionPolicy, steps

from . import _timeouts
from ._checks import INT_MAX, INT_MIN, shown, span
from ._manifest import RunManifest
from ._rehearsal import rehearse
from ._run_report import Progress, SimulationReport, top_agents

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Sequence
    from datetime import datetime

    from events import AnyEvent
    from trading import Bar, MarketFeed, Order

    from ._arena import Arena
    from ._reports import CycleReport

__all__ = ["derive_seed", "fund_equally", "run_simulation"]

logger = logging.getLogger(__name__)

TOP_AGENTS = 5
"""Agents listed in a report's ``top_agents`` unless the caller asks for another number."""

PROGRESS_EVERY = 24
"""Steps between two progress reports: a day of hourly bars, about one redraw per 1,000 agent-steps at 50
agents (asking the arena for its head costs one supervisor round trip)."""


_MINIMUMS = {"agents": 0, "top": 0, "progress_every": 1, "total_steps": 0}  # seed: any int in range


def derive_seed(seed: int, purpose: str) -> int:
    """Return a 63-bit seed for ``purpose`` drawn from ``seed``, the same in every process.

    ``random.Random`` hashes a string seed with SHA-512, unlike ``hash()``, which is salted per process.
    """
    return random.Random(f"{seed}:{purpose}").getrandbits(63)  # noqa: S311  (simulation, not secrets)


@dataclass(slots=True)
class _Run:
    """What the driver counts while a run goes on."""

    steps: int = 0
    bars: int = 0
    agent_steps: int = 0
    orders: int = 0
    lapsed: int = 0
    stopped: bool = False
    first: datetime | None = None
    last: datetime | None = None


def run_simulation(
    arena: Arena,
    feed: MarketFeed,
    *,
    seed: int,
    agents: int = 0,
    policy: EvolutionPolicy | None = None,
    broker: BrokerConfig | None = None,
    total_steps: int | None = None,
    top: int = TOP_AGENTS,
    progress: Callable[[Progress], None] | None = None,
    progress_every: int = PROGRESS_EVERY,
    evolve: bool = True,
    stop: Callable[[], bool] | None = None,
) -> SimulationReport:
    """Spawn ``agents`` new agents, fund them, then drive the whole arena through ``feed``.

    Args:
        arena: An open arena with a ``SimClock`` (``Arena.open(..., clock=SimClock(start))``).
        feed: The market; bars at or before the arena's last event are skipped (a resumed run).
        seed: Seeds the new agents' genomes and every evolution cycle.
        agents: New agents to spawn before the first step, each with a seeded random genome of the arena's
            strategies. They share the treasury's free capital, less the policy's reserve, equally
            (every one starts in ``simulation``, so the policy's tier weights give that tier
            everything), each capped at ``policy.max_agent_fraction``. 0 drives the agents the arena
            already has.
        policy: Evolution rules; ``EvolutionPolicy()`` by default.
        broker: Fees and slippage of every fill; ``BrokerConfig()`` by default.
        total_steps: Steps the feed holds, if known, for ``Progress.total_steps``.
        top: Agents listed in the report's ``top_agents``.
        progress: Called every ``progress_every`` steps and after the last one.
        progress_every: Steps between two progress calls.
        evolve: False runs no evolution cycle at all (an evaluation: the population as it is, on data
            it has not seen).
        stop: Asked after every step; True ends the run there, its last step durable, with
            ``SimulationReport.stopped`` set. A signal handler sets a flag this reads: raising from the
            handler instead can land anywhere (even in a weakref callback, which swallows it).

    Returns:
        The run's report; its events are durable when it returns.

    Raises:
        ValidationError: an argument is malformed, the feed has no bar after the arena's last event, or
            the arena's clock is not a ``SimClock``.
        ArenaError: the arena refused a command (its message says why).

    """
    policy = policy if policy is not None else EvolutionPolicy()
    broker = broker if broker is not None else BrokerConfig()
    _check_arguments(
        seed=seed, agents=agents, top=top, progress_every=progress_every, total_steps=total_steps
    )
    _check_evolve(evolve)
    start_seq = arena.head().seq
    start_counts = arena.floor.event_counts()
    memo = _memo(arena)  # what the last run on this open arena learnt from the log, if still true
    after, last_cycle = _history(arena) if memo is None else (memo.after, memo.last_cycle)
    manifest, recorded = _manifest(
        arena, feed, seed=seed, agents=agents, policy=policy, broker=broker, evolve=evolve, memo=memo
    )
    stream = _after(steps(feed), after)
    first = _first_step(stream, after)  # checked before spawning: nothing to simulate changes nothing
    # crash boundary: the run's start (manifest, spawns, allocations) and its first step are durable
    # together or not at all; the block ends after the first step's marks. (_pending reads the log inside
    # it only for a resumed run, which has emitted nothing in it yet.) On an exception it stays open and
    # close() discards it, so the durable log always ends at a step boundary.
    arena.floor.begin_atomic()
    if manifest is not None:
        arena.floor.start_run(manifest.to_json_dict())
    if agents:
        _populate(arena, agents, seed=seed, policy=policy)
    pending = _pending(arena, feed, after) if manifest is None else []
    cycle_length = timedelta(days=policy.cycle_days)
    run = _Run()
    cycles: list[CycleReport] = []
    alive = 0
    for moment, bars in itertools.chain([first], stream):
        if run.steps:  # crash boundary: each later step is one atomic block (the first is the start's)
            arena.floor.open_step(moment)
        else:
            arena.floor.set_time(moment)
        opens = {bar.symbol: bar.open for bar in bars}
        _fill(arena, pending, opens, broker, run)
        if evolve and (last_cycle is None or moment - last_cycle >= cycle_length):
            if last_cycle is not None:
                cycles.append(_cycle(arena, seed=seed, policy=policy, broker=broker))
            last_cycle = moment  # a new arena's first step starts the schedule instead of a cycle
        pending, alive = _step(arena, bars, run)
        # the step is durable whole, or (killed before this) not at all
        arena.floor.close_step({bar.symbol: bar.close for bar in bars})
        run.steps += 1
        run.bars += len(bars)
        run.first = run.first or moment
        run.last = moment
        if progress is not None and run.steps % progress_every == 0:
            progress(_progress(arena, run, total_steps, alive))
        if stop is not None and stop():
            run.stopped = True
            break
    arena.floor.pending = tuple(pending)  # they fill at the next step, if another run continues this one
    if progress is not None and run.steps % progress_every:
        progress(_progress(arena, run, total_steps, alive))
    report = _report(
        arena, run, start_seq=start_seq, start_counts=start_counts, cycles=cycles, policy=policy, top=top
    )
    _remember(arena, recorded, run.last, last_cycle)
    return report


@dataclass(frozen=True, slots=True)
class _Memo:
    """What a run learnt from the log, kept on the floor for the next run on the same open arena.

    Valid while the arena's clock still stands at the run's last step and no cycle ran since: then the
    log still ends at that time (events since, such as migrations, were stamped with it) and its last
    cycle is the one recorded here.
    """

    manifest: RunManifest
    """The manifest the arena records (written or checked by the run)."""
    after: datetime
    """The time of the run's last step."""
    last_cycle: datetime | None
    """When the last cycle ran (or the schedule started)."""
    cycle: int
    """The arena's cycle count when the run ended."""


def _first_step(
    stream: Iterator[tuple[datetime, tuple[Bar, ...]]], after: datetime | None
) -> tuple[datetime, tuple[Bar, ...]]:
    """Return the feed's first step after ``after``, refusing a feed with none."""
    first = next(stream, None)
    if first is None:
        when = "the start" if after is None else after.isoformat()
        msg = (
            f"simulation: the feed has no bar after {when}, where the arena's log ends; nothing to simulate; "
            "pass a feed that continues past it (more days, or data that goes further)"
        )
        raise ValidationError(msg, field="feed", value=after)
    return first


def _remember(
    arena: Arena, recorded: RunManifest, last: datetime | None, last_cycle: datetime | None
) -> None:
    """Keep what this run learnt on the floor, for the next run on the same open arena."""
    if last is not None:
        arena.floor.memo = _Memo(recorded, last, last_cycle, arena.cycle())


def _memo(arena: Arena) -> _Memo | None:
    """Return the floor's memo if it still describes the arena's log, else None (read the log)."""
    memo = arena.floor.memo
    if not isinstance(memo, _Memo):
        return None
    if arena.cycle() != memo.cycle or arena.floor.now() != memo.after:
        return None
    return memo


def _cycle(arena: Arena, *, seed: int, policy: EvolutionPolicy, broker: BrokerConfig) -> CycleReport:
    """Run the next evolution cycle, seeded by its number, valued and liquidated at the recorded marks."""
    number = arena.cycle() + 1  # not state(): that copies every agent's record
    return arena.run_evolution_cycle(policy, seed=derive_seed(seed, f"cycle:{number}"), broker=broker)


def _check_arguments(**arguments: object) -> None:
    """Refuse a malformed int argument of ``run_simulation`` before anything runs.

    Ranges: ``seed`` any int from -2**63 to 2**63 - 1; ``agents``, ``top`` and ``total_steps`` (or None)
    from 0, ``progress_every`` from 1, each to 2**63 - 1 (``INT_MIN``, ``INT_MAX``: the arena's one int
    range). ``agents`` is not capped lower here, though each agent is an OS thread: the caller knows what
    its machine holds (the command line allows 2,000).
    """
    for name, value in arguments.items():
        if name == "total_steps" and value is None:
            continue
        minimum = _MINIMUMS.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or (minimum is not None and value < minimum):
            bound = "" if minimum is None else f" >= {minimum}"
            msg = f"simulation: {name} must be an int{bound}, got {shown(value)}; pass e.g. {name}=1"
            raise ValidationError(msg, field=name, value=value)
        if not INT_MIN <= value <= INT_MAX:
            bounds = span(INT_MIN if minimum is None else minimum, INT_MAX)
            msg = f"simulation: {name} must be an int {bounds}, got {shown(value)}; pass one in that range"
            raise ValidationError(msg, field=name, value=value)


def _check_evolve(evolve: object) -> None:
    if not isinstance(evolve, bool):
        msg = f"simulation: evolve must be True or False, got {shown(evolve)}; pass evolve=False to evaluate"
        raise ValidationError(msg, field="evolve", value=evolve)


def _history(arena: Arena) -> tuple[datetime | None, datetime | None]:
    """Return the time of the arena's last event and of its last cycle (or of its opening, if none)."""
    head = arena.head().seq
    if head == 0:
        return None, None
    last = _first(arena.replay_events(from_seq=head))
    anchor = _first(arena.replay_events(to_seq=1))
    if arena.state().cycle:
        for event in arena.replay_events(event_types=["EvolutionCycleStarted"]):
            anchor = event
    if last is None or anchor is None:  # pragma: no cover  (flushed first: the head is stored)
        return None, None
    return last.timestamp, anchor.timestamp


def _manifest(
    arena: Arena,
    feed: MarketFeed,
    *,
    seed: int,
    agents: int,
    policy: EvolutionPolicy,
    broker: BrokerConfig,
    evolve: bool,
    memo: _Memo | None = None,
) -> tuple[RunManifest | None, RunManifest]:
    """Return the manifest to record (None when the arena's recorded one matches) and the run's manifest.

    ``memo`` holds the recorded manifest when a run on this open arena read (or wrote) it already.

    Raises:
        ValidationError: the arena records a run whose manifest differs (each difference named), or a
            resumed run was asked to spawn agents.

    """
    if memo is not None:
        floor: object = memo.manifest.min_trade_notional
    else:
        opened = _first(arena.replay_events(to_seq=1))
        floor = opened.config.get("min_trade_notional") if isinstance(opened, ArenaOpened) else None
    given = RunManifest.of(
        seed=seed,
        agents=agents,
        feed=feed,
        policy=policy,
        broker=broker,
        strategies=arena.strategies,
        min_trade_notional=MIN_TRADE_NOTIONAL if floor is None else Decimal(str(floor)),
        evolve=evolve,
    )
    if memo is not None:
        recorded, where = memo.manifest, "recorded"
    else:
        found = None
        for event in arena.replay_events(event_types=["SimulationStarted"]):
            found = event  # one per arena: the run it was made for
        if not isinstance(found, SimulationStarted):
            return given, given
        recorded, where = RunManifest.from_json_dict(found.manifest), f"at seq {found.seq}"
    if agents:
        msg = (
            f"simulation: agents={agents}, but the arena continues a run (manifest {where}) that "
            f"spawned its {recorded.agents}; a resumed run spawns none: pass agents=0"
        )
        raise ValidationError(msg, field="agents", value=agents)
    differences = recorded.differences(given, ignore=("agents",))
    if differences:
        msg = (
            f"simulation: the arena continues a run (manifest {where}) that differs from this "
            f"one: {'; '.join(differences)}; resume with the recorded inputs, or start a new arena"
        )
        raise ValidationError(msg, field="manifest", value=differences[0])
    return None, recorded


def _pending(arena: Arena, feed: MarketFeed, after: datetime | None) -> list[tuple[str, Order]]:
    """Return the orders waiting from the last step of a recorded run: kept by the floor, or rebuilt.

    The floor keeps them between two runs on one open arena; a reopened arena's agents start fresh, so
    ``rehearse`` replays their steps from the log and the feed, which must hold the run from its start.
    """
    kept = arena.floor.pending
    if kept is not None:
        return list(kept)
    if after is None:
        return []
    return rehearse(arena, feed, after)  # a reopened arena: its agents' strategies start fresh


def _first(events: Iterator[AnyEvent]) -> AnyEvent | None:
    """Return the first event and close the read at once (it holds a cursor, or a reader's connection)."""
    try:
        return next(events, None)
    finally:
        close = getattr(events, "close", None)
        if close is not None:
            close()


def _after(
    stream: Iterator[tuple[datetime, tuple[Bar, ...]]], after: datetime | None
) -> Iterator[tuple[datetime, tuple[Bar, ...]]]:
    for moment, bars in stream:
        if after is None or moment > after:
            yield moment, bars


def _populate(arena: Arena, count: int, *, seed: int, policy: EvolutionPolicy) -> None:
    """Spawn ``count`` agents with seeded genomes and share the free capital, less the reserve, equally.

    An agent whose strategy cannot even be built is killed by the supervisor as soon as it starts, which
    may be before or after it is funded here; it is funded only if it is still alive, and whatever it was
    given went back to the treasury with it.
    """
    rng = random.Random(f"{seed}:genomes")  # noqa: S311  (simulation, not secrets)
    ids = arena.spawn_agents([arena.strategies.random_genome(rng) for _ in range(count)])
    fund_equally(arena, ids, policy)


def fund_equally(arena: Arena, agent_ids: Sequence[str], policy: EvolutionPolicy) -> None:
    """Share the free capital, less the policy's reserve, equally among ``agent_ids``, each share capped.

    Only agents still alive are funded: one whose strategy could not be built may die between its spawn
    and its funding, and is then left out (what it was given went back to the treasury with it).
    """
    ids = list(agent_ids)
    if not ids:
        return
    count = len(ids)
    breakdown = arena.get_capital_allocation_breakdown()
    keep = Fraction(repr(policy.reserve_fraction))  # the decimal its author wrote, not the binary float
    allocatable = int(to_minor(breakdown.free_capital) - to_minor(breakdown.total_capital) * keep)
    cap = int(allocatable * Fraction(repr(policy.max_agent_fraction)))
    share = min(allocatable // count, cap) if allocatable > 0 else 0
    while share > 0:
        live = arena.floor.portfolios()
        alive = [agent_id for agent_id in ids if agent_id in live]
        if not alive:
            return
        try:
            arena.allocate_capital(dict.fromkeys(alive, from_minor(share)))
        except AgentNotAliveError as e:  # it crashed between the two calls: fund the others, not it
            if e.agent_id not in ids:
                raise
            ids.remove(e.agent_id)
        else:
            return


def _fill(
    arena: Arena,
    pending: list[tuple[str, Order]],
    opens: Mapping[str, Decimal],
    broker: BrokerConfig,
    run: _Run,
) -> None:
    """Fill last step's orders at this step's opens; an order for a symbol with no bar now lapses."""
    orders = [(agent_id, order) for agent_id, order in pending if order.symbol in opens]
    run.lapsed += len(pending) - len(orders)
    if not orders:
        return
    run.orders += len(orders)
    arena.floor.execute_orders(orders, opens, broker)


def _step(
    arena: Arena,
    bars: tuple[Bar, ...],
    run: _Run,
) -> tuple[list[tuple[str, Order]], int]:
    """Tell every live agent the step at once; return their orders in canonical order, and the agents told.

    One supervisor command tells them all and the answers come back as messages (``floor.step_agents``);
    an agent that does not answer within ``STEP_TIMEOUT`` (wall-clock only bounds the wait, never the log)
    is reported stuck: its failure, not the run's, so the failure policy applies and the others go on.
    """
    answers = arena.floor.step_agents(bars, timeout=_timeouts.STEP_TIMEOUT)
    run.agent_steps += answers.answered
    for agent_id in answers.stuck:
        moment = bars[0].timestamp.isoformat() if bars else "?"
        arena.floor.report_stuck(
            agent_id, f"did not answer the step at {moment} within {_timeouts.STEP_TIMEOUT} s"
        )
    return list(answers.orders), len(answers.asked)


def _progress(arena: Arena, run: _Run, total_steps: int | None, alive: int) -> Progress:
    return Progress(
        steps=run.steps,
        total_steps=total_steps,
        bars=run.bars,
        events=arena.head().seq,
        agents=alive,
        moment=run.last,
        nav=arena.nav(),  # one supervisor round trip per call: cheap beside the step it reports
    )


def _report(
    arena: Arena,
    run: _Run,
    *,
    start_seq: int,
    start_counts: Mapping[str, int],
    cycles: list[CycleReport],
    policy: EvolutionPolicy,
    top: int,
) -> SimulationReport:
    head = arena.flush()
    counts = Counter(arena.floor.event_counts())
    counts.subtract(start_counts)  # the run's own events: the supervisor counts what it emits
    counts = +counts
    state = arena.state()
    metrics = arena.floor.agent_metrics(lifetime=True)
    return SimulationReport(
        steps=run.steps,
        bars=run.bars,
        agent_steps=run.agent_steps,
        orders=run.orders,
        lapsed_orders=run.lapsed,
        first_step=run.first,
        last_step=run.last,
        start_seq=start_seq,
        head_seq=head.seq,
        head_hash=head.hash,
        events_by_type=dict(sorted(counts.items())),
        cycles=tuple(cycles),
        breakdown=arena.get_capital_allocation_breakdown(),
        top_agents=top_agents(state, metrics, policy, count=top),
        agents_alive=len(state.alive_agents()),
        stopped=run.stopped,
    )
