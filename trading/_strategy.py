"""Trading rules: turn a stream of bars into orders; the three built-in rules and what every rule sees.

Strategies are pure and actor-free: the driver calls ``on_bar`` once per bar per agent (1000 agents x 720
bars x 5 symbols in the standard run), so each keeps O(1) rolling state per symbol. Signals are computed in
float (they only decide *whether* to trade); quantities are computed in ``Decimal`` because they become money.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal
from types import MappingProxyType
from typing import TYPE_CHECKING, Final, Protocol

from events import MAX_MONEY, MONEY_SCALE, ValidationError, money

if TYPE_CHECKING:
    from collections.abc import Mapping

    from events import Side

    from ._bar import Bar
    from ._genome import ParamValue

__all__ = ["Crossover", "MeanReversion", "Momentum", "Order", "Portfolio", "Strategy"]

_QUANTUM: Final = Decimal(1).scaleb(-MONEY_SCALE)  # quantities have 8 places, like money
_ZERO: Final = Decimal(0)


@dataclass(frozen=True, slots=True)
class Order:
    """A request to trade, filled by the broker at the next bar's open (never at the bar that caused it)."""

    symbol: str
    side: Side
    quantity: Decimal
    """Positive, at most 8 decimal places (stored with exactly 8) and at most ``events.MAX_MONEY``."""

    def __post_init__(self) -> None:
        if self.side not in {"buy", "sell"}:
            msg = f"order side {self.side!r} is not a side; pass 'buy' or 'sell'"
            raise ValidationError(msg, field="side", value=self.side)
        exact = money(self.quantity, field="quantity", allow_zero=False)  # same rules as TradeExecuted
        object.__setattr__(self, "quantity", exact)  # frozen: normalise the scale once, at construction


@dataclass(frozen=True, slots=True)
class Portfolio:
    """What a strategy may see of its agent's account: cash, holdings and average entry prices.

    The mappings are copied into read-only proxies, so a strategy can neither change the account nor see
    it change under its feet.
    """

    cash: Decimal
    """Free cash, never negative."""
    positions: Mapping[str, Decimal] = field(default_factory=dict, hash=False)
    """Quantity held per symbol; a missing symbol means none."""
    entry_prices: Mapping[str, Decimal] = field(default_factory=dict, hash=False)
    """Average entry price per held symbol; drives the stop loss."""

    def __post_init__(self) -> None:
        if not isinstance(self.cash, Decimal) or self.cash < 0:
            msg = (
                f"portfolio: cash must be a non-negative Decimal, got {self.cash!r}; "
                "a float was passed or a fill or transfer overdrew the account"
            )
            raise ValidationError(msg, field="cash", value=self.cash)
        object.__setattr__(self, "positions", MappingProxyType(dict(self.positions)))
        object.__setattr__(self, "entry_prices", MappingProxyType(dict(self.entry_prices)))


class Strategy(Protocol):
    """Anything that reads bars and may answer each with an order."""

    def on_bar(self, bar: Bar, portfolio: Portfolio) -> Order | None:
        """Update rolling state with ``bar`` and return an order to fill at the next open, or ``None``."""
        ...


class _Rolling:
    """Mean and standard deviation of the last ``size`` values, O(1) amortised per push.

    Sums are kept relative to a reference value (so prices near 60000 do not cancel catastrophically) and
    recomputed exactly with ``math.fsum`` every ``size`` pushes, so float drift cannot build up over a long
    run: the result depends only on the values pushed.
    """

    __slots__ = ("_ref", "_size", "_sq", "_sum", "_until_anchor", "_values")

    def __init__(self, size: int) -> None:
        self._size = size
        self._values: deque[float] = deque(maxlen=size)
        self._ref = self._sum = self._sq = 0.0
        self._until_anchor = 0

    def full(self) -> bool:
        return len(self._values) == self._size

    def push(self, x: float) -> None:
        values = self._values
        self._until_anchor -= 1
        if self._until_anchor <= 0:  # every `size` pushes: re-anchor on the newest value, sums exact
            values.append(x)
            self._ref = x
            self._sum = math.fsum([v - x for v in values])
            self._sq = math.fsum([(v - x) * (v - x) for v in values])
            self._until_anchor = self._size
            return
        if len(values) == self._size:
            old = values[0] - self._ref
            self._sum -= old
            self._sq -= old * old
        values.append(x)
        d = x - self._ref
        self._sum += d
        self._sq += d * d

    def mean(self) -> float:
        return self._ref + self._sum / len(self._values)

    def std(self) -> float:
        n = len(self._values)
        m = self._sum / n
        return math.sqrt(max(0.0, self._sq / n - m * m))  # population std; clamp rounding below zero


