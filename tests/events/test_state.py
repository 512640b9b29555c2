import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from events import (
    GENESIS_HASH,
    AgentDemoted,
    AgentEntry,
    AgentFailed,
    AgentGraduated,
    AgentKilled,
    AgentRecord,
    AgentSpawned,
    ArenaOpened,
    ArenaState,
    CapitalAllocated,
    CapitalReleased,
    EventSourcingError,
    Fold,
    MarksRecorded,
    Tier,
    TradeExecuted,
    apply,
    canonical_json,
    chain_hash,
    fold,
)
from tests.strategies import valid_event_logs

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def make(cls, seq, **fields):
    return cls(seq=seq, event_id=uuid.UUID(int=seq), timestamp=NOW, **fields)


def opened_with_agent():
    return [
        make(ArenaOpened, 1, arena_id="x", total_capital=100),
        make(AgentSpawned, 2, agent_id="a", tier=Tier.SIMULATION),
    ]


@given(valid_event_logs())
def test_conservation_holds_after_every_event(log):
    state = ArenaState()

    for event in log:
        state = apply(state, event)
        assert state.free_capital + state.allocated_capital == state.total_capital
        assert state.treasury >= 0
        assert all(a.allocation >= 0 for a in state.agents.values())


@given(valid_event_logs(), st.data())
def test_folding_from_any_intermediate_state_equals_folding_from_the_start(log, data):
    cut = data.draw(st.integers(0, len(log)))

    resumed = fold(log[cut:], fold(log[:cut]))

    assert resumed == fold(log)


@given(valid_event_logs())
def test_state_survives_a_json_round_trip_exactly(log):
    state = fold(log)

    assert ArenaState.model_validate_json(state.model_dump_json()) == state


@given(valid_event_logs())
def test_head_hash_is_the_hash_chain_over_canonical_json(log):
    expected = GENESIS_HASH
    for event in log:
        expected = chain_hash(expected, canonical_json(event))

    assert fold(log).head_hash == expected
    assert fold(log).seq == len(log)


def test_apply_is_pure():
    state = fold(opened_with_agent())
    before = state.model_dump()

    apply(state, make(CapitalAllocated, 3, agent_id="a", amount=5))

    assert state.model_dump() == before


@pytest.mark.parametrize(
    ("event", "problem"),
    [
        (make(CapitalAllocated, 4, agent_id="a", amount=1), r"seq 4 does not follow 2"),
        (
            make(CapitalAllocated, 3, agent_id="a", amount=101),
            r"allocates 101\.00000000 from a treasury of 100",
        ),
        (make(CapitalAllocated, 3, agent_id="zz", amount=1), r"names unknown agent 'zz'"),
        (
            make(CapitalReleased, 3, agent_id="a", amount=1),
            r"releases 1\.00000000 but agent 'a' holds 0\.00000000;",
        ),
        (make(AgentSpawned, 3, agent_id="a", tier=Tier.SIMULATION), r"agent 'a' already exists"),
        (make(ArenaOpened, 3, arena_id="y", total_capital=1), r"arena 'x' is already open"),
        (
            make(
                TradeExecuted,
                3,
                agent_id="a",
                symbol="S",
                side="buy",
                quantity=1,
                price=1,
                market_price=1,
                fee=0,
                cash_delta=-1,
                cost=1,
            ),
            r"trade needs 1\.00000000 but agent 'a' holds",
        ),
    ],
)
def test_apply_refuses_events_that_contradict_the_log_and_changes_nothing(event, problem):
    state = fold(opened_with_agent())

    with pytest.raises(
        EventSourcingError, match=rf"^event seq {event.seq} \({event.event_type}\): {problem}"
    ):
        apply(state, event)

    working = state.thaw()
    with pytest.raises(EventSourcingError):
        working.apply(event)
    assert working.freeze() == state


def test_dead_agents_take_no_capital():
    log = [*opened_with_agent(), make(AgentKilled, 3, agent_id="a", reason="r", capital_released=0)]

    with pytest.raises(EventSourcingError, match=r"names agent 'a', which was killed"):
        fold([*log, make(CapitalAllocated, 4, agent_id="a", amount=1)])


def test_a_kill_must_release_exactly_what_the_agent_holds():
    log = [*opened_with_agent(), make(CapitalAllocated, 3, agent_id="a", amount=10)]

    with pytest.raises(EventSourcingError, match=r"releases 9\.00000000 but agent 'a' holds 10"):
        fold([*log, make(AgentKilled, 4, agent_id="a", reason="r", capital_released=9)])


def test_the_log_must_start_with_arena_opened():
    with pytest.raises(EventSourcingError, match=r"the log must start with ArenaOpened"):
        fold([make(AgentSpawned, 1, agent_id="a", tier=Tier.SIMULATION)])


def bought(quantity=2, price=10, fee=1):
    notional = Decimal(quantity) * Decimal(price)
    return [
        *opened_with_agent(),
        make(CapitalAllocated, 3, agent_id="a", amount=50),
        make(
            TradeExecuted,
            4,
            agent_id="a",
            symbol="S",
            side="buy",
            quantity=quantity,
            price=price,
            market_price=price,
            fee=fee,
            cash_delta=-(notional + fee),
            cost=notional,
        ),
    ]


