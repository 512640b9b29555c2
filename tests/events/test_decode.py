"""The fast decoder (``events/_decode.py``) builds exactly pydantic's event, or steps aside."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pydantic
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events import (
    EVENT_CLASSES,
    AgentEmigrated,
    AgentImmigrated,
    EventSourcingError,
    canonical_json,
    parse_event,
)
from events._codec import _ADAPTER
from events._decode import fast_decode
from tests.strategies import any_event, json_values

SLOW_CLASSES = {AgentEmigrated, AgentImmigrated}
"""Classes with a field validator the plan does not know (fitness as decimal text): pydantic's path."""


def pydantic_decode(text: str | bytes) -> Any:
    """Return pydantic's event for ``text``, or None where it refuses it."""
    try:
        return _ADAPTER.validate_json(text)
    except pydantic.ValidationError:
        return None


def assert_same(fast: Any, slow: Any) -> None:
    assert slow is not None, "the fast path accepted what pydantic refuses"
    assert type(fast) is type(slow)
    assert repr(fast) == repr(slow)
    assert fast.__dict__ == slow.__dict__
    assert [type(value) for value in fast.__dict__.values()] == [type(v) for v in slow.__dict__.values()]
    assert fast.model_fields_set == slow.model_fields_set
    assert fast.__pydantic_extra__ == slow.__pydantic_extra__
    assert fast.__pydantic_private__ == slow.__pydantic_private__
    assert fast == slow
    assert fast.model_dump() == slow.model_dump()
    assert canonical_json(fast) == canonical_json(slow)
    assert _hash(fast) == _hash(slow)


def _hash(event: Any) -> int | str:
    try:
        return hash(event)
    except TypeError as e:  # a payload dict in a frozen model: unhashable either way
        return str(e)


@given(any_event)
def test_every_built_in_event_decodes_to_pydantic_s_event(event):
    text = canonical_json(event)

    fast = fast_decode(text)

    if type(event) in SLOW_CLASSES or "\\u" in text:  # a control character is escaped: pydantic's path
        assert fast is None
    else:
        assert fast is not None
        assert_same(fast, pydantic_decode(text))
        assert fast == event
        assert_same(fast_decode(text.encode()), fast)


def test_the_plan_knows_every_built_in_class_but_the_migration_events():
    from events._decode import _compile  # noqa: PLC0415  (the plan table, as the decoder builds it)

    slow = {cls for tag, cls in EVENT_CLASSES.items() if _compile(tag) is None}

    assert slow == SLOW_CLASSES


def _replace_value(data: st.DataObject, raw: dict[str, Any]) -> dict[str, Any]:
    key = data.draw(st.sampled_from(sorted(raw)))
    variants = st.one_of(
        json_values,
        st.sampled_from(["0.00000000", "-0.00000000", "007.50000000", "1e5", "10000000000.00000001", " 1.5"]),
        st.sampled_from(["2024-01-01T00:00:00.000000+00:00", "2024-02-30T00:00:00.000000Z", "24:00"]),
        st.sampled_from(["E3E70682-C209-4CAC-A29F-6FBED82C07CD", "e3e70682c2094caca29f6fbed82c07cd", ""]),
        st.sampled_from(["simulation", "arena", "buy", "sell", "killed", "x" * 129, 2**70, 1.0, -1]),
        st.builds(str, json_values),
    )
    return {**raw, key: data.draw(variants)}


def _mutate_text(data: st.DataObject, text: str) -> str:
    position = data.draw(st.integers(0, len(text)))
    kind = data.draw(st.sampled_from(["insert", "delete", "replace", "space", "escape", "duplicate"]))
    char = data.draw(st.sampled_from([*'0123456789-.:"{},[]eE \\', "\ud800", "\u00e9", "\x00"]))
    if kind == "insert":
        return text[:position] + char + text[position:]
    if kind == "delete":
        return text[:position] + text[position + 1 :]
    if kind == "replace":
        return text[:position] + char + text[position + 1 :]
    if kind == "space":
        return text.replace(",", ", ", 1).replace(":", " : ", 1)
    if kind == "escape":
        return text.replace('"', '"\\u0041', 1) if position % 2 else text.replace("a", "\\ud800", 1)
    return text[:-1] + "," + text[1:]  # every key twice: the later wins, in json.loads and pydantic


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=300)
@given(any_event, st.data())
def test_a_corrupted_text_falls_back_or_decodes_to_pydantic_s_event(event, data):
    text = canonical_json(event)
    raw = json.loads(text)
    how = data.draw(st.sampled_from(["value", "drop", "extra", "text"]))
    if how == "value":
        corrupted = json.dumps(_replace_value(data, raw), ensure_ascii=False)
    elif how == "drop":
        raw.pop(data.draw(st.sampled_from(sorted(raw))))
        corrupted = json.dumps(raw)
    elif how == "extra":
        corrupted = json.dumps({**raw, data.draw(st.text(max_size=5)): data.draw(json_values)})
    else:
        corrupted = _mutate_text(data, text)

    fast = fast_decode(corrupted)

    if fast is not None:
        assert_same(fast, pydantic_decode(corrupted))


