"""The one error tree of the runtime.

Every error the runtime raises on purpose is an ``ArenaError``; callers can catch that one class at a
boundary (the CLI turns it into one line on stderr). Errors whose meaning matches a builtin also subclass
it, so ``except ValueError`` keeps working for code that does not know our names.

* ``ArenaError``
    * ``ValidationError`` (also ``ValueError``): an argument or a payload is malformed.
        * ``MarketDataError``: a market-data file or bar is malformed (names the file and line).
    * ``AgentError``: an operation names an agent that cannot take it.
        * ``UnknownAgentError`` (also ``LookupError``): no agent has that id.
        * ``AgentNotAliveError``: the agent was killed.
    * ``AllocationError``: capital cannot move as asked (over-allocation, over-release).
    * ``CapitalConservationError``: free + allocated no longer equals total capital.
    * ``GraduationError``: an illegal tier transition.
    * ``EvolutionError``: an evolution cycle or policy cannot run as configured.
    * ``EventSourcingError``: the event log cannot be written, read or trusted.
        * ``StoreError``: the store file itself (path, permissions, disk, foreign or newer format).

Context travels as attributes (``err.agent_id``, ``err.requested``), never only inside the message, so
callers can act on it without parsing text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from decimal import Decimal
    from pathlib import Path

__all__ = [
    "AgentError",
    "AgentNotAliveError",
    "AllocationError",
    "ArenaError",
    "CapitalConservationError",
    "EventSourcingError",
    "EvolutionError",
    "GraduationError",
    "MarketDataError",
    "StoreError",
    "UnknownAgentError",
    "ValidationError",
]


class ArenaError(Exception):
    """Root of every error the runtime raises on purpose."""

    def __init__(self, msg: str) -> None:
        super().__init__(msg)
        self.msg = msg

    def __str__(self) -> str:
        return self.msg


class ValidationError(ArenaError, ValueError):
    """An argument or payload is malformed; nothing was changed."""

    def __init__(self, msg: str, *, field: str | None = None, value: object = None) -> None:
        super().__init__(msg)
        self.field = field
        self.value = value


class MarketDataError(ValidationError):
    """A market-data source is malformed at a known place."""

    def __init__(
        self,
        msg: str,
        *,
        source: str,
        line: int | None = None,
        field: str | None = None,
        value: object = None,
    ) -> None:
        super().__init__(msg, field=field, value=value)
        self.source = source
        self.line = line


class AgentError(ArenaError):
    """An operation names an agent that cannot take it."""

    def __init__(self, msg: str, *, agent_id: str | None = None) -> None:
        super().__init__(msg)
        self.agent_id = agent_id


class UnknownAgentError(AgentError, LookupError):
    """No agent with that id was ever spawned in this arena."""


class AgentNotAliveError(AgentError):
    """The agent exists but was killed; dead agents take no commands."""


class AllocationError(ArenaError):
    """Capital cannot move as asked; nothing moved."""

    def __init__(
        self,
        msg: str,
        *,
        agent_id: str | None = None,
        requested: Decimal | None = None,
        available: Decimal | None = None,
    ) -> None:
        super().__init__(msg)
        self.agent_id = agent_id
        self.requested = requested
        self.available = available


class CapitalConservationError(ArenaError):
    """The books no longer balance: free + allocated != total."""

    def __init__(
        self,
        msg: str,
        *,
        seq: int | None = None,
        total: Decimal | None = None,
        free: Decimal | None = None,
        allocated: Decimal | None = None,
    ) -> None:
        super().__init__(msg)
        self.seq = seq
        self.total = total
        self.free = free
        self.allocated = allocated


class GraduationError(ArenaError):
    """A tier transition that the promotion ladder does not allow."""

    def __init__(
        self,
        msg: str,
        *,
        agent_id: str | None = None,
        from_tier: str | None = None,
        to_tier: str | None = None,
    ) -> None:
        super().__init__(msg)
        self.agent_id = agent_id
        self.from_tier = from_tier
        self.to_tier = to_tier


class EvolutionError(ArenaError):
    """An evolution cycle cannot run as configured."""

    def __init__(self, msg: str, *, cycle: int | None = None) -> None:
        super().__init__(msg)
        self.cycle = cycle


class EventSourcingError(ArenaError):
    """The event log cannot be written, read or trusted."""

    def __init__(
        self,
        msg: str,
        *,
        seq: int | None = None,
        event_type: str | None = None,
        field: str | None = None,
        last_durable_seq: int | None = None,
    ) -> None:
        super().__init__(msg)
        self.seq = seq
        self.event_type = event_type
        self.field = field
        self.last_durable_seq = last_durable_seq


class StoreError(EventSourcingError):
    """The store file cannot be used: wrong format, newer schema, no permission, no space."""

    def __init__(self, msg: str, *, path: Path | str | None = None, seq: int | None = None) -> None:
        super().__init__(msg, seq=seq)
        self.path = path
