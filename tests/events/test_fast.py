"""The supervisor's shortcuts (``events/_fast.py``) build and encode exactly what pydantic would."""

from __future__ import annotations

import typing
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal
from uuid import UUID

import pydantic
import pytest
from hypothesis import given, settings
from pydantic import field_serializer

from events import (
    AgentSpawned,
    BuiltinEvent,
    CapitalAllocated,
    Event,
    EventSourcingError,
    MarksRecorded,
    UserEvent,
    canonical_json,
    check_events,
    checking_events,
    trusted,
)
from events._codec import _pydantic_json
from events._fast import fast_json
from tests.strategies import any_event

if TYPE_CHECKING:
    from collections.abc import Iterator

T0 = datetime(2026, 1, 1, tzinfo=UTC)
ID = UUID(int=7, version=4)


@pytest.fixture
def unchecked() -> Iterator[None]:
    """Checking mode off, as in production, for the duration of one test."""
    was = checking_events()
    check_events(False)
    yield
    check_events(was)


def _fields(event: Event) -> dict[str, Any]:
    return {name: getattr(event, name) for name in event.model_fields_set}


def test_the_suite_runs_in_checking_mode() -> None:
    assert checking_events()


BUILTIN: list[type[Event]] = list(typing.get_args(typing.get_args(BuiltinEvent)[0]))


@pytest.mark.parametrize("cls", BUILTIN, ids=lambda c: c.__name__)
def test_every_builtin_class_takes_the_fast_paths(cls: type[Event]) -> None:
    from events._fast import _compile_build, _compile_encoder  # noqa: PLC0415  (the plans themselves)

    assert _compile_build(cls) is not None
    assert _compile_encoder(cls) is not None


@settings(max_examples=400)
@given(any_event)
def test_fast_json_is_pydantics_canonical_json_to_the_byte(event: Event) -> None:
    assert fast_json(event) == _pydantic_json(event)


@settings(max_examples=400)
@given(any_event)
def test_a_trusted_build_is_the_validated_event(event: Event) -> None:
    fields = _fields(event)
    built = trusted(type(event), fields)  # checking mode: also validated and compared field by field
    assert built == event
    assert built.model_fields_set == event.model_fields_set
    assert list(built.__dict__) == list(event.__dict__)  # declaration order, as validation leaves it
    assert canonical_json(built) == canonical_json(event)


@pytest.mark.usefixtures("unchecked")
def test_unchecked_a_trusted_build_skips_validation() -> None:
    fields = {"seq": 1, "event_id": ID, "timestamp": T0, "agent_id": "a", "amount": Decimal("5.00000000")}
    built = trusted(CapitalAllocated, fields)
    assert built == CapitalAllocated(**fields)
    assert built.event_type == "CapitalAllocated"
    assert built.caused_by is None
    assert built.model_fields_set == set(fields)


def test_checking_mode_names_a_value_validation_would_change() -> None:
    fields = {"seq": 3, "event_id": ID, "timestamp": T0, "agent_id": "a", "amount": Decimal(5)}
    with pytest.raises(EventSourcingError, match=r"CapitalAllocated: .*amount=Decimal\('5'\).*5\.00000000"):
        trusted(CapitalAllocated, fields)


def test_checking_mode_names_a_timestamp_outside_utc() -> None:
    local = T0.astimezone(timezone(timedelta(hours=2)))
    fields = {"seq": 3, "event_id": ID, "timestamp": local, "agent_id": "a", "amount": Decimal("5.00000000")}
    with pytest.raises(EventSourcingError, match="timestamp"):
        trusted(CapitalAllocated, fields)


def test_checking_mode_refuses_what_validation_refuses() -> None:
    fields = {"seq": 3, "event_id": ID, "timestamp": T0, "agent_id": "a", "amount": Decimal("-1.00000000")}
    with pytest.raises(pydantic.ValidationError, match="negative"):
        trusted(CapitalAllocated, fields)


