"""Per-agent performance: time-weighted return, Sharpe ratio, drawdown and trade statistics.

Evolution ranks agents on these numbers while the arena keeps moving capital in and out of them, so every
figure is time-weighted: a bar's return is measured against the equity the agent actually had at the start
of that bar (last mark plus any deposits, minus any withdrawals), and an allocation is never a gain. The
tracker is updated once per bar per agent, so every update is O(1): running moments (Welford) for the
Sharpe ratio and a running peak for the drawdown.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import TYPE_CHECKING

from pydantic import Field

from events import ValidationError, money

from ._validation import ValidatedModel

if TYPE_CHECKING:
    from ._broker import Fill

__all__ = ["AgentMetrics", "PerformanceTracker"]

_HOURS_PER_YEAR = 24 * 365  # the simulation's bars are hourly and crypto markets never close


class AgentMetrics(ValidatedModel):
    """A snapshot of one agent's performance, as evolution and the reports see it."""

    total_return: float
    """Time-weighted return since the first mark: 0.1 is +10%; deposits and withdrawals do not count."""
    sharpe: float
    """Mean over standard deviation of bar returns, annualised; 0.0 with fewer than 2 returns or no spread."""
    max_drawdown: float = Field(ge=0.0, le=1.0)
    """Largest fall of the time-weighted equity curve from its running peak, as a positive fraction."""
    trade_count: int = Field(ge=0)
    """Fills of either side."""
    win_rate: float = Field(ge=0.0, le=1.0)
    """Fraction of closing sells whose proceeds after fees beat their cost at the entry price; 0.0 if none."""
    bars: int = Field(ge=0)
    """Marks recorded, one per bar."""
    equity: Decimal
    """Last marked equity plus any deposits and minus any withdrawals since."""


class PerformanceTracker:
    """Accumulate one agent's marks, flows and fills into ``AgentMetrics``.

    Call ``deposit``/``withdraw`` when the arena moves capital, ``record_fill`` for each fill and ``mark``
    once per bar with the mark-to-market equity. Without ``initial_equity`` the tracker starts from zero, so
    the first deposit becomes the base of the first return.
    """

    __slots__ = (
        "_equity",
        "_flows",
        "_index",
        "_marks",
        "_max_drawdown",
        "_mean",
        "_peak",
        "_ppy_root",
        "_returns",
        "_round_trips",
        "_spread",
        "_trades",
        "_wins",
    )

    def __init__(
        self, initial_equity: Decimal | None = None, *, periods_per_year: float = _HOURS_PER_YEAR
    ) -> None:
        if initial_equity is not None:
            initial_equity = money(initial_equity, field="initial_equity")
        if not (
            isinstance(periods_per_year, int | float)
            and math.isfinite(periods_per_year)
            and periods_per_year > 0
        ):
            msg = (
                "PerformanceTracker: periods_per_year must be a positive finite number, "
                f"got {periods_per_year!r}; pass 8760 for hourly bars"
            )
            raise ValidationError(msg, field="periods_per_year", value=periods_per_year)
        self._equity = initial_equity if initial_equity is not None else Decimal(0)  # as of the last mark
        self._flows = Decimal(0)  # net deposits since the last mark
        self._ppy_root = math.sqrt(periods_per_year)
        self._marks = 0
        self._returns = 0  # Welford's running count, mean and sum of squared deviations of bar returns
        self._mean = 0.0
        self._spread = 0.0
        self._index = 1.0  # time-weighted equity curve: the growth of 1 unit left untouched by flows
        self._peak = 1.0
        self._max_drawdown = 0.0
        self._trades = 0
        self._round_trips = 0
        self._wins = 0

    def deposit(self, amount: Decimal) -> None:
        """Record capital the arena gave the agent since the last mark; it is not a return."""
        self._flows += money(amount, field="amount", allow_zero=False)

    def withdraw(self, amount: Decimal) -> None:
        """Record capital the arena took back since the last mark; it is not a loss."""
        self._flows -= money(amount, field="amount", allow_zero=False)

    def mark(self, equity: Decimal) -> None:
        """Record the mark-to-market equity at the close of a bar and fold in that bar's return.

        The bar's return is ``equity / (previous mark + net flows) - 1``; when that base is not positive
        (nothing was invested) the bar counts but has no return.

        Raises:
            ValidationError: ``equity`` is not a finite ``Decimal``.

        """
        if not isinstance(equity, Decimal) or not equity.is_finite():
            msg = (
                f"mark: equity must be a finite Decimal, got {equity!r}; "
                "pass cash plus positions at the close (floats are rejected, not rounded)"
            )
            raise ValidationError(msg, field="equity", value=equity)
        base = self._equity + self._flows
        if base > 0:
            r = float(equity / base) - 1.0
            self._returns += 1
            delta = r - self._mean
            self._mean += delta / self._returns
            self._spread += delta * (r - self._mean)
            self._index = max(
                0.0, self._index * (1.0 + r)
            )  # a short can lose more than all; the curve cannot
            self._peak = max(self._peak, self._index)
            self._max_drawdown = max(self._max_drawdown, 1.0 - self._index / self._peak)
        self._equity = equity
        self._flows = Decimal(0)
        self._marks += 1

    def record_fill(self, fill: Fill, entry_price: Decimal | None) -> None:
        """Count a fill; a sell with its position's average ``entry_price`` also closes a round trip.

        The round trip wins when the sell's cash after fees exceeds ``quantity * entry_price``. A sell
        without an entry price (e.g. opening a short) counts as a trade but not as a round trip.

        Raises:
            ValidationError: ``entry_price`` is given but is not a non-negative finite ``Decimal``.

        """
        self._trades += 1
        if fill.side != "sell" or entry_price is None:
            return
        if not isinstance(entry_price, Decimal) or not entry_price.is_finite() or entry_price < 0:
            msg = (
                f"record_fill: entry_price must be a non-negative finite Decimal, got {entry_price!r}; "
                "pass the position's average entry price (floats are rejected, not rounded)"
            )
            raise ValidationError(msg, field="entry_price", value=entry_price)
        self._round_trips += 1
        if fill.cash_delta > fill.quantity * entry_price:
            self._wins += 1

    def metrics(self) -> AgentMetrics:
        """Return the metrics so far; cheap enough to call after every bar."""
        sharpe = 0.0
        if self._returns >= 2:  # noqa: PLR2004  (a sample standard deviation needs two returns)
            std = math.sqrt(self._spread / (self._returns - 1))
            if std > 0:
                sharpe = self._mean / std * self._ppy_root
        return AgentMetrics(
            total_return=self._index - 1.0,
            sharpe=sharpe,
            max_drawdown=self._max_drawdown,
            trade_count=self._trades,
            win_rate=self._wins / self._round_trips if self._round_trips else 0.0,
            bars=self._marks,
            equity=self._equity + self._flows,
        )
