"""The heritable parameters of a trading agent, and how they are drawn and mutated.

A ``Genome`` is a small, bounded, immutable value: evolution copies it into events (``AgentSpawned``,
``AgentMutated``) as JSON, so every float is rounded to 6 decimal places on creation and a JSON round trip
gives back an equal genome. Randomness always comes from a caller-owned ``random.Random`` so a seeded run
replays exactly.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal, get_args

import pydantic
from annotated_types import Ge, Le
from pydantic import Field, field_validator, model_validator

from events import ValidationError

from ._validation import ValidatedModel, validation_error

if TYPE_CHECKING:
    import random
    from collections.abc import Mapping

__all__ = ["FAMILIES", "Genome", "StrategyFamily", "mutate_genome", "random_genome"]

StrategyFamily = Literal["ma_crossover", "momentum", "mean_reversion"]
"""Which trading rule a genome drives; ``make_strategy`` builds one implementation per family."""

FAMILIES: tuple[StrategyFamily, ...] = get_args(StrategyFamily)
"""Every strategy family, in a fixed order so that ``rng.choice`` over it is reproducible."""

_DECIMALS = 6  # genome floats are parameters, not money: 6 places is finer than any signal can tell apart
_INT_PARAMS = ("fast_window", "slow_window", "lookback")
_FLOAT_PARAMS = ("entry_threshold", "exit_threshold", "position_fraction", "stop_loss")


class Genome(ValidatedModel):
    """Bounded parameters of one agent's strategy; which ones matter depends on ``family``.

    Every family reads ``position_fraction`` and ``stop_loss``. ``ma_crossover`` reads the two windows;
    ``momentum`` and ``mean_reversion`` read ``lookback`` and the two thresholds. Unused parameters still
    mutate, so a family switch can land on a pre-adapted setting.
    """

    family: StrategyFamily = "ma_crossover"
    fast_window: int = Field(default=10, ge=2, le=50)
    """Bars in the fast moving average (``ma_crossover``)."""
    slow_window: int = Field(default=30, ge=5, le=200)
    """Bars in the slow moving average; always greater than ``fast_window``."""
    lookback: int = Field(default=20, ge=2, le=100)
    """Bars in the breakout channel (``momentum``) or the z-score window (``mean_reversion``)."""
    entry_threshold: float = Field(default=1.0, ge=0.0, le=5.0)
    """``momentum``: breakout above the channel high, in percent; ``mean_reversion``: z-score to buy below."""
    exit_threshold: float = Field(default=1.0, ge=0.0, le=5.0)
    """``momentum``: retreat from the channel high that exits, in percent; ``mean_reversion``: z-score to
    sell above."""
    position_fraction: float = Field(default=0.25, ge=0.01, le=1.0)
    """Fraction of free cash spent on each buy."""
    stop_loss: float = Field(default=0.05, ge=0.005, le=0.5)
    """Fraction below the entry price at which the whole position is sold."""

    @field_validator(*_FLOAT_PARAMS)
    @classmethod
    def _round(cls, value: float) -> float:
        return round(value, _DECIMALS)

    @model_validator(mode="after")
    def _slow_exceeds_fast(self) -> Genome:
        if self.slow_window <= self.fast_window:
            msg = (
                f"Genome: slow_window must exceed fast_window, got slow_window={self.slow_window} and "
                f"fast_window={self.fast_window}; raise slow_window to at least {self.fast_window + 1}"
            )
            raise ValidationError(msg, field="slow_window", value=self.slow_window)
        return self

    def to_json_dict(self) -> dict[str, str | int | float]:
        """Return the genome as a flat JSON-able dict, the shape events carry."""
        return self.model_dump()

    @classmethod
    def from_json_dict(cls, data: Mapping[str, object]) -> Genome:
        """Rebuild a genome from ``to_json_dict`` output.

        Unlike the constructor, every field must be present: a stored genome missing one is corrupt, and
        silently filling in a default would change the agent it describes.

        Raises:
            ValidationError: a field is missing, unknown, of the wrong type or out of bounds.

        """
        missing = [name for name in cls.model_fields if name not in data]
        if missing:
            msg = (
                f"Genome.from_json_dict: missing fields {missing}; "
                "pass the complete dict that Genome.to_json_dict produced"
            )
            raise ValidationError(msg, field=missing[0], value=None)
        try:
            return cls.model_validate(dict(data))
        except pydantic.ValidationError as e:
            raise validation_error(cls.__name__, cls, e) from e


def random_genome(rng: random.Random) -> Genome:
    """Draw a genome uniformly within every bound, using only ``rng`` so a seed reproduces it."""
    fast = rng.randint(2, 50)
    return Genome(
        family=rng.choice(FAMILIES),
        fast_window=fast,
        slow_window=rng.randint(max(5, fast + 1), 200),
        lookback=rng.randint(2, 100),
        entry_threshold=rng.uniform(0.0, 5.0),
        exit_threshold=rng.uniform(0.0, 5.0),
        position_fraction=rng.uniform(0.01, 1.0),
        stop_loss=rng.uniform(0.005, 0.5),
    )


def _bounds(name: str) -> tuple[float, float]:
    metadata = Genome.model_fields[name].metadata
    low = next(m.ge for m in metadata if isinstance(m, Ge))
    high = next(m.le for m in metadata if isinstance(m, Le))
    return float(low), float(high)  # type: ignore[arg-type]  # annotated_types bounds are typed as protocols


def mutate_genome(
    genome: Genome,
    rng: random.Random,
    *,
    sigma: float = 0.15,
    switch_probability: float = 0.05,
) -> tuple[Genome, dict[str, list[str | int | float]]]:
    """Return a perturbed child and what changed, as ``{param: [old, new]}`` for an ``AgentMutated`` event.

    Each numeric parameter gets Gaussian noise with standard deviation ``sigma`` times its range, is clipped
    to its bounds (ints are rounded), and ``slow_window`` is raised past ``fast_window`` if needed. With
    probability ``switch_probability`` the family switches to another one, chosen uniformly. The same calls
    are made on ``rng`` whatever happens, so one rng state always yields the same child.

    Raises:
        ValidationError: ``sigma`` is negative or not finite, or ``switch_probability`` is outside [0, 1].

    """
    if not (math.isfinite(sigma) and sigma >= 0):
        msg = f"mutate_genome: sigma must be a finite number >= 0, got {sigma!r}; pass e.g. 0.15"
        raise ValidationError(msg, field="sigma", value=sigma)
    if not 0.0 <= switch_probability <= 1.0:
        msg = (
            f"mutate_genome: switch_probability must be between 0 and 1, got {switch_probability!r}; "
            "pass e.g. 0.05"
        )
        raise ValidationError(msg, field="switch_probability", value=switch_probability)
    old = genome.to_json_dict()
    new = dict(old)
    for name in (*_INT_PARAMS, *_FLOAT_PARAMS):
        low, high = _bounds(name)
        value = min(high, max(low, float(old[name]) + rng.gauss(0.0, sigma * (high - low))))
        new[name] = round(value) if name in _INT_PARAMS else round(value, _DECIMALS)
    new["slow_window"] = max(int(new["slow_window"]), int(new["fast_window"]) + 1)
    switch = rng.random() < switch_probability
    # drawn whether or not it is used, so later draws from rng do not depend on this outcome
    other = rng.choice([f for f in FAMILIES if f != genome.family])
    if switch:
        new["family"] = other
    child = Genome.from_json_dict(new)
    changes: dict[str, list[str | int | float]] = {
        name: [old[name], new[name]] for name in old if old[name] != new[name]
    }
    return child, changes
