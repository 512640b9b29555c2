import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ConfigDict

from events import (
    EVENT_CLASSES,
    ArenaOpened,
    CapitalAllocated,
    EventSourcingError,
    UnregisteredEvent,
    UserEvent,
    ValidationError,
    canonical_json,
    fold,
    is_known_event_type,
    known_event_types,
    parse_event,
    postings,
    register_event_type,
    user_event_classes,
    user_event_fields,
)

NOW = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


@register_event_type
class Note(UserEvent):
    """A test note, registered once for the whole module."""

    event_type: Literal["tests.Note"] = "tests.Note"
    text: str
    amount: Decimal | None = None


def note(seq: int = 2, **fields: object) -> Note:
    return Note(seq=seq, event_id=uuid.uuid4(), timestamp=NOW, **{"text": "hello", **fields})


def opened() -> ArenaOpened:
    return ArenaOpened(seq=1, event_id=uuid.uuid4(), timestamp=NOW, arena_id="a", total_capital=100)


def test_registering_a_user_event_makes_its_tag_known_and_is_idempotent():

    again = register_event_type(Note)

    assert again is Note
    assert user_event_classes()["tests.Note"] is Note
    assert is_known_event_type("tests.Note")
    assert "tests.Note" in known_event_types()
    assert "tests.Note" not in EVENT_CLASSES


def test_a_user_event_class_is_not_registered_until_asked():
    class Quiet(UserEvent):
        event_type: Literal["tests.Quiet"] = "tests.Quiet"

    assert "tests.Quiet" not in user_event_classes()
    assert "tests.Quiet" not in EVENT_CLASSES


def test_a_registered_user_event_round_trips_through_canonical_json():
    event = note(agent_id="a-000001", amount=Decimal("1.50"))
    text = canonical_json(event)

    decoded = parse_event(text)

    assert type(decoded) is Note
    assert decoded == event
    assert canonical_json(decoded) == text


def test_a_tag_registered_to_another_class_is_refused_and_changes_nothing():
    class Impostor(UserEvent):
        event_type: Literal["tests.Note"] = "tests.Note"
        text: str

    with pytest.raises(
        ValidationError, match=r"^register_event_type: tag 'tests.Note' is already registered"
    ):
        register_event_type(Impostor)

    assert user_event_classes()["tests.Note"] is Note


@pytest.mark.parametrize("tag", ["Note", "CapitalAllocated", ".Note", "tests.", "tests..Note", "1x.Note"])
def test_a_tag_without_a_namespace_of_its_own_is_refused(tag):
    bad = type(UserEvent)(
        "Bad", (UserEvent,), {"__annotations__": {"event_type": Literal[tag]}, "event_type": tag}
    )
    before = dict(user_event_classes())

    with pytest.raises(
        ValidationError, match=rf"^register_event_type: tag '{tag}' of Bad is not a namespaced"
    ):
        register_event_type(bad)

    assert dict(user_event_classes()) == before


def test_a_class_extending_a_built_in_event_is_refused():
    class Sneaky(UserEvent, CapitalAllocated):  # type: ignore[misc]  # the very mix-up being refused
        event_type: Literal["tests.Sneaky"] = "tests.Sneaky"

    with pytest.raises(ValidationError, match=r"^register_event_type: .*Sneaky is \(or extends\) a built-in"):
        register_event_type(Sneaky)


@pytest.mark.parametrize("cls", [int, "tests.Note", UserEvent, UnregisteredEvent])
def test_what_is_not_a_user_event_class_is_refused(cls):
    with pytest.raises(
        ValidationError, match=r"^register_event_type: .* (is not an event class|is not a sub)"
    ):
        register_event_type(cls)


def test_a_class_without_a_tag_is_refused():
    class Untagged(UserEvent):
        text: str

    with pytest.raises(ValidationError, match=r"^register_event_type: .*Untagged has no tag"):
        register_event_type(Untagged)


@pytest.mark.parametrize("field", ["seq", "timestamp", "caused_by", "agent_id"])
def test_a_class_redeclaring_an_envelope_field_is_refused(field):
    annotations = {"event_type": Literal["tests.Envelope"], field: str}
    bad = type(UserEvent)(
        "Envelope",
        (UserEvent,),
        {"__annotations__": annotations, "event_type": "tests.Envelope", field: "x"},
    )

    with pytest.raises(
        ValidationError, match=rf"^register_event_type: .* redeclares the envelope field '{field}'"
    ):
        register_event_type(bad)

    assert "tests.Envelope" not in user_event_classes()


