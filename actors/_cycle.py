"""One evolution cycle as events: plan it, check it, then emit it as a single causal chain.

``plan_cycle`` decides everything from a frozen copy of the state (pure, seeded); this module turns the
plan into events in the supervisor's thread, in one serialized step that no other command can interleave
with: ``EvolutionCycleStarted``, the kills (each after selling the agent's positions when marks are
given), the graduations, the children (``AgentSpawned`` then ``AgentMutated``), the releases, then the
allocations, and ``EvolutionCycleComplete``. Each event is ``caused_by`` the one before it, so walking
``caused_by`` back from ``EvolutionCycleComplete`` visits every event of the cycle.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import TYPE_CHECKING

from events import (
    CapitalAllocated,
    CapitalReleased,
    EvolutionCycleComplete,
    EvolutionCycleStarted,
    MarksRecorded,
    Tier,
    equity,
)
from trading import plan_cycle

from ._commands import breed, graduate, kill
from ._emitter import Chain
from ._reports import CycleReport
from ._trades import liquidation_prices

if TYPE_CHECKING:
    import random
    from collections.abc import Mapping

    from pydantic import JsonValue

    from trading import AgentMetrics, BrokerConfig, EvolutionPolicy

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
) -> CycleReport:
    """Plan and emit one evolution cycle; return what it did.

    Everything that can refuse the cycle is checked before the first event, so a refused cycle emits
    nothing. Targets are equity; an agent above its target gives back only free cash (no holding is sold
    to rebalance), so the treasury may not cover every top-up: allocations are then filled in plan order
    until it runs dry, and an info log says by how much they fell short.

    Raises:
        ValidationError: ``metrics`` name an agent never spawned, a fitness is not finite, or ``marks``
            lack a price for a symbol a killed agent holds.
        EvolutionError: a chosen parent's genome cannot be bred.

    """
    state = em.fold.freeze()
    if marks:  # value the arena at the prices the cycle trades at
        state = state.model_copy(update={"marks": {**state.marks, **marks}})
    plan = plan_cycle(state, metrics, policy, rng)
    for decision in plan.kills:
        liquidation_prices(em, decision.agent_id, marks)
    cycle = em.fold.cycle + 1
    chain = Chain()
    started = em.emit(EvolutionCycleStarted, chain=chain, cycle=cycle, policy=policy.to_json_dict())
    if marks:
        em.emit(MarksRecorded, chain=chain, marks=dict(marks))
    liquidations = 0
    for decision in plan.kills:
        _, trades = kill(em, decision.agent_id, decision.reason, marks=marks, broker=broker, chain=chain)
        liquidations += trades
    graduated: list[tuple[str, Tier]] = []
    for promotion in plan.graduations:
        graduate(em, promotion.agent_id, promotion.to_tier, chain=chain)
        graduated.append((promotion.agent_id, promotion.to_tier))
    ids: dict[str, str] = {}
    for child in plan.children:
        spawned, _ = breed(em, child.parent_id, child.genome, _json(child.changes), chain=chain)
        ids[child.key] = spawned.agent_id
    targets = [(ids.get(key, key), amount) for key, amount in plan.allocations]
    moves = _reallocate(em, targets, chain)
    completed = em.emit(
        EvolutionCycleComplete,
        chain=chain,
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
        children=tuple((child.parent_id, ids[child.key]) for child in plan.children),
        reallocated=moves,
        liquidations=liquidations,
        fitness=dict(plan.fitness_summary),
    )


def _reallocate(em: Emitter, targets: list[tuple[str, Decimal]], chain: Chain) -> int:
    """Move cash to bring each agent's equity to its target, every release first (the treasury then pays).

    Targets are equity (cash plus holdings at the latest marks). An agent above its target gives back
    free cash only, never more than it holds: no holding is sold to rebalance. An agent below it is
    topped up by the difference, so what it already holds counts.
    """
    moves = 0
    raises: list[tuple[str, Decimal]] = []
    for agent_id, target in targets:
        agent = em.alive(agent_id)
        worth = equity(agent, em.fold.marks)
        if worth > target:
            amount = min(agent.allocation, worth - target)
            if amount > 0:
                em.emit(CapitalReleased, chain=chain, agent_id=agent_id, amount=amount)
                moves += 1
        elif worth < target:
            raises.append((agent_id, target - worth))
    shortfall = Decimal(0)
    for agent_id, wanted in raises:
        amount = min(wanted, em.fold.treasury)
        shortfall += wanted - amount
        if amount > 0:
            em.emit(CapitalAllocated, chain=chain, agent_id=agent_id, amount=amount)
            moves += 1
    if shortfall:
        # expected, not a fault: an agent above its target keeps the holdings it is never forced to sell
        logger.info(
            "evolution cycle %d: the treasury fell %s short of the plan's targets (agents above their "
            "target keep holdings they are not forced to sell, and liquidations cost fees and slippage); "
            "the last agents in plan order got less",
            em.fold.cycle,
            shortfall,
        )
    return moves


def _json(changes: Mapping[str, list[str | int | float]]) -> dict[str, JsonValue]:
    return {name: list(change) for name, change in changes.items()}
