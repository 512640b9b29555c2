import uuid
from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given

from events import (
    EXTERNAL,
    TREASURY,
    AgentKilled,
    ArenaOpened,
    CapitalAllocated,
    CapitalReleased,
    Posting,
    TradeExecuted,
    account_agent,
    agent_account,
    postings,
)
from tests.strategies import any_event, valid_event_logs

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def envelope(**fields):
    return {"seq": 1, "event_id": uuid.uuid4(), "timestamp": NOW, **fields}


@given(any_event)
def test_postings_of_every_event_sum_to_exactly_zero(event):
    legs = postings(event)

    assert sum((p.amount for p in legs), Decimal(0)) == 0
    assert all(p.amount != 0 for p in legs)


def test_each_capital_event_moves_money_between_the_documented_accounts():
    cases = [
        (ArenaOpened(**envelope(arena_id="x", total_capital=100)), EXTERNAL, TREASURY, Decimal(100)),
        (CapitalAllocated(**envelope(agent_id="a", amount=7)), TREASURY, "agent:a", Decimal(7)),
        (CapitalReleased(**envelope(agent_id="a", amount=3)), "agent:a", TREASURY, Decimal(3)),
        (
            AgentKilled(**envelope(agent_id="a", reason="r", capital_released=4)),
            "agent:a",
            TREASURY,
            Decimal(4),
        ),
    ]

    for event, source, destination, amount in cases:
        assert postings(event) == [Posting(source, -amount), Posting(destination, amount)]


def test_trades_move_cash_between_the_agent_and_the_market():
    buy = TradeExecuted(
        **envelope(agent_id="a", symbol="X", side="buy", quantity=2, price=10, fee=1, cash_delta=-21)
    )

    assert postings(buy) == [Posting(EXTERNAL, Decimal(21)), Posting("agent:a", Decimal(-21))]


def test_a_killed_agent_with_nothing_posts_nothing():
    assert postings(AgentKilled(**envelope(agent_id="a", reason="r", capital_released=0))) == []


def test_agent_accounts_map_back_to_their_agent():
    assert account_agent(agent_account("a:b")) == "a:b"
    assert account_agent(TREASURY) is None
    assert account_agent(EXTERNAL) is None


@given(valid_event_logs())
def test_internal_accounts_never_go_negative_and_external_mirrors_total_capital(log):
    balances: dict[str, Decimal] = {}

    for event in log:
        for leg in postings(event):
            balances[leg.account] = balances.get(leg.account, Decimal(0)) + leg.amount
        assert all(v >= 0 for k, v in balances.items() if k != EXTERNAL)
        assert sum(balances.values(), Decimal(0)) == 0
