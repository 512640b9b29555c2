"""The embedder's own events: ``UserEvent``, the registry of their tags, and the fallback that keeps any.

An application that embeds an arena may log facts of its own next to the arena's (a note, an external
order id, an operator's decision) by subclassing ``UserEvent`` with a namespaced tag and registering it::

    @register_event_type
    class Note(UserEvent):
        event_type: Literal["myapp.Note"] = "myapp.Note"
        text: str

``Arena.record(Note, text="...")`` then numbers, stamps, chains, folds, stores and verifies it like any
built-in event. Rules, each checked by ``register_event_type`` with a worded error:

* a tag is namespaced, ``<namespace>.<Name>`` (a dot; built-in tags have none), so it can never collide
  with a tag the arena adds later, and it is registered to one class only;
* a user event carries no capital: it subclasses ``UserEvent`` and no built-in event, so the fold and
  the postings (which match built-in classes) treat it as a no-op on the books;
* the envelope is the arena's: the class may not redeclare ``seq``, ``event_id``, ``timestamp`` or
  ``caused_by``, and ``record`` refuses them as arguments (``agent_id`` is allowed: it names the agent
  the fact is about, so filters find it);
* the class stays frozen and refuses unknown fields, like every event.

Built-in classes register themselves (``EVENT_CLASSES``); user classes never do, because a class defined
in some test or plugin must not change what this process accepts unless someone asked it to.

Unknown but namespaced tags. A process that reads a log without the embedder's classes (``arena verify``
on an auditor's machine) decodes such an event as ``UnregisteredEvent``: the envelope typed, the payload
kept as the JSON values it was, re-encoded to exactly the stored text (Python's ``json`` round-trips
what ``canonical_json`` wrote), so the chain, the fold and the verifier treat it as any other event.
"""

from __future__ import annotations

import json
import re
import threading
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final
from uuid import UUID

import pydantic
from pydantic import ConfigDict, JsonValue

from ._base import EVENT_CLASSES, Event
from ._errors import EventSourcingError, ValidationError

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

__all__ = [
    "RESERVED_FIELDS",
    "UnregisteredEvent",
    "UserEvent",
    "is_known_event_type",
    "is_user_tag",
    "known_event_types",
    "parse_user_event",
    "register_event_type",
    "user_event_classes",
    "user_event_fields",
]

RESERVED_FIELDS: Final = frozenset({"event_type", "seq", "event_id", "timestamp", "caused_by"})
"""Envelope fields the arena sets on every event; a user event neither redeclares nor passes them."""

_TAG: Final = re.compile(r"[A-Za-z][A-Za-z0-9_-]*(\.[A-Za-z][A-Za-z0-9_-]*)+")
_ENVELOPE: Final = ("seq", "event_id", "timestamp", "agent_id", "caused_by")
_PLACEHOLDER_ID: Final = UUID(int=0)

_REGISTRY: dict[str, type[UserEvent]] = {}
_REGISTERING = threading.Lock()  # registration may race across threads; lookups are plain dict reads


def is_user_tag(tag: str) -> bool:
    """Whether ``tag`` has the shape of a user event's tag: ``<namespace>.<Name>``."""
    return _TAG.fullmatch(tag) is not None


class UserEvent(Event):
    """Base of the embedder's own events: no effect on capital, chained and verified like the arena's.

    Subclass it with a namespaced ``event_type`` literal and payload fields, then pass the class to
    ``register_event_type`` (see the module docstring).
    """

    event_type: str

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: object) -> None:
        """Skip ``Event``'s self-registration: a user class is registered only by ``register_event_type``."""
        super(Event, cls).__pydantic_init_subclass__(**kwargs)


class UnregisteredEvent(UserEvent):
    """A user event whose class this process has not registered: envelope typed, payload kept as JSON.

    Decoded from a stored row only (``parse_event``); its canonical JSON is exactly the stored text.
    """

    model_config = ConfigDict(frozen=True, extra="allow", use_attribute_docstrings=True)

    __pydantic_extra__: dict[str, JsonValue] = pydantic.Field(init=False)

    @pydantic.field_validator("event_type")
    @classmethod
    def _namespaced(cls, value: str) -> str:
        if not is_user_tag(value):
            msg = f"event_type {value!r} is not a namespaced user tag such as 'myapp.Note'"
            raise ValueError(msg)
        return value

    @property
    def payload(self) -> dict[str, JsonValue]:
        """The fields beyond the envelope, as the JSON values they were stored as."""
        return dict(self.__pydantic_extra__ or {})


