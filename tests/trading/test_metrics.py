from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from events import ValidationError
from trading import AgentMetrics, Fill, PerformanceTracker


def marked(initial: str | None, *equities: str, periods_per_year: float = 1.0) -> AgentMetrics:
    tracker = PerformanceTracker(
        Decimal(initial) if initial is not None else None, periods_per_year=periods_per_year
    )
    for equity in equities:
        tracker.mark(Decimal(equity))
    return tracker.metrics()


def fill(side: str, quantity: str, price: str, fee: str = "0") -> Fill:
    notional = Decimal(quantity) * Decimal(price)
    cash_delta = -(notional + Decimal(fee)) if side == "buy" else notional - Decimal(fee)
    return Fill("BTC", side, Decimal(quantity), Decimal(quantity), Decimal(price), Decimal(fee), cash_delta)  # type: ignore[arg-type]


def test_a_fresh_tracker_reports_zeros_and_its_initial_equity():
    metrics = marked("100")

    assert metrics == AgentMetrics(
        total_return=0.0,
        sharpe=0.0,
        max_drawdown=0.0,
        trade_count=0,
        win_rate=0.0,
        bars=0,
        equity=Decimal(100),
        periods_per_year=1.0,
    )


def test_total_return_compounds_the_bar_returns():
    metrics = marked("100", "110", "99")

    assert metrics.total_return == pytest.approx(1.1 * 0.9 - 1)
    assert metrics.bars == 2
    assert metrics.equity == Decimal(99)


def test_max_drawdown_is_the_largest_fall_from_a_running_peak():
    metrics = marked("100", "120", "90", "130", "117")

    assert metrics.max_drawdown == pytest.approx(0.25)  # 120 -> 90; the later 130 -> 117 is only 10%


def test_a_rising_curve_has_no_drawdown():
    metrics = marked("100", "101", "102", "104")

    assert metrics.max_drawdown == 0.0


def test_sharpe_is_the_annualised_mean_over_sample_std_of_bar_returns():
    metrics = marked("100", "110", "104.5", periods_per_year=4)  # returns +10% and -5%

    mean, std = 0.025, math.sqrt(2 * 0.075**2)
    assert metrics.sharpe == pytest.approx(mean / std * 2)


@pytest.mark.parametrize(
    ("equities", "sign"),
    [(("101", "103", "102.5", "106"), 1), (("99", "97", "97.5", "94"), -1)],
)
def test_sharpe_has_the_sign_of_the_trend(equities, sign):
    metrics = marked("100", *equities)

    assert math.copysign(1, metrics.sharpe) == sign
    assert metrics.sharpe != 0


@pytest.mark.parametrize("equities", [("110",), ("100", "100", "100"), ("110", "121", "133.1")])
def test_sharpe_is_zero_with_fewer_than_two_returns_or_no_spread(equities):
    metrics = marked("100", *equities)

    assert metrics.sharpe == 0.0


def test_a_deposit_is_not_a_return():
    tracker = PerformanceTracker(Decimal(100))

    tracker.deposit(Decimal(100))
    tracker.mark(Decimal(200))

    assert tracker.metrics().total_return == 0.0
    assert tracker.metrics().equity == Decimal(200)


def test_a_gain_after_a_deposit_is_measured_against_the_enlarged_capital():
    tracker = PerformanceTracker(Decimal(100))

    tracker.deposit(Decimal(100))
    tracker.mark(Decimal(220))

    assert tracker.metrics().total_return == pytest.approx(0.1)


def test_a_withdrawal_is_not_a_loss():
    tracker = PerformanceTracker(Decimal(200))
    tracker.mark(Decimal(220))

    tracker.withdraw(Decimal(120))
    tracker.mark(Decimal(110))

    assert tracker.metrics().total_return == pytest.approx(0.21)
    assert tracker.metrics().max_drawdown == 0.0


def test_without_initial_equity_the_first_deposit_is_the_base():
    tracker = PerformanceTracker()

    tracker.deposit(Decimal(1000))
    tracker.mark(Decimal(1050))

    assert tracker.metrics().total_return == pytest.approx(0.05)


def test_marks_with_nothing_invested_count_as_bars_without_returns():
    metrics = marked(None, "0", "0")

    assert (metrics.bars, metrics.total_return, metrics.sharpe) == (2, 0.0, 0.0)


