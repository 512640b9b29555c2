"""One evolution cycle as events: plan it, check it, then emit it as one causal tree.

``plan_cycle`` decides everything from a frozen copy of the state (pure, seeded); this module turns the
plan into events in the supervisor's thread, in one serialized step that no other command can interleave
with: ``EvolutionCycleStarted``, the marks the cycle trades at, the kills (each followed by the sales of
the killed agent's holdings and the release of their proceeds), the promotions, the demotions, the
children (``AgentSpawned`` then ``AgentMutated``), the releases, then the allocations, and
``EvolutionCycleComplete``. Every event's ``caused_by`` is its real cause: the start for the cycle's
decisions, its marks, its capital moves and its completion; the kill for a killed agent's liquidation and
proceeds; the child's own spawn for its mutation. So walking down from ``EvolutionCycleStarted`` (the
root) reaches every event of the cycle, and the completion names the root it closes. Each decision's
reason and evidence are recorded in the event that acts on it.
"""

from __future__ import annotations

import logging
import math
from decimal import Decimal
from typing import TYPE_CHECKING

from events import (
    REASON_LIMIT,
    CapitalAllocated,
    CapitalReleased,
    EvolutionCycleComplete,
    EvolutionCycleStarted,
    MarksRecorded,
    Tier,
    ValidationError,
    equity,
    from_minor,
    to_minor,
)
from trading import BUILTIN_STRATEGIES, plan_cycle

from ._commands import breed, demote, graduate, kill
from ._reports import CycleReport
from ._trades import liquidation_prices

if TYPE_CHECKING:
    import random
    from collections.abc import Iterable, Mapping
    from uuid import UUID

    from pydantic import JsonValue

    from trading import AgentMetrics, BrokerConfig, EvolutionPolicy, Strategies

    from ._emitter import Emitter

__all__ = ["run_cycle"]

logger = logging.getLogger(__name__)


def run_cycle(
    em: Emitter,
    policy: EvolutionPolicy,
    metrics: Mapping[str, AgentMetrics],
    *,
    rng: random.Random,
    marks: Mapping[str, Decimal] | None = None,
    broker: BrokerConfig | None = None,
    min_trade_notional: Decimal | None = None,
    strategies: Strategies = BUILTIN_STRATEGIES,
) -> CycleReport:
    """Plan and emit one evolution cycle; return what it did.

    Everything that can refuse the cycle is checked before the first event, so a refused cycle emits
    nothing. Targets are equity; an agent above its target gives back only free cash (no holding is sold
    to rebalance), so the treasury may not cover every top-up: allocations are then filled in plan order
    until it runs dry, and an info log says by how much they fell short.

    Raises:
        ValidationError: ``metrics`` name an agent never spawned, a fitness is not finite, a decision's
            evidence holds a number that is not finite, or ``marks`` lack a price for a symbol a killed
            agent holds.
        EvolutionError: a chosen parent's genome cannot be bred.

    """
    state = em.fold.freeze()
    if marks:  # value the arena at the prices the cycle trades at
        state = state.model_copy(update={"marks": {**state.marks, **marks}})
    plan = plan_cycle(
        state, metrics, policy, rng, min_trade_notional=min_trade_notional, strategies=strategies
    )
    for decision in plan.kills:
        liquidation_prices(em, decision.agent_id, marks)
    _check_evidence(
        [(d.agent_id, d.evidence) for d in plan.kills]
        + [(d.agent_id, d.evidence) for d in plan.graduations]
        + [(d.agent_id, d.evidence) for d in plan.demotions]
    )
    cycle = em.fold.cycle + 1
    started = em.emit(EvolutionCycleStarted, cycle=cycle, policy=policy.to_json_dict())
    root = started.event_id
    if marks:
        em.emit(MarksRecorded, caused_by=root, marks=dict(marks))
    liquidations = 0
    for decision in plan.kills:
        killing = kill(
            em,
            decision.agent_id,
            decision.reason[:REASON_LIMIT],
            evidence=dict(decision.evidence),
            marks=marks,
            broker=broker,
            cause=root,
        )
        liquidations += killing.sales
    graduated: list[tuple[str, Tier]] = []
    for promotion in plan.graduations:
        reason, evidence = promotion.reason[:REASON_LIMIT], dict(promotion.evidence)
        graduate(em, promotion.agent_id, promotion.to_tier, reason=reason, evidence=evidence, cause=root)
        graduated.append((promotion.agent_id, promotion.to_tier))
    demoted: list[tuple[str, Tier]] = []
    for demotion in plan.demotions:
        reason, evidence = demotion.reason[:REASON_LIMIT], dict(demotion.evidence)
        demote(em, demotion.agent_id, reason=reason, to_tier=demotion.to_tier, evidence=evidence, cause=root)
        demoted.append((demotion.agent_id, demotion.to_tier))
    ids: dict[str, str] = {}
    for child in plan.children:
        spawned, _ = breed(em, child.parent_id, child.genome, _json(child.changes), cause=root)
        ids[child.key] = spawned.agent_id
    targets = [(ids.get(key, key), amount) for key, amount in plan.allocations]
    moves = _reallocate(em, targets, root)
    completed = em.emit(
        EvolutionCycleComplete,
        caused_by=root,
        cycle=cycle,
        killed=len(plan.kills),
        graduated=len(graduated),
        mutated=len(plan.children),
        reallocated=moves,
        fitness=dict(plan.fitness_summary),
    )
    return CycleReport(
        cycle=cycle,
        started_seq=started.seq,
        completed_seq=completed.seq,
        killed=tuple(decision.agent_id for decision in plan.kills),
        graduated=tuple(graduated),
        demoted=tuple(demoted),
        children=tuple((child.parent_id, ids[child.key]) for child in plan.children),
        reallocated=moves,
        liquidations=liquidations,
        fitness=dict(plan.fitness_summary),
    )


