"""Per-agent performance: time-weighted return, Sharpe ratio, drawdown and trade statistics.

Evolution ranks agents on these numbers while the arena keeps moving capital in and out of them, so every
figure is time-weighted: a bar's return is measured against the equity the agent actually had at the start
of that bar (last mark plus any deposits, minus any withdrawals), and an allocation is never a gain. The
tracker is updated once per bar per agent, so every update is O(1): running moments (Welford) for the
Sharpe ratio and a running peak for the drawdown.

The Sharpe ratio is annualised from the data, not from an assumed bar length: marks carry the simulated
time they were taken at, so ``periods_per_year`` is the number of returns divided by the years they span
(8,760 on hourly bars, 365 on daily bars, whatever the feed's interval or gaps). Annualising daily data as
hourly would inflate every Sharpe ratio by sqrt(24), about 4.9x.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from pydantic import Field

from events import ValidationError, money

from ._validation import ValidatedModel

if TYPE_CHECKING:
    from ._broker import Fill

__all__ = ["AgentMetrics", "PerformanceTracker"]

_ZERO = Decimal(0)  # shared: a Decimal costs 104 B, and two trackers per agent each held two zeros
_HOURS_PER_YEAR = 24 * 365  # used only when marks carry no time: hourly bars of a market that never closes
_YEAR = timedelta(days=365)


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
    notional_trades: int | None = Field(default=None, ge=0)
    """Fills of at least the tracker's ``min_trade_notional``: the trades that count as evidence (a dust
    buy of $0.02 is not a decision worth judging). None when the tracker had no floor (then every fill
    counts, as ``trade_count``)."""
    idle_bars: int = Field(default=0, ge=0)
    """Consecutive bars, up to the last mark, in which the agent made no fill of at least the floor while
    it held less than the floor in positions and at least the floor in cash: capital sitting idle."""
    periods_per_year: float = Field(default=_HOURS_PER_YEAR, gt=0)
    """What ``sharpe`` was annualised with: returns per year of the marks' own timestamps."""

    @property
    def evidence_trades(self) -> int:
        """The trades that count as evidence: ``notional_trades``, or every fill without a floor."""
        return self.trade_count if self.notional_trades is None else self.notional_trades


