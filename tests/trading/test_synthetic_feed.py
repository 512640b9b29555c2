from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime, timedelta, timezone
from decimal import ROUND_DOWN, Decimal, localcontext
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from events import ValidationError
from trading import Bar, SyntheticFeed

START = datetime(2026, 1, 1, tzinfo=UTC)
NAIVE = datetime(2026, 1, 1)  # noqa: DTZ001  (the mistake under test)


def digest(bars: list[Bar]) -> str:
    sha = hashlib.sha256()
    for bar in bars:
        sha.update(bar.model_dump_json().encode() + b"\n")
    return sha.hexdigest()


def lag_one_autocorrelation(closes: list[float]) -> float:
    returns = [later / earlier - 1 for earlier, later in pairwise(closes)]
    mean = sum(returns) / len(returns)
    deviations = [r - mean for r in returns]
    covariance = sum(a * b for a, b in pairwise(deviations))
    return covariance / sum(d * d for d in deviations)


def test_same_seed_gives_identical_bars():
    first, second = SyntheticFeed(seed=42), SyntheticFeed(seed=42)

    bars_first, bars_second = list(first), list(second)

    assert bars_first == bars_second
    assert digest(bars_first) == digest(bars_second)


def test_iterating_one_feed_twice_gives_identical_bars():
    feed = SyntheticFeed(seed=5, days=3)

    first, second = list(feed), list(feed)

    assert first == second


def test_different_seeds_give_different_bars():
    first, second = SyntheticFeed(seed=1, days=2), SyntheticFeed(seed=2, days=2)

    closes_first, closes_second = [b.close for b in first], [b.close for b in second]

    assert closes_first != closes_second


def test_negative_seeds_differ_from_their_positive_counterparts():
    positive, negative = SyntheticFeed(seed=7, days=1), SyntheticFeed(seed=-7, days=1)

    closes_positive, closes_negative = [b.close for b in positive], [b.close for b in negative]

    assert closes_positive != closes_negative


def test_seed_zero_reproduces_the_pinned_bars_byte_for_byte():
    """Pinned on one machine: a failure elsewhere means generation depends on the platform or version."""
    feed = SyntheticFeed(seed=0)

    bars = list(feed)

    assert bars[0] == Bar(
        timestamp=datetime(2026, 1, 1, 1, tzinfo=UTC),
        symbol="AAA",
        open=Decimal("100.00000000"),
        high=Decimal("100.17393716"),
        low=Decimal("99.94389802"),
        close=Decimal("100.10663675"),
        volume=Decimal("28104.88990545"),
    )
    assert digest(bars) == "fd8e952bba71749b1acb6318804731a283bdfffdd80d3a082f5fafd3874f1a47"


def test_a_changed_global_decimal_context_does_not_change_the_bars():
    expected = list(SyntheticFeed(seed=9, days=2))

    with localcontext() as context:
        context.prec = 6
        context.rounding = ROUND_DOWN
        actual = list(SyntheticFeed(seed=9, days=2))

    assert actual == expected


def test_default_feed_has_five_symbols_of_hourly_bars_for_thirty_days_in_time_then_symbol_order():
    feed = SyntheticFeed(seed=3)

    bars = list(feed)

    assert feed.symbols == ("AAA", "BBB", "CCC", "DDD", "EEE")
    assert feed.interval == timedelta(hours=1)
    assert len(bars) == 30 * 24 * 5
    assert bars[0].timestamp == START + timedelta(hours=1)
    assert bars[-1].timestamp == START + timedelta(days=30)
    assert [(b.timestamp, b.symbol) for b in bars] == sorted((b.timestamp, b.symbol) for b in bars)


def test_default_feed_generates_well_under_a_second():
    feed = SyntheticFeed(seed=4)

    began = time.perf_counter()
    count = sum(1 for _ in feed)
    elapsed = time.perf_counter() - began

    assert count == 3600
    assert elapsed < 1.0


def test_symbols_are_sorted_whatever_order_they_are_given_in():
    feed = SyntheticFeed(seed=1, symbols=["ZZZ", "AAA", "MMM"], days=1)

    first_step = [b.symbol for b in list(feed)[:3]]

    assert feed.symbols == ("AAA", "MMM", "ZZZ")
    assert first_step == ["AAA", "MMM", "ZZZ"]


def test_start_with_an_offset_gives_utc_timestamps():
    start = datetime(2026, 3, 1, 2, tzinfo=timezone(timedelta(hours=2)))

    first = next(iter(SyntheticFeed(seed=1, start=start, days=1)))

    assert first.timestamp == datetime(2026, 3, 1, 1, tzinfo=UTC)
    assert first.timestamp.utcoffset() == timedelta(0)


def test_every_symbol_opens_at_the_initial_price():
    feed = SyntheticFeed(seed=8, days=1, initial_price=Decimal("2.5"))

    first_bars = list(feed)[: len(feed.symbols)]

    assert {b.open for b in first_bars} == {Decimal("2.50000000")}


