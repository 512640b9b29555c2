"""What the arena answers about its capital and its evolution: typed, frozen, JSON-ready reports.

The design we replace answered with ad hoc dicts whose keys drifted (``arena_capital`` in one place,
``total_capital`` in another); each report here is one model with one name per figure, documented once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from events import ZERO, Balance, Money, NonNegativeMoney, Tier, equity

if TYPE_CHECKING:
    from events import ArenaState

__all__ = ["AllocationBreakdown", "ConservationReport", "CycleReport", "breakdown_of"]


class _Report(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class AllocationBreakdown(_Report):
    """Where the arena's value is, as of ``seq``, at cost and at the latest marks.

    At cost: ``free_capital + allocated_capital == total_capital == funding + realized_pnl - fees_paid``.
    At the marks: ``nav == total_capital + unrealized_pnl == free_capital + sum(equity_by_agent)``.
    """

    seq: int = Field(ge=0)
    """The last event the figures include."""
    total_capital: Money
    """Capital at cost: the treasury, every agent's cash and every holding at what it cost."""
    free_capital: NonNegativeMoney
    """Capital in the treasury, not allocated to any agent."""
    allocated_capital: NonNegativeMoney
    """What live agents hold at cost: their cash and their holdings at cost."""
    by_tier: dict[Tier, NonNegativeMoney]
    """Capital at cost held by live agents of each tier; every tier is present, zeros included."""
    agents_by_tier: dict[Tier, int]
    """Live agents in each tier; every tier is present, zeros included."""
    by_agent: dict[str, NonNegativeMoney]
    """Capital at cost held by each live agent, in id order (agents holding nothing included)."""
    funding: NonNegativeMoney = ZERO
    """What the arena was opened with."""
    realized_pnl: Balance = ZERO
    """Gains minus losses of every sale so far, before fees."""
    fees_paid: NonNegativeMoney = ZERO
    """Every fee paid so far."""
    unrealized_pnl: Balance = ZERO
    """What the holdings would gain (or lose) if sold at the latest marks, before fees."""
    nav: Balance = ZERO
    """Net asset value: the treasury plus every live agent's equity at the latest marks."""
    nav_by_tier: dict[Tier, Balance] = Field(default_factory=dict)
    """Equity of the live agents of each tier; every tier is present."""
    equity_by_agent: dict[str, Balance] = Field(default_factory=dict)
    """Each live agent's cash plus holdings at the latest marks, in id order."""


class ConservationReport(_Report):
    """The result of one conservation check, as recorded by its ``CapitalConservationCheck`` event."""

    seq: int = Field(ge=1)
    """Seq of the ``CapitalConservationCheck`` event that recorded the check."""
    total: Money
    """Total capital the log implies."""
    free: Money
    """Capital in the treasury."""
    allocated: Money
    """What agents hold at cost: cash and holdings at cost."""
    funding: Money = ZERO
    """What the arena was opened with."""
    realized_pnl: Balance = ZERO
    """Gains minus losses of every sale, before fees."""
    fees: Money = ZERO
    """Every fee paid."""
    difference: Money
    """``free + allocated - total``: exactly zero when the books balance."""
    ok: bool
    """Whether ``difference`` is zero and the total is ``funding + realized_pnl - fees``."""


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
    demoted: tuple[tuple[str, Tier], ...] = ()
    """``(agent_id, new tier)`` for each demotion."""
    children: tuple[tuple[str, str], ...]
    """``(parent_id, child_id)`` for each agent bred."""
    reallocated: int = Field(ge=0)
    """Capital movements (releases and allocations) made to reach the plan's targets."""
    liquidations: int = Field(ge=0)
    """Trades that sold killed agents' positions at the marks."""
    fitness: dict[str, JsonValue]
    """The fitness summary recorded in ``EvolutionCycleComplete``."""


def breakdown_of(state: ArenaState) -> AllocationBreakdown:
    """Return the breakdown of ``state``'s value, at cost and at its latest marks."""
    live = state.alive_agents()
    by_tier = dict.fromkeys(Tier, ZERO)
    nav_by_tier = dict.fromkeys(Tier, ZERO)
    equities = {agent.agent_id: equity(agent, state.marks) for agent in live}
    for agent in live:
        by_tier[agent.tier] += agent.capital_at_cost
        nav_by_tier[agent.tier] += equities[agent.agent_id]
    return AllocationBreakdown(
        seq=state.seq,
        total_capital=state.total_capital,
        free_capital=state.free_capital,
        allocated_capital=state.allocated_capital,
        by_tier=by_tier,
        agents_by_tier=state.tier_counts(),
        by_agent={agent.agent_id: agent.capital_at_cost for agent in live},
        funding=state.funding,
        realized_pnl=state.realized_pnl,
        fees_paid=state.fees_paid,
        unrealized_pnl=state.unrealized_pnl(),
        nav=state.nav(),
        nav_by_tier=nav_by_tier,
        equity_by_agent=equities,
    )