def test_a_mutable_or_lax_class_is_refused():
    class Loose(UserEvent):
        model_config = ConfigDict(frozen=False)
        event_type: Literal["tests.Loose"] = "tests.Loose"

    with pytest.raises(ValidationError, match=r"^register_event_type: .*Loose is not frozen"):
        register_event_type(Loose)


def test_a_user_event_moves_no_capital_and_folds_as_a_no_op():
    start = fold([opened()])

    after = fold([note()], start)

    assert postings(note()) == []
    assert after.model_dump(exclude={"seq", "head_hash"}) == start.model_dump(exclude={"seq", "head_hash"})
    assert after.seq == 2


def test_a_user_event_before_the_arena_opens_is_refused_by_the_fold():
    with pytest.raises(EventSourcingError, match=r"^event seq 1 \(tests.Note\): the log must start"):
        fold([note(seq=1)])


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(), children, max_size=3),
    max_leaves=10,
)
payload_names = st.text(min_size=1, max_size=8).filter(
    lambda n: n not in {"event_type", "seq", "event_id", "timestamp", "agent_id", "caused_by"}
)


@given(payload=st.dictionaries(payload_names, json_values, max_size=4), agent=st.none() | st.text(max_size=5))
def test_an_unregistered_user_event_keeps_its_stored_text_exactly(payload, agent):
    envelope = {
        "event_type": "elsewhere.Thing",
        "seq": 7,
        "event_id": str(uuid.UUID(int=7)),
        "timestamp": "2026-01-02T03:04:05.678901Z",
        "agent_id": agent,
        "caused_by": None,
    }
    text = json.dumps({**payload, **envelope}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    decoded = parse_event(text)

    assert type(decoded) is UnregisteredEvent
    assert decoded.payload == payload
    assert canonical_json(decoded) == text


def test_a_registered_user_event_with_a_malformed_payload_names_the_field():
    text = canonical_json(note()).replace('"text":"hello"', '"text":5')

    with pytest.raises(EventSourcingError, match=r"^event 'tests.Note' field 'text': ") as e:
        parse_event(text)

    assert e.value.field == "text"


def test_an_unknown_tag_without_a_namespace_is_still_refused():
    with pytest.raises(
        EventSourcingError, match=r"^unknown event_type 'Bogus'; expected one of: .*namespaced"
    ):
        parse_event('{"event_type":"Bogus","seq":3}')


def test_recording_fields_are_checked_and_returned_in_field_order():

    fields = user_event_fields(Note, {"text": "hi", "agent_id": "a-1"}, timestamp=NOW)

    assert fields == (("agent_id", "a-1"), ("text", "hi"), ("amount", None))


@pytest.mark.parametrize("reserved", ["seq", "event_id", "timestamp", "caused_by", "event_type"])
def test_recording_refuses_reserved_fields(reserved):
    with pytest.raises(ValidationError, match=rf"^record: \['{reserved}'\] are set by the arena"):
        user_event_fields(Note, {"text": "hi", reserved: None}, timestamp=NOW)


def test_recording_refuses_a_built_in_event_class():
    with pytest.raises(ValidationError, match=r"^record: CapitalAllocated is a built-in event"):
        user_event_fields(CapitalAllocated, {"amount": "1"}, timestamp=NOW)


def test_recording_refuses_an_unregistered_class():
    class Stray(UserEvent):
        event_type: Literal["tests.Stray"] = "tests.Stray"

    with pytest.raises(
        ValidationError, match=r"^record: .*Stray is not registered; call events.register_event_type"
    ):
        user_event_fields(Stray, {}, timestamp=NOW)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({}, "text"),
        ({"text": 5}, "text"),
        ({"text": "x", "colour": "red"}, "colour"),
        ({"text": "x", "amount": "x"}, "amount"),
    ],
)
def test_recording_refuses_missing_unknown_or_malformed_fields(fields, field):
    with pytest.raises(ValidationError, match=rf"^record: Note field '{field}'") as e:
        user_event_fields(Note, fields, timestamp=NOW)

    assert e.value.field == field


def test_recording_refuses_a_value_that_does_not_survive_json():
    @register_event_type
    class Reading(UserEvent):
        event_type: Literal["tests.Reading"] = "tests.Reading"
        value: float

    with pytest.raises(ValidationError, match=r"^record: this Reading does not survive JSON"):
        user_event_fields(Reading, {"value": float("nan")}, timestamp=NOW)