def register_event_type(cls: type[UserEvent]) -> type[UserEvent]:
    """Register a ``UserEvent`` subclass under its tag, so ``record`` accepts it and ``parse_event`` finds it.

    Idempotent for the same class; usable as a class decorator. Returns ``cls``.

    Raises:
        ValidationError: ``cls`` is not a concrete ``UserEvent`` subclass, subclasses a built-in event,
            redeclares an envelope field, is not frozen or accepts unknown fields, or its tag is not
            namespaced, is a built-in tag, or is registered to another class. Nothing is registered then.

    """
    tag = _check_class(cls)
    with _REGISTERING:
        held = _REGISTRY.get(tag)
        if held is not None and held is not cls:
            msg = (
                f"register_event_type: tag {tag!r} is already registered to {held.__module__}."
                f"{held.__qualname__}; give {cls.__qualname__} a tag of its own"
            )
            raise ValidationError(msg, field="event_type", value=tag)
        _REGISTRY[tag] = cls
    return cls


def _check_class(cls: object) -> str:
    name = getattr(cls, "__qualname__", repr(cls))
    if not isinstance(cls, type) or not issubclass(cls, Event):
        msg = f"register_event_type: {cls!r} is not an event class; pass a subclass of events.UserEvent"
        raise ValidationError(msg, field="event_class", value=cls)
    if issubclass(cls, tuple(EVENT_CLASSES.values())):
        msg = (
            f"register_event_type: {name} is (or extends) a built-in event, which moves capital or is "
            "the arena's own; subclass events.UserEvent instead"
        )
        raise ValidationError(msg, field="event_class", value=cls)
    if not issubclass(cls, UserEvent) or cls in {UserEvent, UnregisteredEvent}:
        msg = f"register_event_type: {name} is not a subclass of events.UserEvent; subclass UserEvent"
        raise ValidationError(msg, field="event_class", value=cls)
    tag = cls.model_fields["event_type"].default
    if not isinstance(tag, str):
        msg = (
            f"register_event_type: {name} has no tag; declare "
            "event_type: Literal['myapp.Name'] = 'myapp.Name'"
        )
        raise ValidationError(msg, field="event_type", value=tag)
    if tag in EVENT_CLASSES or not is_user_tag(tag):
        msg = (
            f"register_event_type: tag {tag!r} of {name} is not a namespaced tag of its own; use "
            "'<namespace>.<Name>' such as 'myapp.Note' (built-in tags have no dot)"
        )
        raise ValidationError(msg, field="event_type", value=tag)
    for field in _ENVELOPE:
        mine, base = cls.model_fields[field], Event.model_fields[field]
        if (mine.annotation, mine.default, mine.metadata) != (base.annotation, base.default, base.metadata):
            msg = (
                f"register_event_type: {name} redeclares the envelope field {field!r}; the arena sets "
                "the envelope, so remove the field (choose another name for a payload field)"
            )
            raise ValidationError(msg, field=field, value=cls)
    config = cls.model_config
    if config.get("frozen") is not True or config.get("extra") != "forbid":
        msg = (
            f"register_event_type: {name} is not frozen or accepts unknown fields; events are immutable "
            "and strict, keep UserEvent's model_config (frozen=True, extra='forbid')"
        )
        raise ValidationError(msg, field="model_config", value=dict(config))
    return tag


def user_event_classes() -> Mapping[str, type[UserEvent]]:
    """Return the registered user event classes by tag (a read-only view)."""
    return MappingProxyType(_REGISTRY)


def known_event_types() -> list[str]:
    """Return every tag this process can filter on, sorted: the built-in ones and the registered ones."""
    return sorted({*EVENT_CLASSES, *_REGISTRY})


