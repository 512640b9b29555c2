from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pydantic
import pykka
import pytest

from actors import ASK_TIMEOUT, STOP_TIMEOUT, ArenaSupervisor, NullSink, SequentialIds, SimClock
from actors._commands import allocate, check_conservation, demote, graduate, kill, release, spawn
from actors._commands import open_arena as emit_opened
from actors._cycle import run_cycle
from actors._emitter import Emitter
from actors._messages import AllocateCapital, GetHead, OpenArena, SpawnAgent
from actors._supervisor import SupervisorConfig
from actors._trades import execute_orders
from events import (
    AgentKilled,
    AllocationError,
    AllocationRejected,
    ArenaError,
    CapitalAllocated,
    CapitalConservationError,
    CapitalReleased,
    EventSourcingError,
    Fold,
    GraduationError,
    MarksRecorded,
    Tier,
    UnknownAgentError,
    ValidationError,
    fold,
    money,
)
from tests.actors.support import T0, FailingSink, open_arena
from trading import (
    BUILTIN_STRATEGIES,
    AgentMetrics,
    BrokerConfig,
    CyclePlan,
    EvolutionPolicy,
    Kill,
    Order,
    check_selection,
    select_underperformers,
)


def new_emitter(*, seed: int = 1) -> Emitter:
    em = Emitter(Fold(), clock=SimClock(T0), ids=SequentialIds(seed))
    emit_opened(em, arena_id="arena", total_capital=money(1000), config={})
    return em


def spawned(em: Emitter, count: int) -> list[str]:
    genome = BUILTIN_STRATEGIES["ma_crossover"].genome()
    return [spawn(em, genome=genome, tier=Tier.SIMULATION).agent_id for _ in range(count)]


def metrics(total_return: float = 0.0, max_drawdown: float = 0.0) -> AgentMetrics:
    return AgentMetrics(
        total_return=total_return,
        sharpe=0.0,
        max_drawdown=max_drawdown,
        trade_count=1,
        win_rate=0.0,
        bars=10,
        equity=Decimal(0),
    )


def test_emitted_events_are_numbered_gaplessly_stamped_by_the_clock_and_folded():
    em = new_emitter()

    ids = spawned(em, 2)
    allocate(em, [(ids[0], money(10)), (ids[1], money(20))])
    events, encoded = em.drain()

    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert {e.timestamp for e in events} == {T0}
    assert ids == ["a-000001", "a-000002"]
    assert fold(events) == em.fold.freeze()
    assert len(encoded) == len(events)


def test_the_same_seed_draws_the_same_event_ids():
    first, second = new_emitter(seed=7), new_emitter(seed=7)

    spawned(first, 3)
    spawned(second, 3)

    assert [e.event_id for e in first.drain()[0]] == [e.event_id for e in second.drain()[0]]


def test_a_refused_allocation_emits_nothing_and_leaves_the_seq_unchanged():
    em = new_emitter()
    (agent,) = spawned(em, 1)
    before = em.fold.seq
    em.drain()

    with pytest.raises(UnknownAgentError, match=r"^agent 'ghost': no such agent in this arena"):
        allocate(em, [(agent, money(1)), ("ghost", money(1))])

    assert em.fold.seq == before
    assert em.pending == 0


def test_over_allocation_emits_only_allocation_rejected_with_requested_and_available():
    em = new_emitter()
    first, second = spawned(em, 2)
    em.drain()

    with pytest.raises(AllocationError) as caught:
        allocate(em, [(first, money(600)), (second, money(500))])

    (event,) = em.drain()[0]
    assert isinstance(event, AllocationRejected)
    assert (event.requested, event.available) == (Decimal(1100), Decimal(1000))
    assert (caught.value.requested, caught.value.available) == (Decimal(1100), Decimal(1000))
    assert em.fold.treasury == Decimal(1000)


def test_the_queue_holds_exactly_what_was_applied_when_the_fold_refuses_an_event():
    em = new_emitter()
    (agent,) = spawned(em, 1)
    kill(em, agent, "gone")
    applied = em.fold.seq

    with pytest.raises(EventSourcingError):
        em.emit(CapitalAllocated, agent_id=agent, amount=money(1))

    assert em.fold.seq == applied
    assert em.pending == applied


def test_release_of_more_than_the_agent_holds_is_refused_with_what_it_holds():
    em = new_emitter()
    (agent,) = spawned(em, 1)
    allocate(em, [(agent, money(5))])

    with pytest.raises(
        AllocationError, match=r"^agent 'a-000001': cannot release 6.00000000 from an allocation"
    ):
        release(em, agent, Decimal("6.00000000"))

    assert em.fold.agent(agent).allocation == Decimal(5)


def test_a_failed_conservation_check_is_recorded_and_then_raised():
    em = new_emitter()
    em.fold.total_capital += Decimal(1)  # simulate books that no longer balance

    with pytest.raises(
        CapitalConservationError, match=r"^capital conservation failed at seq 2: free"
    ) as caught:
        check_conservation(em)

    (event,) = em.drain()[0][1:]
    assert event.ok is False
    assert caught.value.total == Decimal(1001)