def sale(seq, quantity, price, cost, fee=0):
    notional = Decimal(quantity) * Decimal(price)
    return make(
        TradeExecuted,
        seq,
        agent_id="a",
        symbol="S",
        side="sell",
        quantity=quantity,
        price=price,
        market_price=price,
        fee=fee,
        cash_delta=notional - fee,
        cost=cost,
        realized_pnl=notional - Decimal(cost),
    )


def test_a_buy_swaps_cash_for_a_holding_at_cost_and_only_the_fee_leaves_the_capital():
    state = fold(bought())

    assert state.total_capital == Decimal(99)
    assert state.fees_paid == Decimal(1)
    assert state.agents["a"].allocation == Decimal(29)
    assert state.agents["a"].positions == {"S": Decimal(2)}
    assert state.agents["a"].cost_basis == {"S": Decimal(20)}
    assert state.treasury + state.allocated_capital == state.total_capital
    assert state.tier_counts() == {Tier.SIMULATION: 1, Tier.PROVING: 0, Tier.ARENA: 0}


def test_a_sale_takes_out_the_average_cost_and_realizes_the_difference():
    state = fold([*bought(quantity=4, price=10, fee=0), sale(5, 1, 13, cost=10)])

    assert state.agents["a"].cost_basis == {"S": Decimal(30)}
    assert state.agents["a"].positions == {"S": Decimal(3)}
    assert (state.realized_pnl, state.agents["a"].realized_pnl) == (Decimal(3), Decimal(3))
    assert state.total_capital == state.funding + state.realized_pnl - state.fees_paid == Decimal(103)


@pytest.mark.parametrize(
    ("event", "problem"),
    [
        (sale(5, 3, 10, cost=30), r"sells 3\.00000000 S but agent 'a' holds 2\.00000000"),
        (
            sale(5, 1, 10, cost=9),
            r"takes out cost 9\.00000000; average cost of the units sold is 10\.00000000",
        ),
    ],
)
def test_the_fold_refuses_short_sales_and_other_cost_rules(event, problem):
    with pytest.raises(EventSourcingError, match=rf"^event seq 5 \({event.event_type}\): {problem}"):
        fold([*bought(), event])


def killed_holder():
    """``a`` holds 2 S (cost 20) and 29 cash, marked at 12, and is killed: its cash goes back first."""
    return [
        *bought(),
        make(MarksRecorded, 5, marks={"S": 12}),
        make(AgentKilled, 6, agent_id="a", reason="r", capital_released=29),
    ]


def test_a_kill_comes_first_and_the_dead_agent_then_sells_what_it_holds_and_hands_back_the_proceeds():
    before = fold(killed_holder()[:-1])

    killed = fold(killed_holder())
    sold = apply(killed, sale(7, 2, 12, cost=20))
    flat = apply(sold, make(CapitalReleased, 8, agent_id="a", amount=24))

    assert not killed.agents["a"].alive
    assert killed.agents["a"].positions == {"S": Decimal(2)}
    assert killed.treasury == before.treasury + 29
    assert (sold.agents["a"].allocation, sold.agents["a"].positions) == (Decimal(24), {})
    assert (flat.agents["a"].allocation, flat.agents["a"].capital_at_cost) == (Decimal(0), Decimal(0))
    assert before.nav() == killed.nav() == sold.nav() == flat.nav() == flat.treasury
    for state in (killed, sold, flat):
        assert state.treasury + state.allocated_capital == state.total_capital


@pytest.mark.parametrize(
    ("event", "problem"),
    [
        (
            make(
                TradeExecuted,
                7,
                agent_id="a",
                symbol="S",
                side="buy",
                quantity=1,
                price=1,
                market_price=1,
                fee=0,
                cash_delta=-1,
                cost=1,
            ),
            r"buys for agent 'a', which was killed; the dead only sell what they hold",
        ),
        (sale(7, 3, 12, cost=30), r"sells 3\.00000000 S but agent 'a' holds 2\.00000000"),
        (make(CapitalReleased, 7, agent_id="a", amount=1), r"releases 1\.00000000 but agent 'a' holds 0"),
        (make(CapitalAllocated, 7, agent_id="a", amount=1), r"names agent 'a', which was killed"),
        (
            make(AgentGraduated, 7, agent_id="a", from_tier="simulation", to_tier="proving", reason="r"),
            r"names agent 'a', which was killed",
        ),
    ],
)
def test_a_killed_agent_only_sells_what_it_holds_and_hands_back_no_more_than_its_cash(event, problem):
    with pytest.raises(EventSourcingError, match=rf"^event seq 7 \({event.event_type}\): {problem}"):
        fold([*killed_holder(), event])


