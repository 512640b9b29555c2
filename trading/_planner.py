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

from events import DEMOTIONS, PROMOTIONS, EvolutionError, Tier, ValidationError, from_minor, to_minor

from ._builtins import BUILTIN_STRATEGIES
from ._genome import Genome  # noqa: TC001  (pydantic needs it at run time)
from ._policy import fitness_of, shrinkage

if TYPE_CHECKING:
    import random
    from collections.abc import Mapping, Sequence

    from events import AgentRecord, ArenaState

    from ._metrics import AgentMetrics
    from ._policy import EvolutionPolicy
    from ._space import Strategies

__all__ = [
    "Child",
    "CyclePlan",
    "Demotion",
    "Evidence",
    "Graduation",
    "Kill",
    "fitness_ranking",
    "plan_cycle",
]

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
    changes: dict[str, list[str | int | float | None]]
    """What mutation changed, ``{parameter: [old, new]}`` (``Strategies.mutate``): the payload of
    ``AgentMutated.mutation``."""


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
    min_trade_notional: Decimal | None = None,
    strategies: Strategies = BUILTIN_STRATEGIES,
) -> CyclePlan:
    """Decide one cycle's kills, promotions, demotions, children and capital targets.

    Every live agent with metrics that has spent ``min_bars_in_tier`` bars in its current tier is judged,
    traded or not, on ``fitness_of`` its stint's metrics times ``shrinkage`` of its trades of evidence
    (ties broken by id). An agent idle for ``idle_bars`` is killed, whatever its rank. Of the other judged
    agents the ``elite_count`` fittest are never killed; of the rest the bottom ``floor(kill_fraction *
    judged)`` die, and so does anyone below ``kill_threshold``. Judged survivors meeting every threshold
    of their rung move up one tier; judged survivors of proving and arena breaking their tier's
    ``DemotionRules`` move down one. Tournaments among the survivors pick the parents of enough children
    to reach ``policy.population``; a judged survivor beats any unjudged one. Finally the capital is split
    by tier weights (after the tier moves; children start in ``simulation``), then within each tier, each
    target capped. Every decision carries its reason and the numbers behind it (``Evidence``).

    Args:
        state: The arena before the cycle.
        metrics: Performance of live agents in their current tier (``PerformanceBook.metrics``); an agent
            without metrics is not judged (never killed, never moved). Metrics of dead agents are ignored.
        policy: The rules.
        rng: The only source of randomness (tournaments and mutations).
        min_trade_notional: The floor the metrics counted trades and idleness against, for the record.
        strategies: What the parents' genomes are parsed and mutated with (the arena's registry).

    Raises:
        ValidationError: ``metrics`` names an agent the state does not hold, or a fitness is not finite.
        EvolutionError: a surviving parent's genome does not fit ``strategies``.

    """
    alive = state.alive_agents()
    raw, judged, fitness = _judged(state, metrics, policy)
    ranking = sorted(judged, key=lambda agent_id: (-fitness[agent_id], agent_id))  # fittest first
    evidence = _evidence(
        ranking, raw=raw, fitness=fitness, metrics=metrics, policy=policy, floor=min_trade_notional
    )
    idle = _idle(alive, metrics, policy)
    kills = _kills(
        ranking, fitness=fitness, idle=idle, evidence=evidence, policy=policy, floor=min_trade_notional
    )
    killed = {kill.agent_id for kill in kills}
    survivors = [a for a in alive if a.agent_id not in killed]
    moving = [a for a in survivors if a.agent_id in fitness]
    graduations = _graduations(moving, fitness=fitness, metrics=metrics, evidence=evidence, policy=policy)
    promoted = {g.agent_id for g in graduations}
    demotions = _demotions(
        [a for a in moving if a.agent_id not in promoted],
        fitness=fitness,
        metrics=metrics,
        evidence=evidence,
        policy=policy,
    )
    target = len(alive) if policy.population is None else policy.population
    children = _breed(
        state,
        survivors,
        fitness=fitness,
        policy=policy,
        rng=rng,
        count=target - len(survivors),
        strategies=strategies,
    )
    tiers = {a.agent_id: a.tier for a in survivors}
    tiers.update({g.agent_id: g.to_tier for g in graduations})
    tiers.update({d.agent_id: d.to_tier for d in demotions})
    tiers.update({c.key: Tier.SIMULATION for c in children})
    capital = state.nav()  # every live agent's equity at the marks, the killed ones' included
    allocatable = math.floor(to_minor(capital) * (1 - _exact(policy.reserve_fraction)))
    targets = _allocate(tiers, fitness, allocatable, policy)
    summary = _summary([fitness[agent_id] for agent_id in judged])
    summary["idle"] = sum(1 for kill in kills if kill.evidence.get("rule") == "idle")
    return CyclePlan(
        kills=kills,
        graduations=graduations,
        demotions=demotions,
        children=children,
        allocations=tuple((key, from_minor(units)) for key, units in targets.items()),
        allocatable=from_minor(allocatable),
        fitness_summary=summary,
    )