def test_a_killed_agent_releases_everything_it_holds_in_the_same_event():
    em = new_emitter()
    (agent,) = spawned(em, 1)
    allocate(em, [(agent, money(250))])

    killing = kill(em, agent, "done", evidence={"fitness": -1.5})

    assert isinstance(killing.killed, AgentKilled)
    assert (killing.killed.capital_released, killing.sales, killing.released) == (Decimal(250), 0, 250)
    assert killing.killed.evidence == {"fitness": -1.5}
    assert em.fold.treasury == Decimal(1000)


def test_a_kill_comes_first_then_the_sales_and_the_release_of_their_proceeds_each_caused_by_it():
    em = new_emitter()
    (agent,) = spawned(em, 1)
    allocate(em, [(agent, money(250))])
    buy = execute_orders(
        em, [(agent, Order("XYZ", "buy", Decimal(10)))], {"XYZ": Decimal(10)}, BrokerConfig()
    )
    em.emit(MarksRecorded, marks={"XYZ": money(12)})
    cash = em.fold.agents[agent].allocation
    em.drain()

    killing = kill(em, agent, "done", broker=BrokerConfig(fee_bps=Decimal(0), slippage_bps=Decimal(0)))

    events = em.drain()[0]
    assert buy[0].event_type == "TradeExecuted"
    assert [e.event_type for e in events] == ["AgentKilled", "TradeExecuted", "CapitalReleased"]
    assert all(e.caused_by == killing.killed.event_id for e in events[1:])
    assert killing.killed.capital_released == cash
    assert events[2].amount == Decimal(120)
    assert (killing.sales, killing.released) == (1, cash + 120)
    assert isinstance(events[2], CapitalReleased)
    assert em.fold.agents[agent].positions == {}
    assert em.fold.agents[agent].allocation == 0


def test_graduate_and_demote_record_the_reason_and_evidence_and_refuse_an_illegal_move():
    em = new_emitter()
    (agent,) = spawned(em, 1)

    up = graduate(em, agent, Tier.PROVING, reason="fitness 1.2 >= 1", evidence={"fitness": 1.2})
    down = demote(em, agent, reason="drawdown 0.4 > 0.25", evidence={"max_drawdown": 0.4})

    assert (up.reason, up.evidence) == ("fitness 1.2 >= 1", {"fitness": 1.2})
    assert (down.from_tier, down.to_tier, down.reason) == (
        Tier.PROVING,
        Tier.SIMULATION,
        "drawdown 0.4 > 0.25",
    )
    assert em.fold.agents[agent].tier_since_seq == down.seq
    with pytest.raises(
        GraduationError,
        match=rf"^agent '{agent}': cannot demote from simulation to a lower tier; agents move down one rung "
        r"at a time, arena -> proving -> simulation, and it is in the bottom tier already; kill it instead",
    ):
        demote(em, agent, reason="r")
    graduate(em, agent, Tier.PROVING, reason="r")
    with pytest.raises(
        GraduationError,
        match=rf"^agent '{agent}': cannot demote from proving to arena; .* the one rung below",
    ):
        demote(em, agent, reason="r", to_tier=Tier.ARENA)


def test_every_event_of_a_cycle_hangs_off_its_start_and_the_completion_names_it():
    em = new_emitter()
    ids = spawned(em, 6)
    allocate(em, [(agent, money(100)) for agent in ids])
    em.drain()
    policy = EvolutionPolicy(min_bars_in_tier=0, evidence_trades=0.0, kill_fraction=0.5, elite_count=1)
    given = {agent: metrics(total_return=n / 10) for n, agent in enumerate(ids)}

    report = run_cycle(em, policy, given, rng=random.Random(3))

    events = em.drain()[0]
    started, completed = events[0], events[-1]
    spawns = {e.event_id for e in events if e.event_type == "AgentSpawned"}
    assert (started.event_type, completed.event_type) == ("EvolutionCycleStarted", "EvolutionCycleComplete")
    assert started.caused_by is None
    for event in events[1:]:
        expected = spawns if event.event_type == "AgentMutated" else {started.event_id}
        assert event.caused_by in expected, event
    assert len(report.killed) == 3
    assert len(report.children) == 3


@pytest.mark.parametrize(
    ("metric", "threshold", "fraction", "expected"),
    [
        ("total_return", 0.0, None, ["a", "b"]),
        ("total_return", None, 0.5, ["a", "b"]),
        ("max_drawdown", 0.25, None, ["d", "c"]),
        ("max_drawdown", None, 0.25, ["d"]),
    ],
)
def test_underperformers_are_the_worst_on_the_metric_worst_first(metric, threshold, fraction, expected):
    given = {
        "a": metrics(total_return=-0.2, max_drawdown=0.1),
        "b": metrics(total_return=-0.1, max_drawdown=0.2),
        "c": metrics(total_return=0.1, max_drawdown=0.3),
        "d": metrics(total_return=0.2, max_drawdown=0.4),
        "dead": metrics(total_return=-9.0, max_drawdown=0.9),
    }

    chosen = select_underperformers(
        metric, given, {"a", "b", "c", "d"}, threshold=threshold, bottom_fraction=fraction
    )

    assert chosen == expected


