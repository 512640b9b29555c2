r"""Decode stored events without pydantic's per-call machinery, for the exact shape the arena writes.

``parse_event`` through pydantic's discriminated union costs 15-30 us an event, most of a replay, a
reopen or a verify. Stored rows are canonical JSON (``events/_codec.py``): every field present, amounts
as text at 8 places, timestamps as ``...T...Z`` with microseconds, ids as lowercase hyphenated text. For
that shape ``fast_decode`` builds the event itself: ``json.loads`` once, then one converter per field,
compiled once per class from its model fields, and the instance set up as pydantic's validation sets it
(the fields in declaration order, every one in ``__pydantic_fields_set__``, no extras, no privates), so
``==``, ``model_dump`` and ``canonical_json`` cannot tell the two apart. The class's ``after`` model
validators run on the result (a fill's cash arithmetic, a promotion's one rung).

It is strict, never lenient: anything off that shape returns None and the caller decodes through
pydantic, so what pydantic refuses is still refused, in pydantic's words. Off the shape are:

* a value of another JSON type than the canonical one (an amount as a number, a seq as text), an amount
  that is not ``-?[0-9]+\.[0-9]{8}``, a timestamp or an id in any other spelling;
* a missing or an unknown key (pydantic fills defaults or refuses; either way it decides);
* any ``\u`` escape, or text that is not valid UTF-8 (``json.loads`` takes lone surrogates, pydantic
  does not), a non-finite float or an int past 64 bits inside a JSON payload;
* a tag that is no built-in class (user events, ``events/_custom.py``), and a class whose fields or
  validators the plan does not know (the migration events' fitness check): every one of its rows.

``tests/events/test_decode.py`` proves it with hypothesis: every built-in event's canonical JSON decodes
to pydantic's event, and random corruptions of it either fall back or decode to pydantic's event.
"""

from __future__ import annotations

import json
import re
import types
import typing
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Any, Final
from uuid import UUID, SafeUUID

import annotated_types
from pydantic import BeforeValidator, JsonValue

from ._base import EVENT_CLASSES, Event
from ._fast import plain_model
from ._money import MAX_MONEY, ZERO, Balance, Money, NonNegativeMoney, PositiveMoney

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["fast_decode"]

_Convert = typing.Callable[[Any], Any]
"""Turns one field's JSON value into the field's value, or raises ``_Off`` when it is off the shape."""


class _Off(Exception):  # noqa: N818  (control flow inside this module only)
    """The input is off the fast path's shape; pydantic decides."""


class _Plan(typing.NamedTuple):
    cls: type[Event]
    build: Callable[[dict[str, Any]], dict[str, Any]]
    """The fields' values from the JSON object, in declaration order; raises ``_Off`` or ``KeyError``."""
    names: frozenset[str]
    validators: tuple[Callable[[Any], Any], ...]


_PLANS: dict[str, _Plan | None] = {}
"""Per built-in tag, its compiled plan, or None for a class the plan does not know (decoded by pydantic)."""

_setattr: Final = object.__setattr__
_new: Final = object.__new__
_loads: Final = json.loads
_UNKNOWN_SAFETY: Final = SafeUUID.unknown
_INT_LIMIT: Final = 2**63
"""Ints in a JSON payload beyond this go to pydantic, whose handling of huge numbers is its own."""
_UNBOUNDED_LIMIT: Final = Decimal(10) ** 30  # as ``money(bounded=False)``
_AMOUNT: Final = re.compile(r"-?[0-9]+\.[0-9]{8}")
_SHORT_AMOUNT: Final = 20
"""Characters of an amount text below which it is certainly within ``MAX_MONEY`` (10 digits, point, 8)."""
_TIMESTAMP: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z")
_UUID_TEXT: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_MISSING: Final = object()
_INLINE: dict[_Convert, list[str]] = {}
"""Converters that ``_compile_build`` inlines: their checks as source lines over the value ``{v}`` (``{c}``
is the converter itself)."""
_AMOUNTS: dict[str, Decimal] = {}
"""Amount texts already read -> their Decimal: prices, fees and zeros repeat from row to row."""
_AMOUNTS_KEPT: Final = 1 << 16
_last_timestamp: list[tuple[str, datetime | None]] = [("", None)]
"""The last timestamp text read and its value: one simulated step stamps all its events alike. One tuple
swapped whole, so threads decoding at once never pair a text with another's value."""