def test_equity_includes_flows_since_the_last_mark():
    tracker = PerformanceTracker(Decimal(100))
    tracker.mark(Decimal(100))

    tracker.deposit(Decimal("25.5"))

    assert tracker.metrics().equity == Decimal("125.5")


def test_win_rate_counts_sells_that_beat_their_entry_after_fees():
    tracker = PerformanceTracker(Decimal(1000))

    tracker.record_fill(fill("buy", "1", "100"), None)
    tracker.record_fill(fill("sell", "1", "110", fee="0.11"), Decimal(100))
    tracker.record_fill(fill("sell", "1", "90"), Decimal(100))
    tracker.record_fill(fill("sell", "1", "100.05", fee="0.1"), Decimal(100))  # price gain eaten by the fee

    metrics = tracker.metrics()
    assert metrics.trade_count == 4
    assert metrics.win_rate == pytest.approx(1 / 3)


def test_a_sell_without_an_entry_price_is_a_trade_but_not_a_round_trip():
    tracker = PerformanceTracker(Decimal(1000))

    tracker.record_fill(fill("sell", "1", "110"), None)

    assert (tracker.metrics().trade_count, tracker.metrics().win_rate) == (1, 0.0)


market_returns = st.lists(st.floats(min_value=-0.5, max_value=0.5), min_size=1, max_size=50)


@given(market_returns, st.data())
def test_deposits_and_withdrawals_never_change_the_time_weighted_return(returns, data):
    tracker = PerformanceTracker(Decimal(1000))
    equity = Decimal(1000)

    for r in returns:
        flow = data.draw(st.integers(min_value=-int(equity * Decimal("0.9")), max_value=5000))
        if flow > 0:
            tracker.deposit(Decimal(flow))
        elif flow < 0:
            tracker.withdraw(Decimal(-flow))
        equity = ((equity + flow) * (1 + Decimal(repr(r)))).quantize(Decimal("0.00000001"))
        tracker.mark(equity)

    metrics = tracker.metrics()
    assert metrics.total_return == pytest.approx(math.prod(1 + r for r in returns) - 1, rel=1e-6, abs=1e-9)
    assert 0.0 <= metrics.max_drawdown <= 1.0


@pytest.mark.parametrize(
    ("call", "pattern"),
    [
        (
            lambda t: t.deposit(Decimal(0)),
            r"^amount: Decimal\('0'\) is zero; pass an amount > 0$",
        ),
        (lambda t: t.withdraw(Decimal(-5)), r"^amount: Decimal\('-5'\) is negative;"),
        (
            lambda t: t.deposit(5.0),
            r"^amount: 5\.0 is a float, not an exact amount; pass Decimal\('5\.0'\)$",
        ),
        (lambda t: t.mark(100.0), r"^mark: equity must be a finite Decimal, got 100\.0;"),
        (lambda t: t.mark(Decimal("NaN")), r"^mark: equity must be a finite Decimal"),
        (
            lambda t: t.record_fill(fill("sell", "1", "1"), Decimal(-1)),
            r"^record_fill: entry_price must be a non-negative finite Decimal",
        ),
    ],
)
def test_bad_tracker_inputs_raise_validation_error(call, pattern):
    tracker = PerformanceTracker(Decimal(100))

    with pytest.raises(ValidationError, match=pattern):
        call(tracker)


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        (
            {"initial_equity": Decimal(-1)},
            r"^initial_equity: Decimal\('-1'\) is negative;",
        ),
        (
            {"periods_per_year": 0},
            r"^PerformanceTracker: periods_per_year must be a positive finite number, got 0;",
        ),
        ({"periods_per_year": math.inf}, r"^PerformanceTracker: periods_per_year must be a positive finite"),
    ],
)
def test_bad_tracker_settings_raise_validation_error(kwargs, pattern):
    with pytest.raises(ValidationError, match=pattern):
        PerformanceTracker(**kwargs)


def test_metrics_out_of_range_raise_validation_error():
    with pytest.raises(
        ValidationError, match=r"^AgentMetrics field 'max_drawdown': input should be less than or"
    ):
        AgentMetrics(
            total_return=0.0,
            sharpe=0.0,
            max_drawdown=1.5,
            trade_count=0,
            win_rate=0.0,
            bars=0,
            equity=Decimal(0),
        )


