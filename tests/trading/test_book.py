"""The performance book: every agent's evidence, folded from the ledger's own events."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from events import Fold, LogBuilder, Tier, ValidationError, equity
from trading import MIN_TRADE_NOTIONAL, PerformanceBook


def replay(builder: LogBuilder, **options: object) -> tuple[PerformanceBook, Fold]:
    """Fold the builder's log afresh, telling the book each event right after the fold took it."""
    book = PerformanceBook(**options)  # type: ignore[arg-type]
    state = Fold()
    for event in builder.events:
        state.apply(event)
        book.observe(event, state)
    return book, state


def funded(*agents: str, amount: str = "1000", tick: timedelta = timedelta(hours=1)) -> LogBuilder:
    b = LogBuilder(seed=1, tick=tick)
    b.open("100000")
    for agent_id in agents:
        b.spawn(agent_id)
        b.allocate(agent_id, amount)
    return b


def test_equity_at_each_mark_is_the_ledgers_to_the_digit():
    b = funded("a")
    b.mark({"XYZ": "10"})
    b.trade("a", "buy", "10", "10", "0.1")
    b.mark({"XYZ": "11"})

    book, state = replay(b)

    metrics = book.metrics()["a"]
    assert metrics.equity == equity(state.agents["a"], state.marks) == Decimal("1009.9")
    assert metrics.bars == 2
    assert metrics.total_return == pytest.approx(float(Decimal("1009.9") / 1000) - 1)


def test_allocations_and_releases_are_flows_not_returns():
    b = funded("a")
    b.mark({"XYZ": "10"})
    b.allocate("a", "500")
    b.mark({"XYZ": "10"})
    b.release("a", "700")
    b.mark({"XYZ": "10"})

    metrics = replay(b)[0].metrics()["a"]

    assert metrics.total_return == 0.0
    assert metrics.equity == Decimal(800)


def test_a_dust_fill_is_a_trade_but_not_evidence_and_does_not_end_idleness():
    b = funded("a")
    for _ in range(3):
        b.mark({"XYZ": "1"})
    b.trade("a", "buy", "0.02", "1", "0")  # $0.02 of dust
    b.mark({"XYZ": "1"})

    metrics = replay(b)[0].metrics()["a"]

    assert (metrics.trade_count, metrics.notional_trades, metrics.idle_bars) == (1, 0, 4)


def test_a_real_fill_ends_idleness_and_a_held_position_keeps_it_ended():
    b = funded("a")
    b.mark({"XYZ": "10"})
    b.mark({"XYZ": "10"})
    b.trade("a", "buy", "50", "10", "0")
    for _ in range(5):
        b.mark({"XYZ": "10"})

    metrics = replay(b)[0].metrics()["a"]

    assert (metrics.notional_trades, metrics.idle_bars) == (1, 0)


def test_a_sale_wins_when_its_cash_after_fees_beats_the_cost_it_took_out():
    b = funded("a")
    b.trade("a", "buy", "10", "10", "0")
    b.trade("a", "sell", "5", "11", "0.5")  # 55 - 0.5 > 50: a win
    b.trade("a", "sell", "5", "10", "0.5")  # 50 - 0.5 < 50: a loss

    metrics = replay(b)[0].metrics()["a"]

    assert (metrics.trade_count, metrics.win_rate) == (3, 0.5)


def test_a_promotion_or_a_demotion_starts_a_new_stint_but_not_a_new_life():
    b = funded("a")
    for price in ("10", "10", "10"):
        b.mark({"XYZ": price})
    b.trade("a", "buy", "50", "10", "0")
    b.mark({"XYZ": "12"})
    b.graduate("a")
    b.mark({"XYZ": "12"})

    book, _ = replay(b)

    stint, life = book.metrics()["a"], book.lifetime()["a"]
    assert (stint.bars, life.bars) == (1, 5)
    assert (stint.trade_count, life.trade_count) == (0, 1)
    assert stint.total_return == 0.0
    assert life.total_return == pytest.approx(0.1)
    assert b.tier("a") is Tier.PROVING


def test_the_idle_spell_is_the_agents_not_the_stints():
    b = funded("a")
    for _ in range(4):
        b.mark({"XYZ": "1"})
    b.graduate("a")
    b.mark({"XYZ": "1"})

    assert replay(b)[0].metrics()["a"].idle_bars == 5


def test_a_killed_agent_leaves_the_book_and_its_wind_down_is_not_counted():
    b = funded("a", "b")
    b.trade("a", "buy", "10", "10", "0")
    b.mark({"XYZ": "10"})
    b.kill("a", price="10")
    b.mark({"XYZ": "10"})

    book, _ = replay(b)

    assert sorted(book.metrics()) == ["b"]
    assert sorted(book.lifetime()) == ["b"]


def test_sharpe_is_annualised_from_the_marks_own_timestamps():
    hourly, daily = funded("a"), funded("a", tick=timedelta(days=1))
    for b in (hourly, daily):
        for price in ("10", "11", "10.5", "11.5", "11"):
            b.trade("a", "buy", "1", price, "0")
            b.mark({"XYZ": price})

    ppy_hourly = replay(hourly)[0].metrics()["a"].periods_per_year
    ppy_daily = replay(daily)[0].metrics()["a"].periods_per_year

    # 5 returns over the 11 ticks from the spawn (seq 2) to the last mark (seq 13)
    assert ppy_hourly == pytest.approx(5 / (11 / 8760))
    assert ppy_hourly / ppy_daily == pytest.approx(24)


def test_the_floor_is_the_books_and_a_bad_one_is_refused():
    assert PerformanceBook().min_trade_notional == MIN_TRADE_NOTIONAL
    with pytest.raises(ValidationError, match="min_trade_notional"):
        PerformanceBook(min_trade_notional=-1)  # type: ignore[arg-type]


@settings(max_examples=50, deadline=None)
@given(st.data())
def test_the_book_of_a_log_is_the_same_however_often_it_is_replayed(data):
    b = funded("a", "b")
    for _ in range(data.draw(st.integers(1, 20))):
        agent_id = data.draw(st.sampled_from(["a", "b"]))
        price = data.draw(st.sampled_from(["9", "10", "11"]))
        if data.draw(st.booleans()) and b.holding(agent_id) == 0:
            b.trade(agent_id, "buy", "5", price, "0.01")
        elif b.holding(agent_id) > 0 and data.draw(st.booleans()):
            b.trade(agent_id, "sell", b.holding(agent_id), price, "0.01")
        b.mark({"XYZ": price})

    first, state = replay(b)
    second, _ = replay(b)

    assert first.metrics() == second.metrics()
    for agent_id, metrics in first.metrics().items():
        assert metrics.equity == equity(state.agents[agent_id], state.marks)
