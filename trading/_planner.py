"""Plan one evolution cycle: every decision, and its cause, computed from state, metrics and policy alone.

``plan_cycle`` is pure: no actors, no store, no clock, and randomness only from the ``random.Random`` the
caller passes in, so a cycle can be tested on its own and replays exactly from its seed. Capital is planned
as equity: each agent's target is a share of the NAV at the state's marks, so an agent that spent its
cash on holdings is not topped up as if it were empty. The supervisor
turns the plan into events in this order: kills (each releases the agent's whole allocation),
graduations, children (spawned, then mutated), then releases before allocations, so the treasury always
covers the next allocation and the targets are reached exactly.

Agents are visited in sorted id order everywhere, so the plan does not depend on dict order.
"""

from __future__ import annotations

import math
from decimal import Decimal  # noqa: TC003  (pydantic needs it at run time)
from fractions import Fraction
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from events import PROMOTIONS, EvolutionError, Tier, ValidationError, from_minor, to_minor

from ._genome import Genome, mutate_genome
from ._policy import fitness_of

if TYPE_CHECKING:
    import random
    from collections.abc import Mapping, Sequence

    from events import AgentRecord, ArenaState

    from ._metrics import AgentMetrics
    from ._policy import EvolutionPolicy

__all__ = ["Child", "CyclePlan", "Demotion", "Evidence", "Graduation", "Kill", "plan_cycle"]

Evidence = dict[str, float | int | str]
"""The numbers a decision was made on (fitness, its raw value, bars in tier, trades, drawdown, ...), by name:
recorded in the event that acted on it, so an auditor can recheck the rule from the log alone."""

# Added to max(fitness, 0) in a "fitness" split within a tier: an agent at or below zero keeps a token share
# (1/101 of a Sharpe-1 neighbour's) rather than none, so it can still trade and be judged, and a tier
# where nobody is positive splits equally.
_FITNESS_FLOOR = Fraction(1, 100)