def fitness_ranking(
    state: ArenaState, metrics: Mapping[str, AgentMetrics], policy: EvolutionPolicy
) -> tuple[tuple[str, float, bool], ...]:
    """Rank every live agent with metrics as evolution would: ``(agent_id, fitness, judged)``, fittest first.

    Fitness is ``fitness_of`` the metrics times ``shrinkage`` of the trades of evidence, the number
    ``plan_cycle`` ranks by. Judged agents (``min_bars_in_tier`` bars in their tier) come first, as a
    judged survivor beats any unjudged one in a tournament; then the unjudged, by the same fitness; ties
    broken by agent id, so the ranking is deterministic. Island migration sends the top of it.

    Raises:
        ValidationError: ``metrics`` names an agent the state does not hold, or a fitness is not finite.

    """
    raw, judged, fitness = _judged(state, metrics, policy)
    for agent_id in raw:
        if agent_id not in fitness:
            fitness[agent_id] = raw[agent_id] * shrinkage(metrics[agent_id].evidence_trades, policy)
    chosen = set(judged)
    order = sorted(fitness, key=lambda agent_id: (agent_id not in chosen, -fitness[agent_id], agent_id))
    return tuple((agent_id, fitness[agent_id], agent_id in chosen) for agent_id in order)


def _judged(
    state: ArenaState, metrics: Mapping[str, AgentMetrics], policy: EvolutionPolicy
) -> tuple[dict[str, float], list[str], dict[str, float]]:
    """Return the raw fitness of every live agent with metrics, the judged ones, and their shrunk fitness."""
    raw = _fitness(state, metrics, policy)
    judged = [
        a.agent_id
        for a in state.alive_agents()
        if a.agent_id in raw and metrics[a.agent_id].bars >= policy.min_bars_in_tier
    ]
    fitness = {a: raw[a] * shrinkage(metrics[a].evidence_trades, policy) for a in judged}
    return raw, judged, fitness


def _exact(value: float) -> Fraction:
    """Read a policy float as the decimal its author wrote: ``0.29 * 100`` is 29, not 28.999999999999996."""
    return Fraction(repr(value))


def _fitness(
    state: ArenaState, metrics: Mapping[str, AgentMetrics], policy: EvolutionPolicy
) -> dict[str, float]:
    """Return the raw fitness of every live agent with metrics, refusing metrics the state cannot place."""
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


def _evidence(
    ranking: Sequence[str],
    *,
    raw: Mapping[str, float],
    fitness: Mapping[str, float],
    metrics: Mapping[str, AgentMetrics],
    policy: EvolutionPolicy,
    floor: Decimal | None,
) -> dict[str, Evidence]:
    """Return, per judged agent, every number a decision about it reads: recorded with the decision."""
    result: dict[str, Evidence] = {}
    for place, agent_id in enumerate(ranking, start=1):
        m = metrics[agent_id]
        numbers: Evidence = {
            "measure": policy.fitness,
            "fitness": fitness[agent_id],
            "raw_fitness": raw[agent_id],
            "shrinkage": shrinkage(m.evidence_trades, policy),
            "trades": m.evidence_trades,
            "bars_in_tier": m.bars,
            "total_return": m.total_return,
            "sharpe": m.sharpe,
            "max_drawdown": m.max_drawdown,
            "idle_bars": m.idle_bars,
            "periods_per_year": m.periods_per_year,
            "rank": place,
            "judged": len(ranking),
        }
        if floor is not None:
            numbers["min_trade_notional"] = str(floor)
        result[agent_id] = numbers
    return result


