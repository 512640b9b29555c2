"""Evaluation that cannot fool us: populations replayed on data they never saw, against buy-and-hold.

Evolution selects on the data it runs on, so its own fitness numbers are in-sample and flatter it. An
evaluation takes fixed populations (typically the evolved one and the initial one), gives each the same
capital in a fresh in-memory arena, runs them through held-out market data with no evolution cycle at
all, and measures each arena's NAV curve the way a trader would: total return, annualised Sharpe ratio
(annualised from the data's own timestamps, like the performance book), maximum drawdown. The benchmark
is an equal-weight buy-and-hold of the same market over the same bars, with no fees: the market's own
return, the bar a population has to clear.

Every population runs under the same seed, broker and feed, so the comparison is between genomes and
nothing else; the same inputs always give the same table.
"""

from __future__ import annotations

import itertools
import math
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from events import Fold, MarksRecorded, ValidationError, from_minor, nav, to_minor, value_at
from trading import BrokerConfig, EvolutionPolicy, steps

from ._arena import Arena
from ._clock import SimClock
from ._driver import fund_equally, run_simulation

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

    from trading import Genome, MarketFeed

__all__ = ["BUY_AND_HOLD", "Evaluation", "EvaluationRow", "evaluate"]

BUY_AND_HOLD = "buy-and-hold"
"""The name of the benchmark row."""

_YEAR = timedelta(days=365)


class EvaluationRow(BaseModel):
    """One population (or the benchmark) over the held-out data."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    name: str
    agents: int = Field(ge=0)
    """Agents it started with (0 for the benchmark)."""
    final_nav: Decimal
    """NAV at the last bar's close."""
    total_return: float
    """``final_nav / capital - 1``."""
    sharpe: float
    """Mean over standard deviation of the NAV's bar returns, annualised from the bars' timestamps; 0.0
    with fewer than 2 returns or no spread."""
    max_drawdown: float = Field(ge=0.0, le=1.0)
    """Largest fall of the NAV from its running peak, as a positive fraction."""
    trades: int = Field(ge=0)
    """Fills over the whole run (0 for the benchmark, which buys once and is not charged)."""
    fees: Decimal
    """Fees paid (0 for the benchmark)."""