class _Decision(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class Kill(_Decision):
    """Kill an agent: the cycle releases its whole allocation to the treasury."""

    agent_id: str
    reason: str
    """Its fitness and rank, e.g. ``sharpe fitness -0.41 ranked 9 of 10 judged (bottom 20%)``."""
    evidence: Evidence = {}
    """The numbers behind ``reason``."""


class Graduation(_Decision):
    """Promote a surviving agent one tier."""

    agent_id: str
    from_tier: Tier
    to_tier: Tier
    reason: str
    """Each threshold it met, with its value."""
    evidence: Evidence = {}
    """The numbers behind ``reason``."""


class Demotion(_Decision):
    """Move a surviving agent one tier down (arena to proving, proving to simulation)."""

    agent_id: str
    from_tier: Tier
    to_tier: Tier
    reason: str
    """The rule it broke (drawdown or sustained underperformance), with its value and the limit."""
    evidence: Evidence = {}
    """The numbers behind ``reason``."""


class Child(_Decision):
    """Spawn a new ``simulation`` agent with a genome mutated from a survivor's."""

    key: str
    """Stands for the child in ``CyclePlan.allocations`` until the supervisor gives it a real id; never
    equal to the id of any agent in the state."""
    parent_id: str
    """The winner of the tournament that chose this child's parent."""
    genome: Genome
    changes: dict[str, list[str | int | float]]
    """What mutation changed, ``{parameter: [old, new]}``: the payload of ``AgentMutated.mutation``."""


class CyclePlan(_Decision):
    """Every decision of one cycle, in the order the supervisor applies them."""

    kills: tuple[Kill, ...]
    """Sorted by agent id."""
    graduations: tuple[Graduation, ...]
    """Sorted by agent id; never a killed agent."""
    demotions: tuple[Demotion, ...] = ()
    """Sorted by agent id; never a killed or promoted agent."""
    children: tuple[Child, ...]
    allocations: tuple[tuple[str, Decimal], ...]
    """Target equity (cash plus holdings at the marks) of every agent alive after the cycle: survivors in
    id order, then children by key. Dead agents have none. The targets never sum past ``allocatable``, and
    none passes ``max_agent_fraction`` of it; the rest stays in the treasury."""
    allocatable: Decimal
    """The NAV (the treasury plus every live agent's equity at the marks, the killed ones' included), less
    the reserve."""
    fitness_summary: dict[str, float | int]
    """``judged`` (how many agents were judged) and, if any were, their ``best``, ``mean`` and ``worst``
    fitness: the payload of ``EvolutionCycleComplete.fitness``."""


def plan_cycle(
    state: ArenaState,
    metrics: Mapping[str, AgentMetrics],
    policy: EvolutionPolicy,
    rng: random.Random,
    *,
    ages: Mapping[str, int] | None = None,
) -> CyclePlan:
    """Decide one cycle's kills, graduations, children and capital targets.

    Agents with metrics that have lived ``min_age_bars`` bars and made ``min_trades`` trades are judged
    and ranked by ``fitness_of`` (ties broken by id). The ``elite_count`` fittest are never killed; of the
    rest, the bottom ``floor(kill_fraction * judged)`` die, and so does anyone below ``kill_threshold``.
    Judged survivors meeting their tier's ``GraduationThresholds`` move up one tier. Tournaments among the
    survivors pick the parents of enough children to reach ``policy.population``; a survivor without
    metrics can be drawn but loses to any with them. Finally the capital is split by tier weights (after
    graduations; children start in ``simulation``), then within each tier, each target capped.

    Args:
        state: The arena before the cycle.
        metrics: Performance of live agents; an agent without metrics is not judged (never killed, never
            graduated). Metrics of dead agents are ignored.
        policy: The rules.
        rng: The only source of randomness (tournaments and mutations).
        ages: Bars each live agent with metrics has spent in its current tier, for probation; by default
            its ``metrics.bars`` (right when it never graduated).

    Raises:
        ValidationError: ``metrics`` names an agent the state does not hold, a fitness is not finite, or
            ``ages`` misses a live agent with metrics or holds a negative count.
        EvolutionError: a chosen parent's genome is not a valid ``Genome``.

    """
    alive = state.alive_agents()
    fitness = _fitness(state, metrics, policy)
    tier_ages = _tier_ages(alive, metrics, ages)
    judged = [
        a.agent_id
        for a in alive
        if a.agent_id in fitness
        and metrics[a.agent_id].bars >= policy.min_age_bars
        and metrics[a.agent_id].trade_count >= policy.min_trades
    ]
    ranking = sorted(judged, key=lambda agent_id: (-fitness[agent_id], agent_id))  # fittest first
    kills = _kills(ranking, fitness, policy)
    killed = {kill.agent_id for kill in kills}
    survivors = [a for a in alive if a.agent_id not in killed]
    graduations = _graduations(
        survivors, judged=set(judged), fitness=fitness, metrics=metrics, tier_ages=tier_ages, policy=policy
    )
    target = len(alive) if policy.population is None else policy.population
    children = _breed(
        state, survivors, fitness=fitness, policy=policy, rng=rng, count=target - len(survivors)
    )
    tiers = {a.agent_id: a.tier for a in survivors}
    tiers.update({g.agent_id: g.to_tier for g in graduations})
    tiers.update({c.key: Tier.SIMULATION for c in children})
    capital = state.nav()  # every live agent's equity at the marks, the killed ones' included
    allocatable = math.floor(to_minor(capital) * (1 - _exact(policy.reserve_fraction)))
    targets = _allocate(tiers, fitness, allocatable, policy)
    return CyclePlan(
        kills=kills,
        graduations=graduations,
        children=children,
        allocations=tuple((key, from_minor(units)) for key, units in targets.items()),
        allocatable=from_minor(allocatable),
        fitness_summary=_summary([fitness[agent_id] for agent_id in judged]),
    )


def _exact(value: float) -> Fraction:
    """Read a policy float as the decimal its author wrote: ``0.29 * 100`` is 29, not 28.999999999999996."""
    return Fraction(repr(value))


def _fitness(
    state: ArenaState, metrics: Mapping[str, AgentMetrics], policy: EvolutionPolicy
) -> dict[str, float]:
    """Return the fitness of every live agent with metrics, refusing metrics the state cannot place."""
    fitness: dict[str, float] = {}
    for agent_id in sorted(metrics):
        record = state.agents.get(agent_id)
        if record is None:
            msg = (
                f"metrics for agent {agent_id!r}: the state holds no such agent; "
                "pass metrics only for agents in the state"
            )
            raise ValidationError(msg, field="metrics", value=agent_id)
        if record.alive:
            try:
                fitness[agent_id] = fitness_of(metrics[agent_id], policy)
            except ValidationError as e:
                msg = f"agent {agent_id!r}: {e.msg}"
                raise ValidationError(msg, field=e.field, value=e.value) from e
    return fitness


def _tier_ages(
    alive: Sequence[AgentRecord], metrics: Mapping[str, AgentMetrics], ages: Mapping[str, int] | None
) -> dict[str, int]:
    """Return bars in the current tier of every live agent with metrics."""
    result: dict[str, int] = {}
    for agent in alive:
        if agent.agent_id not in metrics:
            continue
        if ages is None:
            result[agent.agent_id] = metrics[agent.agent_id].bars
            continue
        age = ages.get(agent.agent_id)
        if age is None:
            msg = (
                f"ages: no entry for live agent {agent.agent_id!r}, expected one for every live agent with "
                "metrics; pass its bars in its current tier, or ages=None to use metrics.bars"
            )
            raise ValidationError(msg, field="ages", value=agent.agent_id)
        if age < 0:
            msg = f"ages: agent {agent.agent_id!r} has {age} bars in its tier, expected >= 0; pass a count"
            raise ValidationError(msg, field="ages", value=age)
        result[agent.agent_id] = age
    return result


def _kills(ranking: Sequence[str], fitness: Mapping[str, float], policy: EvolutionPolicy) -> tuple[Kill, ...]:
    """Kill the bottom of the ranking (elites excepted) and anyone judged below ``kill_threshold``."""
    judged = len(ranking)
    rank = {agent_id: place for place, agent_id in enumerate(ranking, start=1)}
    elites = set(ranking[: policy.elite_count])
    quota = math.floor(_exact(policy.kill_fraction) * judged)
    bottom = f"{float(_exact(policy.kill_fraction) * 100):g}%"
    name = policy.fitness
    reasons = {
        agent_id: f"{name} fitness {fitness[agent_id]:.6g} ranked {rank[agent_id]} of {judged} judged "
        f"(bottom {bottom})"
        for agent_id in [a for a in reversed(ranking) if a not in elites][:quota]
    }
    threshold = policy.kill_threshold
    if threshold is not None:
        for agent_id in ranking:
            if agent_id not in elites and agent_id not in reasons and fitness[agent_id] < threshold:
                reasons[agent_id] = (
                    f"{name} fitness {fitness[agent_id]:.6g} below kill_threshold {threshold:g}, "
                    f"ranked {rank[agent_id]} of {judged} judged"
                )
    return tuple(Kill(agent_id=agent_id, reason=reasons[agent_id]) for agent_id in sorted(reasons))


def _graduations(
    survivors: Sequence[AgentRecord],
    *,
    judged: set[str],
    fitness: Mapping[str, float],
    metrics: Mapping[str, AgentMetrics],
    tier_ages: Mapping[str, int],
    policy: EvolutionPolicy,
) -> tuple[Graduation, ...]:
    """Promote each judged survivor that meets every threshold of its tier's rung, one rung per cycle."""
    graduations = []
    for agent in survivors:
        to_tier = PROMOTIONS.get(agent.tier)
        if agent.agent_id not in judged or to_tier is None:
            continue
        rules = policy.graduate_to_proving if agent.tier is Tier.SIMULATION else policy.graduate_to_arena
        value, gain, age = (
            fitness[agent.agent_id],
            metrics[agent.agent_id].total_return,
            tier_ages[agent.agent_id],
        )
        if value >= rules.min_fitness and gain >= rules.min_total_return and age >= rules.probation_bars:
            reason = (
                f"{policy.fitness} fitness {value:.6g} >= {rules.min_fitness:g}, total return {gain:.6g} >= "
                f"{rules.min_total_return:g}, {age} bars in {agent.tier.value} >= probation "
                f"{rules.probation_bars}"
            )
            graduations.append(
                Graduation(agent_id=agent.agent_id, from_tier=agent.tier, to_tier=to_tier, reason=reason)
            )
    return tuple(graduations)


def _breed(
    state: ArenaState,
    survivors: Sequence[AgentRecord],
    *,
    fitness: Mapping[str, float],
    policy: EvolutionPolicy,
    rng: random.Random,
    count: int,
) -> tuple[Child, ...]:
    """Mutate ``count`` children from tournament winners among the survivors (none if nobody survived)."""
    if count <= 0 or not survivors:
        return ()
    pool = [agent.agent_id for agent in survivors]  # sorted by id, so rng.sample is reproducible
    genomes = {agent.agent_id: _genome(agent, state.cycle + 1) for agent in survivors}  # fail before drawing
    prefix = "child-"
    while any(f"{prefix}{n}" in state.agents for n in range(1, count + 1)):
        prefix = f"new-{prefix}"
    children = []
    for n in range(1, count + 1):
        contestants = sorted(rng.sample(pool, min(policy.tournament_size, len(pool))))
        # max keeps the first of equals, so a tie goes to the smallest id; no metrics loses to any metrics
        parent = max(contestants, key=lambda a: (a in fitness, fitness.get(a, 0.0)))
        genome, changes = mutate_genome(
            genomes[parent], rng, sigma=policy.mutation_sigma, switch_probability=policy.switch_probability
        )
        children.append(Child(key=f"{prefix}{n}", parent_id=parent, genome=genome, changes=changes))
    return tuple(children)


def _genome(agent: AgentRecord, cycle: int) -> Genome:
    try:
        return Genome.from_json_dict(agent.genome)
    except ValidationError as e:
        msg = (
            f"agent {agent.agent_id!r}: its genome cannot be bred ({e.msg}); "
            "spawn agents with Genome.to_json_dict() genomes so evolution can mutate them"
        )
        raise EvolutionError(msg, cycle=cycle) from e


def _allocate(
    tiers: Mapping[str, Tier], fitness: Mapping[str, float], allocatable: int, policy: EvolutionPolicy
) -> dict[str, int]:
    """Return target minor units per agent: split by tier weight, then within each tier, each capped.

    Exact rational arithmetic, floored once per amount, so the targets can never sum past ``allocatable``.
    """
    members: dict[Tier, list[str]] = {tier: [] for tier in Tier}
    for key, tier in tiers.items():
        members[tier].append(key)
    weights = {tier: _exact(policy.tier_weights.of(tier)) for tier in Tier if members[tier]}
    total_weight = sum(weights.values())  # over occupied tiers: an empty tier's weight goes to the others
    cap = math.floor(allocatable * _exact(policy.max_agent_fraction))
    targets = dict.fromkeys(tiers, 0)
    if total_weight == 0:
        return targets  # only zero-weight tiers are occupied: everything stays in the treasury
    for tier, weight in weights.items():
        budget = math.floor(allocatable * weight / total_weight)
        targets.update(_split(budget, _shares(members[tier], fitness, policy), cap))
    return targets


def _shares(
    keys: Sequence[str], fitness: Mapping[str, float], policy: EvolutionPolicy
) -> dict[str, Fraction]:
    """Return each agent's relative share of its tier; an agent without a fitness gets the tier's mean."""
    if policy.within_tier == "equal":
        return dict.fromkeys(keys, Fraction(1))
    known = {key: Fraction(max(fitness[key], 0.0)) + _FITNESS_FLOOR for key in keys if key in fitness}
    prior = sum(known.values(), Fraction(0)) / len(known) if known else Fraction(1)
    return {key: known.get(key, prior) for key in keys}


def _split(budget: int, shares: Mapping[str, Fraction], cap: int) -> dict[str, int]:
    """Split ``budget`` in proportion to ``shares``, no one above ``cap``; the excess goes to the others.

    Water-filling: whoever would exceed the cap gets exactly the cap and leaves; the rest re-split what is
    left. Each round caps at least one agent and at most ``1 / max_agent_fraction`` can ever be capped,
    so there are few rounds. What nobody in the tier can take stays in the treasury.
    """
    result: dict[str, int] = {}
    open_shares = dict(shares)
    left = budget
    while open_shares:
        total = sum(open_shares.values())
        over = [key for key, share in open_shares.items() if left * share > cap * total]
        if not over:
            result.update({key: math.floor(left * share / total) for key, share in open_shares.items()})
            break
        for key in over:
            result[key] = cap
            left -= cap
            del open_shares[key]
    return result


def _summary(values: Sequence[float]) -> dict[str, float | int]:
    if not values:
        return {"judged": 0}
    return {
        "judged": len(values),
        "best": max(values),
        "mean": math.fsum(values) / len(values),
        "worst": min(values),
    }
