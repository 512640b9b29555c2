"""Events in an agent's life: spawned, promoted, demoted, failed, killed."""

from __future__ import annotations

from typing import Final, Literal

from pydantic import Field, JsonValue, model_validator

from ._base import DEMOTIONS, PROMOTIONS, Event, Tier
from ._money import NonNegativeMoney  # noqa: TC001  (pydantic needs it at run time)

__all__ = ["REASON_LIMIT", "AgentDemoted", "AgentFailed", "AgentGraduated", "AgentKilled", "AgentSpawned"]

REASON_LIMIT: Final = 1000
"""Most characters of a kill's, promotion's or demotion's ``reason``: enough to say why, small enough to
keep the log lean."""


class AgentSpawned(Event):
    """A new agent joined the arena with no capital."""

    event_type: Literal["AgentSpawned"] = "AgentSpawned"
    agent_id: str = Field(min_length=1, max_length=128)
    tier: Tier
    """The tier it starts in (``simulation`` unless the caller chose otherwise)."""
    genome: dict[str, JsonValue] = Field(default_factory=dict)
    """The strategy parameters it trades with, as JSON."""
    parent_id: str | None = None
    """The agent it was mutated from, if any."""


class AgentKilled(Event):
    """An agent was removed: it trades no more, and its cash went back to the treasury in this same event.

    The kill is the decision, so it comes first: whatever the agent still holds is sold after it by
    liquidation fills (``TradeExecuted``, sales only, each ``caused_by`` this event), whose proceeds go
    back in one ``CapitalReleased`` (``caused_by`` this event too), so a killed agent ends flat.
    """

    event_type: Literal["AgentKilled"] = "AgentKilled"
    agent_id: str = Field(min_length=1, max_length=128)
    reason: str = Field(min_length=1, max_length=REASON_LIMIT)
    capital_released: NonNegativeMoney
    """The agent's whole cash at the moment it died; the proceeds of its holdings follow in a release."""
    evidence: dict[str, JsonValue] = Field(default_factory=dict)
    """The numbers the kill was decided on (fitness, rank, ...), by name; empty when the caller gave none."""


class AgentGraduated(Event):
    """An agent was promoted one tier, for the ``reason`` and on the ``evidence`` it records."""

    event_type: Literal["AgentGraduated"] = "AgentGraduated"
    agent_id: str = Field(min_length=1, max_length=128)
    from_tier: Tier
    to_tier: Tier
    reason: str = Field(min_length=1, max_length=REASON_LIMIT)
    """Why: each threshold it met, with its value, or who promoted it."""
    evidence: dict[str, JsonValue] = Field(default_factory=dict)
    """The numbers the promotion was decided on (fitness, bars in tier, ...), by name."""

    @model_validator(mode="after")
    def _one_rung_up(self) -> AgentGraduated:
        if PROMOTIONS.get(self.from_tier) != self.to_tier:
            msg = (
                f"AgentGraduated: {self.from_tier.value} -> {self.to_tier.value} is not a promotion; "
                "the only legal ones are simulation -> proving and proving -> arena"
            )
            raise ValueError(msg)
        return self


class AgentDemoted(Event):
    """An agent was moved one tier down, for the ``reason`` and on the ``evidence`` it records."""

    event_type: Literal["AgentDemoted"] = "AgentDemoted"
    agent_id: str = Field(min_length=1, max_length=128)
    from_tier: Tier
    to_tier: Tier
    reason: str = Field(min_length=1, max_length=REASON_LIMIT)
    """Why: the rule it broke (drawdown, sustained underperformance) with its value and limit, or who
    demoted it."""
    evidence: dict[str, JsonValue] = Field(default_factory=dict)
    """The numbers the demotion was decided on (drawdown, fitness, bars in tier, ...), by name."""

    @model_validator(mode="after")
    def _one_rung_down(self) -> AgentDemoted:
        if DEMOTIONS.get(self.from_tier) != self.to_tier:
            msg = (
                f"AgentDemoted: {self.from_tier.value} -> {self.to_tier.value} is not a demotion; "
                "the only legal ones are arena -> proving and proving -> simulation"
            )
            raise ValueError(msg)
        return self


class AgentFailed(Event):
    """An agent's strategy raised; the supervisor applied its failure policy (see ``action``)."""

    event_type: Literal["AgentFailed"] = "AgentFailed"
    agent_id: str = Field(min_length=1, max_length=128)
    error_type: str
    message: str
    action: Literal["killed", "restarted", "halted"]
    """What the failure policy did about it: ``halted`` stops its actor but keeps it, and its holdings,
    on the books, when it could not be killed (a holding with no price to sell it at)."""