class _Channel:
    """Highest and lowest of the last ``size`` values, O(1) amortised per push (monotonic deques)."""

    __slots__ = ("_count", "_highs", "_lows", "_size")

    def __init__(self, size: int) -> None:
        self._size = size
        self._count = 0
        self._highs: deque[tuple[int, float]] = deque()  # (index, value), values strictly decreasing
        self._lows: deque[tuple[int, float]] = deque()  # (index, value), values strictly increasing

    def full(self) -> bool:
        return self._count >= self._size

    def high(self) -> float:
        return self._highs[0][1]

    def low(self) -> float:
        return self._lows[0][1]

    def push(self, x: float) -> None:
        i = self._count
        self._count += 1
        highs, lows = self._highs, self._lows
        while highs and highs[-1][1] <= x:
            highs.pop()
        highs.append((i, x))
        while lows and lows[-1][1] >= x:
            lows.pop()
        lows.append((i, x))
        oldest = i - self._size  # an index at or below this has left the window
        if highs[0][0] <= oldest:
            highs.popleft()
        if lows[0][0] <= oldest:
            lows.popleft()


class _Base:
    """Shared order logic: stop loss first, then the rule's exit or entry signal.

    Built from a checked parameter mapping (``Strategies.build``): ``position_fraction`` and ``stop_loss``
    here, the rule's own parameters in each subclass.
    """

    __slots__ = ("_fraction", "_fraction_param", "_stop_factor", "_stop_loss_param")

    def __init__(self, params: Mapping[str, ParamValue]) -> None:
        # the genome's own values, read now (a missing one fails here) and turned into Decimals when first
        # needed: two Decimals are 208 B per agent, and most agents of a big arena have not traded yet
        self._fraction_param = params["position_fraction"]
        self._stop_loss_param = params["stop_loss"]
        self._fraction: Decimal | None = None
        self._stop_factor: Decimal | None = None

    def _position_fraction(self) -> Decimal:
        fraction = self._fraction
        if fraction is None:
            fraction = self._fraction = Decimal(str(self._fraction_param))  # <= 6 places: exact
        return fraction

    def _stop(self) -> Decimal:
        factor = self._stop_factor
        if factor is None:
            factor = self._stop_factor = 1 - Decimal(str(self._stop_loss_param))
        return factor

    def _signal(self, symbol: str, close: float) -> Side | None:
        """Push ``close`` into the symbol's window and say whether the rule wants in or out."""
        raise NotImplementedError

    def on_bar(self, bar: Bar, portfolio: Portfolio) -> Order | None:
        """Update the symbol's window, then sell on stop loss or exit signal, or buy on entry signal.

        Raises:
            ValidationError: an entry signal fired on a bar whose close is not positive.

        """
        symbol = bar.symbol
        close = bar.close
        signal = self._signal(symbol, float(close))
        held = portfolio.positions.get(symbol, _ZERO)
        if held > 0:
            entry = portfolio.entry_prices.get(symbol)
            if signal == "sell" or (entry is not None and close <= entry * self._stop()):
                return Order(symbol, "sell", held)
            return None
        if signal != "buy" or held < 0:
            return None
        if close <= 0:
            msg = (
                f"bar {symbol!r} at {bar.timestamp.isoformat()}: close must be positive to size a buy, "
                f"got {close}; fix the feed"
            )
            raise ValidationError(msg, field="close", value=close)
        wanted = portfolio.cash * self._position_fraction() / close
        # a near-zero price could ask for more units than an amount may hold: buy the most a trade can record
        quantity = MAX_MONEY if wanted > MAX_MONEY else wanted.quantize(_QUANTUM, rounding=ROUND_FLOOR)
        return Order(symbol, "buy", quantity) if quantity > 0 else None


