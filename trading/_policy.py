"""The evolution policy: who dies, who graduates, who breeds and how capital is shared, as one value.

A policy is data, not code: ``EvolutionCycleStarted`` records it (``to_json_dict``) so an auditor can see
the rules every decision of a cycle was made under, and ``from_file`` loads it from JSON or TOML so an
experiment is a file, not a patch. Every field has a default that runs a sensible arena on hourly bars.
"""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pydantic
from pydantic import ConfigDict, Field, model_validator

from events import Tier, ValidationError

from ._validation import ValidatedModel, validation_error

if TYPE_CHECKING:
    import os
    from collections.abc import Mapping

    from ._metrics import AgentMetrics

__all__ = [
    "CALMAR_DRAWDOWN_FLOOR",
    "DemotionRules",
    "EvolutionPolicy",
    "FitnessMeasure",
    "GraduationThresholds",
    "TierWeights",
    "WithinTier",
    "fitness_of",
    "shrinkage",
]

FitnessMeasure = Literal["sharpe", "total_return", "calmar"]
"""How an agent's ``AgentMetrics`` become the one number evolution ranks it by (see ``fitness_of``)."""

WithinTier = Literal["equal", "fitness"]
"""How a tier's capital is split among its agents: equal shares, or shares in proportion to fitness."""

CALMAR_DRAWDOWN_FLOOR = 0.01
"""Smallest drawdown ``calmar`` divides by: without it an agent that never fell (drawdown 0, e.g. one that
never traded) would have infinite fitness. 1% is below the drawdown of any strategy that trades at all."""

_WEIGHT_TOLERANCE = 1e-6  # weights written as decimals (0.2, 0.3, 0.5) sum to 1 only within float error


class _PolicyModel(ValidatedModel):
    """A ``ValidatedModel`` that is also strict, so its bad input raises ``events.ValidationError``.

    Strict, because a policy file saying ``kill_fraction = "0.2"`` or ``elite_count = true`` is a mistake
    worth reporting, not a value worth guessing at.
    """

    model_config = ConfigDict(strict=True, use_attribute_docstrings=True)  # pydantic merges frozen, extra


class GraduationThresholds(_PolicyModel):
    """What a judged agent must show in its current tier, all at once, to be promoted one tier."""

    min_fitness: float = Field(default=0.5, allow_inf_nan=False)
    """Fitness at least this (any finite number; its scale depends on ``EvolutionPolicy.fitness``)."""
    min_total_return: float = Field(default=0.0, ge=-1.0, allow_inf_nan=False)
    """Time-weighted total return at least this (>= -1; 0.05 is +5%), so a high Sharpe on a loss fails."""
    probation_bars: int = Field(default=48, ge=0)
    """Bars (>= 0) spent in the current tier first, so one lucky streak right after a promotion is not
    enough for the next one."""
    min_trades: int = Field(default=3, ge=0)
    """Trades (>= 0) of at least the arena's ``min_trade_notional`` made in the current tier: a record
    of decisions, not of one lucky entry."""


class DemotionRules(_PolicyModel):
    """When a judged agent falls one tier: either rule is enough; None switches a rule off."""

    max_drawdown: float | None = Field(default=0.2, gt=0.0, le=1.0, allow_inf_nan=False)
    """Largest fall (above 0, at most 1) of its equity curve in the current tier before it is demoted:
    capital at stake in a higher tier is not left with an agent that gave back this much."""
    min_fitness: float | None = Field(default=0.0, allow_inf_nan=False)
    """Fitness (after the evidence adjustment) below which an agent judged over at least
    ``min_bars_in_tier`` bars of its tier is demoted: sustained underperformance, not one bad bar."""


class TierWeights(_PolicyModel):
    """Share of the allocatable capital each tier gets; the three sum to 1.

    A tier with no agents after the cycle's kills and graduations gives its weight to the others, in
    proportion to theirs, so no capital waits on an empty tier.
    """

    simulation: float = Field(default=0.2, ge=0.0, le=1.0, allow_inf_nan=False)
    """Share (0 to 1) of new and unproven agents."""
    proving: float = Field(default=0.3, ge=0.0, le=1.0, allow_inf_nan=False)
    """Share (0 to 1) of agents earning trust."""
    arena: float = Field(default=0.5, ge=0.0, le=1.0, allow_inf_nan=False)
    """Share (0 to 1) of proven agents, the bulk of the capital by default."""

    @model_validator(mode="after")
    def _sum_to_one(self) -> TierWeights:
        total = self.simulation + self.proving + self.arena
        if abs(total - 1.0) > _WEIGHT_TOLERANCE:
            msg = (
                f"tier_weights: simulation {self.simulation} + proving {self.proving} + arena {self.arena} "
                f"= {total:g}, expected 1 (within {_WEIGHT_TOLERANCE:g}); scale the weights so they sum to 1"
            )
            raise ValidationError(msg, field="tier_weights", value=total)
        return self

    def of(self, tier: Tier) -> float:
        """Return the weight of ``tier``."""
        weight: float = getattr(self, tier.value)
        return weight


