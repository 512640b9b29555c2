"""Events of evolution: mutation and the cycle that kills, promotes, breeds and reallocates."""

from __future__ import annotations

from typing import Literal
from uuid import UUID  # noqa: TC003  (pydantic needs it at run time)

from pydantic import Field, JsonValue, model_validator

from ._base import Event

__all__ = ["AgentMutated", "EvolutionCycleComplete", "EvolutionCycleStarted"]


class AgentMutated(Event):
    """A child agent was bred from a parent; follows the child's ``AgentSpawned``, which caused it.

    ``caused_by`` is always the child's own spawn; that spawn is caused by the parent's spawn when the
    child is mutated on its own, and by the cycle's ``EvolutionCycleStarted`` inside an evolution cycle.
    ``parent_event_id`` names the parent's spawn either way.
    """

    event_type: Literal["AgentMutated"] = "AgentMutated"
    agent_id: str = Field(min_length=1, max_length=128)
    """The child."""
    parent_id: str = Field(min_length=1, max_length=128)
    child_id: str = Field(min_length=1, max_length=128)
    parent_event_id: UUID
    """The parent's ``AgentSpawned`` event."""
    mutation: dict[str, JsonValue] = Field(default_factory=dict)
    """What changed: ``{parameter: [old, new]}`` plus any seed used."""

    @model_validator(mode="after")
    def _child_is_subject(self) -> AgentMutated:
        if self.agent_id != self.child_id:
            msg = f"AgentMutated: agent_id {self.agent_id!r} must equal child_id {self.child_id!r}"
            raise ValueError(msg)
        if self.parent_id == self.child_id:
            msg = f"AgentMutated: agent {self.child_id!r} cannot be its own parent"
            raise ValueError(msg)
        return self


class EvolutionCycleStarted(Event):
    """An evolution cycle began: the root of the cycle's causal tree.

    Its marks, kills, promotions, demotions, each child's spawn, every reallocation and its completion are
    ``caused_by`` it; a kill's liquidation fills and proceeds hang off that kill, a child's mutation off the
    child's spawn. So walking ``caused_by`` down from here reaches every event of the cycle.
    """

    event_type: Literal["EvolutionCycleStarted"] = "EvolutionCycleStarted"
    cycle: int = Field(ge=1)
    policy: dict[str, JsonValue] = Field(default_factory=dict)
    """The policy the cycle ran under, for the audit trail."""


class EvolutionCycleComplete(Event):
    """An evolution cycle ended; ``caused_by`` its ``EvolutionCycleStarted``, whose tree holds the cycle."""

    event_type: Literal["EvolutionCycleComplete"] = "EvolutionCycleComplete"
    cycle: int = Field(ge=1)
    killed: int = Field(ge=0)
    graduated: int = Field(ge=0)
    mutated: int = Field(ge=0)
    reallocated: int = Field(default=0, ge=0)
    """Capital movements the cycle made."""
    fitness: dict[str, JsonValue] = Field(default_factory=dict)
    """Summary of the fitness the decisions were based on (best, mean, worst, judged)."""
