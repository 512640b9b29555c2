"""A seeded synthetic market: reproducible bars with trends, mean reversion, regimes, jumps and correlation.

The generator draws only from ``random.Random.random()``, the one method whose output Python promises not to
change across versions, and combines draws with ``+ - * /`` and ``sqrt`` alone, all of which IEEE 754
rounds exactly. ``gauss``, ``exp`` and ``log`` go through the platform's libm and may differ in the last bit
between machines, so the same seed gives byte-identical bars everywhere only if we avoid them.
"""

from __future__ import annotations

import logging
import math
import random
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Context, Decimal
from typing import TYPE_CHECKING

from events import ValidationError

from ._bar import Bar

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from pydantic import JsonValue

__all__ = ["SyntheticFeed"]

logger = logging.getLogger(__name__)

_DEFAULT_SYMBOLS = ("AAA", "BBB", "CCC", "DDD", "EEE")
_DEFAULT_START = datetime(2026, 1, 1, tzinfo=UTC)

_TICK = Decimal("0.00000001")
_DECIMALS = Context(prec=40, rounding=ROUND_HALF_EVEN)  # our own context: callers may change the default
_MIN_PRICE = 1e-8  # one tick: prices stay positive after quantizing
_MAX_PRICE = 1e15  # far above any sane path; keeps 8-decimal quantizing inside the context's precision
_MAX_INITIAL = Decimal(10) ** 12
_YEAR = timedelta(days=365)  # bars run around the clock, like crypto, so a year is 365 full days
_CALM_SPELL = timedelta(days=5)  # mean time in the calm regime before switching
_VOLATILE_SPELL = timedelta(days=1.5)  # mean time in the volatile regime before calming down
_VOLATILE_FACTOR = 2.5  # volatility multiplier in the volatile regime
_JUMP_EVERY = timedelta(days=10)  # mean time between jumps of one symbol
_JUMP_SIZE = 0.04  # standard deviation of a jump's return
_MARKET_LOADING = 0.45  # weight of the shared factor: pairwise correlation about 0.2 ("mild")
_STYLES = ("trend", "revert", "walk")


@dataclass(frozen=True, slots=True)
class _Model:
    """The fixed personality of one symbol, drawn once from the seed."""

    drift: float
    """Annualized drift of simple returns."""
    vol: float
    """Annualized volatility in the calm regime."""
    momentum: float
    """AR(1) coefficient of returns: positive rewards momentum, negative rewards fading moves."""
    reversion: float
    """Annualized pull of the price toward its drifting anchor; rewards mean reversion."""
    volume: float
    """Mean volume per hour of bar length."""


def _normal(rng: random.Random) -> float:
    """Draw an approximately standard normal variate (Irwin-Hall: sum of 12 uniforms minus 6).

    Bounded at +-6 sigma, which is harmless here because jumps supply the fat tails.
    """
    return sum(rng.random() for _ in range(12)) - 6.0


def _uniform(rng: random.Random, low: float, high: float) -> float:
    return low + (high - low) * rng.random()


def _model(rng: random.Random, style: str) -> _Model:
    vol = _uniform(rng, 0.25, 0.7)
    volume = _uniform(rng, 1_000.0, 50_000.0)
    if style == "trend":
        sign = 1.0 if rng.random() < 0.6 else -1.0  # noqa: PLR2004  (a slight bull bias, as in real markets)
        return _Model(sign * _uniform(rng, 0.6, 1.8), vol, _uniform(rng, 0.05, 0.2), 0.0, volume)
    if style == "revert":
        return _Model(
            _uniform(rng, -0.1, 0.1), vol, _uniform(rng, -0.15, -0.02), _uniform(rng, 20, 80), volume
        )
    return _Model(_uniform(rng, -0.3, 0.3), vol, 0.0, 0.0, volume)


def _quantize(value: float) -> Decimal:
    clamped = min(max(value, _MIN_PRICE), _MAX_PRICE)
    return max(Decimal(clamped).quantize(_TICK, context=_DECIMALS), _TICK)


