import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Literal

import pydantic
import pytest
from hypothesis import given

from events import (
    REASON_LIMIT,
    AgentDemoted,
    AgentGraduated,
    AgentKilled,
    AgentMutated,
    ArenaOpened,
    CapitalAllocated,
    CapitalConservationCheck,
    Event,
    Tier,
    TradeExecuted,
)
from tests.strategies import any_event

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def envelope(**fields):
    return {"seq": 1, "event_id": uuid.uuid4(), "timestamp": NOW, **fields}


@given(any_event)
def test_every_event_is_immutable(event):
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        event.seq = 7  # type: ignore[misc]


def test_events_refuse_unknown_fields():
    with pytest.raises(pydantic.ValidationError, match="Extra inputs are not permitted"):
        CapitalAllocated(**envelope(agent_id="a", amount=1, colour="red"))


def test_timestamps_without_timezone_are_refused_not_guessed():
    with pytest.raises(pydantic.ValidationError, match="has no timezone; pass a timezone-aware UTC datetime"):
        CapitalAllocated(**envelope(agent_id="a", amount=1, timestamp=datetime(2026, 1, 1)))  # noqa: DTZ001  (a naive time is the bad input under test)


def test_timestamps_are_normalised_to_utc():
    local = datetime(2026, 1, 1, 5, tzinfo=timezone(timedelta(hours=5)))

    event = CapitalAllocated(**envelope(agent_id="a", amount=1, timestamp=local))

    assert event.timestamp == NOW
    assert event.timestamp.tzinfo == UTC


@pytest.mark.parametrize("amount", [1.0, "nan", "-5", "0", "0.123456789"])
def test_allocations_refuse_floats_nan_negative_zero_and_excess_precision(amount):
    with pytest.raises(pydantic.ValidationError, match=r"amount: "):
        CapitalAllocated(**envelope(agent_id="a", amount=amount))


def test_seq_starts_at_one():
    with pytest.raises(pydantic.ValidationError, match="greater than or equal to 1"):
        ArenaOpened(**envelope(seq=0, arena_id="x", total_capital=1))


@pytest.mark.parametrize(
    ("from_tier", "to_tier"),
    [(Tier.SIMULATION, Tier.ARENA), (Tier.ARENA, Tier.PROVING), (Tier.PROVING, Tier.PROVING)],
)
def test_graduation_events_only_record_one_rung_up(from_tier, to_tier):
    with pytest.raises(pydantic.ValidationError, match=r"is not a promotion; the only legal ones"):
        AgentGraduated(**envelope(agent_id="a", from_tier=from_tier, to_tier=to_tier, reason="r"))


@pytest.mark.parametrize(
    ("from_tier", "to_tier"),
    [(Tier.SIMULATION, Tier.PROVING), (Tier.ARENA, Tier.SIMULATION), (Tier.PROVING, Tier.PROVING)],
)
def test_demotion_events_only_record_one_rung_down(from_tier, to_tier):
    with pytest.raises(
        pydantic.ValidationError,
        match=r"AgentDemoted: .* is not a demotion; the only legal ones are arena -> proving and proving -> "
        r"simulation",
    ):
        AgentDemoted(**envelope(agent_id="a", from_tier=from_tier, to_tier=to_tier, reason="r"))


@pytest.mark.parametrize("cls", [AgentGraduated, AgentDemoted])
@pytest.mark.parametrize("reason", ["", "x" * (REASON_LIMIT + 1)])
def test_a_tier_move_without_a_reason_or_with_an_overlong_one_is_refused(cls, reason):
    tiers = (Tier.SIMULATION, Tier.PROVING) if cls is AgentGraduated else (Tier.PROVING, Tier.SIMULATION)

    with pytest.raises(pydantic.ValidationError, match=r"reason"):
        cls(**envelope(agent_id="a", from_tier=tiers[0], to_tier=tiers[1], reason=reason))


def test_a_tier_move_records_its_reason_and_evidence_and_a_kill_its_evidence():
    moved = AgentDemoted(
        **envelope(
            agent_id="a",
            from_tier=Tier.ARENA,
            to_tier=Tier.PROVING,
            reason="max drawdown 0.31 > 0.25",
            evidence={"max_drawdown": 0.31, "limit": 0.25},
        )
    )
    killed = AgentKilled(**envelope(agent_id="a", reason="r", capital_released=0, evidence={"fitness": -1.5}))

    assert moved.reason == "max drawdown 0.31 > 0.25"
    assert moved.evidence == {"max_drawdown": 0.31, "limit": 0.25}
    assert killed.evidence == {"fitness": -1.5}
    assert AgentKilled(**envelope(agent_id="a", reason="r", capital_released=0)).evidence == {}


def test_trade_cash_delta_must_match_its_own_fields():
    with pytest.raises(pydantic.ValidationError, match=r"cash_delta -100\.00000000 does not match buy"):
        TradeExecuted(
            **envelope(
                agent_id="a",
                symbol="X",
                side="buy",
                quantity=1,
                price=100,
                market_price=100,
                fee=1,
                cash_delta=-100,
                cost=100,
            )
        )


def test_trade_cash_delta_includes_fee_and_rounds_notional_half_even():
    event = TradeExecuted(
        **envelope(
            agent_id="a",
            symbol="X",
            side="sell",
            quantity=Decimal("0.00000003"),
            price=Decimal("0.50000000"),
            market_price=Decimal("0.50000000"),
            fee=Decimal("0.00000001"),
            cash_delta=Decimal("0.00000001"),
            cost=Decimal("0.00000002"),
            realized_pnl=Decimal(0),
        )
    )

    assert event.cash_delta == Decimal("0.00000001")  # 0.000000015 rounds half-even to 0.00000002


@pytest.mark.parametrize(
    ("figures", "ok"),
    [
        ({"total": 10, "free": 3, "allocated": 6, "funding": 10, "realized_pnl": 0, "fees": 0}, True),
        ({"total": 10, "free": 3, "allocated": 7, "funding": 11, "realized_pnl": 0, "fees": 0}, True),
        ({"total": 10, "free": 3, "allocated": 7, "funding": 10, "realized_pnl": 0, "fees": 0}, False),
    ],
)
def test_conservation_check_ok_flag_must_agree_with_its_amounts(figures, ok):
    with pytest.raises(pydantic.ValidationError, match=rf"ok={ok} contradicts"):
        CapitalConservationCheck(**envelope(**figures, ok=ok))


def test_a_trades_cost_and_realized_pnl_must_follow_its_side():
    fields = {"agent_id": "a", "symbol": "X", "quantity": 1, "price": 10, "market_price": 10, "fee": 0}

    with pytest.raises(pydantic.ValidationError, match=r"a buy's cost is its notional 10\.00000000"):
        TradeExecuted(**envelope(**fields, side="buy", cash_delta=-10, cost=9))
    with pytest.raises(pydantic.ValidationError, match=r"a sale realizes its notional 10\.00000000 minus"):
        TradeExecuted(**envelope(**fields, side="sell", cash_delta=10, cost=8, realized_pnl=1))


def test_mutation_subject_is_the_child():
    parent_event = uuid.uuid4()

    with pytest.raises(pydantic.ValidationError, match=r"agent_id 'p' must equal child_id 'c'"):
        AgentMutated(**envelope(agent_id="p", parent_id="p", child_id="c", parent_event_id=parent_event))


def test_a_second_class_with_a_used_tag_is_refused():

    with pytest.raises(TypeError, match=r"event tag 'CapitalAllocated' is used by both"):

        class Impostor(Event):
            event_type: Literal["CapitalAllocated"] = "CapitalAllocated"