def test_feed_offers_both_momentum_and_mean_reverting_symbols():
    feed = SyntheticFeed(seed=2024, symbols=("A", "B", "C"), days=365)
    bars = list(feed)

    autocorrelations = [
        lag_one_autocorrelation([float(b.close) for b in bars if b.symbol == s]) for s in feed.symbols
    ]

    assert max(autocorrelations) > 0.03
    assert min(autocorrelations) < -0.03


def test_repr_names_the_seed_and_shape():
    feed = SyntheticFeed(seed=11, symbols=("X",), days=2)

    text = repr(feed)

    assert text.startswith(
        "SyntheticFeed(seed=11, symbols=('X',), start='2026-01-01T00:00:00+00:00', bars_per_symbol=48"
    )


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(min_value=-(2**63), max_value=2**63),
    symbol_count=st.integers(min_value=1, max_value=8),
    days=st.integers(min_value=1, max_value=4),
    interval=st.sampled_from(
        [timedelta(minutes=1), timedelta(minutes=15), timedelta(hours=1), timedelta(days=1)]
    ),
    initial_price=st.sampled_from([Decimal("0.001"), Decimal(1), Decimal(100), Decimal(50_000)]),
)
def test_every_bar_is_well_formed(seed, symbol_count, days, interval, initial_price):
    symbols = [f"S{i}" for i in range(symbol_count)]
    feed = SyntheticFeed(
        seed=seed, symbols=symbols, days=days, interval=interval, initial_price=initial_price
    )

    bars = list(feed)

    assert len(bars) == symbol_count * (timedelta(days=days) // interval)
    last_close: dict[str, Decimal] = {}
    for bar in bars:
        assert bar.timestamp.utcoffset() == timedelta(0)
        assert bar.low > 0
        assert bar.low <= min(bar.open, bar.close)
        assert bar.high >= max(bar.open, bar.close)
        assert bar.volume > 0
        assert all(v.as_tuple().exponent == -8 for v in (bar.open, bar.high, bar.low, bar.close, bar.volume))
        assert bar.open == last_close.get(bar.symbol, initial_price)
        last_close[bar.symbol] = bar.close


@pytest.mark.parametrize(
    ("options", "message", "field"),
    [
        ({"seed": 1.5}, r"^synthetic feed: seed must be an integer, got 1.5", "seed"),
        ({"seed": True}, r"^synthetic feed: seed must be an integer, got True", "seed"),
        ({"days": 0}, r"^synthetic feed: days must be an integer >= 1, got 0", "days"),
        ({"days": True}, r"^synthetic feed: days must be an integer >= 1, got True", "days"),
        (
            {"days": 10**9},
            r"^synthetic feed: days=1000000000 from .* runs past the last day a timestamp holds",
            "days",
        ),
        ({"symbols": ()}, r"^synthetic feed: symbols is empty; expected at least one symbol", "symbols"),
        (
            {"symbols": "AAA"},
            r"^synthetic feed: symbols must be a sequence of names, got the string 'AAA'",
            "symbols",
        ),
        ({"symbols": ("A", " ")}, r"^synthetic feed: symbol ' ' is not a non-empty string", "symbols"),
        (
            {"symbols": ("A", "B", "A")},
            r"^synthetic feed: symbols repeat \['A'\]; expected distinct names",
            "symbols",
        ),
        (
            {"start": NAIVE},
            r"^synthetic feed: start '2026-01-01T00:00:00' has no timezone",
            "start",
        ),
        (
            {"interval": timedelta(0)},
            r"^synthetic feed: interval must be positive and at most days=30 long",
            "interval",
        ),
        ({"interval": timedelta(hours=-1)}, r"^synthetic feed: interval must be positive", "interval"),
        (
            {"days": 1, "interval": timedelta(days=2)},
            r"^synthetic feed: interval must be positive and at most days=1",
            "interval",
        ),
        (
            {"initial_price": 100.0},
            r"^synthetic feed: initial_price must be a Decimal in \[0.00000001, 1e12\], got 100.0",
            "initial_price",
        ),
        ({"initial_price": Decimal(0)}, r"^synthetic feed: initial_price must be a Decimal", "initial_price"),
        (
            {"initial_price": Decimal(-5)},
            r"^synthetic feed: initial_price must be a Decimal",
            "initial_price",
        ),
        (
            {"initial_price": Decimal("NaN")},
            r"^synthetic feed: initial_price must be a Decimal",
            "initial_price",
        ),
        (
            {"initial_price": Decimal("1e13")},
            r"^synthetic feed: initial_price must be a Decimal",
            "initial_price",
        ),
    ],
)
def test_invalid_arguments_are_rejected_with_a_clear_error(options, message, field):
    with pytest.raises(ValidationError, match=message) as err:
        SyntheticFeed(**{"seed": 1, **options})

    assert err.value.field == field