class SyntheticFeed:
    """A deterministic multi-symbol market for simulations and tests, generated lazily from a seed.

    Each symbol gets a personality from the seed (trending with momentum, mean-reverting, or a plain random
    walk; at least one of each when there are three or more symbols) so that crossover, breakout and
    mean-reversion strategies win and lose in different places. On top: one market-wide Markov switch
    between calm and volatile regimes, a shared factor that correlates symbols mildly, and rare jumps.

    Bars are labelled with their closing time: the first closes at ``start + interval``. Iterating again
    regenerates the same bars from the seed, so nothing is held in memory.

    Args:
        seed: Any integer; the same seed gives byte-identical bars on every machine, different seeds
            give different bars.
        symbols: Distinct, non-empty symbol names.
        start: Timezone-aware time the first bar opens.
        days: Length of the market in days, at least 1.
        interval: Length of one bar; positive and at most ``days`` long.
        initial_price: Opening price of every symbol; a positive ``Decimal`` (or int), up to 1e12.

    Raises:
        ValidationError: An argument is out of range.

    """

    def __init__(
        self,
        *,
        seed: int,
        symbols: Sequence[str] = _DEFAULT_SYMBOLS,
        start: datetime = _DEFAULT_START,
        days: int = 30,
        interval: timedelta = timedelta(hours=1),
        initial_price: Decimal | int = Decimal(100),
    ) -> None:
        if isinstance(seed, bool) or not isinstance(seed, int):
            msg = f"synthetic feed: seed must be an integer, got {seed!r}; pass e.g. seed=42"
            raise ValidationError(msg, field="seed", value=seed)
        _check_symbols(symbols)
        if start.tzinfo is None or start.utcoffset() is None:
            msg = (
                f"synthetic feed: start {start.isoformat()!r} has no timezone; expected an aware datetime; "
                "pass e.g. datetime(2026, 1, 1, tzinfo=UTC)"
            )
            raise ValidationError(msg, field="start", value=start)
        if isinstance(days, bool) or not isinstance(days, int) or days < 1:
            msg = (
                f"synthetic feed: days must be an integer >= 1, got {days!r}; pass a positive number of days"
            )
            raise ValidationError(msg, field="days", value=days)
        latest = datetime.max.replace(tzinfo=UTC) - start.astimezone(UTC)
        if days > latest.days:
            msg = (
                f"synthetic feed: days={days} from {start.isoformat()} runs past the last day a timestamp "
                f"holds (9999-12-31); pass at most {latest.days} days"
            )
            raise ValidationError(msg, field="days", value=days)
        span = timedelta(days=days)
        if not timedelta(0) < interval <= span:
            msg = (
                f"synthetic feed: interval must be positive and at most days={days} long, got {interval!r}; "
                "pass e.g. timedelta(hours=1)"
            )
            raise ValidationError(msg, field="interval", value=interval)
        self._seed = seed
        self._symbols = tuple(sorted(symbols))
        self._start = start.astimezone(UTC)
        self._interval = interval
        self._count = span // interval
        self._initial = _check_price(initial_price)

    @property
    def symbols(self) -> tuple[str, ...]:
        """The symbols, sorted ascending (the order of bars within a step)."""
        return self._symbols

    @property
    def interval(self) -> timedelta:
        """The length of one bar, for annualizing returns without inferring it."""
        return self._interval

    def identity(self) -> dict[str, JsonValue]:
        """Return what names this market in a run's manifest: its parameters, not its length.

        ``days`` only cuts the path short: a feed of 15 days is the first half of one of 30, so two legs of
        a run and the whole run see the same market.
        """
        return {
            "kind": "synthetic",
            "seed": self._seed,
            "symbols": list(self._symbols),
            "start": self._start.isoformat(),
            "interval_seconds": self._interval.total_seconds(),
            "initial_price": str(self._initial),
        }

    def __repr__(self) -> str:
        return (
            f"SyntheticFeed(seed={self._seed!r}, symbols={self._symbols!r}, "
            f"start={self._start.isoformat()!r}, bars_per_symbol={self._count}, interval={self._interval!r})"
        )

    def __iter__(self) -> Iterator[Bar]:
        """Generate every bar in ascending ``(timestamp, symbol)`` order, the same bars on every call."""
        # Random(n) and Random(-n) are the same stream; zigzag keeps every integer seed distinct.
        zigzag = 2 * self._seed if self._seed >= 0 else -2 * self._seed - 1
        rng = random.Random(zigzag)  # noqa: S311  (simulated markets, not cryptography)
        offset = int(rng.random() * len(_STYLES))
        models = [_model(rng, _STYLES[(i + offset) % len(_STYLES)]) for i in range(len(self._symbols))]
        dt = self._interval / _YEAR
        root_dt = math.sqrt(dt)
        hours = self._interval / timedelta(hours=1)
        to_volatile = min(1.0, self._interval / _CALM_SPELL)
        to_calm = min(1.0, self._interval / _VOLATILE_SPELL)
        jump_chance = min(1.0, self._interval / _JUMP_EVERY)
        own_loading = math.sqrt(1.0 - _MARKET_LOADING**2)
        price = [float(self._initial)] * len(models)
        anchor = list(price)
        last_return = [0.0] * len(models)
        opens = [self._initial] * len(models)
        volatile = False
        for step in range(1, self._count + 1):
            timestamp = self._start + step * self._interval
            if rng.random() < (to_calm if volatile else to_volatile):
                volatile = not volatile
            factor = _VOLATILE_FACTOR if volatile else 1.0
            market = _normal(rng)
            for i, (symbol, model) in enumerate(zip(self._symbols, models, strict=True)):
                sigma = model.vol * factor * root_dt
                shock = _MARKET_LOADING * market + own_loading * _normal(rng)
                pull = min(model.reversion * dt, 0.5) * (price[i] - anchor[i]) / anchor[i]
                ret = model.drift * dt + model.momentum * last_return[i] + sigma * shock - pull
                if rng.random() < jump_chance:
                    ret += _JUMP_SIZE * _normal(rng)
                ret = min(max(ret, -0.5), 1.0)  # a bar can at most halve or double the price
                close_price = min(max(price[i] * (1.0 + ret), _MIN_PRICE), _MAX_PRICE)
                upper = max(price[i], close_price) * (1.0 + abs(_normal(rng)) * sigma * 0.5)
                lower = min(price[i], close_price) * (1.0 - min(abs(_normal(rng)) * sigma * 0.5, 0.9))
                activity = (0.5 + rng.random()) * (1.0 + abs(ret) / sigma) * (1.5 if volatile else 1.0)
                open_, close = opens[i], _quantize(close_price)
                yield Bar(
                    timestamp=timestamp,
                    symbol=symbol,
                    open=open_,
                    high=max(_quantize(upper), open_, close),
                    low=min(_quantize(lower), open_, close),
                    close=close,
                    volume=_quantize(model.volume * hours * activity),
                )
                price[i], opens[i], last_return[i] = close_price, close, ret
                anchor[i] *= 1.0 + model.drift * dt


