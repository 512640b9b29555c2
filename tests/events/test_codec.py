import hashlib
import json
import typing
import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import given

import events
from events import (
    EVENT_CLASSES,
    GENESIS_HASH,
    ArenaOpened,
    BuiltinEvent,
    CapitalAllocated,
    Event,
    EventSourcingError,
    UserEvent,
    canonical_json,
    chain_hash,
    parse_event,
)
from tests.strategies import EVENT_STRATEGIES, any_event


def all_subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from all_subclasses(sub)


def test_every_event_class_is_registered_decodable_and_has_a_strategy():
    builtin = (c for c in all_subclasses(Event) if not issubclass(c, UserEvent))  # see test_custom_events
    defined = {c for c in builtin if c.__module__.startswith("events.")}
    union = set(typing.get_args(typing.get_args(BuiltinEvent)[0]))

    assert defined == set(EVENT_CLASSES.values())
    assert union == defined
    assert set(EVENT_STRATEGIES) == defined
    assert all(getattr(events, c.__name__) is c for c in defined)


@given(any_event)
def test_every_event_round_trips_through_canonical_json(event):
    text = canonical_json(event)

    decoded = parse_event(text)

    assert decoded == event
    assert type(decoded) is type(event)
    assert canonical_json(decoded) == text
    assert parse_event(text.encode()) == event


@given(any_event)
def test_canonical_json_is_sorted_compact_utf8_with_string_amounts(event):
    text = canonical_json(event)

    assert text == json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert text.endswith("}")
    assert "timestamp" in json.loads(text)
    assert json.loads(text)["timestamp"].endswith("Z")


def test_canonical_json_is_stable_bytes_for_the_same_event():
    event = CapitalAllocated(
        seq=2,
        event_id=uuid.UUID(int=1),
        timestamp=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        agent_id="agént",
        amount="12.5",
    )

    assert canonical_json(event) == (
        '{"agent_id":"agént","amount":"12.50000000","caused_by":null,'
        '"event_id":"00000000-0000-0000-0000-000000000001","event_type":"CapitalAllocated",'
        '"seq":2,"timestamp":"2026-01-02T03:04:05.000000Z"}'
    )


def test_chain_hash_is_sha256_of_previous_newline_data():

    assert chain_hash(GENESIS_HASH, "{}") == hashlib.sha256(("0" * 64 + "\n{}").encode()).hexdigest()


def test_unknown_event_type_names_the_type_and_the_known_ones():
    with pytest.raises(
        EventSourcingError,
        match=r"^unknown event_type 'Bogus'; expected one of: AgentDemoted, AgentEmigrated, AgentFailed",
    ) as e:
        parse_event('{"event_type":"Bogus","seq":3}')

    assert e.value.event_type == "Bogus"
    assert e.value.seq == 3


def test_malformed_payload_names_the_type_and_the_field():
    event = ArenaOpened(
        seq=1, event_id=uuid.uuid4(), timestamp=datetime.now(UTC), arena_id="a", total_capital=5
    )
    broken = canonical_json(event).replace('"5.00000000"', '"five"')

    with pytest.raises(EventSourcingError, match=r"^event 'ArenaOpened' field 'total_capital': ") as e:
        parse_event(broken)

    assert e.value.field == "total_capital"


@pytest.mark.parametrize("text", ["not json", "[1, 2]", '"a string"', ""])
def test_payload_that_is_not_an_object_is_refused_clearly(text):
    with pytest.raises(EventSourcingError, match=r"^event payload is not a JSON object"):
        parse_event(text)


def test_floats_in_json_payloads_must_be_finite():
    event = ArenaOpened(
        seq=1,
        event_id=uuid.uuid4(),
        timestamp=datetime.now(UTC),
        arena_id="a",
        total_capital=5,
        config={"x": float("nan")},
    )

    with pytest.raises(
        EventSourcingError, match=r"^event 'ArenaOpened' at seq 1: payload has no canonical JSON"
    ):
        canonical_json(event)
