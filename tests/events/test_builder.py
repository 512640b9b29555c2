from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from events import (
    EVENT_CLASSES,
    AgentSpawned,
    CapitalAllocated,
    EventSourcingError,
    GraduationError,
    LogBuilder,
    Tier,
    UnknownAgentError,
    canonical_json,
    fold,
)


def every_kind(log):
    """Each helper once or more, so the log holds every event kind; yields after each helper call."""
    opened = log.open("10000")
    yield
    log.start_run()
    yield
    for agent_id in ("a1", "a2", "a3"):
        spawned = log.spawn(agent_id, caused_by=opened)
        yield
        log.allocate(agent_id, "1000", caused_by=spawned)
        yield
    buy = log.trade("a1", "buy", quantity="3", price="10.5")
    yield
    log.trade("a1", "sell", quantity="3", price="11", caused_by=buy)
    yield
    log.trade("a2", "buy", quantity="1.5", price="20", symbol="ABC")
    yield
    log.mark({"ABC": "21"})
    yield
    log.graduate("a1")
    yield
    log.graduate("a1")
    yield
    log.demote("a1", reason="drawdown 0.31 > 0.25", evidence={"max_drawdown": 0.31})
    yield
    log.graduate("a1", reason="back above the bar", evidence={"fitness": 1.2})
    yield
    log.fail("a2")
    yield
    log.reject_trade("a2")
    yield
    log.reject_allocation()
    yield
    log.release("a2", "10.25")
    yield
    log.cycle("a1", "a4")
    yield
    log.mutate("a4", "a5")
    yield
    log.emigrate("a1", destination="island-1", barrier=1)
    yield
    log.immigrate("a9", source="island-1", source_agent_id="a3", barrier=1)
    yield
    log.kill("a2")
    yield
    log.check()
    yield


def view_of_builder(log):
    agents = {
        a: (log.tier(a), log.allocation(a), log.holding(a, "XYZ"), log.holding(a, "ABC"), a in log.alive())
        for a in log.agent_ids()
    }
    return log.treasury, log.total_capital, log.cycle_number, agents


def view_of_state(state):
    agents = {
        a: (
            record.tier,
            record.allocation,
            record.positions.get("XYZ", 0),
            record.positions.get("ABC", 0),
            record.alive,
        )
        for a, record in state.agents.items()
    }
    return state.treasury, state.total_capital, state.cycle, agents


def test_a_built_log_holds_every_event_kind_and_replays_to_the_live_state():
    log = LogBuilder(seed=1)

    for _ in every_kind(log):
        pass

    assert {type(e) for e in log.events} == set(EVENT_CLASSES.values())
    assert fold(log.events) == log.state
    assert log.encoded == [canonical_json(e) for e in log.events]
    assert [e.seq for e in log.events] == list(range(1, len(log.events) + 1))


def test_the_builders_view_agrees_with_the_fold_after_every_event():
    log = LogBuilder(seed=2)

    for _ in every_kind(log):
        assert view_of_builder(log) == view_of_state(log.state)


def test_the_conservation_check_it_records_balances():
    log = LogBuilder()
    for _ in every_kind(log):
        pass

    check = log.events[-1]

    assert check.ok
    assert check.free + check.allocated == check.total == log.state.total_capital


def test_the_same_seed_builds_the_same_bytes_and_another_seed_other_ids():
    first, again, other = LogBuilder(seed=7), LogBuilder(seed=7), LogBuilder(seed=8)

    for log in (first, again, other):
        for _ in every_kind(log):
            pass

    assert first.encoded == again.encoded
    assert [e.event_id for e in first.events] != [e.event_id for e in other.events]
    assert len({e.event_id for e in first.events}) == len(first.events)


def test_timestamps_step_one_tick_per_seq_from_the_start():
    start = datetime(2030, 5, 1, tzinfo=UTC)
    log = LogBuilder(start=start, tick=timedelta(milliseconds=1))

    log.open()
    log.spawn("a1")

    assert [e.timestamp for e in log.events] == [start + timedelta(milliseconds=n) for n in (1, 2)]


def test_make_builds_the_next_event_without_folding_it():
    log = LogBuilder()
    log.open()

    made = log.make(AgentSpawned, agent_id="a1", tier=Tier.SIMULATION)
    elsewhere = log.make(AgentSpawned, seq=9, agent_id="a2", tier=Tier.SIMULATION)

    assert made.seq == 2
    assert elsewhere.seq == 9
    assert len(log.events) == len(log.encoded) == 1
    assert log.seq == 1


def test_take_returns_the_events_made_since_the_last_take():
    log = LogBuilder()
    opened = log.open()
    spawned = log.spawn("a1")

    first = log.take()
    funded = log.allocate("a1", 5)
    second = log.take()

    assert first == [opened, spawned]
    assert second == [funded]
    assert log.take() == []


def test_an_event_the_fold_refuses_raises_and_leaves_the_log_as_it_was():
    log = LogBuilder()
    log.open("100")
    log.spawn("a1")
    before = (list(log.events), list(log.encoded), log.state)

    with pytest.raises(EventSourcingError, match=r"^event seq 3 \(CapitalAllocated\): allocates 101"):
        log.allocate("a1", 101)

    assert (log.events, log.encoded, log.state) == before
    assert log.treasury == Decimal(100)
    assert log.emit(CapitalAllocated, agent_id="a1", amount=Decimal(100)).seq == 3


def test_naming_an_agent_never_spawned_is_a_clear_error():
    log = LogBuilder()
    log.open()

    with pytest.raises(UnknownAgentError, match=r"^agent 'ghost': this builder never spawned it") as caught:
        log.kill("ghost")

    assert caught.value.agent_id == "ghost"


def test_graduating_an_agent_in_the_top_tier_is_a_clear_error():
    log = LogBuilder()
    log.open()
    log.spawn("a1", tier=Tier.ARENA)

    with pytest.raises(GraduationError, match=r"^agent 'a1': cannot graduate from arena, the top tier"):
        log.graduate("a1")


def test_the_builder_refuses_to_demote_from_the_bottom_tier():
    log = LogBuilder()
    log.open()
    log.spawn("a")

    with pytest.raises(GraduationError, match=r"^agent 'a': cannot demote from simulation, the bottom tier"):
        log.demote("a")