def _reallocate(em: Emitter, targets: list[tuple[str, Decimal]], cause: UUID) -> int:
    """Move cash to bring each agent's equity to its target, every release first (the treasury then pays).

    Targets are equity (cash plus holdings at the latest marks). An agent above its target gives back
    free cash only, never more than it holds: no holding is sold to rebalance. An agent below it is
    topped up by the difference, so what it already holds counts; when the treasury cannot pay every
    top-up, each is paid the same fraction of it.
    """
    moves = 0
    raises: list[tuple[str, Decimal]] = []
    for agent_id, target in targets:
        agent = em.alive(agent_id)
        worth = equity(agent, em.fold.marks)
        if worth > target:
            amount = min(agent.allocation, worth - target)
            if amount > 0:
                em.emit(CapitalReleased, caused_by=cause, agent_id=agent_id, amount=amount)
                moves += 1
        elif worth < target:
            raises.append((agent_id, target - worth))
    wanted_total = sum((wanted for _, wanted in raises), Decimal(0))
    available = em.fold.treasury
    for agent_id, wanted in raises:
        # pro rata when the treasury cannot cover every top-up: each gets the same fraction of what it
        # wanted (floored to the minor unit), so nobody, a newborn child least of all, is left with nothing
        if wanted_total <= available:
            amount = wanted
        else:
            amount = from_minor(to_minor(wanted) * to_minor(available) // to_minor(wanted_total))
        if amount > 0:
            em.emit(CapitalAllocated, caused_by=cause, agent_id=agent_id, amount=amount)
            moves += 1
    if wanted_total > available:
        # expected, not a fault: an agent above its target keeps the holdings it is never forced to sell
        logger.info(
            "evolution cycle %d: the treasury fell %s short of the plan's targets (agents above their "
            "target keep holdings they are not forced to sell, and liquidations cost fees and slippage); "
            "every top-up got the same share, %s of what it wanted",
            em.fold.cycle,
            wanted_total - available,
            f"{float(available / wanted_total):.2%}",
        )
    return moves


def _check_evidence(decisions: Iterable[tuple[str, Mapping[str, float | int | str]]]) -> None:
    """Refuse, before the first event, evidence the log could not hold: JSON has no NaN or infinity."""
    for agent_id, evidence in decisions:
        for name, value in sorted(evidence.items()):
            if isinstance(value, float) and not math.isfinite(value):
                msg = (
                    f"agent {agent_id!r}: the planner's evidence {name!r} is {value}, which the log cannot "
                    "record; evidence numbers must be finite (a planner bug: report it)"
                )
                raise ValidationError(msg, field=f"evidence.{name}", value=value)


def _json(changes: Mapping[str, list[str | int | float | None]]) -> dict[str, JsonValue]:
    return {name: list(change) for name, change in changes.items()}