def test_a_selection_names_the_valid_metrics_when_given_an_unknown_one():
    with pytest.raises(
        ValidationError, match=r"^metric 'luck' is not an agent metric; pass one of: total_return"
    ):
        check_selection("luck", 0.0, None)


def test_a_selection_needs_exactly_one_of_threshold_and_fraction():
    with pytest.raises(
        ValidationError, match=r"^kill_underperformers: got threshold=0.0 and bottom_fraction=0.5"
    ):
        check_selection("sharpe", 0.0, 0.5)


def test_the_supervisor_answers_commands_in_its_mailbox_with_gapless_seqs():
    supervisor = ArenaSupervisor.start(NullSink, state=None, config=SupervisorConfig(), clock=SimClock(T0))

    supervisor.ask(OpenArena("arena", money(100), ()), timeout=ASK_TIMEOUT)
    agent = supervisor.ask(SpawnAgent(None, Tier.SIMULATION), timeout=ASK_TIMEOUT)
    allocated = supervisor.ask(AllocateCapital(((agent, money(5)),)), timeout=ASK_TIMEOUT)
    head = supervisor.ask(GetHead(), timeout=ASK_TIMEOUT)

    assert [e.seq for e in allocated] == [3]
    assert head.seq == 3
    assert supervisor.stop(timeout=STOP_TIMEOUT)


def test_the_supervisor_refuses_a_message_that_is_not_a_command():
    supervisor = ArenaSupervisor.start(NullSink, state=None, config=SupervisorConfig(), clock=SimClock(T0))

    with pytest.raises(ValidationError, match=r"^arena supervisor: 'hello' is not a command"):
        supervisor.ask("hello", timeout=ASK_TIMEOUT)

    assert supervisor.is_alive()


def test_commands_wait_for_the_disk_once_the_backlog_passes_the_high_water_mark():
    sink = FailingSink()
    arena = open_arena(sink_factory=lambda: sink, high_water=3, max_batch=1)
    agent = arena.spawn_agent()
    sink.gate.clear()
    sink.entered.clear()
    done = threading.Event()
    completed: list[int] = []

    def allocate_many() -> None:
        for _ in range(10):
            arena.allocate_capital({agent: Decimal(1)})
            completed.append(1)
        done.set()

    worker = threading.Thread(target=allocate_many)
    worker.start()
    assert sink.entered.wait(timeout=30)
    blocked = not done.wait(timeout=0.5)
    progress = len(completed)
    sink.gate.set()
    worker.join(timeout=30)

    assert blocked
    assert progress <= 3 + 2  # the high-water mark, the batch the writer holds, and one in flight
    assert len(completed) == 10
    arena.close()


def test_an_arena_whose_supervisor_died_says_so_and_still_closes_cleanly():
    arena = open_arena()
    agent = arena.spawn_agent()
    arena._client.supervisor.stop(timeout=STOP_TIMEOUT)

    with pytest.raises(ArenaError, match=r"^arena: the supervisor has stopped"):
        arena.allocate_capital({agent: Decimal(1)})

    arena.close()
    assert pykka.ActorRegistry.get_all() == []


def test_a_plan_whose_evidence_is_not_finite_is_refused_before_the_first_event(monkeypatch):
    em = new_emitter()
    (agent,) = spawned(em, 1)
    em.drain()
    plan = CyclePlan(
        kills=(Kill(agent_id=agent, reason="r", evidence={"fitness": float("nan")}),),
        graduations=(),
        children=(),
        allocations=(),
        allocatable=Decimal(0),
        fitness_summary={"judged": 1},
    )
    monkeypatch.setattr("actors._cycle.plan_cycle", lambda *_args, **_kwargs: plan)

    with pytest.raises(
        ValidationError,
        match=rf"^agent '{agent}': the planner's evidence 'fitness' is nan, which the log cannot record; "
        r"evidence numbers must be finite",
    ):
        run_cycle(em, EvolutionPolicy(), {}, rng=random.Random(1))

    assert em.pending == 0


class _FixedClock:
    """A custom clock (the ``Clock`` protocol) answering one given time."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment


def test_a_custom_clocks_zoned_time_is_stored_in_utc_and_a_naive_one_refused() -> None:
    zoned = T0.astimezone(timezone(timedelta(hours=-5)))
    em = Emitter(Fold(), clock=_FixedClock(zoned), ids=SequentialIds(1))
    opened = emit_opened(em, arena_id="arena", total_capital=money(1000), config={})
    assert opened.timestamp == T0
    assert opened.timestamp.tzinfo is UTC

    naive = Emitter(Fold(), clock=_FixedClock(T0.replace(tzinfo=None)), ids=SequentialIds(1))
    with pytest.raises(pydantic.ValidationError, match="no timezone"):
        emit_opened(naive, arena_id="arena", total_capital=money(1000), config={})
    assert naive.fold.seq == 0
    assert naive.pending == 0