def fast_decode(data: str | bytes) -> Event | None:
    """Return the built-in event ``data`` holds if it has the canonical shape, else None (module docstring).

    None is no verdict: the caller decodes through pydantic, which accepts or refuses with its message.
    """
    raw = _load(data)
    tag = None if raw is None else raw.get("event_type")
    plan = _PLANS.get(tag, _MISSING) if type(tag) is str else None
    if plan is _MISSING:
        plan = _compile(typing.cast("str", tag))
    if raw is None or not isinstance(plan, _Plan) or len(raw) != len(plan.names):
        return None
    try:
        values = plan.build(raw)
    except (_Off, KeyError):
        return None
    event = _new(plan.cls)
    _setattr(event, "__dict__", values)
    _setattr(event, "__pydantic_fields_set__", set(plan.names))
    _setattr(event, "__pydantic_extra__", None)
    _setattr(event, "__pydantic_private__", None)
    try:
        if any(validator(event) is not event for validator in plan.validators):
            return None
    except Exception:  # noqa: BLE001  (any refusal: pydantic runs it again and words it)
        return None
    return event


def _load(data: str | bytes) -> dict[str, Any] | None:
    """Return the JSON object ``data`` holds as ``json.loads`` reads it, or None where pydantic may differ."""
    if not isinstance(data, str):
        try:
            data = bytes(data).decode()
        except (UnicodeDecodeError, TypeError):
            return None
    if "\\u" in data or (not data.isascii() and not _utf8(data)):
        return None
    try:
        raw = _loads(data)
    except (ValueError, RecursionError):
        return None
    return raw if type(raw) is dict else None