class Evaluation(BaseModel):
    """The held-out table: every population and the benchmark, over the same bars."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    capital: Decimal
    first_bar: datetime
    last_bar: datetime
    bars: int = Field(ge=0)
    """Steps (bar timestamps) of the held-out data."""
    rows: tuple[EvaluationRow, ...]
    """The populations in the order given, then ``buy-and-hold``."""


def evaluate(
    populations: Mapping[str, Sequence[Genome]],
    feed: Callable[[], MarketFeed],
    *,
    seed: int,
    capital: Decimal = Decimal(1_000_000),
    broker: BrokerConfig | None = None,
    policy: EvolutionPolicy | None = None,
) -> Evaluation:
    """Run each population on a fresh copy of ``feed()`` with no evolution; return the table.

    Args:
        populations: Name to genomes; each genome becomes one agent. The arena's capital, less the
            policy's reserve, is split equally among them (each capped at ``max_agent_fraction``), as a
            new simulation funds its first agents.
        feed: Makes the held-out market; called once per population and once for the benchmark, so
            each run sees the same bars from the start.
        seed: Seeds the arenas (ids only: no cycle runs, so no genome is drawn).
        capital: Funding of every arena and of the benchmark.
        broker: Fees and slippage of every fill; ``BrokerConfig()`` by default.
        policy: Only its ``reserve_fraction`` and ``max_agent_fraction`` apply (how agents are funded).

    Raises:
        ValidationError: no population, an empty population, or a feed with no bars.

    """
    if not populations:
        msg = "evaluate: no population to evaluate; pass e.g. {'evolved': genomes}"
        raise ValidationError(msg, field="populations", value=None)
    for name, genomes in populations.items():
        if not genomes:
            msg = f"evaluate: population {name!r} has no genomes; pass at least one"
            raise ValidationError(msg, field="populations", value=name)
    broker = broker if broker is not None else BrokerConfig()
    policy = policy if policy is not None else EvolutionPolicy()
    benchmark = _buy_and_hold(feed(), capital)
    rows = [
        _run(name, genomes, feed(), seed=seed, capital=capital, broker=broker, policy=policy)
        for name, genomes in populations.items()
    ]
    first, last, bars, row = benchmark
    return Evaluation(capital=capital, first_bar=first, last_bar=last, bars=bars, rows=(*rows, row))


def _run(
    name: str,
    genomes: Sequence[Genome],
    feed: MarketFeed,
    *,
    seed: int,
    capital: Decimal,
    broker: BrokerConfig,
    policy: EvolutionPolicy,
) -> EvaluationRow:
    start = _first_moment(feed)
    clock = SimClock(start - timedelta(seconds=1))  # opened just before the first bar
    with Arena.open(None, total_capital=capital, seed=seed, clock=clock) as arena:
        ids = [arena.spawn_agent(genome) for genome in genomes]
        fund_equally(arena, ids, policy)
        run_simulation(arena, feed, seed=seed, agents=0, policy=policy, broker=broker, evolve=False)
        curve = _nav_curve(arena)
        state = arena.state()
        final = arena.nav()
    return EvaluationRow(
        name=name,
        agents=len(genomes),
        final_nav=final,
        total_return=float(final / capital) - 1.0,
        sharpe=_sharpe(curve),
        max_drawdown=_drawdown(value for _, value in curve),
        trades=sum(agent.trades for agent in state.agents.values()),
        fees=state.fees_paid,
    )


def _first_moment(feed: MarketFeed) -> datetime:
    for moment, _ in steps(feed):
        return moment
    msg = "evaluate: the held-out feed has no bars; pass data that covers the evaluation window"
    raise ValidationError(msg, field="feed", value=None)


def _nav_curve(arena: Arena) -> list[tuple[datetime, Decimal]]:
    """NAV at every ``MarksRecorded``, from the log with the shared fold (the books, not a second opinion)."""
    state = Fold()
    curve: list[tuple[datetime, Decimal]] = []
    for event in arena.replay_events():
        state.apply(event)
        if isinstance(event, MarksRecorded):
            curve.append((event.timestamp, nav(state.treasury, state.agents.values(), state.marks)))
    return curve


def _buy_and_hold(feed: MarketFeed, capital: Decimal) -> tuple[datetime, datetime, int, EvaluationRow]:
    """Split ``capital`` equally at each symbol's first open, hold to the end; value at every close."""
    symbols = sorted(feed.symbols)
    units_each = to_minor(capital) // len(symbols)
    slices = {symbol: from_minor(units_each) for symbol in symbols}
    cash = capital - sum(slices.values(), Decimal(0))
    held: dict[str, Decimal] = {}
    closes: dict[str, Decimal] = {}
    curve: list[tuple[datetime, Decimal]] = []
    for moment, bars in steps(feed):
        for bar in bars:
            if bar.symbol not in held:
                held[bar.symbol] = slices.pop(bar.symbol) / bar.open
            closes[bar.symbol] = bar.close
        waiting = sum(slices.values(), Decimal(0))
        worth = cash + waiting + sum((value_at(units, closes[s]) for s, units in held.items()), Decimal(0))
        curve.append((moment, worth))
    if not curve:
        msg = "evaluate: the held-out feed has no bars; pass data that covers the evaluation window"
        raise ValidationError(msg, field="feed", value=None)
    final = curve[-1][1]
    row = EvaluationRow(
        name=BUY_AND_HOLD,
        agents=0,
        final_nav=final,
        total_return=float(final / capital) - 1.0,
        sharpe=_sharpe(curve),
        max_drawdown=_drawdown(value for _, value in curve),
        trades=0,
        fees=Decimal(0),
    )
    return curve[0][0], curve[-1][0], len(curve), row


def _sharpe(curve: Sequence[tuple[datetime, Decimal]]) -> float:
    """Annualised Sharpe ratio of the curve's returns, annualised from its own timestamps."""
    returns = [float(b / a) - 1.0 for (_, a), (_, b) in itertools.pairwise(curve) if a > 0]
    if len(returns) < 2:  # noqa: PLR2004  (a sample standard deviation needs two returns)
        return 0.0
    mean = math.fsum(returns) / len(returns)
    spread = math.fsum((r - mean) ** 2 for r in returns) / (len(returns) - 1)
    span = (curve[-1][0] - curve[0][0]) / _YEAR
    if spread <= 0 or span <= 0:
        return 0.0
    return mean / math.sqrt(spread) * math.sqrt(len(returns) / span)


def _drawdown(values: Iterable[Decimal]) -> float:
    peak = Decimal(0)
    worst = 0.0
    for value in values:
        peak = max(peak, value)
        if peak > 0:
            worst = max(worst, float(1 - value / peak))
    return min(worst, 1.0)
