"""Events of migration between islands: a genome copied out of one arena's log and into another's.

An island model runs several arenas on the same market, each with its own log; at a barrier each sends
copies of its fittest genomes to the next island. The sender records ``AgentEmigrated`` (the agent stays:
a copy leaves, not the agent) and the receiver ``AgentImmigrated``, which names the sender's event by
seq and by the sender's chain hash at that seq, so each log is self-contained and the pair can be
cross-checked file against file (``arena verify RUN_DIR``). A genome is not money: neither event posts
anything, and the immigrant, spawned with no capital right after its immigration (its ``AgentSpawned`` is
``caused_by`` the ``AgentImmigrated``), is funded by the next evolution cycle's reallocation like any
new agent.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Final, Literal

from pydantic import Field, JsonValue, field_validator

from ._base import Event

__all__ = ["ISLAND_NAME_LIMIT", "AgentEmigrated", "AgentImmigrated", "check_fitness_text"]

ISLAND_NAME_LIMIT: Final = 128
"""Most characters of an island's name (``island-0``, ...): as long as an agent id may be."""


def check_fitness_text(value: str) -> str:
    """Return ``value`` if it is the text of a finite decimal number, else raise ``ValueError``.

    Fitness crosses logs as text (``repr`` of the float the planner ranked by), so the sender's and the
    receiver's records compare exactly, digit for digit, and no float is ever stored.
    """
    try:
        number = Decimal(value)
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite():
        msg = f"fitness {value!r} is not the text of a finite decimal number; pass e.g. '0.42'"
        raise ValueError(msg)
    return value


class AgentEmigrated(Event):
    """A copy of a live agent's genome left this arena for another island at a migration barrier.

    ``agent_id`` is the agent copied; it stays alive here, with its capital. Posts nothing.
    """

    event_type: Literal["AgentEmigrated"] = "AgentEmigrated"
    agent_id: str = Field(min_length=1, max_length=128)
    genome: dict[str, JsonValue] = Field(default_factory=dict)
    """The genome sent, exactly as its ``AgentSpawned`` recorded it."""
    fitness: str = Field(min_length=1, max_length=64)
    """The fitness it was chosen by (the evolution policy's, shrunk by evidence), as exact decimal text."""
    rank: int = Field(ge=1)
    """Its place among this barrier's emigrants, fittest first."""
    destination: str = Field(min_length=1, max_length=ISLAND_NAME_LIMIT)
    """The island the copy goes to."""
    barrier: int = Field(ge=1)
    """The migration barrier's number (1 for the first)."""

    @field_validator("fitness")
    @classmethod
    def _decimal_text(cls, value: str) -> str:
        return check_fitness_text(value)


class AgentImmigrated(Event):
    """A genome arrived from another island; the new local agent ``agent_id`` is spawned right after.

    The immigrant's ``AgentSpawned`` (same ``agent_id``, the same genome, no parent) is ``caused_by`` this
    event. Posts nothing: the new agent is funded by the next cycle's reallocation.
    """

    event_type: Literal["AgentImmigrated"] = "AgentImmigrated"
    agent_id: str = Field(min_length=1, max_length=128)
    source: str = Field(min_length=1, max_length=ISLAND_NAME_LIMIT)
    """The island the genome came from."""
    source_seq: int = Field(ge=1)
    """Seq of the source's ``AgentEmigrated`` in the source's log."""
    source_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    """The source log's chain hash at ``source_seq``."""
    source_agent_id: str = Field(min_length=1, max_length=128)
    """The agent whose genome was copied, in the source's log."""
    genome: dict[str, JsonValue] = Field(default_factory=dict)
    """The genome received; equal to the emigration's."""
    fitness: str = Field(min_length=1, max_length=64)
    """The fitness the source recorded, copied as text."""
    barrier: int = Field(ge=1)
    """The migration barrier's number."""

    @field_validator("fitness")
    @classmethod
    def _decimal_text(cls, value: str) -> str:
        return check_fitness_text(value)
