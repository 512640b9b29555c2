"""The event a simulation run starts with: its manifest, everything the run is a function of."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, JsonValue

from ._base import Event

__all__ = ["SimulationStarted"]


class SimulationStarted(Event):
    """A simulation run was configured: seed, market identity, policy, broker, strategies, population.

    Written once, before the run's first agent, so that a resume can continue the same run from the log
    alone and refuse one that would differ. How far the operator asked the run to go is not in it: a run
    of 30 days and two legs of 15 write the same log.
    """

    event_type: Literal["SimulationStarted"] = "SimulationStarted"
    manifest: dict[str, JsonValue] = Field(default_factory=dict)
    """The run's manifest (``actors.RunManifest.to_json_dict``)."""
