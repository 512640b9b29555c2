"""The market-feed contract every data source meets, and the helpers the simulation driver builds on it.

A feed is anything that yields bars in one deterministic total order (time, then symbol). Keeping the
contract that small lets the synthetic generator, CSV files and test fakes stand in for one another, and
lets the driver replay the same run bar for bar.
"""

from __future__ import annotations

import logging
from itertools import pairwise
from typing import TYPE_CHECKING, Protocol

from events import ValidationError

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from datetime import datetime, timedelta

    from ._bar import Bar

__all__ = ["MarketFeed", "infer_interval", "steps"]

logger = logging.getLogger(__name__)


class MarketFeed(Protocol):
    """A replayable source of bars for one or more symbols.

    Iterating yields every bar in ascending ``(timestamp, symbol)`` order, and iterating again yields the
    same bars again: a simulation is only reproducible if its market data is.
    """

    @property
    def symbols(self) -> tuple[str, ...]:
        """Every symbol the feed yields bars for, sorted ascending (the order of bars within a step)."""
        ...

    def __iter__(self) -> Iterator[Bar]:
        """Yield every bar in ascending ``(timestamp, symbol)`` order."""
        ...


def steps(bars: Iterable[Bar]) -> Iterator[tuple[datetime, tuple[Bar, ...]]]:
    """Group a time-ordered bar stream into one step per timestamp.

    The driver advances the simulated clock once per step, so every strategy sees all symbols that closed
    at that instant together, never a half-updated market.

    Args:
        bars: Bars in non-decreasing time order, as any ``MarketFeed`` yields them.

    Yields:
        ``(timestamp, bars)`` for each distinct timestamp, bars in the order they arrived.

    Raises:
        ValidationError: A bar is earlier than the one before it, or a symbol has two bars in one step.

    """
    when: datetime | None = None
    group: list[Bar] = []
    seen: set[str] = set()
    for bar in bars:
        if when is not None and bar.timestamp != when:
            if bar.timestamp < when:
                msg = (
                    f"bar stream: bar for {bar.symbol!r} at {bar.timestamp.isoformat()} comes after a bar at "
                    f"{when.isoformat()}; expected non-decreasing timestamps; iterate a MarketFeed, which "
                    "yields bars in time order"
                )
                raise ValidationError(msg, field="timestamp", value=bar.timestamp)
            yield when, tuple(group)
            group, seen = [], set()
        if bar.symbol in seen:
            msg = (
                f"bar stream: symbol {bar.symbol!r} has two bars at {bar.timestamp.isoformat()}; expected at "
                "most one bar per symbol per timestamp; drop the duplicate bar"
            )
            raise ValidationError(msg, field="symbol", value=bar.symbol)
        when = bar.timestamp
        group.append(bar)
        seen.add(bar.symbol)
    if when is not None:
        yield when, tuple(group)


def infer_interval(bars: Iterable[Bar], *, symbol: str | None = None) -> timedelta:
    """Return the typical spacing between one symbol's bars, for annualizing returns (e.g. Sharpe).

    The median, not the mean, so that weekends, holidays and the odd missing bar in a daily file still give
    one day rather than something like 1.4 days.

    Args:
        bars: Bars in time order, as any ``MarketFeed`` yields them (the iterable is consumed).
        symbol: Whose bars to measure; defaults to the symbol of the first bar.

    Returns:
        The median gap between consecutive timestamps of that symbol (for an even number of gaps, the mean
        of the two middle ones).

    Raises:
        ValidationError: The symbol has fewer than two bars, so there is no gap to measure.

    """
    times: list[datetime] = []
    for bar in bars:
        if symbol is None:
            symbol = bar.symbol
        if bar.symbol == symbol:
            times.append(bar.timestamp)
    if len(times) < 2:  # noqa: PLR2004  (one gap needs two bars)
        msg = (
            f"bar interval: symbol {symbol!r} has {len(times)} bar(s); expected at least 2 to measure the "
            "spacing; use a longer feed or name a symbol that has bars"
        )
        raise ValidationError(msg, field="symbol", value=symbol)
    gaps = sorted(later - earlier for earlier, later in pairwise(times))
    middle = len(gaps) // 2
    if len(gaps) % 2:
        return gaps[middle]
    return (gaps[middle - 1] + gaps[middle]) / 2
