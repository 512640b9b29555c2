from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest
from hypothesis import given
from hypothesis import strategies as st

from events import ValidationError
from trading import Bar, MarketFeed, SyntheticFeed, infer_interval, steps

if TYPE_CHECKING:
    from collections.abc import Iterator

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def bar(symbol: str, when: datetime) -> Bar:
    price = Decimal(10)
    return Bar(
        timestamp=when, symbol=symbol, open=price, high=price, low=price, close=price, volume=Decimal(1)
    )


class ListFeed:
    """The smallest MarketFeed: a fixed list of bars, proving the protocol asks for nothing more."""

    def __init__(self, bars: list[Bar]) -> None:
        self._bars = bars

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(sorted({b.symbol for b in self._bars}))

    def __iter__(self) -> Iterator[Bar]:
        return iter(self._bars)


def test_steps_groups_consecutive_bars_that_share_a_timestamp():
    bars = [bar("A", T0), bar("B", T0), bar("A", T0 + timedelta(hours=1)), bar("B", T0 + timedelta(hours=2))]

    result = list(steps(bars))

    assert result == [
        (T0, (bars[0], bars[1])),
        (T0 + timedelta(hours=1), (bars[2],)),
        (T0 + timedelta(hours=2), (bars[3],)),
    ]


def test_steps_of_no_bars_is_no_steps():
    bars: list[Bar] = []

    result = list(steps(bars))

    assert result == []


def test_steps_accepts_any_market_feed_including_a_plain_fake():
    feed: MarketFeed = ListFeed([bar("A", T0), bar("B", T0)])

    result = list(steps(feed))

    assert result == [(T0, tuple(feed))]
    assert feed.symbols == ("A", "B")


def test_steps_rejects_a_bar_earlier_than_the_one_before():
    bars = [bar("A", T0 + timedelta(hours=1)), bar("B", T0)]

    with pytest.raises(
        ValidationError, match=r"^bar stream: bar for 'B' at 2024-01-01T00:00:00\+00:00 comes after"
    ) as err:
        list(steps(bars))

    assert err.value.field == "timestamp"
    assert err.value.value == T0


def test_steps_rejects_two_bars_of_one_symbol_in_one_step():
    bars = [bar("A", T0), bar("B", T0), bar("A", T0)]

    with pytest.raises(
        ValidationError, match=r"^bar stream: symbol 'A' has two bars at 2024-01-01T00:00:00"
    ) as err:
        list(steps(bars))

    assert err.value.field == "symbol"


def test_steps_of_a_synthetic_feed_gives_one_step_per_interval_with_every_symbol_in_order():
    feed = SyntheticFeed(seed=1, days=2, interval=timedelta(hours=6))

    result = list(steps(feed))

    assert [when for when, _ in result] == [feed_start() + k * timedelta(hours=6) for k in range(1, 9)]
    assert all(tuple(b.symbol for b in group) == feed.symbols for _, group in result)


def feed_start() -> datetime:
    return datetime(2026, 1, 1, tzinfo=UTC)


@given(
    counts=st.lists(st.integers(min_value=1, max_value=4), min_size=0, max_size=12),
)
def test_steps_partition_the_stream_without_losing_or_reordering_bars(counts):
    symbols = ["A", "B", "C", "D"]
    bars = [bar(symbols[j], T0 + timedelta(minutes=i)) for i, n in enumerate(counts) for j in range(n)]

    result = list(steps(bars))

    assert [b for _, group in result for b in group] == bars
    assert [len(group) for _, group in result] == counts
    assert all(b.timestamp == when for when, group in result for b in group)


def test_infer_interval_of_hourly_bars_is_one_hour():
    feed = SyntheticFeed(seed=1, days=1)

    interval = infer_interval(feed)

    assert interval == timedelta(hours=1)


def test_infer_interval_of_weekday_bars_ignores_weekend_gaps():
    days = [T0 + timedelta(days=d) for d in range(28) if (T0 + timedelta(days=d)).weekday() < 5]
    bars = [bar("A", when) for when in days]

    interval = infer_interval(bars)

    assert interval == timedelta(days=1)


def test_infer_interval_of_an_even_number_of_gaps_averages_the_middle_two():
    offsets = [0, 1, 3, 6, 10]  # gaps 1, 2, 3, 4: middle two are 2 and 3
    bars = [bar("A", T0 + timedelta(minutes=m)) for m in offsets]

    interval = infer_interval(bars)

    assert interval == timedelta(minutes=2.5)


def test_infer_interval_measures_the_named_symbol_only():
    bars = [
        bar("A", T0),
        bar("B", T0),
        bar("B", T0 + timedelta(minutes=5)),
        bar("A", T0 + timedelta(hours=1)),
        bar("B", T0 + timedelta(minutes=10)),
    ]

    interval = infer_interval(bars, symbol="B")

    assert interval == timedelta(minutes=5)


def test_infer_interval_defaults_to_the_first_bars_symbol():
    bars = [bar("A", T0), bar("B", T0), bar("B", T0 + timedelta(minutes=5)), bar("A", T0 + timedelta(days=1))]

    interval = infer_interval(bars)

    assert interval == timedelta(days=1)


@pytest.mark.parametrize("bars", [[], [bar("A", T0)], [bar("A", T0), bar("B", T0 + timedelta(hours=1))]])
def test_infer_interval_rejects_a_symbol_with_fewer_than_two_bars(bars):
    with pytest.raises(
        ValidationError, match=r"^bar interval: symbol .* has [01] bar\(s\); expected at least 2"
    ) as err:
        infer_interval(bars)

    assert err.value.field == "symbol"
