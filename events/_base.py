"""The event envelope every event shares, and the agent tiers."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Final
from uuid import UUID  # noqa: TC003  (pydantic needs it at run time)

from pydantic import BaseModel, ConfigDict, Field, field_serializer, field_validator

__all__ = ["DEMOTIONS", "EVENT_CLASSES", "PROMOTIONS", "Event", "Tier", "format_timestamp"]

EVENT_CLASSES: dict[str, type[Event]] = {}
"""Every concrete event class by its stored tag, filled in as classes are defined."""


class Tier(StrEnum):
    """Where an agent stands on the promotion ladder.

    It trades paper money in ``simulation``, earns trust in ``proving`` and competes for the bulk of the
    capital in ``arena``.
    """

    SIMULATION = "simulation"
    PROVING = "proving"
    ARENA = "arena"


PROMOTIONS: Final = {Tier.SIMULATION: Tier.PROVING, Tier.PROVING: Tier.ARENA}
"""The only legal promotions: one rung at a time, never past ``arena``."""

DEMOTIONS: Final = {Tier.ARENA: Tier.PROVING, Tier.PROVING: Tier.SIMULATION}
"""The only legal demotions: one rung down at a time, never below ``simulation``."""


def format_timestamp(value: datetime) -> str:
    """Return the canonical text of a timestamp: ISO-8601 in UTC with a ``Z`` suffix, microseconds kept."""
    # isoformat zero-pads the year to four digits (strftime's %Y does not), keeping text order == time order
    return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class Event(BaseModel):
    """A fact in the arena's log. Immutable; its canonical JSON is what the store hashes.

    Subclasses add a stable ``event_type`` literal (the stored tag: renaming a class never changes it) and
    their payload fields.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    event_type: str
    """The stable tag that selects the class when a stored event is decoded."""
    seq: int = Field(ge=1)
    """Position in the arena's log, gapless from 1, assigned by the supervisor."""
    event_id: UUID
    """Globally unique id; ``caused_by`` of later events points at it."""
    timestamp: datetime
    """When it happened, timezone-aware and normalised to UTC (simulated time in simulations)."""
    agent_id: str | None = None
    """The agent the event is about, if any."""
    caused_by: UUID | None = None
    """The ``event_id`` of the event that caused this one, if any."""

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: object) -> None:
        """Register each concrete event class under its tag, refusing a tag used twice."""
        super().__pydantic_init_subclass__(**kwargs)
        tag = cls.model_fields["event_type"].default
        if not isinstance(tag, str):
            return  # an abstract intermediate class, not a storable event
        if tag in EVENT_CLASSES and EVENT_CLASSES[tag] is not cls:
            msg = (
                f"event tag {tag!r} is used by both {EVENT_CLASSES[tag].__qualname__} and {cls.__qualname__}"
            )
            raise TypeError(msg)
        EVENT_CLASSES[tag] = cls

    @field_validator("timestamp")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None or value.utcoffset() is None:
            msg = f"timestamp {value.isoformat()!r} has no timezone; pass a timezone-aware UTC datetime"
            raise ValueError(msg)
        return value.astimezone(UTC)

    @field_serializer("timestamp")
    def _timestamp_text(self, value: datetime) -> str:
        return format_timestamp(value)
