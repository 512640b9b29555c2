import uuid
from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given

from events import (
    EXTERNAL,
    FEES,
    PNL,
    TREASURY,
    AgentKilled,
    ArenaOpened,
    CapitalAllocated,
    CapitalReleased,
    Posting,
    TradeExecuted,
    account_agent,
    agent_account,
    fold,
    is_mirror,
    ledger_legs,
    market_account,
    position_account,
    postings,
    to_minor,
    units_account,
)
from tests.strategies import any_event, valid_event_logs

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def envelope(**fields):
    return {"seq": 1, "event_id": uuid.uuid4(), "timestamp": NOW, **fields}


def fill(side, quantity, price, fee, *, cash_delta, cost, realized_pnl=0):
    return TradeExecuted(
        **envelope(
            agent_id="a",
            symbol="X",
            side=side,
            quantity=quantity,
            price=price,
            market_price=price,
            fee=fee,
            cash_delta=cash_delta,
            cost=cost,
            realized_pnl=realized_pnl,
        )
    )


def sums_by_unit(legs):
    """Money legs summed, and quantity legs summed per symbol."""
    sums: dict[object, Decimal] = {}
    for leg in legs:
        key = ("quantity", leg.symbol) if leg.unit == "quantity" else "money"
        sums[key] = sums.get(key, Decimal(0)) + leg.amount
    return sums


@given(any_event)
def test_postings_of_every_event_sum_to_exactly_zero_in_each_unit(event):
    legs = postings(event)

    assert all(total == 0 for total in sums_by_unit(legs).values())
    assert all(p.amount != 0 for p in legs)
    assert all(p.symbol is not None for p in legs if p.unit == "quantity")


def test_each_capital_event_moves_money_between_the_documented_accounts():
    cases = [
        (ArenaOpened(**envelope(arena_id="x", total_capital=100)), (EXTERNAL, None), (TREASURY, None), 100),
        (CapitalAllocated(**envelope(agent_id="a", amount=7)), (TREASURY, None), ("agent:a", "a"), 7),
        (CapitalReleased(**envelope(agent_id="a", amount=3)), ("agent:a", "a"), (TREASURY, None), 3),
        (
            AgentKilled(**envelope(agent_id="a", reason="r", capital_released=4)),
            ("agent:a", "a"),
            (TREASURY, None),
            4,
        ),
    ]

    for event, (source, source_agent), (destination, destination_agent), amount in cases:
        assert postings(event) == [
            Posting(source, Decimal(-amount), source_agent),
            Posting(destination, Decimal(amount), destination_agent),
        ]


def test_a_buy_swaps_cash_for_a_position_at_cost_pays_its_fee_and_takes_units_from_the_market():
    buy = fill("buy", 2, 10, 1, cash_delta=-21, cost=20)

    assert postings(buy) == [
        Posting("agent:a", Decimal(-21), "a"),
        Posting("position:a:X", Decimal(20), "a", "X"),
        Posting(FEES, Decimal(1)),
        Posting("units:a:X", Decimal(2), "a", "X", "quantity"),
        Posting("market:X", Decimal(-2), None, "X", "quantity"),
    ]


def test_a_sale_takes_out_its_cost_and_realizes_the_gain_from_the_pnl_account():
    sale = fill("sell", 1, 15, 1, cash_delta=14, cost=10, realized_pnl=5)

    assert postings(sale) == [
        Posting("agent:a", Decimal(14), "a"),
        Posting("position:a:X", Decimal(-10), "a", "X"),
        Posting(FEES, Decimal(1)),
        Posting(PNL, Decimal(-5)),
        Posting("units:a:X", Decimal(-1), "a", "X", "quantity"),
        Posting("market:X", Decimal(1), None, "X", "quantity"),
    ]


def test_a_sale_at_a_loss_credits_the_pnl_account_and_a_zero_fee_posts_nothing():
    sale = fill("sell", 1, 8, 0, cash_delta=8, cost=10, realized_pnl=-2)

    assert postings(sale) == [
        Posting("agent:a", Decimal(8), "a"),
        Posting("position:a:X", Decimal(-10), "a", "X"),
        Posting(PNL, Decimal(2)),
        Posting("units:a:X", Decimal(-1), "a", "X", "quantity"),
        Posting("market:X", Decimal(1), None, "X", "quantity"),
    ]


def test_a_killed_agent_with_nothing_posts_nothing():
    assert postings(AgentKilled(**envelope(agent_id="a", reason="r", capital_released=0))) == []


def test_only_cash_accounts_map_back_to_their_agent():
    assert account_agent(agent_account("a:b")) == "a:b"
    assert account_agent(TREASURY) is None
    assert account_agent(EXTERNAL) is None
    assert account_agent(position_account("a", "X")) is None
    assert account_agent(units_account("a", "X")) is None


def test_the_mirrors_are_external_pnl_and_the_markets():
    mirrors = [EXTERNAL, PNL, market_account("X")]
    books = [TREASURY, FEES, agent_account("a"), position_account("a", "X"), units_account("a", "X")]

    assert [is_mirror(account) for account in mirrors] == [True, True, True]
    assert [is_mirror(account) for account in books] == [False] * len(books)


@given(valid_event_logs())
def test_only_mirrors_go_negative_and_each_unit_sums_to_zero_after_every_event(log):
    balances: dict[str, Decimal] = {}
    legs: list[Posting] = []

    for event in log:
        for leg in postings(event):
            balances[leg.account] = balances.get(leg.account, Decimal(0)) + leg.amount
            legs.append(leg)
        assert all(v >= 0 for k, v in balances.items() if not is_mirror(k))
        assert all(total == 0 for total in sums_by_unit(legs).values())


@given(valid_event_logs())
def test_the_mirrors_hold_minus_the_funding_the_realized_pnl_and_the_holdings(log):
    balances: dict[str, Decimal] = {}
    for leg in (leg for event in log for leg in postings(event)):
        balances[leg.account] = balances.get(leg.account, Decimal(0)) + leg.amount

    state = fold(log)

    assert balances.get(EXTERNAL, 0) == -state.funding
    assert balances.get(PNL, 0) == -state.realized_pnl
    assert balances.get(FEES, 0) == state.fees_paid
    for symbol in {symbol for agent in state.agents.values() for symbol in agent.positions}:
        held = sum(agent.positions.get(symbol, Decimal(0)) for agent in state.agents.values())
        assert balances[market_account(symbol)] == -held


def as_legs(event):
    """What ``ledger_legs`` must return: ``postings`` with each amount in minor units."""
    return [(p.account, to_minor(p.amount), p.agent_id, p.symbol, p.unit) for p in postings(event)]


@given(any_event)
def test_ledger_legs_are_the_postings_in_minor_units(event):
    assert ledger_legs(event) == as_legs(event)


@given(valid_event_logs())
def test_ledger_legs_are_the_postings_in_minor_units_along_a_log(log):
    for event in log:
        assert ledger_legs(event) == as_legs(event)


def test_ledger_legs_escape_names_like_postings_and_remember_none_across_agents():
    """Names cached per agent and symbol still escape ``%`` and ``:`` and never leak to another agent."""
    odd = fill(
        "buy", Decimal(1), Decimal(10), Decimal("0.01"), cash_delta=Decimal("-10.01"), cost=Decimal(10)
    )
    other = odd.model_copy(update={"agent_id": "a:1%", "symbol": "X:Y"})
    for event in (odd, other, odd, other):
        assert ledger_legs(event) == as_legs(event)
    assert ledger_legs(other)[0][0] == "agent:a%3A1%25"