class _CrossoverWindows:
    __slots__ = ("diff", "fast", "slow")

    def __init__(self, fast: int, slow: int) -> None:
        self.fast = _Rolling(fast)
        self.slow = _Rolling(slow)
        self.diff: float | None = None  # fast minus slow average at the previous bar


class Crossover(_Base):
    """Buy when the ``fast_window`` moving average crosses above the ``slow_window`` one; sell below."""

    __slots__ = ("_fast", "_slow", "_windows")

    def __init__(self, params: Mapping[str, ParamValue]) -> None:
        super().__init__(params)
        self._fast = int(params["fast_window"])
        self._slow = int(params["slow_window"])
        self._windows: dict[str, _CrossoverWindows] = {}

    def _signal(self, symbol: str, close: float) -> Side | None:
        w = self._windows.get(symbol)
        if w is None:
            w = self._windows[symbol] = _CrossoverWindows(self._fast, self._slow)
        w.fast.push(close)
        w.slow.push(close)
        if not w.slow.full():
            return None
        diff = w.fast.mean() - w.slow.mean()
        previous, w.diff = w.diff, diff
        if previous is None:
            return None
        if previous <= 0 < diff:
            return "buy"
        if previous >= 0 > diff:
            return "sell"
        return None


class Momentum(_Base):
    """Breakout: buy when the close clears the channel high of the previous ``lookback`` closes.

    Entry needs ``close > high * (1 + entry_threshold%)``. Exit on a breakdown below the channel low, or a
    retreat to ``high * (1 - exit_threshold%)`` (the channel includes the breakout bar itself, so this trails
    the best recent close).
    """

    __slots__ = ("_channels", "_entry", "_exit", "_lookback")

    def __init__(self, params: Mapping[str, ParamValue]) -> None:
        super().__init__(params)
        self._lookback = int(params["lookback"])
        self._entry = 1.0 + float(params["entry_threshold"]) / 100.0
        self._exit = 1.0 - float(params["exit_threshold"]) / 100.0
        self._channels: dict[str, _Channel] = {}

    def _signal(self, symbol: str, close: float) -> Side | None:
        channel = self._channels.get(symbol)
        if channel is None:
            channel = self._channels[symbol] = _Channel(self._lookback)
        signal: Side | None = None
        if channel.full():
            high = channel.high()
            if close > high * self._entry:
                signal = "buy"
            elif close < channel.low() or close <= high * self._exit:
                signal = "sell"
        channel.push(close)
        return signal


class MeanReversion(_Base):
    """Buy when the close's z-score against the previous ``lookback`` closes is below -``entry_threshold``.

    Sell when it is above +``exit_threshold``. A flat window (zero spread) gives no signal either way.
    """

    __slots__ = ("_entry", "_exit", "_lookback", "_windows")

    def __init__(self, params: Mapping[str, ParamValue]) -> None:
        super().__init__(params)
        self._lookback = int(params["lookback"])
        self._entry = -float(params["entry_threshold"])
        self._exit = float(params["exit_threshold"])
        self._windows: dict[str, _Rolling] = {}

    def _signal(self, symbol: str, close: float) -> Side | None:
        window = self._windows.get(symbol)
        if window is None:
            window = self._windows[symbol] = _Rolling(self._lookback)
        signal: Side | None = None
        if window.full():
            std = window.std()
            if std > 0:
                z = (close - window.mean()) / std
                if z < self._entry:
                    signal = "buy"
                elif z > self._exit:
                    signal = "sell"
        window.push(close)
        return signal
