"""What each agent and capital command emits, validated against the live state before anything is emitted.

These are the supervisor's command handlers without the actor: plain functions over an ``Emitter``, so
they can be tested without threads and reused by the evolution cycle. Each one checks everything that
could refuse the command first and only then emits, so a refused command changes nothing. The one
deliberate exception is over-allocation, which the design we replace logged and which stays auditable:
it emits ``AllocationRejected`` and then raises ``AllocationError``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from events import (
    DEMOTIONS,
    PROMOTIONS,
    ZERO,
    AgentDemoted,
    AgentGraduated,
    AgentKilled,
    AgentMutated,
    AgentSpawned,
    AllocationError,
    AllocationRejected,
    ArenaOpened,
    CapitalAllocated,
    CapitalConservationCheck,
    CapitalConservationError,
    CapitalReleased,
    GraduationError,
    Tier,
)
from trading import BUILTIN_STRATEGIES

from ._reports import ConservationReport
from ._trades import liquidate, liquidation_prices

if TYPE_CHECKING:
    import random
    from collections.abc import Mapping, Sequence
    from decimal import Decimal
    from uuid import UUID

    from pydantic import JsonValue

    from trading import BrokerConfig, Genome, Strategies

    from ._emitter import Emitter

__all__ = [
    "Killing",
    "allocate",
    "breed",
    "check_conservation",
    "conservation_error",
    "demote",
    "fresh_agent_id",
    "graduate",
    "kill",
    "mutate",
    "open_arena",
    "release",
    "spawn",
]

logger = logging.getLogger(__name__)

_NAMED_AGENTS = 5  # an error naming 1000 agents helps nobody; name the first few and count the rest


def open_arena(
    em: Emitter, *, arena_id: str, total_capital: Decimal, config: dict[str, JsonValue]
) -> ArenaOpened:
    """Emit ``ArenaOpened``: the treasury is funded with ``total_capital``."""
    return em.emit(ArenaOpened, arena_id=arena_id, total_capital=total_capital, config=config)


def fresh_agent_id(em: Emitter) -> str:
    """Return the generator's next agent id that no agent of the arena has had."""
    agent_id = em.ids.agent_id()
    while em.fold.agent(agent_id) is not None:  # a custom generator may repeat an id; never reuse one
        agent_id = em.ids.agent_id()
    return agent_id


def spawn(
    em: Emitter,
    *,
    genome: Genome,
    tier: Tier,
    parent_id: str | None = None,
    cause: UUID | None = None,
    agent_id: str | None = None,
) -> AgentSpawned:
    """Emit ``AgentSpawned`` for ``agent_id`` (a ``fresh_agent_id`` by default); it starts with no capital."""
    agent_id = fresh_agent_id(em) if agent_id is None else agent_id
    return em.emit(
        AgentSpawned,
        caused_by=cause,
        agent_id=agent_id,
        tier=tier,
        genome=genome.to_json_dict(),
        parent_id=parent_id,
    )


@dataclass(frozen=True, slots=True)
class Killing:
    """What ``kill`` emitted: the kill, how many liquidation fills followed it, and what went back."""

    killed: AgentKilled
    sales: int
    """Liquidation fills after the kill, each ``caused_by`` it."""
    released: Decimal
    """Everything the treasury got back: the cash at the kill plus the proceeds of the sales."""


def allocate(em: Emitter, allocations: Sequence[tuple[str, Decimal]]) -> tuple[CapitalAllocated, ...]:
    """Emit one ``CapitalAllocated`` per agent, or none at all.

    Raises:
        UnknownAgentError: an agent id was never spawned (nothing is emitted).
        AgentNotAliveError: an agent was killed (nothing is emitted).
        AllocationError: the amounts add up to more than the treasury holds; ``AllocationRejected`` is
            emitted (and nothing else), so pressure on capital stays auditable.

    """
    for agent_id, _ in allocations:
        em.alive(agent_id)
    requested = sum((amount for _, amount in allocations), ZERO)
    available = em.fold.treasury
    if requested > available:
        ids = [agent_id for agent_id, _ in allocations]
        only = ids[0] if len(ids) == 1 else None
        msg = (
            f"{_subject(ids)}: cannot allocate {requested} from a treasury of {available}; "
            "release capital first or allocate less"
        )
        em.emit(AllocationRejected, agent_id=only, requested=requested, available=available, reason=msg)
        raise AllocationError(msg, agent_id=only, requested=requested, available=available)
    return tuple(
        em.emit(CapitalAllocated, agent_id=agent_id, amount=amount) for agent_id, amount in allocations
    )