class EvolutionPolicy(_PolicyModel):
    """The rules of one evolution cycle; ``plan_cycle`` applies them to a state and its metrics.

    Every live agent is *judged* once it has spent ``min_bars_in_tier`` bars in its current tier, on the
    equity curve of that stint (at the ledger's marks), whether or not it traded: an agent that sits in
    cash earns a zero return and is ranked on it. Judged agents are killed, promoted or demoted; an agent
    idle for ``idle_bars`` bars is killed whatever its rank. Fitness is shrunk toward zero by the
    evidence behind it (see ``shrinkage``). Capital is reallocated from the treasury plus everything the
    live agents hold, less ``reserve_fraction``.
    """

    cycle_days: int = Field(default=5, ge=1, le=366)
    """Days (1 to 366) of simulated time between cycles: long enough that fitness reflects more than noise
    (120 hourly bars at the default), short enough that losers do not hold capital for long."""
    fitness: FitnessMeasure = "sharpe"
    """``sharpe``: annualised Sharpe ratio of bar returns (rewards steady gains over lucky ones);
    ``total_return``: time-weighted return since the agent's first bar; ``calmar``: total return divided
    by the maximum drawdown, floored at ``CALMAR_DRAWDOWN_FLOOR`` (rewards gains that were never given back).
    """
    kill_fraction: float = Field(default=0.2, ge=0.0, le=1.0, allow_inf_nan=False)
    """Fraction (0 to 1) of judged agents killed each cycle, worst fitness first: ``floor(fraction *
    judged)`` of them, fewer only when elites would otherwise be among them."""
    min_bars_in_tier: int = Field(default=72, ge=0)
    """Bars (>= 0) an agent must have spent in its current tier (``AgentMetrics.bars`` of its stint)
    before it is judged: three days of hourly bars, fewer than a cycle, so every agent that lived through
    a whole cycle in its tier is judged at the next one."""
    idle_bars: int | None = Field(default=240, ge=1)
    """Consecutive idle bars (>= 1; ``AgentMetrics.idle_bars``: no fill of at least the arena's
    ``min_trade_notional`` while holding less than that and having at least that in cash) after which an
    agent is killed as idle, elites included, so inaction never makes an agent immune. None disables."""
    evidence_trades: float = Field(default=10.0, ge=0.0, allow_inf_nan=False)
    """Prior weight (>= 0), in trades, of the shrinkage of fitness toward zero: a judged fitness is
    ``raw * n / (n + evidence_trades)`` for ``n`` trades of evidence in the tier, so 4 lucky trades
    count 29% of their raw score and 200 steady ones 95%. 0 switches the shrinkage off."""
    kill_threshold: float | None = Field(default=None, allow_inf_nan=False)
    """If set, also kill every judged agent (elites excepted) whose fitness is below it, however many."""
    graduate_to_proving: GraduationThresholds = GraduationThresholds()
    """Promotion from simulation to proving."""
    graduate_to_arena: GraduationThresholds = GraduationThresholds(
        min_fitness=1.0, min_total_return=0.05, probation_bars=96, min_trades=6
    )
    """Promotion from proving to arena: stricter by default, since arena agents hold most of the capital."""
    demote_from_arena: DemotionRules = DemotionRules(max_drawdown=0.15, min_fitness=0.0)
    """Demotion from arena to proving: the strictest, since arena agents hold most of the capital."""
    demote_from_proving: DemotionRules = DemotionRules(max_drawdown=0.25, min_fitness=-0.5)
    """Demotion from proving to simulation."""
    population: int | None = Field(default=None, ge=1)
    """Live agents (>= 1) to refill to with children after the kills; None keeps the count at cycle
    start. Children are never killed to reach a smaller target."""
    tournament_size: int = Field(default=3, ge=1)
    """Survivors (>= 1) drawn per tournament; the fittest of them parents one child. Larger is greedier;
    1 is a uniform draw."""
    elite_count: int = Field(default=2, ge=0)
    """The fittest judged agents (>= 0) that are never killed this cycle, whatever the other rules say."""
    mutation_sigma: float = Field(default=0.15, ge=0.0, le=1.0, allow_inf_nan=False)
    """Standard deviation (0 to 1) of each parameter's Gaussian mutation, as a fraction of its range."""
    switch_probability: float = Field(default=0.05, ge=0.0, le=1.0, allow_inf_nan=False)
    """Probability (0 to 1) that a child switches to another strategy family."""
    tier_weights: TierWeights = TierWeights()
    """Share of the allocatable capital per tier (after this cycle's graduations)."""
    within_tier: WithinTier = "equal"
    """``equal`` shares within a tier, or ``fitness``: in proportion to ``max(fitness, 0)`` plus a small
    floor, so that an agent at or below zero keeps a token allocation and can still earn a record."""
    max_agent_fraction: float = Field(default=0.25, gt=0.0, le=1.0, allow_inf_nan=False)
    """Most (above 0, at most 1) that one agent's target may be, as a fraction of the allocatable capital;
    what a capped tier cannot place stays in the treasury."""
    reserve_fraction: float = Field(default=0.05, ge=0.0, le=1.0, allow_inf_nan=False)
    """Fraction (0 to 1) of the capital kept free in the treasury, so fees and new agents never find it
    empty."""

    def to_json_dict(self) -> dict[str, Any]:
        """Return the policy as JSON-able data, the shape ``EvolutionCycleStarted.policy`` records."""
        return self.model_dump(mode="json")

    @classmethod
    def from_mapping(cls, data: Mapping[str, object], *, subject: str | None = None) -> EvolutionPolicy:
        """Build a policy from parsed JSON or TOML; omitted fields keep their defaults.

        Raises:
            ValidationError: a field is unknown, of the wrong type or out of bounds (named in the message,
                prefixed by ``subject`` when given).

        """
        try:
            return cls.model_validate(dict(data))
        except pydantic.ValidationError as e:
            error = validation_error(cls.__name__, cls, e)
            if subject is not None:
                error = ValidationError(f"{subject}: {error.msg}", field=error.field, value=error.value)
            raise error from e

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> EvolutionPolicy:
        """Load a policy from a ``.json`` or ``.toml`` file holding one table of fields.

        Raises:
            ValidationError: the file cannot be read or parsed, or a field is invalid; the message names
                the file and the field.

        """
        where = f"policy file {str(path)!r}"
        suffix = Path(path).suffix.lower()
        if suffix not in {".json", ".toml"}:
            msg = f"{where}: unsupported suffix {suffix!r}, expected '.json' or '.toml'; rename or convert it"
            raise ValidationError(msg, field=None, value=str(path))
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            msg = f"{where}: cannot be read ({e}); check the path and that it is a UTF-8 text file"
            raise ValidationError(msg, field=None, value=str(path)) from e
        try:
            data: object = json.loads(text) if suffix == ".json" else tomllib.loads(text)
        except (json.JSONDecodeError, tomllib.TOMLDecodeError) as e:
            msg = f"{where}: is not valid {suffix[1:].upper()} ({e}); fix the syntax"
            raise ValidationError(msg, field=None, value=str(path)) from e
        if not isinstance(data, dict):
            kind = type(data).__name__
            msg = f"{where}: holds a {kind}, expected an object of policy fields; wrap the fields in {{}}"
            raise ValidationError(msg, field=None, value=str(path))
        return cls.from_mapping(data, subject=where)


