"""What the ledger knows of one agent: ``AgentRecord`` (frozen, in every state) and its working twin.

``AgentEntry`` is the mutable copy a ``Fold`` updates in place, one event at a time; ``AgentRecord`` is
what ``freeze`` gives out and snapshots store. The two have the same fields by name
(``tests/events/test_state.py`` holds them together), so thawing and freezing lose nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal  # noqa: TC003  (the dataclass and pydantic read the annotations)
from uuid import UUID  # noqa: TC003  (pydantic needs it at run time)

from pydantic import BaseModel, ConfigDict, Field, JsonValue, model_validator

from ._base import Tier  # noqa: TC001  (pydantic needs it at run time)
from ._fast import trusted
from ._money import ZERO, Balance

__all__ = ["AgentEntry", "AgentRecord"]


class AgentRecord(BaseModel):
    """One agent as the ledger knows it."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    agent_id: str
    tier: Tier
    genome: dict[str, JsonValue]
    parent_id: str | None
    generation: int
    """Lineage depth: 0 for a spawned agent, parent's + 1 for a mutated child."""
    spawn_event_id: UUID
    spawned_seq: int
    tier_since_seq: int = 0
    """Seq of its last move between tiers (``AgentGraduated`` or ``AgentDemoted``), or of its spawn if it
    never moved: where its bars in the current tier start counting. Defaults to ``spawned_seq``."""
    alive: bool = True
    allocation: Balance = ZERO
    """Cash the agent holds (its ledger account); 0 once killed (until its liquidation proceeds come in,
    which go straight back to the treasury)."""
    positions: dict[str, Balance] = Field(default_factory=dict)
    """Units held per symbol, from its fills (sold right after the agent is killed, so the dead end flat)."""
    cost_basis: dict[str, Balance] = Field(default_factory=dict)
    """What each holding cost, by average cost: the position accounts at cost."""
    realized_pnl: Balance = ZERO
    """Gains minus losses of everything it sold, before fees."""
    fees_paid: Balance = ZERO
    """Every fee its fills paid."""
    trades: int = 0
    failures: int = 0
    killed_seq: int | None = None
    """Seq of the ``AgentKilled`` that ended it; None while it lives."""

    @model_validator(mode="before")
    @classmethod
    def _tier_since_spawn(cls, data: object) -> object:
        """Default ``tier_since_seq`` to ``spawned_seq``: an agent that never moved is in its first tier."""
        if isinstance(data, dict) and "tier_since_seq" not in data and "spawned_seq" in data:
            return {**data, "tier_since_seq": data["spawned_seq"]}
        return data

    @property
    def capital_at_cost(self) -> Decimal:
        """Cash plus every holding at cost: what the agent holds on the books."""
        return self.allocation + sum(self.cost_basis.values(), ZERO)


@dataclass(slots=True)
class AgentEntry:
    """One agent in a ``Fold``: the mutable twin of ``AgentRecord``, updated in place by each event.

    Typed and slotted rather than a dict, so a misspelt field is a type error, not a silent new key.
    Callers outside the fold read it and never write it.
    """

    agent_id: str
    tier: Tier
    genome: dict[str, JsonValue]
    parent_id: str | None
    generation: int
    spawn_event_id: UUID
    spawned_seq: int
    tier_since_seq: int
    alive: bool = True
    allocation: Decimal = ZERO
    positions: dict[str, Decimal] = field(default_factory=dict)
    cost_basis: dict[str, Decimal] = field(default_factory=dict)
    realized_pnl: Decimal = ZERO
    fees_paid: Decimal = ZERO
    trades: int = 0
    failures: int = 0
    killed_seq: int | None = None

    @property
    def capital_at_cost(self) -> Decimal:
        """Cash plus every holding at cost."""
        return self.allocation + sum(self.cost_basis.values(), ZERO)

    @classmethod
    def from_record(cls, record: AgentRecord) -> AgentEntry:
        """Return a working copy of a frozen record (the fields are the same, by name)."""
        entry = cls(**dict(record))
        entry.positions = dict(record.positions)
        entry.cost_basis = dict(record.cost_basis)
        return entry

    def freeze(self) -> AgentRecord:
        """Return the frozen record as of now (built trusted: every value is the fold's own, checked)."""
        fields = {name: getattr(self, name) for name in AgentRecord.model_fields}
        fields["positions"] = dict(sorted(self.positions.items()))
        fields["cost_basis"] = dict(sorted(self.cost_basis.items()))
        return trusted(AgentRecord, fields)

    @property
    def final(self) -> bool:
        """Whether nothing can change this entry any more: dead, no cash, nothing held.

        The fold refuses every event that would move its money (fills and allocations need it alive, a
        release needs cash it no longer has), so its frozen record can be kept instead of rebuilt; the one
        exception, a late ``AgentFailed`` counting a failure, drops the kept record (``Fold.apply``).
        """
        return not self.alive and not self.allocation and not self.positions
