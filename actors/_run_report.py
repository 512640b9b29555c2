"""What a simulation run reports: its progress while it runs, and a frozen summary when it ends.

The summary holds only what the log implies (counts, head, breakdown, agents' lineage) plus the agents'
own metrics; never wall-clock time, so two runs of one seed report the same thing. Callers that want to
know how long a run took time it themselves (the CLI and the benchmark do).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime  # noqa: TC003  (pydantic needs it at run time)
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from events import Money, NonNegativeMoney, Tier  # noqa: TC001  (pydantic needs them at run time)
from trading import AgentMetrics, fitness_of, shrinkage

from ._reports import AllocationBreakdown, CycleReport  # noqa: TC001  (pydantic needs them at run time)

if TYPE_CHECKING:
    from collections.abc import Mapping
    from decimal import Decimal

    from events import ArenaState
    from trading import EvolutionPolicy

__all__ = ["AgentSummary", "Progress", "SimulationReport", "top_agents"]


@dataclass(frozen=True, slots=True)
class Progress:
    """Where a running simulation is: handed to the ``progress`` callback every few steps and at the end."""

    steps: int
    """Steps (distinct bar timestamps) simulated so far in this run."""
    total_steps: int | None
    """Steps the run will take, when the feed's length is known up front."""
    bars: int
    """Bars handed to agents so far (each step has one bar per symbol that traded)."""
    events: int
    """Seq of the arena's last event: how long the log is."""
    agents: int
    """Live agents after the last step."""
    moment: datetime | None
    """Simulated time of the last step, or None before the first."""
    nav: Decimal
    """Net asset value at the last step's closes (``Arena.nav``): the treasury plus every live agent's
    equity, so a long run's log shows where the money stands, not only how far the run is."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class AgentSummary(_Frozen):
    """One live agent at the end of a run: where it stands, where it came from and how it did."""

    agent_id: str
    tier: Tier
    strategy: str
    """The name of the strategy it runs (``Genome.strategy``): a built-in or one the embedder declared."""
    generation: int = Field(ge=0)
    """Lineage depth: 0 for an agent spawned by the driver, its parent's + 1 for a bred child."""
    parent_id: str | None
    allocation: NonNegativeMoney
    """Ledger cash it holds."""
    equity: Money
    """Its cash plus its holdings at the latest recorded marks, from the ledger."""
    fitness: float
    """What the run's policy ranks it by: ``fitness_of`` its lifetime metrics times ``shrinkage``."""
    metrics: AgentMetrics


class SimulationReport(_Frozen):
    """What one run of the driver did, as the log records it; byte-identical for a repeated seed."""

    steps: int = Field(ge=0)
    """Steps simulated in this run (bars skipped because a resumed arena had seen them do not count)."""
    bars: int = Field(ge=0)
    """Bars handed to agents, one per symbol per step."""
    agent_steps: int = Field(ge=0)
    """Answers collected from agents: steps times the agents alive at each."""
    orders: int = Field(ge=0)
    """Orders agents placed and the driver handed to the arena to fill."""
    lapsed_orders: int = Field(ge=0)
    """Orders dropped unfilled: for a symbol with no bar at the next step. The last step's orders are not
    dropped: they wait (``TradingFloor.pending``) for the next step of a run that continues this one."""
    first_step: datetime | None
    """Simulated time of the first step of this run."""
    last_step: datetime | None
    """Simulated time of the last step of this run: where a resumed run picks up."""
    start_seq: int = Field(ge=0)
    """Seq of the arena's last event before the run (0 for a new, empty log)."""
    head_seq: int = Field(ge=0)
    """Seq of the last event the run wrote (durable when the report is returned)."""
    head_hash: str
    """Chain hash at ``head_seq``: keep it with ``head_seq`` and check the file later against both."""
    events_by_type: dict[str, int]
    """Events this run wrote (seq after ``start_seq``), by event type, as read back from the log."""
    cycles: tuple[CycleReport, ...]
    """Every evolution cycle of the run, in order."""
    breakdown: AllocationBreakdown
    """Capital at the end, by tier and by agent."""
    top_agents: tuple[AgentSummary, ...]
    """The fittest live agents at the end, fittest first (ties by id)."""
    agents_alive: int = Field(ge=0)
    """Live agents at the end."""
    stopped: bool = False
    """The run was asked to stop (``run_simulation``'s ``stop``) and ended after a complete step, before
    the feed's end: resuming continues it exactly."""

    @property
    def events_written(self) -> int:
        """Events this run wrote."""
        return self.head_seq - self.start_seq


def top_agents(
    state: ArenaState,
    metrics: Mapping[str, AgentMetrics],
    policy: EvolutionPolicy,
    *,
    count: int,
) -> tuple[AgentSummary, ...]:
    """Return the ``count`` fittest live agents with metrics, fittest first, ties broken by id.

    Fitness as evolution weighs it: the policy's measure shrunk by the trades behind it, so a handful of
    lucky trades does not top the table.
    """
    fitness = {
        agent.agent_id: fitness_of(m, policy) * shrinkage(m.evidence_trades, policy)
        for agent in state.alive_agents()
        if (m := metrics.get(agent.agent_id)) is not None
    }
    ranked = sorted(fitness, key=lambda agent_id: (-fitness[agent_id], agent_id))
    summaries = []
    for agent_id in ranked[:count]:
        agent = state.agents[agent_id]
        summaries.append(
            AgentSummary(
                agent_id=agent_id,
                tier=agent.tier,
                strategy=_strategy_name(agent.genome),
                generation=agent.generation,
                parent_id=agent.parent_id,
                allocation=agent.allocation,
                equity=state.equity(agent_id),
                fitness=fitness[agent_id],
                metrics=metrics[agent_id],
            )
        )
    return tuple(summaries)


def _strategy_name(genome: Mapping[str, object]) -> str:
    """Return the strategy a stored genome runs (an older flat genome's ``family``), or ``?`` if none."""
    name = genome.get("strategy", genome.get("family"))
    return name if isinstance(name, str) else "?"