class PerformanceTracker:
    """Accumulate one agent's marks, flows and fills into ``AgentMetrics``.

    Call ``deposit``/``withdraw`` when the arena moves capital, ``record_fill`` for each fill and ``mark``
    once per bar with the mark-to-market equity. Without ``initial_equity`` the tracker starts from zero, so
    the first deposit becomes the base of the first return.
    """

    __slots__ = (
        "_acted",
        "_equity",
        "_first_at",
        "_floor",
        "_flows",
        "_idle",
        "_index",
        "_last_at",
        "_marks",
        "_max_drawdown",
        "_mean",
        "_notional",
        "_peak",
        "_periods_per_year",
        "_returns",
        "_round_trips",
        "_spanned",
        "_spread",
        "_trades",
        "_wins",
    )

    def __init__(
        self,
        initial_equity: Decimal | None = None,
        *,
        periods_per_year: float | None = None,
        started_at: datetime | None = None,
        min_trade_notional: Decimal | None = None,
    ) -> None:
        """Start a tracker.

        Args:
            initial_equity: Equity at the start (the base of the first return); zero by default.
            periods_per_year: Fixed annualisation; by default it is measured from the marks' timestamps
                (from ``started_at``, or the first timed mark), and 8,760 (hourly) when marks carry none.
            started_at: When ``initial_equity`` was taken, so the first return's period is measured.
            min_trade_notional: Fills below it are counted as trades but not as evidence, and do not end
                an idle spell; None counts every fill and tracks no idleness.

        Raises:
            ValidationError: an argument is not a finite number of the right kind.

        """
        if initial_equity is not None:
            initial_equity = money(initial_equity, field="initial_equity")
        if min_trade_notional is not None:
            checked = money(min_trade_notional, field="min_trade_notional")
            if not (checked == min_trade_notional and checked.same_quantum(min_trade_notional)):
                min_trade_notional = checked  # else keep the caller's (a book's one floor for every tracker)
        if periods_per_year is not None and not (
            isinstance(periods_per_year, int | float)
            and math.isfinite(periods_per_year)
            and periods_per_year > 0
        ):
            msg = (
                "PerformanceTracker: periods_per_year must be a positive finite number, "
                f"got {periods_per_year!r}; pass 8760 for hourly bars"
            )
            raise ValidationError(msg, field="periods_per_year", value=periods_per_year)
        self._equity = initial_equity if initial_equity is not None else _ZERO  # as of the last mark
        self._flows = _ZERO  # net deposits since the last mark
        self._periods_per_year = periods_per_year
        self._first_at = started_at
        self._last_at = started_at
        self._floor = min_trade_notional
        self._notional = 0
        self._idle = 0
        self._acted = False  # a fill of at least the floor since the last mark
        self._spanned = 0  # returns whose bar lies between the first and the last timestamp
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

    def mark(self, equity: Decimal, *, at: datetime | None = None, holdings: Decimal | None = None) -> None:
        """Record the mark-to-market equity at the close of a bar and fold in that bar's return.

        The bar's return is ``equity / (previous mark + net flows) - 1``; when that base is not positive
        (nothing was invested) the bar counts but has no return. ``at`` is the bar's time (it measures the
        annualisation); ``holdings`` is the part of ``equity`` held in positions at the marks (it tells
        idle cash from an invested agent; by default nothing is held).

        Raises:
            ValidationError: ``equity`` (or ``holdings``) is not a finite ``Decimal``.

        """
        if not isinstance(equity, Decimal) or not equity.is_finite():
            msg = (
                f"mark: equity must be a finite Decimal, got {equity!r}; "
                "pass cash plus positions at the close (floats are rejected, not rounded)"
            )
            raise ValidationError(msg, field="equity", value=equity)
        base = self._equity + self._flows
        if base > 0:
            if at is not None and self._first_at is not None:
                self._spanned += 1
            r = 0.0 if equity == base else float(equity / base) - 1.0  # idle cash: no division
            self._returns += 1
            delta = r - self._mean
            self._mean += delta / self._returns
            self._spread += delta * (r - self._mean)
            self._index = max(
                0.0, self._index * (1.0 + r)
            )  # a short can lose more than all; the curve cannot
            self._peak = max(self._peak, self._index)
            self._max_drawdown = max(self._max_drawdown, 1.0 - self._index / self._peak)
        self._track_idle(equity, holdings)
        self._equity = equity
        self._flows = _ZERO
        self._marks += 1
        if at is not None:
            self._first_at = self._first_at or at
            self._last_at = at

    def _track_idle(self, equity: Decimal, holdings: Decimal | None) -> None:
        """Extend or end the idle spell: idle is cash of at least the floor, nothing held, nothing done."""
        floor = self._floor
        if floor is None:
            return
        held = holdings if holdings is not None else _ZERO
        if self._acted or held >= floor or equity - held < floor:
            self._idle = 0
        else:
            self._idle += 1
        self._acted = False

    def record_fill(self, fill: Fill, entry_price: Decimal | None) -> None:
        """Count a fill; a sell with its position's average ``entry_price`` also closes a round trip.

        The round trip wins when the sell's cash after fees exceeds ``quantity * entry_price``. A sell
        without an entry price (e.g. opening a short) counts as a trade but not as a round trip.

        Raises:
            ValidationError: ``entry_price`` is given but is not a non-negative finite ``Decimal``.

        """
        self.count_trade(fill.quantity * fill.price)
        if fill.side != "sell" or entry_price is None:
            return
        if not isinstance(entry_price, Decimal) or not entry_price.is_finite() or entry_price < 0:
            msg = (
                f"record_fill: entry_price must be a non-negative finite Decimal, got {entry_price!r}; "
                "pass the position's average entry price (floats are rejected, not rounded)"
            )
            raise ValidationError(msg, field="entry_price", value=entry_price)
        self.close_round_trip(won=fill.cash_delta > fill.quantity * entry_price)

    def count_trade(self, notional: Decimal) -> None:
        """Count a fill of ``notional`` (quantity times price); at least the floor, it is evidence."""
        self._trades += 1
        if self._floor is not None and notional >= self._floor:
            self._notional += 1
            self._acted = True

    def close_round_trip(self, *, won: bool) -> None:
        """Count a sale that closed (part of) a position; ``won`` when its cash after fees beat its cost."""
        self._round_trips += 1
        if won:
            self._wins += 1

    def metrics(self) -> AgentMetrics:
        """Return the metrics so far; cheap enough to call after every bar."""
        sharpe = 0.0
        periods = self.periods_per_year()
        if self._returns >= 2:  # noqa: PLR2004  (a sample standard deviation needs two returns)
            std = math.sqrt(self._spread / (self._returns - 1))
            if std > 0:
                sharpe = self._mean / std * math.sqrt(periods)
        return AgentMetrics(
            total_return=self._index - 1.0,
            sharpe=sharpe,
            max_drawdown=self._max_drawdown,
            trade_count=self._trades,
            win_rate=self._wins / self._round_trips if self._round_trips else 0.0,
            bars=self._marks,
            equity=self._equity + self._flows,
            notional_trades=None if self._floor is None else self._notional,
            idle_bars=self._idle,
            periods_per_year=periods,
        )

    def periods_per_year(self) -> float:
        """Return the returns per year of simulated time: fixed if given, else measured from the marks."""
        if self._periods_per_year is not None:
            return float(self._periods_per_year)
        first, last = self._first_at, self._last_at
        if first is None or last is None or last <= first or self._spanned == 0:
            return float(_HOURS_PER_YEAR)
        return self._spanned / ((last - first) / _YEAR)
