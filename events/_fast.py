"""Build and encode events without pydantic's per-call machinery, for the classes whose fields it knows.

The supervisor builds every event from values it has already checked (a client's amount parsed by
``money``, an agent id it just looked up, the broker's exact fill), then encodes it for the hash chain. Run
through pydantic, a ``CapitalAllocated`` costs about 10 us to validate again and 17 us to encode, more than
the rest of an allocation; here it costs a few. Both shortcuts are plans compiled once per class from its
model fields, and a class they do not understand (an unknown field type, a custom serializer, an alias,
extra fields) simply takes pydantic's path:

* ``trusted(cls, fields)`` builds the instance pydantic would, without running validators: the fields in
  declaration order, defaults and default factories applied, the same ``__pydantic_fields_set__``. An
  unknown or missing field name still goes through pydantic, so it fails as loudly as before.
* ``fast_json(event)`` returns the canonical JSON (``events/_codec.py``) from the instance's values with
  one converter per field (amounts as fixed-scale text, timestamps as UTC ISO text, ids as text) and the
  C JSON encoder; ``None`` when it cannot, and the caller encodes through pydantic.

Checking mode (``check_events(True)``, or ``ARENA_CHECK_EVENTS=1`` in the environment, which the test suite
sets) validates every trusted build through pydantic and encodes every event both ways, and raises
``EventSourcingError`` naming the class and fields where they differ: a command that hands the emitter a
value validation would refuse, or an encoder that drifts from pydantic's, fails the tests instead of
reaching a log.
"""

from __future__ import annotations

import json
import os
import types
import typing
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Any, Final, TypeVar
from uuid import UUID

from pydantic import BaseModel, JsonValue, PlainSerializer
from pydantic_core import PydanticUndefined

from ._base import Event, format_timestamp
from ._custom import UserEvent
from ._errors import EventSourcingError
from ._money import format_money

if TYPE_CHECKING:
    from collections.abc import Callable


__all__ = ["check_events", "checking_events", "fast_json", "trusted"]

M = TypeVar("M", bound=BaseModel)

_CHECKING: list[bool] = [os.environ.get("ARENA_CHECK_EVENTS", "") == "1"]

CANONICAL_JSON: Final = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)
"""The JSON settings of canonical JSON (``events/_codec.py``): keys sorted, no whitespace, UTF-8, no NaN."""

_setattr: Final = object.__setattr__


def check_events(enabled: bool) -> None:  # noqa: FBT001  (a switch)
    """Turn checking mode on or off for this process (see the module docstring)."""
    _CHECKING[0] = enabled


def checking_events() -> bool:
    """Whether checking mode is on."""
    return _CHECKING[0]


@dataclass(frozen=True, slots=True)
class _Build:
    """How to build one class's instances: its fields in order, with what each defaults to."""

    names: tuple[str, ...]
    known: frozenset[str]
    required: frozenset[str]
    defaults: dict[str, Any]
    factories: dict[str, Callable[[], Any]]


_BUILDS: dict[type[BaseModel], _Build | None] = {}


def trusted(cls: type[M], fields: dict[str, Any]) -> M:
    """Return ``cls(**fields)`` for fields the caller has already checked, without validating them again.

    Any plain model (an event, or a record the fold freezes from its own checked state) qualifies.

    Raises:
        EventSourcingError: in checking mode, the fields are not what validation would keep.
        pydantic.ValidationError: a field name is unknown or a required one is missing (as ``cls(**fields)``).

    """
    build = _BUILDS[cls] if cls in _BUILDS else _compile_build(cls)
    if build is None or not (build.required <= fields.keys() <= build.known):
        return cls(**fields)
    event = _construct(cls, build, fields)
    return _checked(event, fields) if _CHECKING[0] else event


def _construct(cls: type[M], build: _Build, fields: dict[str, Any]) -> M:
    values = {}
    for name in build.names:
        if name in fields:
            values[name] = fields[name]
        elif name in build.defaults:
            values[name] = build.defaults[name]
        else:
            values[name] = build.factories[name]()
    event = cls.__new__(cls)
    _setattr(event, "__dict__", values)
    _setattr(event, "__pydantic_fields_set__", set(fields))
    _setattr(event, "__pydantic_extra__", None)
    _setattr(event, "__pydantic_private__", None)
    return event


def _checked(event: M, fields: dict[str, Any]) -> M:
    """Return ``event`` if validation keeps every value exactly, else raise.

    Exactly means type and repr: ``Decimal('1')`` is not ``Decimal('1.00000000')``, and a timestamp in
    another zone is not its UTC twin, though both pairs compare equal.
    """
    cls = type(event)
    validated = cls(**fields)
    ours, theirs = event.__dict__, validated.__dict__
    differing = [
        name
        for name in ours
        if type(ours[name]) is not type(theirs[name]) or repr(ours[name]) != repr(theirs[name])
    ]
    if differing or event.model_fields_set != validated.model_fields_set:
        shown = ", ".join(f"{name}={ours[name]!r} (validated: {theirs[name]!r})" for name in differing)
        msg = (
            f"{cls.__name__}: the emitter was handed values that validation changes "
            f"({shown or 'fields set'}); normalise them before emitting"
        )
        raise EventSourcingError(msg, seq=fields.get("seq"), event_type=cls.__name__)
    return event