def _utf8(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _compile(tag: str) -> _Plan | None:
    cls = EVENT_CLASSES.get(tag)
    plan = None if cls is None else _plan(cls)
    if cls is not None:
        _PLANS[tag] = plan  # an unknown tag is not cached: the table stays as small as the classes
    return plan


def _plan(cls: type[Event]) -> _Plan | None:
    decorators = cls.__pydantic_decorators__
    utc = _function(Event.__pydantic_decorators__.field_validators["_utc"].func)
    if (
        not plain_model(cls)
        or decorators.root_validators
        or any(_function(d.func) is not utc for d in decorators.field_validators.values())
        or any(d.info.mode != "after" for d in decorators.model_validators.values())
    ):
        return None
    fields: list[tuple[str, _Convert]] = []
    for name, info in cls.model_fields.items():
        convert = _converter(info.annotation, list(info.metadata))
        if convert is None:
            return None
        fields.append((name, convert))
    validators = tuple(
        typing.cast("Callable[[Any], Any]", d.func) for d in decorators.model_validators.values()
    )
    return _Plan(cls, _compile_build(fields), frozenset(cls.model_fields), validators)


def _compile_build(fields: list[tuple[str, _Convert]]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Compile one function that converts every field, the simple checks inlined.

    A call per field costs about as much as its check; inlining the texts, ints and amounts (most fields
    of most rows) halves the time a row takes here.
    """
    namespace: dict[str, Any] = {"_Off": _Off, "ZERO": ZERO, "_AMOUNTS": _AMOUNTS, "_read": _read_amount}
    lines = ["def build(raw):"]
    for index, (name, convert) in enumerate(fields):
        value = f"v{index}"
        lines.append(f"    {value} = raw[{name!r}]")
        namespace[f"c{index}"] = convert
        template = _INLINE.get(convert, ["{v} = {c}({v})"])
        lines.extend("    " + line.format(v=value, c=f"c{index}") for line in template)
    values = ", ".join(f"{name!r}: v{index}" for index, (name, _) in enumerate(fields))
    lines.append(f"    return {{{values}}}")
    exec("\n".join(lines), namespace)  # noqa: S102  (source built above from field names and fixed templates)
    return typing.cast("Callable[[dict[str, Any]], dict[str, Any]]", namespace["build"])


def _function(method: object) -> object:
    """Return the function under a bound classmethod: the same validator is bound to each subclass."""
    return getattr(method, "__func__", method)


def _money_kinds() -> dict[int, tuple[bool, bool, bool]]:
    """Return each money type's validator by id, with its (allow_negative, allow_zero, bounded) flags."""
    kinds = {
        Money: (True, True, True),
        NonNegativeMoney: (False, True, True),
        PositiveMoney: (False, False, True),
        Balance: (True, True, False),
    }
    found = {}
    for alias, flags in kinds.items():
        for part in typing.get_args(alias)[1:]:
            if isinstance(part, BeforeValidator):
                found[id(part)] = flags
    return found


_MONEY_KINDS: Final = _money_kinds()


def _converter(annotation: object, metadata: list[Any]) -> _Convert | None:  # noqa: C901, PLR0911, PLR0912  (one case per kind)
    """Return the converter of a field of this type and these constraints, or None for one unknown here."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        inner, *extra = typing.get_args(annotation)
        return _converter(inner, [*metadata, *extra])
    validators = [m for m in metadata if isinstance(m, BeforeValidator)]
    if validators:
        flags = _MONEY_KINDS.get(id(validators[-1])) if len(validators) == 1 else None
        return None if annotation is not Decimal or flags is None else _amount(*flags)
    bounds = _bounds(metadata)
    if bounds is None:
        return None
    low, high = bounds
    if origin in (typing.Union, types.UnionType):
        members = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        inner_convert = _converter(members[0], metadata) if len(members) == 1 else None
        return None if inner_convert is None else _optional(inner_convert)
    if origin is typing.Literal:
        allowed = typing.get_args(annotation)
        plain = all(type(a) is str for a in allowed) and not metadata
        return _choice({tag: tag for tag in allowed}) if plain else None
    if origin is dict:
        key, value = typing.get_args(annotation)
        if key is not str:
            return None
        if value is JsonValue:
            return _payload(low, high)
        item = _converter(value, [])
        return None if item is None else _mapping(item, low, high)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        by_value = {member.value: member for member in annotation}
        ok = issubclass(annotation, str) and not metadata and all(type(v) is str for v in by_value)
        return _choice(by_value) if ok else None
    if annotation is str:
        return _text(low, high)
    if annotation is int:
        return _integer(metadata)
    if annotation is bool:
        return None if metadata else _flag
    if annotation is UUID:
        return None if metadata else _uuid
    if annotation is datetime:
        return None if metadata else _timestamp
    return None


def _bounds(metadata: list[Any]) -> tuple[int, int | None] | None:
    """Return the length bounds of ``metadata``, or None if it holds a constraint the plan does not know."""
    low, high = 0, None
    for item in metadata:
        if isinstance(item, annotated_types.MinLen):
            low = item.min_length
        elif isinstance(item, annotated_types.MaxLen):
            high = item.max_length
        elif not isinstance(item, annotated_types.Ge):
            return None
    return low, high


def _text(low: int, high: int | None) -> _Convert:
    def text(value: object) -> str:
        if type(value) is not str or len(value) < low or (high is not None and len(value) > high):
            raise _Off
        return value

    if high is None:
        check = f"if type({{v}}) is not str or len({{v}}) < {low}: raise _Off"
    else:
        check = f"if type({{v}}) is not str or not {low} <= len({{v}}) <= {high}: raise _Off"
    _INLINE[text] = [check]
    return text


def _integer(metadata: list[Any]) -> _Convert | None:
    ge = [m.ge for m in metadata if isinstance(m, annotated_types.Ge)]
    if len(ge) != len(metadata) or len(ge) > 1 or (ge and type(ge[0]) is not int):
        return None
    low = typing.cast("int", ge[0]) if ge else -_INT_LIMIT

    def integer(value: object) -> int:
        if type(value) is not int or not low <= value < _INT_LIMIT:
            raise _Off
        return value

    _INLINE[integer] = [f"if type({{v}}) is not int or not {low} <= {{v}} < {_INT_LIMIT}: raise _Off"]
    return integer


def _flag(value: object) -> bool:
    if type(value) is not bool:
        raise _Off
    return value


def _choice(by_value: dict[Any, Any]) -> _Convert:
    def choice(value: object) -> object:
        if type(value) is not str or value not in by_value:
            raise _Off
        return by_value[value]

    return choice


def _optional(convert: _Convert) -> _Convert:
    def optional(value: object) -> object:
        return None if value is None else convert(value)

    return optional


def _uuid(value: object) -> UUID:
    if type(value) is not str or not _UUID_TEXT.fullmatch(value):
        raise _Off
    # What UUID(text) builds, without its parsing: the int and the default safety, nothing else.
    made = _new(UUID)
    _setattr(made, "int", int(value.replace("-", ""), 16))
    _setattr(made, "is_safe", _UNKNOWN_SAFETY)
    return made


def _timestamp(value: object) -> datetime:
    last = _last_timestamp[0]
    if value == last[0] and last[1] is not None:
        return last[1]
    if type(value) is not str or not _TIMESTAMP.fullmatch(value):
        raise _Off
    try:
        moment = datetime.fromisoformat(
            value
        )  # '...Z' -> timezone.utc, as the envelope's validator leaves it
    except ValueError:
        raise _Off from None
    _last_timestamp[0] = (value, moment)
    return moment


def _amount(allow_negative: bool, allow_zero: bool, bounded: bool) -> _Convert:  # noqa: FBT001  (money's flags)
    limit = MAX_MONEY if bounded else _UNBOUNDED_LIMIT

    def amount(value: object) -> Decimal:
        if type(value) is not str:
            raise _Off
        number = _AMOUNTS.get(value)
        if number is None:
            number = _read_amount(value)
        if number is ZERO:
            if not allow_zero:
                raise _Off
        elif value[0] == "-" and not allow_negative:
            raise _Off
        if len(value) >= _SHORT_AMOUNT and not (
            number.copy_abs() <= limit if bounded else number.copy_abs() < limit
        ):
            raise _Off
        return number

    lines = ["if type({v}) is not str: raise _Off", "n = _AMOUNTS.get({v})", "if n is None: n = _read({v})"]
    if not allow_zero:
        lines.append("if n is ZERO: raise _Off")
    if not allow_negative:
        lines.append("if {v}[0] == '-' and n is not ZERO: raise _Off")
    lines.append(f"{{v}} = {{c}}({{v}}) if len({{v}}) >= {_SHORT_AMOUNT} else n")
    _INLINE[amount] = lines
    return amount


def _read_amount(value: str) -> Decimal:
    """Return the amount ``value`` spells at exactly 8 places, remembered for the next row that has it."""
    if not _AMOUNT.fullmatch(value):
        raise _Off
    number = Decimal(value)
    if not number:
        number = ZERO  # '0.00000000' and '-0.00000000' alike: money() keeps zero unsigned
    if len(_AMOUNTS) >= _AMOUNTS_KEPT:
        _AMOUNTS.clear()
    _AMOUNTS[value] = number
    return number


def _mapping(item: _Convert, low: int, high: int | None) -> _Convert:
    def mapping(value: object) -> dict[str, Any]:
        if type(value) is not dict or len(value) < low or (high is not None and len(value) > high):
            raise _Off
        return {key: item(entry) for key, entry in value.items()}

    return mapping


def _payload(low: int, high: int | None) -> _Convert:
    def payload(value: object) -> dict[str, Any]:
        if type(value) is not dict or len(value) < low or (high is not None and len(value) > high):
            raise _Off
        for entry in value.values():
            _check_json(entry, 1)
        return value

    return payload


_DEPTH_LIMIT: Final = 100
"""Nesting this deep is left to pydantic, whose JSON parser refuses beyond 200 levels: the arena's own
payloads are flat, and the shortcut must never accept what pydantic refuses."""


def _check_json(value: Any, depth: int) -> None:  # noqa: ANN401, C901  (any JSON value, told apart by its exact type)
    """Raise ``_Off`` for what pydantic's ``JsonValue`` may read otherwise.

    That is non-finite or huge numbers, and nesting deep enough to meet pydantic's recursion limit.
    """
    if depth > _DEPTH_LIMIT:
        raise _Off
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return
    if kind is int:
        if not -_INT_LIMIT < value < _INT_LIMIT:
            raise _Off
    elif kind is float:
        if value - value != 0:  # inf - inf and nan - nan are nan
            raise _Off
    elif kind is list:
        for item in value:
            _check_json(item, depth + 1)
    elif kind is dict:
        for item in value.values():
            _check_json(item, depth + 1)
    else:
        raise _Off
