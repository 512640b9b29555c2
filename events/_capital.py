"""Events that move or check capital between the treasury and agents."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, JsonValue, model_validator

from ._base import Event
from ._money import Balance, PositiveMoney  # noqa: TC001  (pydantic needs them at run time)

__all__ = [
    "AllocationRejected",
    "ArenaOpened",
    "CapitalAllocated",
    "CapitalConservationCheck",
    "CapitalReleased",
]


class ArenaOpened(Event):
    """The arena was created and funded; always the event at seq 1."""

    event_type: Literal["ArenaOpened"] = "ArenaOpened"
    arena_id: str = Field(min_length=1, max_length=128)
    total_capital: PositiveMoney
    """Capital moved from ``external`` into the treasury."""
    config: dict[str, JsonValue] = Field(default_factory=dict)
    """The options the arena was opened with, for the audit trail."""


class CapitalAllocated(Event):
    """The treasury moved capital to an agent."""

    event_type: Literal["CapitalAllocated"] = "CapitalAllocated"
    agent_id: str = Field(min_length=1, max_length=128)
    amount: PositiveMoney
    """The agent's allocation grows by exactly this much; the treasury shrinks by it."""


class CapitalReleased(Event):
    """An agent returned capital to the treasury."""

    event_type: Literal["CapitalReleased"] = "CapitalReleased"
    agent_id: str = Field(min_length=1, max_length=128)
    amount: PositiveMoney


class AllocationRejected(Event):
    """A requested allocation was refused; nothing moved. Kept so that pressure on capital is auditable."""

    event_type: Literal["AllocationRejected"] = "AllocationRejected"
    requested: PositiveMoney
    """The total the command asked for."""
    available: Balance
    """The treasury's free capital when the command was refused."""
    reason: str


class CapitalConservationCheck(Event):
    """The books were checked: value is conserved (``ok``) or not.

    Conserved means both ``free + allocated == total`` (the treasury and what agents hold at cost make up
    the capital at cost) and ``total == funding + realized_pnl - fees`` (nothing of value appeared or
    vanished without a posting).
    """

    event_type: Literal["CapitalConservationCheck"] = "CapitalConservationCheck"
    total: Balance
    """Capital at cost."""
    free: Balance
    """The treasury."""
    allocated: Balance
    """What live agents hold at cost: cash plus holdings at cost."""
    funding: Balance
    realized_pnl: Balance
    fees: Balance
    ok: bool

    @property
    def balanced(self) -> bool:
        """Whether the figures satisfy both identities."""
        return self.free + self.allocated == self.total == self.funding + self.realized_pnl - self.fees

    @model_validator(mode="after")
    def _ok_matches(self) -> CapitalConservationCheck:
        if self.ok != self.balanced:
            msg = (
                f"CapitalConservationCheck: ok={self.ok} contradicts free + allocated vs total vs "
                "funding + realized_pnl - fees"
            )
            raise ValueError(msg)
        return self