def fitness_of(metrics: AgentMetrics, policy: EvolutionPolicy) -> float:
    """Return the number ``policy.fitness`` ranks an agent by: higher is fitter.

    Raises:
        ValidationError: the metrics it reads are NaN or infinite, which would make any ranking arbitrary.

    """
    if policy.fitness == "sharpe":
        value = metrics.sharpe
    elif policy.fitness == "total_return":
        value = metrics.total_return
    else:
        value = metrics.total_return / max(metrics.max_drawdown, CALMAR_DRAWDOWN_FLOOR)
    if not math.isfinite(value):
        msg = (
            f"{policy.fitness} fitness: {value} is not a finite number (sharpe={metrics.sharpe}, "
            f"total_return={metrics.total_return}); fix the tracker that produced these metrics"
        )
        raise ValidationError(msg, field=policy.fitness, value=value)
    return value


def shrinkage(trades: int, policy: EvolutionPolicy) -> float:
    """Return the weight ``n / (n + evidence_trades)`` a raw fitness keeps for ``trades`` of evidence.

    A James-Stein-style pull toward zero, the fitness of doing nothing: with few trades most of a score
    is luck, so it counts little; with many it counts almost fully. With ``evidence_trades`` 0 every
    score counts fully (and so does an agent with no trades, whose raw fitness is usually 0 anyway).
    """
    prior = policy.evidence_trades
    if prior == 0:
        return 1.0
    return trades / (trades + prior)