def _check_price(initial_price: Decimal | int) -> Decimal:
    price = None
    if isinstance(initial_price, Decimal | int) and not isinstance(initial_price, bool):
        price = Decimal(initial_price)
    if price is None or not price.is_finite() or not _TICK <= price <= _MAX_INITIAL:
        msg = (
            f"synthetic feed: initial_price must be a Decimal in [0.00000001, 1e12], got {initial_price!r}; "
            "pass e.g. Decimal('100') (floats are rejected: they are not exact)"
        )
        raise ValidationError(msg, field="initial_price", value=initial_price)
    return price.quantize(_TICK, context=_DECIMALS)


def _check_symbols(symbols: Sequence[str]) -> None:
    if isinstance(symbols, str):
        msg = (
            f"synthetic feed: symbols must be a sequence of names, got the string {symbols!r}; "
            f"pass ({symbols!r},)"
        )
        raise ValidationError(msg, field="symbols", value=symbols)
    if not symbols:
        msg = "synthetic feed: symbols is empty; expected at least one symbol; pass e.g. ('AAA', 'BBB')"
        raise ValidationError(msg, field="symbols", value=symbols)
    for name in symbols:
        if not isinstance(name, str) or not name.strip():
            msg = f"synthetic feed: symbol {name!r} is not a non-empty string; name every symbol"
            raise ValidationError(msg, field="symbols", value=name)
    duplicates = sorted(name for name, count in Counter(symbols).items() if count > 1)
    if duplicates:
        msg = f"synthetic feed: symbols repeat {duplicates!r}; expected distinct names; drop the duplicates"
        raise ValidationError(msg, field="symbols", value=tuple(symbols))
