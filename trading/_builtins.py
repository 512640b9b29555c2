"""The three built-in strategies as declarations, and the genome functions that default to them.

``ma_crossover``, ``momentum`` and ``mean_reversion`` are declared exactly as an embedder declares their
own strategy (``StrategySpec``), each space holding only the parameters its rule reads, with the bounds
and defaults the runtime has always used. ``random_genome``, ``mutate_genome`` and ``make_strategy`` take
any registry and default to ``BUILTIN_STRATEGIES``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._space import Param, ParameterSpace, Strategies, StrategySpec
from ._strategy import Crossover, MeanReversion, Momentum

if TYPE_CHECKING:
    import random

    from ._genome import Genome
    from ._space import Changes
    from ._strategy import Strategy

__all__ = ["BUILTIN_STRATEGIES", "make_strategy", "mutate_genome", "random_genome"]

_POSITION_FRACTION = Param(name="position_fraction", kind="float", low=0.01, high=1.0, default=0.25)
"""Fraction of free cash spent on each buy."""
_STOP_LOSS = Param(name="stop_loss", kind="float", low=0.005, high=0.5, default=0.05)
"""Fraction below the entry price at which the whole position is sold."""
_LOOKBACK = Param(name="lookback", kind="int", low=2, high=100, default=20)
"""Bars in the breakout channel (``momentum``) or the z-score window (``mean_reversion``)."""
_ENTRY = Param(name="entry_threshold", kind="float", low=0.0, high=5.0, default=1.0)
"""``momentum``: breakout above the channel high, in percent; ``mean_reversion``: z-score to buy below."""
_EXIT = Param(name="exit_threshold", kind="float", low=0.0, high=5.0, default=1.0)
"""``momentum``: retreat from the channel high that exits, in percent; ``mean_reversion``: z-score to sell
above."""

_MA_CROSSOVER = StrategySpec(
    name="ma_crossover",
    space=ParameterSpace(
        Param(name="fast_window", kind="int", low=2, high=50, default=10),
        Param(name="slow_window", kind="int", low=5, high=200, default=30, greater_than="fast_window"),
        _POSITION_FRACTION,
        _STOP_LOSS,
    ),
    factory=Crossover,
    description="buy when the fast moving average crosses above the slow one, sell when it crosses below",
)
_MOMENTUM = StrategySpec(
    name="momentum",
    space=ParameterSpace(_LOOKBACK, _ENTRY, _EXIT, _POSITION_FRACTION, _STOP_LOSS),
    factory=Momentum,
    description="buy a breakout above the lookback channel's high, sell a breakdown or a retreat from it",
)
_MEAN_REVERSION = StrategySpec(
    name="mean_reversion",
    space=ParameterSpace(_LOOKBACK, _ENTRY, _EXIT, _POSITION_FRACTION, _STOP_LOSS),
    factory=MeanReversion,
    description="buy a close far below the lookback mean (z-score), sell one far above it",
)

BUILTIN_STRATEGIES = Strategies(_MA_CROSSOVER, _MOMENTUM, _MEAN_REVERSION)
"""The three built-in strategies, in this order; what an arena evolves unless opened with others."""


def random_genome(rng: random.Random, strategies: Strategies = BUILTIN_STRATEGIES) -> Genome:
    """Draw a genome of ``strategies`` uniformly (see ``Strategies.random_genome``)."""
    return strategies.random_genome(rng)


def mutate_genome(
    genome: Genome,
    rng: random.Random,
    *,
    sigma: float = 0.15,
    switch_probability: float = 0.05,
    strategies: Strategies = BUILTIN_STRATEGIES,
) -> tuple[Genome, Changes]:
    """Return a mutated child of ``genome`` and what changed (see ``Strategies.mutate``).

    Raises:
        ValidationError: a setting is out of range, or the genome does not fit ``strategies``.

    """
    return strategies.mutate(genome, rng, sigma=sigma, switch_probability=switch_probability)


def make_strategy(genome: Genome, strategies: Strategies = BUILTIN_STRATEGIES) -> Strategy:
    """Build a fresh strategy, with empty windows, for ``genome`` (see ``Strategies.build``).

    Raises:
        ValidationError: the genome does not fit ``strategies``.

    """
    return strategies.build(genome)