def test_the_state_records_the_seq_of_each_agents_last_tier_move():
    up = make(AgentGraduated, 3, agent_id="a", from_tier="simulation", to_tier="proving", reason="r")
    down = make(AgentDemoted, 4, agent_id="a", from_tier="proving", to_tier="simulation", reason="r")

    spawned, promoted, demoted = (fold(opened_with_agent()[:2] + extra) for extra in ([], [up], [up, down]))

    assert spawned.agents["a"].tier_since_seq == 2
    assert (promoted.agents["a"].tier, promoted.agents["a"].tier_since_seq) == (Tier.PROVING, 3)
    assert (demoted.agents["a"].tier, demoted.agents["a"].tier_since_seq) == (Tier.SIMULATION, 4)


def test_a_frozen_record_built_without_tier_since_seq_has_stood_in_its_tier_since_its_spawn():
    record = AgentRecord(
        agent_id="a",
        tier=Tier.ARENA,
        genome={},
        parent_id=None,
        generation=0,
        spawn_event_id=uuid.UUID(int=1),
        spawned_seq=7,
    )

    assert record.tier_since_seq == 7


@pytest.mark.parametrize(
    ("events", "problem"),
    [
        (
            [make(AgentDemoted, 3, agent_id="a", from_tier="proving", to_tier="simulation", reason="r")],
            r"agent 'a' is in simulation, not proving",
        ),
        (
            [
                make(AgentKilled, 3, agent_id="a", reason="r", capital_released=0),
                make(AgentDemoted, 4, agent_id="a", from_tier="proving", to_tier="simulation", reason="r"),
            ],
            r"names agent 'a', which was killed",
        ),
    ],
)
def test_the_fold_refuses_a_demotion_from_another_tier_or_of_a_dead_agent(events, problem):
    with pytest.raises(EventSourcingError, match=rf"\(AgentDemoted\): {problem}"):
        fold([*opened_with_agent(), *events])


def test_marks_value_the_holdings_and_nav_is_capital_at_cost_plus_unrealized_pnl():
    state = fold([*bought(), make(MarksRecorded, 5, marks={"S": 12})])

    assert state.marks == {"S": Decimal(12)}
    assert state.equity("a") == Decimal(29 + 24)
    assert state.unrealized_pnl() == Decimal(4)
    assert state.nav() == state.treasury + state.equity("a") == state.total_capital + state.unrealized_pnl()


def test_a_working_entry_has_exactly_the_fields_of_a_frozen_record():
    assert set(AgentEntry.__slots__) == set(AgentRecord.model_fields)


def test_the_fold_hands_out_typed_entries_and_none_for_an_unknown_agent():
    working = ArenaState().thaw()
    for event in opened_with_agent():
        working.apply(event)

    agent = working.agent("a")

    assert isinstance(agent, AgentEntry)
    assert (agent.tier, agent.allocation, agent.alive, agent.killed_seq) == (Tier.SIMULATION, 0, True, None)
    assert working.agent("nobody") is None


def test_the_state_records_the_seq_of_the_event_that_killed_an_agent():
    events = [*opened_with_agent(), make(AgentKilled, 3, agent_id="a", reason="r", capital_released=0)]

    state = fold(events)

    assert state.agents["a"].killed_seq == 3
    assert not state.agents["a"].alive


@given(valid_event_logs())
def test_thawing_and_freezing_a_state_gives_it_back_exactly(log):
    state = fold(log)

    assert state.thaw().freeze() == state


def test_a_dead_agent_with_nothing_left_is_frozen_once_and_kept():
    log = [*killed_holder(), sale(7, 2, 12, cost=20), make(CapitalReleased, 8, agent_id="a", amount=24)]
    live = Fold()
    for event in log[:-1]:
        live.apply(event)
    selling = live.freeze().agents["a"]
    assert live.freeze().agents["a"] is not selling  # dead but still holding cash: rebuilt each time

    live.apply(log[-1])
    first = live.freeze()

    assert first == fold(log)
    assert live.freeze().agents["a"] is first.agents["a"]
    assert first.agents["a"].allocation == 0
    assert not first.agents["a"].positions


@given(valid_event_logs())
def test_the_live_index_is_exactly_the_agents_alive_after_every_event(log):
    working = Fold()
    for event in log:
        working.apply(event)
        assert working.live == {k: v for k, v in working.agents.items() if v.alive}
        assert all(working.live[k] is working.agents[k] for k in working.live)
    thawed = working.freeze().thaw()
    assert list(thawed.live) == [k for k, v in thawed.agents.items() if v.alive]


def test_a_failure_recorded_after_death_reaches_the_frozen_record():
    log = [*killed_holder(), sale(7, 2, 12, cost=20), make(CapitalReleased, 8, agent_id="a", amount=24)]
    late = make(AgentFailed, 9, agent_id="a", error_type="E", message="late report", action="halted")
    live = Fold()
    for event in log:
        live.apply(event)
    kept = live.freeze().agents["a"]
    assert live.freeze().agents["a"] is kept

    live.apply(late)

    assert live.freeze().agents["a"].failures == kept.failures + 1
    assert live.freeze() == fold([*log, late])


@given(valid_event_logs())
def test_freezing_a_live_fold_after_every_event_equals_folding_the_prefix_afresh(log):
    live = Fold()
    for index, event in enumerate(log, start=1):
        live.apply(event)
        assert live.freeze() == fold(log[:index])  # the kept records of final agents never go stale
