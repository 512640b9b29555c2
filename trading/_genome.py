"""The heritable value of a trading agent: which strategy it runs, and that strategy's parameters.

A ``Genome`` is a small immutable value: evolution copies it into events (``AgentSpawned``,
``AgentMutated``) as JSON, so every float is rounded to 6 decimal places on creation and a JSON round trip
gives back an equal genome. It knows its own shape only (a strategy name, scalar parameters by name); whether
those parameters fit the strategy's declared space is the registry's call (``Strategies.check`` and
``Strategies.parse``), because the registry is what builds genomes and the genome cannot know every
registry an embedder declares.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import pydantic
from pydantic import Field, field_serializer, field_validator

from events import ValidationError

from ._validation import ValidatedModel, validation_error

__all__ = ["DECIMALS", "Genome", "ParamValue"]

ParamValue = int | float | str
"""What one parameter holds: an ``int``, a finite ``float`` (6 places) or a string (``bool`` is refused)."""

DECIMALS = 6
"""Places a float parameter keeps: parameters are not money, and 6 places is finer than any signal can tell
apart, while a JSON round trip of a 6-place float gives back the same float."""


class Genome(ValidatedModel):
    """The strategy an agent runs, by name, and the parameters it runs with.

    Build one with ``StrategySpec.genome(...)`` (defaults filled in, checked against the space), or
    directly: ``Genome(strategy="momentum", params={...})`` checks the shape only, and the arena checks the
    parameters against the strategy's space when the genome is spawned.
    """

    strategy: str = Field(min_length=1)
    """The name of a ``StrategySpec`` in the arena's ``Strategies``."""
    params: Mapping[str, ParamValue]
    """Every parameter of the strategy's space, by name; read-only."""

    @field_validator("params", mode="plain")
    @classmethod
    def _scalars(cls, value: object) -> Mapping[str, ParamValue]:
        """Keep only scalar parameters, floats rounded, in a read-only mapping: a genome crosses threads."""
        if not isinstance(value, Mapping):
            msg = f"Genome field 'params': {value!r} is not a mapping; pass a dict of parameter name to value"
            raise ValidationError(msg, field="params", value=value)
        params: dict[str, ParamValue] = {}
        for name, item in value.items():
            if not isinstance(name, str) or not name:
                msg = (
                    f"Genome field 'params': the name {name!r} is not a non-empty string; "
                    "name every parameter"
                )
                raise ValidationError(msg, field="params", value=name)
            params[name] = _scalar(name, item)
        return MappingProxyType(params)

    @field_serializer("params")
    def _plain(self, params: Mapping[str, ParamValue]) -> dict[str, ParamValue]:
        return dict(params)

    def __hash__(self) -> int:
        return hash((self.strategy, tuple(self.params.items())))

    def to_json_dict(self) -> dict[str, Any]:
        """Return ``{"strategy": name, "params": {...}}``, the shape ``AgentSpawned.genome`` carries."""
        return {"strategy": self.strategy, "params": dict(self.params)}

    @classmethod
    def from_json_dict(cls, data: Mapping[str, object]) -> Genome:
        """Rebuild a genome from ``to_json_dict`` output, checking its shape only.

        Use ``Strategies.parse`` to check the parameters against the strategy's space as well: it is what
        the runtime does with every stored genome.

        Raises:
            ValidationError: a field is missing or unknown, or a parameter is not a scalar.

        """
        missing = [name for name in cls.model_fields if name not in data]
        if missing:
            msg = (
                f"Genome.from_json_dict: missing fields {missing} in {dict(data)!r}; "
                "pass the complete dict that Genome.to_json_dict produced"
            )
            raise ValidationError(msg, field=missing[0], value=None)
        try:
            return cls.model_validate(dict(data))
        except pydantic.ValidationError as e:
            raise validation_error(cls.__name__, cls, e) from e


def _scalar(name: str, value: object) -> ParamValue:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        msg = (
            f"Genome parameter {name!r}: {value!r} is not an int, a float or a string; "
            "pass a scalar parameter value"
        )
        raise ValidationError(msg, field=name, value=value)
    if isinstance(value, float):
        if not math.isfinite(value):
            msg = f"Genome parameter {name!r}: {value!r} is not finite; pass a finite number"
            raise ValidationError(msg, field=name, value=value)
        return round(value, DECIMALS)
    return value