@pytest.mark.parametrize(
    "change",
    [
        {"agent_id": "\ud800"},  # a lone surrogate: json.loads reads it, pydantic refuses it
        {"quantity": 1},  # an amount as a number
        {"quantity": "1.5"},  # an amount pydantic reads, not at 8 places
        {"quantity": "0001.50000000"},
        {"seq": "7"},
        {"seq": True},
        {"event_id": "E3E70682-C209-4CAC-A29F-6FBED82C07CD"},
        {"timestamp": "2024-01-01T00:00:00+00:00"},
        {"side": "BUY"},
    ],
)
def test_a_value_off_the_stored_shape_takes_pydantic_s_path(change):
    text = json.dumps({**json.loads(_fill_text()), **change})

    assert fast_decode(text) is None


def test_a_non_finite_number_or_huge_int_in_a_payload_takes_pydantic_s_path():
    spawned = json.loads(_spawn_text())

    for odd in ("NaN", "Infinity", "1e999", str(2**64)):
        text = (
            json.dumps(spawned)
            .replace('"genome":{}', f'"genome":{{"x":{odd}}}')
            .replace('"genome": {}', f'"genome": {{"x": {odd}}}')
        )
        assert odd in text
        assert fast_decode(text) is None


def test_a_signed_zero_is_the_unsigned_zero_pydantic_keeps():
    text = _fill_text().replace('"realized_pnl":"0.00000000"', '"realized_pnl":"-0.00000000"')

    fast = fast_decode(text)

    assert fast is not None
    assert_same(fast, pydantic_decode(text))
    assert str(fast.realized_pnl) == "0E-8"


def test_invalid_utf8_bytes_take_pydantic_s_path_and_its_message():
    data = _fill_text().encode().replace(b"agent-1", b"agent-\xff")

    assert fast_decode(data) is None
    with pytest.raises(
        EventSourcingError, match=r"^event payload is not a JSON object|^event 'TradeExecuted'"
    ):
        parse_event(data)


def test_a_fill_whose_arithmetic_is_wrong_is_refused_in_pydantic_s_words():
    text = _fill_text().replace('"cash_delta":"-100.10000000"', '"cash_delta":"-100.00000000"')

    assert fast_decode(text) is None
    with pytest.raises(EventSourcingError, match=r"^event 'TradeExecuted' field '\(event\)': .*cash_delta"):
        parse_event(text)


def test_checking_mode_names_a_decoder_that_drifts_from_pydantic(monkeypatch):
    text = _fill_text()
    drifted = fast_decode(text)
    assert drifted is not None
    object.__setattr__(drifted, "__dict__", {**drifted.__dict__, "fee": Decimal("0.2")})
    monkeypatch.setattr("events._codec.fast_decode", lambda _: drifted)
    monkeypatch.setattr("events._codec.checking_events", lambda: True)

    with pytest.raises(EventSourcingError, match=r"this is a bug in events/_decode\.py$"):
        parse_event(text)


def _fill_text() -> str:
    return json.dumps(
        {
            "agent_id": "agent-1",
            "cash_delta": "-100.10000000",
            "caused_by": None,
            "cost": "100.00000000",
            "event_id": "e3e70682-c209-4cac-a29f-6fbed82c07cd",
            "event_type": "TradeExecuted",
            "fee": "0.10000000",
            "market_price": "100.00000000",
            "price": "100.00000000",
            "quantity": "1.00000000",
            "realized_pnl": "0.00000000",
            "seq": 7,
            "side": "buy",
            "symbol": "BTC",
            "timestamp": "2024-01-01T00:00:00.000000Z",
        },
        separators=(",", ":"),
        ensure_ascii=False,
    )


def _spawn_text() -> str:
    return json.dumps(
        {
            "agent_id": "agent-1",
            "caused_by": None,
            "event_id": "e3e70682-c209-4cac-a29f-6fbed82c07cd",
            "event_type": "AgentSpawned",
            "genome": {},
            "parent_id": None,
            "seq": 2,
            "tier": "simulation",
            "timestamp": "2024-01-01T00:00:00.000000Z",
        },
        separators=(",", ":"),
    )


def _nested(depth: int) -> str:
    raw = json.loads(_spawn_text())
    value: Any = 1
    for _ in range(depth):
        value = [value]
    raw["genome"] = {"params": value}
    return json.dumps(raw, separators=(",", ":"))


def test_a_deeply_nested_payload_is_left_to_pydantic() -> None:
    shallow, deep, refused = _nested(50), _nested(150), _nested(250)
    assert fast_decode(shallow) is not None
    assert fast_decode(deep) is None  # past the shortcut's depth: pydantic decides
    assert parse_event(deep) == _ADAPTER.validate_json(deep)
    assert fast_decode(refused) is None
    with pytest.raises(EventSourcingError):
        parse_event(refused)  # pydantic's parser refuses past 200 levels; the shortcut never accepts it
