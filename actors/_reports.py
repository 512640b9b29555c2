"""What the arena answers about its capital and its evolution: typed, frozen, JSON-ready reports.

The design we replace answered with ad hoc dicts whose keys drifted (``arena_capital`` in one place,
``total_capital`` in another); each report here is one model with one name per figure, documented once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from events import ZERO, Money, NonNegativeMoney, Tier

if TYPE_CHECKING:
    from events import ArenaState

__all__ = ["AllocationBreakdown", "ConservationReport", "CycleReport", "breakdown_of"]


class _Report(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class AllocationBreakdown(_Report):
    """Where the arena's capital is, as of ``seq``: ``free_capital + allocated_capital == total_capital``."""

    seq: int = Field(ge=0)
    """The last event the figures include."""
    total_capital: Money
    """Funding plus every trade's cash delta: what the treasury and the agents hold together."""
    free_capital: NonNegativeMoney
    """Capital in the treasury, not allocated to any agent."""
    allocated_capital: NonNegativeMoney
    """Capital held by live agents (their ledger cash)."""
    by_tier: dict[Tier, NonNegativeMoney]
    """Capital held by live agents of each tier; every tier is present, zeros included."""
    agents_by_tier: dict[Tier, int]
    """Live agents in each tier; every tier is present, zeros included."""
    by_agent: dict[str, NonNegativeMoney]
    """Capital held by each live agent, in id order (agents holding nothing included)."""


class ConservationReport(_Report):
    """The result of one conservation check, as recorded by its ``CapitalConservationCheck`` event."""

    seq: int = Field(ge=1)
    """Seq of the ``CapitalConservationCheck`` event that recorded the check."""
    total: Money
    """Total capital the log implies."""
    free: Money
    """Capital in the treasury."""
    allocated: Money
    """Capital held by agents."""
    difference: Money
    """``free + allocated - total``: exactly zero when the books balance."""
    ok: bool
    """Whether ``difference`` is zero."""


class CycleReport(_Report):
    """What one evolution cycle did, in the order its events record it."""

    cycle: int = Field(ge=1)
    """The cycle's number (1 for the first cycle of the arena)."""
    started_seq: int = Field(ge=1)
    """Seq of its ``EvolutionCycleStarted``."""
    completed_seq: int = Field(ge=1)
    """Seq of its ``EvolutionCycleComplete``; every event in between belongs to the cycle."""
    killed: tuple[str, ...]
    """Agents killed, in kill order; their capital went back to the treasury."""
    graduated: tuple[tuple[str, Tier], ...]
    """``(agent_id, new tier)`` for each promotion."""
    children: tuple[tuple[str, str], ...]
    """``(parent_id, child_id)`` for each agent bred."""
    reallocated: int = Field(ge=0)
    """Capital movements (releases and allocations) made to reach the plan's targets."""
    liquidations: int = Field(ge=0)
    """Trades that sold killed agents' positions at the marks."""
    fitness: dict[str, JsonValue]
    """The fitness summary recorded in ``EvolutionCycleComplete``."""


def breakdown_of(state: ArenaState) -> AllocationBreakdown:
    """Return the breakdown of ``state``'s capital."""
    live = state.alive_agents()
    by_tier = dict.fromkeys(Tier, ZERO)
    for agent in live:
        by_tier[agent.tier] += agent.allocation
    return AllocationBreakdown(
        seq=state.seq,
        total_capital=state.total_capital,
        free_capital=state.free_capital,
        allocated_capital=state.allocated_capital,
        by_tier=by_tier,
        agents_by_tier=state.tier_counts(),
        by_agent={agent.agent_id: agent.allocation for agent in live},
    )
