"""The one canonical JSON form of an event, and the one decoder for every stored event.

Canonical bytes are what the hash chain covers, so they must never depend on dict order, whitespace,
Decimal exponents or the local timezone: keys sorted, no whitespace, UTF-8, amounts as fixed-scale strings,
timestamps as ISO-8601 UTC.
"""

from __future__ import annotations

import hashlib
import json
import typing
from typing import TYPE_CHECKING, Annotated, Final

import pydantic
from pydantic import Field, TypeAdapter

from ._agents import AgentDemoted, AgentFailed, AgentGraduated, AgentKilled, AgentSpawned
from ._base import EVENT_CLASSES
from ._capital import (
    AllocationRejected,
    ArenaOpened,
    CapitalAllocated,
    CapitalConservationCheck,
    CapitalReleased,
)
from ._custom import UserEvent, parse_user_event
from ._decode import fast_decode
from ._errors import EventSourcingError
from ._evolution import AgentMutated, EvolutionCycleComplete, EvolutionCycleStarted
from ._fast import CANONICAL_JSON, checking_events, fast_json
from ._migration import AgentEmigrated, AgentImmigrated
from ._run import SimulationStarted
from ._trading import MarksRecorded, TradeExecuted, TradeRejected

if TYPE_CHECKING:
    from ._base import Event

__all__ = ["GENESIS_HASH", "AnyEvent", "BuiltinEvent", "canonical_json", "chain_hash", "parse_event"]

BuiltinEvent = Annotated[
    AgentDemoted
    | AgentEmigrated
    | AgentFailed
    | AgentGraduated
    | AgentImmigrated
    | AgentKilled
    | AgentMutated
    | AgentSpawned
    | AllocationRejected
    | ArenaOpened
    | CapitalAllocated
    | CapitalConservationCheck
    | CapitalReleased
    | EvolutionCycleComplete
    | EvolutionCycleStarted
    | MarksRecorded
    | SimulationStarted
    | TradeExecuted
    | TradeRejected,
    Field(discriminator="event_type"),
]
"""Every event of the arena's own; ``tests/events/test_codec.py`` proves it lists every built-in class."""

AnyEvent = BuiltinEvent | UserEvent
"""Every storable event: the arena's own, and the embedder's (``events/_custom.py``)."""

_ADAPTER: Final[TypeAdapter[BuiltinEvent]] = TypeAdapter(BuiltinEvent)

GENESIS_HASH: Final = "0" * 64
"""``hash_0``: the chain's value before the first event."""


def canonical_json(event: Event) -> str:
    """Return the event's canonical JSON text (see the module docstring for the rules).

    Most classes are encoded by ``events/_fast.py``'s compiled plan; the rest, and any value a plan did not
    foresee, by pydantic. In checking mode both run and must agree to the byte.
    """
    text = fast_json(event)
    if text is None:
        return _pydantic_json(event)
    if checking_events() and text != (slow := _pydantic_json(event)):
        msg = (
            f"event {event.event_type!r} at seq {event.seq}: the fast encoder wrote {text!r} where pydantic "
            f"writes {slow!r}; this is a bug in events/_fast.py"
        )
        raise EventSourcingError(msg, seq=event.seq, event_type=event.event_type)
    return text


def _pydantic_json(event: Event) -> str:
    try:
        return CANONICAL_JSON.encode(event.model_dump(mode="json"))
    except ValueError as e:
        msg = (
            f"event {event.event_type!r} at seq {event.seq}: payload has no canonical JSON form ({e}); "
            "use finite numbers only"
        )
        raise EventSourcingError(msg, seq=event.seq, event_type=event.event_type) from None


def chain_hash(previous: str, data: str) -> str:
    """Return the hash of the next event: sha256 of ``previous``, a newline and ``data``, lowercase hex."""
    return hashlib.sha256(f"{previous}\n{data}".encode()).hexdigest()


def parse_event(data: str | bytes) -> AnyEvent:
    """Decode one event from its JSON, or raise ``EventSourcingError`` naming the type and field.

    A namespaced tag is a user event: its registered class, or ``UnregisteredEvent`` if this process has
    none (it keeps the payload exactly, so the log still verifies and replays).
    """
    fast = fast_decode(data)  # the stored shape, built directly (events/_decode.py); None: pydantic decides
    if fast is not None and not checking_events():
        return typing.cast("AnyEvent", fast)
    try:
        event = _ADAPTER.validate_json(data)
    except pydantic.ValidationError as e:
        user = None if fast is not None else parse_user_event(data)  # after the union: hot path unchanged
        if user is not None:
            return user
        if fast is None:
            raise _decode_error(data, e) from None
        event = None
    if fast is not None and (event is None or repr(fast) != repr(event)):
        theirs = "refuses the text" if event is None else f"builds {event!r}"
        msg = (
            f"event {fast.event_type!r} at seq {fast.seq}: the fast decoder built {fast!r} where pydantic "
            f"{theirs}; this is a bug in events/_decode.py"
        )
        raise EventSourcingError(msg, seq=fast.seq, event_type=fast.event_type)
    return typing.cast("AnyEvent", event)


def _decode_error(data: str | bytes, error: pydantic.ValidationError) -> EventSourcingError:
    try:
        raw = json.loads(data)
    except ValueError:
        raw = None
    if not isinstance(raw, dict):
        msg = "event payload is not a JSON object; pass the text stored in the events.data column"
        return EventSourcingError(msg)
    tag = raw.get("event_type")
    seq = raw.get("seq") if isinstance(raw.get("seq"), int) else None
    if not isinstance(tag, str) or tag not in EVENT_CLASSES:
        known = ", ".join(sorted(EVENT_CLASSES))
        msg = f"unknown event_type {tag!r}; expected one of: {known}, or a namespaced user tag ('myapp.Note')"
        return EventSourcingError(
            msg, seq=seq, event_type=tag if isinstance(tag, str) else None, field="event_type"
        )
    first = error.errors()[0]
    location = [str(part) for part in first["loc"] if str(part) != tag]
    field = ".".join(location) or "(event)"
    msg = f"event {tag!r} field {field!r}: {first['msg']}; the stored payload is malformed"
    return EventSourcingError(msg, seq=seq, event_type=tag, field=field)