def release(em: Emitter, agent_id: str, amount: Decimal | None) -> Decimal:
    """Emit ``CapitalReleased`` for ``amount`` (everything the agent holds if ``None``); return the amount.

    Releasing everything from an agent that holds nothing emits nothing and returns zero.

    Raises:
        UnknownAgentError: no such agent.
        AgentNotAliveError: the agent was killed.
        AllocationError: ``amount`` is more than the agent holds.

    """
    held: Decimal = em.alive(agent_id).allocation
    if amount is None:
        amount = held
    elif amount > held:
        msg = (
            f"agent {agent_id!r}: cannot release {amount} from an allocation of {held}; "
            f"release at most {held}, or omit the amount to release everything"
        )
        raise AllocationError(msg, agent_id=agent_id, requested=amount, available=held)
    if amount:
        em.emit(CapitalReleased, agent_id=agent_id, amount=amount)
    return amount


def kill(
    em: Emitter,
    agent_id: str,
    reason: str,
    *,
    evidence: Mapping[str, JsonValue] | None = None,
    marks: Mapping[str, Decimal] | None = None,
    broker: BrokerConfig | None = None,
    cause: UUID | None = None,
) -> Killing:
    """Emit ``AgentKilled`` (its cash goes back), then sell its holdings and release their proceeds.

    The kill is the decision, so it comes first, ``caused_by`` ``cause``; each liquidation fill and the one
    ``CapitalReleased`` of their proceeds are ``caused_by`` the kill. Holdings are sold through ``broker``
    at ``marks`` where given, else at the latest recorded marks, so no value leaves the books unsold and
    the dead end flat. Every price is checked before the kill is emitted.

    Raises:
        UnknownAgentError: no such agent.
        AgentNotAliveError: the agent was killed already.
        ValidationError: a holding has no price, given or recorded (nothing is emitted).

    """
    cash = em.alive(agent_id).allocation
    prices = liquidation_prices(em, agent_id, marks)
    killed = em.emit(
        AgentKilled,
        caused_by=cause,
        agent_id=agent_id,
        reason=reason,
        capital_released=cash,
        evidence=dict(evidence or {}),
    )
    sales = liquidate(em, agent_id, prices, broker, killed.event_id) if prices else 0
    proceeds: Decimal = em.existing(agent_id).allocation
    if proceeds:
        em.emit(CapitalReleased, caused_by=killed.event_id, agent_id=agent_id, amount=proceeds)
    return Killing(killed=killed, sales=sales, released=cash + proceeds)


def graduate(
    em: Emitter,
    agent_id: str,
    to_tier: Tier,
    *,
    reason: str,
    evidence: Mapping[str, JsonValue] | None = None,
    cause: UUID | None = None,
) -> AgentGraduated:
    """Emit ``AgentGraduated`` promoting the agent one rung, to ``to_tier``, for ``reason``.

    Raises:
        UnknownAgentError: no such agent.
        AgentNotAliveError: the agent was killed.
        GraduationError: the agent is not in the tier just below ``to_tier``.

    """
    from_tier: Tier = em.alive(agent_id).tier
    if PROMOTIONS.get(from_tier) != to_tier:
        if from_tier == Tier.SIMULATION and to_tier == Tier.ARENA:
            fix = "graduate it to proving first"
        elif from_tier == to_tier:
            fix = f"it is already in {to_tier.value}"
        else:
            fix = f"it is already in {from_tier.value}, past {to_tier.value}; demote it instead"
        msg = (
            f"agent {agent_id!r}: cannot graduate from {from_tier.value} to {to_tier.value}; agents move "
            f"up one rung at a time, simulation -> proving -> arena, and {fix}"
        )
        raise GraduationError(msg, agent_id=agent_id, from_tier=from_tier.value, to_tier=to_tier.value)
    return em.emit(
        AgentGraduated,
        caused_by=cause,
        agent_id=agent_id,
        from_tier=from_tier,
        to_tier=to_tier,
        reason=reason,
        evidence=dict(evidence or {}),
    )


def demote(
    em: Emitter,
    agent_id: str,
    *,
    reason: str,
    to_tier: Tier | None = None,
    evidence: Mapping[str, JsonValue] | None = None,
    cause: UUID | None = None,
) -> AgentDemoted:
    """Emit ``AgentDemoted`` moving the agent one rung down (to ``to_tier``, when given), for ``reason``.

    Raises:
        UnknownAgentError: no such agent.
        AgentNotAliveError: the agent was killed.
        GraduationError: the agent is in ``simulation``, the bottom tier, or not just above ``to_tier``.

    """
    from_tier: Tier = em.alive(agent_id).tier
    below = DEMOTIONS.get(from_tier)
    if below is None or (to_tier is not None and to_tier != below):
        wanted = "a lower tier" if to_tier is None else to_tier.value
        fix = (
            "it is in the bottom tier already; kill it instead if it must go"
            if below is None
            else f"the one rung below {from_tier.value} is {below.value}"
        )
        msg = (
            f"agent {agent_id!r}: cannot demote from {from_tier.value} to {wanted}; agents move down one "
            f"rung at a time, arena -> proving -> simulation, and {fix}"
        )
        wanted_tier = None if to_tier is None else to_tier.value
        raise GraduationError(msg, agent_id=agent_id, from_tier=from_tier.value, to_tier=wanted_tier)
    return em.emit(
        AgentDemoted,
        caused_by=cause,
        agent_id=agent_id,
        from_tier=from_tier,
        to_tier=below,
        reason=reason,
        evidence=dict(evidence or {}),
    )


