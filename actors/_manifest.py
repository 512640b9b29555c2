"""A run's manifest: everything a simulation is a function of, recorded first so a resume can match it.

The driver writes it as ``SimulationStarted`` before the run's first agent. A run resumed on the same
arena must have the same manifest (the population excepted: a resumed run spawns none), so a resume on
other market data, another seed, policy, broker, strategy space or evidence floor is refused with the
fields that differ, instead of silently continuing a different experiment on the same books.

What is *not* in it: how far the run goes. A run of 30 days and two legs of 15 days write the same log,
so the target is the operator's, not the run's (the command line keeps it beside the store).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from events import ValidationError, format_money

if TYPE_CHECKING:
    from collections.abc import Mapping
    from decimal import Decimal

    from trading import BrokerConfig, EvolutionPolicy, MarketFeed, Strategies

__all__ = ["RunManifest", "feed_identity"]


def feed_identity(feed: MarketFeed) -> dict[str, JsonValue]:
    """Return ``feed.identity()`` if it has one (the built-in feeds do), else its type's name alone.

    A feed of the embedder's without ``identity`` can still be run; its resumes are then only checked
    against its type name.
    """
    identity = getattr(feed, "identity", None)
    if callable(identity):
        found = identity()
        if isinstance(found, dict):
            return found
    return {"kind": type(feed).__name__}


class RunManifest(BaseModel):
    """The inputs of one simulation run, as JSON-able data."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    seed: int
    """Seeds the first agents' genomes and every evolution cycle."""
    agents: int = Field(ge=0)
    """Agents spawned at the start of the run."""
    market: dict[str, JsonValue]
    """The market's identity: a synthetic market's parameters, or a CSV file's path, size and sha256."""
    policy: dict[str, JsonValue]
    """The evolution policy (``EvolutionPolicy.to_json_dict``)."""
    broker: dict[str, JsonValue]
    """Fees and slippage of every fill."""
    strategies: dict[str, JsonValue]
    """Each strategy the arena may spawn and breed, by name: its declared parameter space."""
    min_trade_notional: str
    """The evidence floor of the arena's performance book."""
    evolve: bool = True
    """False for an evaluation: no cycle runs."""

    @classmethod
    def of(
        cls,
        *,
        seed: int,
        agents: int,
        feed: MarketFeed,
        policy: EvolutionPolicy,
        broker: BrokerConfig,
        strategies: Strategies,
        min_trade_notional: Decimal,
        evolve: bool,
    ) -> RunManifest:
        """Build the manifest of a run from its inputs."""
        return cls(
            seed=seed,
            agents=agents,
            market=feed_identity(feed),
            policy=policy.to_json_dict(),
            broker=broker.model_dump(mode="json"),
            strategies={name: _space(strategies, name) for name in strategies},
            min_trade_notional=format_money(min_trade_notional),
            evolve=evolve,
        )

    def to_json_dict(self) -> dict[str, JsonValue]:
        """Return the manifest as ``SimulationStarted.manifest`` records it."""
        data: dict[str, JsonValue] = self.model_dump(mode="json")
        return data

    @classmethod
    def from_json_dict(cls, data: Mapping[str, object]) -> RunManifest:
        """Rebuild a recorded manifest.

        Raises:
            ValidationError: the recorded manifest is not one this version writes.

        """
        try:
            return cls.model_validate(dict(data))
        except ValueError as e:
            msg = f"SimulationStarted: the recorded manifest is unreadable ({e}); the log is damaged or newer"
            raise ValidationError(msg, field="manifest", value=None) from e

    def differences(self, other: RunManifest, *, ignore: tuple[str, ...] = ()) -> list[str]:
        """Return one line per top-level field (and market key) where ``other`` differs from this one."""
        lines: list[str] = []
        for name in type(self).model_fields:
            if name in ignore:
                continue
            mine, theirs = getattr(self, name), getattr(other, name)
            if mine == theirs:
                continue
            if isinstance(mine, dict) and isinstance(theirs, dict):
                keys = sorted(set(mine) | set(theirs))
                lines.extend(
                    f"{name}.{key}: recorded {_shown(mine.get(key))}, given {_shown(theirs.get(key))}"
                    for key in keys
                    if mine.get(key) != theirs.get(key)
                )
            else:
                lines.append(f"{name}: recorded {_shown(mine)}, given {_shown(theirs)}")
        return lines


def _space(strategies: Strategies, name: str) -> JsonValue:
    spec = strategies[name]
    params: list[JsonValue] = [param.model_dump(mode="json") for param in spec.space.params]
    return {"description": spec.description, "params": params}


_SHOWN = 80  # characters of a value in a difference line: enough to tell two paths or hashes apart


def _shown(value: Any) -> str:  # noqa: ANN401  (any recorded JSON value)
    text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."