def _compile_build(cls: type[BaseModel]) -> _Build | None:
    build: _Build | None = None
    # an embedder's event is validated whole: its validators may read the envelope, which the
    # supervisor's check of its payload (a placeholder envelope) did not show them
    if plain_model(cls) and not issubclass(cls, UserEvent):
        fields = cls.model_fields
        build = _Build(
            names=tuple(fields),
            known=frozenset(fields),
            required=frozenset(name for name, info in fields.items() if info.is_required()),
            defaults={n: i.default for n, i in fields.items() if i.default is not PydanticUndefined},
            factories={n: i.default_factory for n, i in fields.items() if i.default_factory is not None},  # type: ignore[misc]
        )
        if any(info.default_factory_takes_validated_data for info in fields.values()):
            build = None  # a factory that reads the validated data: pydantic's job
    _BUILDS[cls] = build
    return build


def plain_model(cls: type[BaseModel]) -> bool:
    """Whether ``cls`` is a model the shortcuts understand: no private attributes, aliases or extras.

    The decoder (``events/_decode.py``) asks it too, then adds its own rules on validators.
    """
    config = cls.model_config
    return (
        not cls.__private_attributes__
        and cls.__pydantic_post_init__ is None
        and config.get("extra") == "forbid"
        and not cls.__pydantic_computed_fields__
        and all(
            info.alias is None
            and info.validation_alias is None
            and info.serialization_alias is None
            and not info.exclude
            for info in cls.model_fields.values()
        )
    )


_Text = typing.Callable[[Any], str]
"""Turns one field's value into its JSON text."""

_Plan = tuple[tuple[str, str, _Text], ...]
"""Per field in key order: the text before the value (``{"key":`` or ``,"key":``), the name, its encoder."""

_ENCODERS: dict[type[Event], _Plan | None] = {}

_string: Final[_Text] = json.encoder.encode_basestring
"""JSON text of a string, as the encoder writes it with ``ensure_ascii=False`` (C where available)."""


def fast_json(event: Event) -> str | None:
    """Return ``event``'s canonical JSON, or None if its class (or a value in it) needs pydantic's encoder."""
    cls = type(event)
    plan = _ENCODERS[cls] if cls in _ENCODERS else _compile_encoder(cls)
    if plan is None:
        return None
    values = event.__dict__
    try:
        return "".join([before + text(values[name]) for before, name, text in plan]) + "}"
    except (TypeError, ValueError, AttributeError):
        return None  # a value the plan did not foresee (a non-finite float in a genome): pydantic words it


def _compile_encoder(cls: type[Event]) -> _Plan | None:
    _ENCODERS[cls] = plan = _plan(cls)
    return plan


def _plan(cls: type[Event]) -> _Plan | None:
    decorators = cls.__pydantic_decorators__
    serialized = {name for d in decorators.field_serializers.values() for name in d.info.fields}
    if not plain_model(cls) or decorators.model_serializers or serialized - {"timestamp"}:
        return None
    plan: list[tuple[str, str, _Text]] = []
    for name in sorted(cls.model_fields):
        text = _text(cls.model_fields[name].annotation, list(cls.model_fields[name].metadata))
        if text is None:
            return None
        plan.append((("," if plan else "{") + _string(name) + ":", name, text))
    return tuple(plan)


def _text(annotation: object, metadata: list[Any]) -> _Text | None:  # noqa: PLR0911  (one case per kind)
    """Return the encoder for a field of this type, or None if the plan does not know the type."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        inner, *extra = typing.get_args(annotation)
        return _text(inner, [*metadata, *extra])
    if origin in (typing.Union, types.UnionType):
        members = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        text = _text(members[0], metadata) if len(members) == 1 else None
        return None if text is None else _optional(text)
    if origin is typing.Literal:
        return _string if all(isinstance(arg, str) for arg in typing.get_args(annotation)) else None
    serializers = [m for m in metadata if isinstance(m, PlainSerializer)]
    if serializers:
        return _money if annotation is Decimal and serializers[-1].func is format_money else None
    if origin is dict:
        key, value = typing.get_args(annotation)
        if key is not str:
            return None
        if value is JsonValue:
            return CANONICAL_JSON.encode  # JSON already; nested keys sorted as canonical JSON sorts them
        item = _text(value, [])
        return None if item is not _money else _money_mapping
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return _string if issubclass(annotation, str) else None
    return _SCALARS.get(annotation)


def _optional(text: _Text) -> _Text:
    def optional(value: object) -> str:
        return "null" if value is None else text(value)

    return optional


def _money(value: Decimal) -> str:
    return f'"{format_money(value)}"'


def _money_mapping(value: dict[str, Decimal]) -> str:
    return CANONICAL_JSON.encode({key: format_money(amount) for key, amount in value.items()})


_last_timestamp: list[tuple[datetime | None, str]] = [(None, "")]
"""The last timestamp encoded and its text: a simulated step stamps every event with one datetime object.
One tuple swapped whole, so threads encoding at once never pair a value with another's text."""


def _timestamp(value: datetime) -> str:
    last = _last_timestamp[0]
    if last[0] is value:
        return last[1]
    if value.tzinfo is UTC:
        text = f'"{value.isoformat(timespec="microseconds")[:-6]}Z"'
    else:
        text = f'"{format_timestamp(value)}"'
    _last_timestamp[0] = (value, text)
    return text


def _uuid(value: UUID) -> str:
    return f'"{value}"'


def _bool(value: bool) -> str:  # noqa: FBT001  (a field's value)
    return "true" if value is True else "false" if value is False else CANONICAL_JSON.encode(value)


def _int(value: int) -> str:
    return int.__repr__(value) if type(value) is int else CANONICAL_JSON.encode(value)


_SCALARS: Final[dict[object, _Text]] = {
    str: _string,
    int: _int,
    bool: _bool,
    UUID: _uuid,
    datetime: _timestamp,
}