@pytest.mark.usefixtures("unchecked")
@pytest.mark.parametrize(
    "fields",
    [
        {"seq": 1, "event_id": ID, "timestamp": T0, "agent_id": "a", "amount": Decimal(1), "amout": 1},
        {"seq": 1, "event_id": ID, "timestamp": T0, "agent_id": "a"},
    ],
    ids=["unknown field", "missing field"],
)
def test_a_misspelt_or_missing_field_fails_as_validation_does_even_unchecked(fields: dict[str, Any]) -> None:
    with pytest.raises(pydantic.ValidationError, match="amou"):
        trusted(CapitalAllocated, fields)


@pytest.mark.usefixtures("unchecked")
def test_default_factories_give_each_event_its_own_value() -> None:
    base = {"seq": 1, "event_id": ID, "timestamp": T0, "agent_id": "a", "tier": "simulation"}
    first = trusted(AgentSpawned, {**base, "genome": {}})
    second = trusted(AgentSpawned, {**base, "seq": 2, "genome": {}})
    assert first == AgentSpawned(**base, genome={})
    assert first.genome is not second.genome


def test_a_timestamp_in_another_zone_encodes_as_its_utc_text() -> None:
    event = CapitalAllocated(seq=1, event_id=ID, timestamp=T0, agent_id="a", amount=Decimal(1))
    shifted = event.model_copy(update={"timestamp": T0.astimezone(timezone(timedelta(hours=-5)))})
    assert fast_json(shifted) == fast_json(event)
    assert '"timestamp":"2026-01-01T00:00:00.000000Z"' in canonical_json(shifted)


def test_the_last_timestamp_cache_never_pairs_a_value_with_another_text() -> None:
    events = [
        MarksRecorded(seq=i, event_id=ID, timestamp=T0 + timedelta(microseconds=i), marks={"X": Decimal(i)})
        for i in range(1, 40)
    ]
    for event in [*events, *reversed(events), *events[::3]]:
        assert fast_json(event) == _pydantic_json(event)


def test_a_non_finite_float_in_a_genome_is_refused_in_pydantics_words() -> None:
    event = AgentSpawned(seq=1, event_id=ID, timestamp=T0, agent_id="a", tier="simulation", genome={})
    broken = event.model_copy(update={"genome": {"x": float("nan")}})
    assert fast_json(broken) is None
    with pytest.raises(EventSourcingError, match="no canonical JSON form"):
        canonical_json(broken)


class _Shouted(UserEvent):
    """A user event with its own serializer: the plans leave it to pydantic."""

    event_type: Literal["test.fast.shouted"] = "test.fast.shouted"
    word: str

    @field_serializer("word")
    def _upper(self, value: str) -> str:
        return value.upper()


def test_a_class_with_its_own_serializer_is_encoded_by_pydantic() -> None:
    event = _Shouted(seq=1, event_id=ID, timestamp=T0, word="quiet")
    assert fast_json(event) is None
    assert '"word":"QUIET"' in canonical_json(event)


class _Bounded(UserEvent):
    """A user event whose validator reads the envelope: it must run on every build."""

    event_type: Literal["test.fast.bounded"] = "test.fast.bounded"
    note: str

    @pydantic.model_validator(mode="after")
    def _early(self) -> _Bounded:
        if self.seq > 5:
            msg = f"seq {self.seq} is past 5"
            raise ValueError(msg)
        return self


@pytest.mark.usefixtures("unchecked")
def test_an_embedders_event_is_validated_whole_even_unchecked() -> None:
    fields = {"seq": 9, "event_id": ID, "timestamp": T0, "note": "n"}
    with pytest.raises(pydantic.ValidationError, match="past 5"):
        trusted(_Bounded, fields)
    assert trusted(_Bounded, {**fields, "seq": 2}) == _Bounded(**{**fields, "seq": 2})