def mutate(
    em: Emitter,
    parent_id: str,
    *,
    rng: random.Random,
    seed: int | None = None,
    strategies: Strategies = BUILTIN_STRATEGIES,
) -> tuple[AgentSpawned, AgentMutated]:
    """Breed a child of ``parent_id`` with ``strategies.mutate`` and emit it (see ``breed``).

    ``seed``, when the caller chose one, is recorded in ``AgentMutated.mutation`` so the child can be bred
    again.

    Raises:
        UnknownAgentError: no such parent.
        AgentNotAliveError: the parent was killed.
        ValidationError: the parent's stored genome does not fit ``strategies``.

    """
    parent = em.alive(parent_id)
    genome, changes = strategies.mutate(strategies.parse(parent.genome), rng)
    mutation: dict[str, JsonValue] = {name: list(change) for name, change in changes.items()}
    if seed is not None:
        mutation["seed"] = seed
    return breed(em, parent_id, genome, mutation)


def breed(
    em: Emitter,
    parent_id: str,
    genome: Genome,
    mutation: Mapping[str, JsonValue],
    *,
    cause: UUID | None = None,
) -> tuple[AgentSpawned, AgentMutated]:
    """Emit ``AgentSpawned`` for a child of the live ``parent_id`` with ``genome``, then ``AgentMutated``.

    The spawn is ``caused_by`` ``cause`` (in a cycle, its start), or by default the parent's spawn event;
    the mutation is ``caused_by`` the child's spawn, and its ``parent_event_id`` names the parent's spawn.
    The child starts in ``simulation`` with no capital.

    Raises:
        UnknownAgentError: no such parent.
        AgentNotAliveError: the parent was killed.

    """
    parent_event: UUID = em.alive(parent_id).spawn_event_id
    spawned = spawn(
        em,
        genome=genome,
        tier=Tier.SIMULATION,
        parent_id=parent_id,
        cause=parent_event if cause is None else cause,
    )
    mutated = em.emit(
        AgentMutated,
        caused_by=spawned.event_id,
        agent_id=spawned.agent_id,
        parent_id=parent_id,
        child_id=spawned.agent_id,
        parent_event_id=parent_event,
        mutation=dict(mutation),
    )
    return spawned, mutated


def check_conservation(em: Emitter) -> ConservationReport:
    """Emit ``CapitalConservationCheck`` for the live state and return its report.

    Value is conserved when the treasury plus what the agents hold at cost (cash and holdings) is the
    capital at cost, and that is the funding plus realized P&L less fees: nothing of value appeared or
    vanished without a posting.

    Raises:
        CapitalConservationError: the books do not balance; the failed check is still emitted, so the
            log records when the books stopped balancing.

    """
    fold = em.fold
    allocated = fold.allocated_capital
    free, total = fold.treasury, fold.total_capital
    funding, realized, fees = fold.funding, fold.realized_pnl, fold.fees_paid
    ok = free + allocated == total == funding + realized - fees
    event = em.emit(
        CapitalConservationCheck,
        total=total,
        free=free,
        allocated=allocated,
        funding=funding,
        realized_pnl=realized,
        fees=fees,
        ok=ok,
    )
    report = ConservationReport(
        seq=event.seq,
        total=total,
        free=free,
        allocated=allocated,
        funding=funding,
        realized_pnl=realized,
        fees=fees,
        difference=free + allocated - total,
        ok=ok,
    )
    if not ok:
        raise conservation_error(report)
    return report


def conservation_error(report: ConservationReport) -> CapitalConservationError:
    """Return the error for a failed check, naming the figures and the difference."""
    msg = (
        f"capital conservation failed at seq {report.seq}: free {report.free} + allocated "
        f"{report.allocated} = {report.free + report.allocated}, expected the total {report.total} "
        f"(off by {report.difference}) = funding {report.funding} + realized {report.realized_pnl} - fees "
        f"{report.fees}; stop trading and audit the log with store.verify"
    )
    return CapitalConservationError(
        msg, seq=report.seq, total=report.total, free=report.free, allocated=report.allocated
    )


def _subject(agent_ids: Sequence[str]) -> str:
    if len(agent_ids) == 1:
        return f"agent {agent_ids[0]!r}"
    named = ", ".join(map(repr, agent_ids[:_NAMED_AGENTS]))
    more = f" and {len(agent_ids) - _NAMED_AGENTS} more" if len(agent_ids) > _NAMED_AGENTS else ""
    return f"agents {named}{more}"