def _idle(
    alive: Sequence[AgentRecord], metrics: Mapping[str, AgentMetrics], policy: EvolutionPolicy
) -> dict[str, int]:
    """Return the idle bars of every live agent idle for at least ``policy.idle_bars``, in id order."""
    limit = policy.idle_bars
    if limit is None:
        return {}
    return {
        a.agent_id: metrics[a.agent_id].idle_bars
        for a in alive
        if a.agent_id in metrics and metrics[a.agent_id].idle_bars >= limit
    }


def _kills(
    ranking: Sequence[str],
    *,
    fitness: Mapping[str, float],
    idle: Mapping[str, int],
    evidence: Mapping[str, Evidence],
    policy: EvolutionPolicy,
    floor: Decimal | None,
) -> tuple[Kill, ...]:
    """Kill the idle, the bottom of the ranking (elites excepted) and anyone below ``kill_threshold``.

    Idle agents are killed whatever their fitness (an idle agent often ranks well in a falling market,
    which is exactly how inaction used to buy immunity), are never elites, and do not use up the quota.
    """
    active = [agent_id for agent_id in ranking if agent_id not in idle]
    judged = len(ranking)
    rank = {agent_id: place for place, agent_id in enumerate(ranking, start=1)}
    elites = set(active[: policy.elite_count])
    quota = math.floor(_exact(policy.kill_fraction) * judged)
    bottom = f"{float(_exact(policy.kill_fraction) * 100):g}%"
    name = policy.fitness
    floor_text = "" if floor is None else f" of at least {floor}"
    decided: dict[str, Kill] = {}
    for agent_id, bars in idle.items():
        reason = (
            f"idle for {bars} bars (limit {policy.idle_bars}): no fill{floor_text} while holding less than "
            "that, with cash to trade"
        )
        numbers: Evidence = {**evidence.get(agent_id, {}), "rule": "idle", "idle_bars": bars}
        numbers["idle_limit"] = policy.idle_bars or 0
        decided[agent_id] = Kill(agent_id=agent_id, reason=reason, evidence=numbers)
    for agent_id in [a for a in reversed(active) if a not in elites][:quota]:
        reason = (
            f"{name} fitness {fitness[agent_id]:.6g} ranked {rank[agent_id]} of {judged} judged "
            f"(bottom {bottom})"
        )
        numbers = {**evidence[agent_id], "rule": "bottom_fraction", "kill_fraction": policy.kill_fraction}
        decided[agent_id] = Kill(agent_id=agent_id, reason=reason, evidence=numbers)
    threshold = policy.kill_threshold
    if threshold is not None:
        for agent_id in active:
            if agent_id not in elites and agent_id not in decided and fitness[agent_id] < threshold:
                reason = (
                    f"{name} fitness {fitness[agent_id]:.6g} below kill_threshold {threshold:g}, "
                    f"ranked {rank[agent_id]} of {judged} judged"
                )
                numbers = {**evidence[agent_id], "rule": "kill_threshold", "kill_threshold": threshold}
                decided[agent_id] = Kill(agent_id=agent_id, reason=reason, evidence=numbers)
    return tuple(decided[agent_id] for agent_id in sorted(decided))