def is_known_event_type(tag: object) -> bool:
    """Whether ``tag`` is a built-in tag or a registered user tag."""
    return isinstance(tag, str) and (tag in EVENT_CLASSES or tag in _REGISTRY)


def user_event_fields(
    cls: object, fields: Mapping[str, Any], *, timestamp: datetime
) -> tuple[tuple[str, Any], ...]:
    """Check a ``record`` call before it is sent: a registered class and fields that make a valid event.

    Returns the validated payload (and ``agent_id``) as ``(name, value)`` pairs, in field order. The
    check builds the event with a placeholder envelope and round-trips it through JSON, so an event that
    is recorded always decodes to itself when the log is read back (and so verifies).

    Raises:
        ValidationError: ``cls`` is not a registered user event class (a built-in one included), a field
            is reserved, unknown, missing or malformed, or the event does not survive JSON.

    """
    if not isinstance(cls, type) or not issubclass(cls, UserEvent):
        name = getattr(cls, "__name__", repr(cls))
        built_in = isinstance(cls, type) and cls in EVENT_CLASSES.values()
        why = (
            "is a built-in event, which only the arena's own commands emit"
            if built_in
            else ("is not a UserEvent subclass")
        )
        msg = (
            f"record: {name} {why}; record a subclass of events.UserEvent registered with register_event_type"
        )
        raise ValidationError(msg, field="event_class", value=cls)
    tag = cls.model_fields["event_type"].default
    if not isinstance(tag, str) or _REGISTRY.get(tag) is not cls:
        msg = (
            f"record: {cls.__name__} is not registered; call events.register_event_type"
            f"({cls.__name__}) once before recording it"
        )
        raise ValidationError(msg, field="event_class", value=cls)
    reserved = sorted(RESERVED_FIELDS & set(fields))
    if reserved:
        msg = (
            f"record: {reserved} are set by the arena (seq, id, time, cause, tag); pass only "
            f"{cls.__name__}'s payload fields and, optionally, agent_id"
        )
        raise ValidationError(msg, field=reserved[0], value=fields[reserved[0]])
    envelope: dict[str, Any] = {"seq": 1, "event_id": _PLACEHOLDER_ID, "timestamp": timestamp}
    try:
        draft = cls(**envelope, **fields)
    except pydantic.ValidationError as e:
        first = e.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "(event)"
        msg = f"record: {cls.__name__} field {field!r}: {first['msg']}; fix the value and record again"
        raise ValidationError(msg, field=field, value=first.get("input")) from None
    try:
        back = cls.model_validate_json(draft.model_dump_json())
    except pydantic.ValidationError:
        back = None
    if back != draft:
        msg = (
            f"record: this {cls.__name__} does not survive JSON (a NaN or infinite number, or a field "
            "type pydantic cannot read back); use JSON-safe values such as str, int, Decimal"
        )
        raise ValidationError(msg, field="(event)", value=cls.__name__)
    names = [name for name in cls.model_fields if name not in RESERVED_FIELDS]
    return tuple((name, getattr(draft, name)) for name in names)


def parse_user_event(data: str | bytes) -> UserEvent | None:
    """Decode a stored user event: its registered class, else ``UnregisteredEvent``; None if not one.

    None means the text is not a JSON object with a namespaced tag, so the caller's error applies.

    Raises:
        EventSourcingError: the payload does not fit its registered class, or its envelope is malformed.

    """
    try:
        raw = json.loads(data)
    except ValueError:
        return None
    tag = raw.get("event_type") if isinstance(raw, dict) else None
    if not isinstance(tag, str) or not is_user_tag(tag):
        return None
    cls = _REGISTRY.get(tag)
    try:
        if cls is None:
            # python-mode validation of what json.loads gave: the payload stays the very values stored
            return UnregisteredEvent.model_validate(raw)
        return cls.model_validate_json(data)
    except pydantic.ValidationError as e:
        seq = raw.get("seq") if isinstance(raw.get("seq"), int) else None
        first = e.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "(event)"
        msg = f"event {tag!r} field {field!r}: {first['msg']}; the stored payload is malformed"
        raise EventSourcingError(msg, seq=seq, event_type=tag, field=field) from None