def timed(equities: list[str], step: timedelta, **options: object) -> AgentMetrics:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    tracker = PerformanceTracker(Decimal(100), started_at=start, **options)  # type: ignore[arg-type]
    for n, equity in enumerate(equities, start=1):
        tracker.mark(Decimal(equity), at=start + n * step)
    return tracker.metrics()


def test_sharpe_is_annualised_from_the_marks_timestamps_not_assumed_hourly():
    curve = ["101", "100.5", "102", "101.2", "103"]
    hourly = timed(curve, timedelta(hours=1))
    daily = timed(curve, timedelta(days=1))

    assert hourly.periods_per_year == pytest.approx(8760)
    assert daily.periods_per_year == pytest.approx(365)
    assert hourly.sharpe / daily.sharpe == pytest.approx(math.sqrt(24))


def test_a_gap_in_the_data_counts_as_the_time_it_took():
    start = datetime(2024, 1, 1, tzinfo=UTC)
    tracker = PerformanceTracker(Decimal(100), started_at=start)
    tracker.mark(Decimal(101), at=start + timedelta(days=1))
    tracker.mark(Decimal(102), at=start + timedelta(days=4))  # a long weekend: 4 days, 2 returns

    assert tracker.metrics().periods_per_year == pytest.approx(2 / (4 / 365))


def test_without_a_start_time_the_first_timed_mark_only_opens_the_span():
    start = datetime(2024, 1, 1, tzinfo=UTC)
    tracker = PerformanceTracker(Decimal(100))
    for n, equity in enumerate(["101", "102", "103"]):
        tracker.mark(Decimal(equity), at=start + timedelta(days=n))

    assert tracker.metrics().periods_per_year == pytest.approx(365)


def test_a_fixed_periods_per_year_wins_over_the_timestamps():
    assert timed(["101", "102"], timedelta(days=1), periods_per_year=12).periods_per_year == 12


def test_fills_below_the_notional_floor_are_trades_but_not_evidence():
    tracker = PerformanceTracker(Decimal(1000), min_trade_notional=Decimal(10))
    tracker.count_trade(Decimal("0.02"))
    tracker.count_trade(Decimal(10))
    metrics = tracker.metrics()

    assert (metrics.trade_count, metrics.notional_trades, metrics.evidence_trades) == (2, 1, 1)


def test_without_a_floor_every_fill_is_evidence():
    tracker = PerformanceTracker(Decimal(1000))
    tracker.count_trade(Decimal("0.02"))

    assert (tracker.metrics().notional_trades, tracker.metrics().evidence_trades) == (None, 1)


def test_idle_counts_bars_in_cash_without_a_real_fill_and_ends_with_one():
    tracker = PerformanceTracker(Decimal(1000), min_trade_notional=Decimal(10))
    for _ in range(3):
        tracker.mark(Decimal(1000))
    assert tracker.metrics().idle_bars == 3
    tracker.count_trade(Decimal("0.02"))  # dust does not end idleness
    tracker.mark(Decimal(1000), holdings=Decimal("0.02"))
    assert tracker.metrics().idle_bars == 4
    tracker.count_trade(Decimal(500))
    tracker.mark(Decimal(1000), holdings=Decimal(500))
    assert tracker.metrics().idle_bars == 0


def test_an_invested_agent_is_not_idle_and_one_without_capital_is_not_either():
    invested = PerformanceTracker(Decimal(1000), min_trade_notional=Decimal(10))
    broke = PerformanceTracker(Decimal(0), min_trade_notional=Decimal(10))
    for _ in range(5):
        invested.mark(Decimal(1000), holdings=Decimal(900))  # holding a position is a decision
        broke.mark(Decimal(5))  # below the floor in cash: nothing to trade with

    assert (invested.metrics().idle_bars, broke.metrics().idle_bars) == (0, 0)


def test_a_bad_notional_floor_is_refused():
    with pytest.raises(ValidationError, match="min_trade_notional"):
        PerformanceTracker(min_trade_notional=1.5)  # type: ignore[arg-type]