def _graduations(
    candidates: Sequence[AgentRecord],
    *,
    fitness: Mapping[str, float],
    metrics: Mapping[str, AgentMetrics],
    evidence: Mapping[str, Evidence],
    policy: EvolutionPolicy,
) -> tuple[Graduation, ...]:
    """Promote each judged survivor that meets every threshold of its rung in its current tier."""
    graduations = []
    for agent in candidates:
        to_tier = PROMOTIONS.get(agent.tier)
        if to_tier is None:
            continue
        rules = policy.graduate_to_proving if agent.tier is Tier.SIMULATION else policy.graduate_to_arena
        m = metrics[agent.agent_id]
        value, gain, bars, trades = fitness[agent.agent_id], m.total_return, m.bars, m.evidence_trades
        if (
            value >= rules.min_fitness
            and gain >= rules.min_total_return
            and bars >= rules.probation_bars
            and trades >= rules.min_trades
        ):
            reason = (
                f"{policy.fitness} fitness {value:.6g} >= {rules.min_fitness:g}, total return {gain:.6g} >= "
                f"{rules.min_total_return:g}, {bars} bars in {agent.tier.value} >= probation "
                f"{rules.probation_bars}, {trades} trades >= {rules.min_trades}"
            )
            numbers: Evidence = {**evidence[agent.agent_id], "rule": "promotion"}
            graduations.append(
                Graduation(
                    agent_id=agent.agent_id,
                    from_tier=agent.tier,
                    to_tier=to_tier,
                    reason=reason,
                    evidence=numbers,
                )
            )
    return tuple(graduations)


def _demotions(
    candidates: Sequence[AgentRecord],
    *,
    fitness: Mapping[str, float],
    metrics: Mapping[str, AgentMetrics],
    evidence: Mapping[str, Evidence],
    policy: EvolutionPolicy,
) -> tuple[Demotion, ...]:
    """Move each judged survivor of proving or arena that broke its tier's ``DemotionRules`` one tier down."""
    demotions = []
    for agent in candidates:
        to_tier = DEMOTIONS.get(agent.tier)
        if to_tier is None:
            continue
        rules = policy.demote_from_arena if agent.tier is Tier.ARENA else policy.demote_from_proving
        m, value = metrics[agent.agent_id], fitness[agent.agent_id]
        where = f"in {agent.tier.value} over {m.bars} bars"
        if rules.max_drawdown is not None and m.max_drawdown > rules.max_drawdown:
            rule = "drawdown"
            reason = f"drawdown {m.max_drawdown:.6g} {where} > max_drawdown {rules.max_drawdown:g}"
        elif rules.min_fitness is not None and value < rules.min_fitness:
            rule = "underperformance"
            reason = f"{policy.fitness} fitness {value:.6g} {where} < min_fitness {rules.min_fitness:g}"
        else:
            continue
        numbers: Evidence = {**evidence[agent.agent_id], "rule": rule}
        demotions.append(
            Demotion(
                agent_id=agent.agent_id,
                from_tier=agent.tier,
                to_tier=to_tier,
                reason=reason,
                evidence=numbers,
            )
        )
    return tuple(demotions)


def _breed(
    state: ArenaState,
    survivors: Sequence[AgentRecord],
    *,
    fitness: Mapping[str, float],
    policy: EvolutionPolicy,
    rng: random.Random,
    count: int,
    strategies: Strategies,
) -> tuple[Child, ...]:
    """Mutate ``count`` children from tournament winners among the survivors (none if nobody survived)."""
    if count <= 0 or not survivors:
        return ()
    pool = [agent.agent_id for agent in survivors]  # sorted by id, so rng.sample is reproducible
    # fail before drawing
    genomes = {agent.agent_id: _genome(agent, state.cycle + 1, strategies) for agent in survivors}
    prefix = "child-"
    while any(f"{prefix}{n}" in state.agents for n in range(1, count + 1)):
        prefix = f"new-{prefix}"
    children = []
    for n in range(1, count + 1):
        contestants = sorted(rng.sample(pool, min(policy.tournament_size, len(pool))))
        # max keeps the first of equals, so a tie goes to the smallest id; unjudged loses to any judged
        parent = max(contestants, key=lambda a: (a in fitness, fitness.get(a, 0.0)))
        genome, changes = strategies.mutate(
            genomes[parent], rng, sigma=policy.mutation_sigma, switch_probability=policy.switch_probability
        )
        children.append(Child(key=f"{prefix}{n}", parent_id=parent, genome=genome, changes=changes))
    return tuple(children)


def _genome(agent: AgentRecord, cycle: int, strategies: Strategies) -> Genome:
    try:
        return strategies.parse(agent.genome)
    except ValidationError as e:
        msg = (
            f"agent {agent.agent_id!r}: its genome cannot be bred ({e.msg}); "
            "spawn agents with genomes of the arena's strategies so evolution can mutate them"
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
