r"""Exact money: ``Decimal`` at a fixed scale of 8 places, stored as integer minor units.

The design we replace kept capital in floats and ``REAL`` columns, so conservation drifted by ulps and an
auditor could never prove the books balanced. Here every amount is an exact decimal with at most
``MONEY_SCALE`` places, floats are refused at the boundary (never rounded: rounding would hide a caller's
bug), and SQL holds integers.

Text is held to one grammar, ``-?[0-9]+(\.[0-9]{1,8})?`` in ASCII: what ``format_money`` writes, and
none of the rest that ``Decimal()`` also reads. ``Decimal`` takes ``"1_000"``, ``" 7 "``, ``"1e5"``,
``"+5"`` and Arabic-Indic or fullwidth digits alike, so an amount that went through a spreadsheet, a
locale or a typo would otherwise be booked as a number its author never wrote; each is refused, with
the literal to pass instead.
"""

from __future__ import annotations

import decimal
import re
from decimal import Decimal
from typing import Annotated, Final

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

from ._errors import ValidationError

__all__ = [
    "MAX_MONEY",
    "MONEY_SCALE",
    "ZERO",
    "Balance",
    "Money",
    "NonNegativeMoney",
    "PositiveMoney",
    "format_money",
    "from_minor",
    "money",
    "to_minor",
]

MONEY_SCALE: Final = 8
"""Decimal places of every amount; recorded in the store's ``meta`` table."""

MAX_MONEY: Final = Decimal(10) ** 10
"""Largest magnitude of one amount. Keeps every balance well inside SQLite's signed 64-bit INTEGER
(2**63 minor units is about 9.2e10) even after sums of many amounts."""

ZERO: Final = Decimal("0E-8")
"""Zero at ``MONEY_SCALE`` places: the start of every sum of money, so sums keep the scale."""

_QUANTUM: Final = Decimal(1).scaleb(-MONEY_SCALE)
_MINOR: Final = 10**MONEY_SCALE
# Wide enough that quantizing MAX_MONEY at 8 places never raises InvalidOperation.
_CONTEXT: Final = decimal.Context(prec=40, rounding=decimal.ROUND_HALF_EVEN)
_UNBOUNDED_LIMIT: Final = Decimal(10) ** 30  # balances: still quantizable within _CONTEXT's precision
# The only text money() reads, whole (fullmatch): [0-9], not \d, which matches every script's digits.
_LITERAL: Final = re.compile(rf"-?[0-9]+(?:\.[0-9]{{1,{MONEY_SCALE}}})?")
_DIGITS_AND_POINT: Final = re.compile(r"-?[0-9]+\.[0-9]+")  # a literal but for its places
_SHOWN_LIMIT: Final = 60  # characters of a bad value quoted in a message
_SHOWN_BITS: Final = 128  # a longer int is named by its size: repr() refuses ints past 4300 digits


def money(
    value: object,
    *,
    field: str = "amount",
    allow_negative: bool = False,
    allow_zero: bool = True,
    bounded: bool = True,
) -> Decimal:
    r"""Return ``value`` as an exact Decimal at ``MONEY_SCALE`` places, or raise ``ValidationError``.

    Accepts ``Decimal``, ``int`` and decimal literals: text of ASCII digits with an optional leading ``-``
    and at most ``MONEY_SCALE`` places (``-?[0-9]+(\.[0-9]{1,8})?``, such as ``"1250.50"``). Rejects
    floats (binary fractions cannot represent most decimal amounts), booleans, NaN, infinities, more than
    ``MONEY_SCALE`` places, text with spaces, underscores, exponents, a ``+`` or non-ASCII digits and,
    unless allowed, negative or zero amounts. The message names ``field`` and the bad value.
    """
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        hint = f"Decimal({str(value)!r})" if isinstance(value, float) else "a Decimal, int or decimal string"
        msg = f"{field}: {_shown(value)} is a {type(value).__name__}, not an exact amount; pass {hint}"
        raise ValidationError(msg, field=field, value=value)
    amount = _parse(value, field) if isinstance(value, str) else Decimal(value)
    if not amount.is_finite():
        msg = f"{field}: {_shown(value)} is not a finite amount; pass a real number of currency units"
        raise ValidationError(msg, field=field, value=value)
    # copy_abs, not abs(): abs() rounds in the thread's context and overflows on Decimal('1e9999999')
    size = amount.copy_abs()
    in_range = size <= MAX_MONEY or (not bounded and size < _UNBOUNDED_LIMIT)
    quantized = amount.quantize(_QUANTUM, None, _CONTEXT) if in_range else None
    if quantized is None:
        msg = f"{field}: {_shown(value)} exceeds the largest amount {MAX_MONEY}; pass a smaller amount"
        raise ValidationError(msg, field=field, value=value)
    if quantized != amount:
        raise _too_precise(value, field)
    if quantized < 0 and not allow_negative:
        msg = f"{field}: {_shown(value)} is negative; pass an amount >= 0"
        raise ValidationError(msg, field=field, value=value)
    if quantized == 0 and not allow_zero:
        msg = f"{field}: {_shown(value)} is zero; pass an amount > 0"
        raise ValidationError(msg, field=field, value=value)
    return quantized.copy_abs() if quantized == 0 else quantized  # -0 and 0 are one amount


def _parse(text: str, field: str) -> Decimal:
    """Return the Decimal that ``text`` spells, if it is a decimal literal; else say what is wrong with it."""
    if _LITERAL.fullmatch(text):
        return Decimal(text)
    try:
        amount = Decimal(text)  # reads much that is no literal: only to word the refusal and its fix
    except decimal.InvalidOperation:
        msg = f"{field}: {_shown(text)} is not a decimal number; pass digits such as '1250.50'"
        raise ValidationError(msg, field=field, value=text) from None
    if not amount.is_finite():
        return amount  # refused by the caller, in the words it uses for a non-finite Decimal
    if _DIGITS_AND_POINT.fullmatch(text):
        raise _too_precise(text, field)
    msg = (
        f"{field}: {_shown(text)} is not a plain decimal ({_flaw(text)}); expected ASCII digits, an optional "
        f"leading '-' and at most {MONEY_SCALE} places after a point; pass {_plain(amount)}"
    )
    raise ValidationError(msg, field=field, value=text)


def _flaw(text: str) -> str:
    """Name what makes ``text``, which ``Decimal()`` reads, no decimal literal."""
    if text != text.strip():
        return "it has spaces around it"
    if not text.isascii():
        return "it has non-ASCII characters"
    if "_" in text:
        return "it has underscores"
    if "e" in text.lower():
        return "it has an exponent"
    if text.startswith("+"):
        return "it has a leading '+'"
    return "a point needs digits on both sides"


def _plain(amount: Decimal) -> str:
    """Return the literal to pass for ``amount`` if it is one, else an example."""
    # bounded first: format() writes every digit, and '1e-99999999' has a hundred million of them
    if amount.copy_abs() <= MAX_MONEY and amount.quantize(_QUANTUM, None, _CONTEXT) == amount:
        return repr(format(amount or amount.copy_abs(), "f"))  # a zero as '0', never '-0'
    return "digits such as '1250.50'"


def _too_precise(value: object, field: str) -> ValidationError:
    msg = (
        f"{field}: {_shown(value)} has more than {MONEY_SCALE} decimal places; "
        f"round it to {MONEY_SCALE} places before passing it"
    )
    return ValidationError(msg, field=field, value=value)


def _shown(value: object) -> str:
    """Return ``repr(value)``, cut short when long: a message names a value, it need not hold all of it."""
    if isinstance(value, int) and value.bit_length() > _SHOWN_BITS:
        return f"an int of {value.bit_length()} bits"
    text = repr(value)
    return text if len(text) <= _SHOWN_LIMIT else f"{text[: _SHOWN_LIMIT - 10]}... ({len(text)} characters)"


def to_minor(amount: Decimal) -> int:
    """Return ``amount`` in integer minor units (``amount * 10**MONEY_SCALE``), exactly."""
    return int(amount.scaleb(MONEY_SCALE, _CONTEXT))  # context positional: by keyword it costs twice


def from_minor(units: int) -> Decimal:
    """Return the Decimal amount of ``units`` minor units, at ``MONEY_SCALE`` places."""
    return Decimal(units).scaleb(-MONEY_SCALE, _CONTEXT).quantize(_QUANTUM, None, _CONTEXT)


def format_money(amount: Decimal) -> str:
    """Return the canonical text of an amount: plain digits, exactly ``MONEY_SCALE`` places."""
    return format(amount, "f")


def _validator(*, allow_negative: bool, allow_zero: bool, bounded: bool = True) -> BeforeValidator:
    def check(value: object, info: object) -> Decimal:
        field = getattr(info, "field_name", None) or "amount"
        return money(
            value, field=field, allow_negative=allow_negative, allow_zero=allow_zero, bounded=bounded
        )

    return BeforeValidator(check)


_SERIALIZER: Final = PlainSerializer(format_money, return_type=str)
_SCHEMA: Final = WithJsonSchema({"type": "string", "pattern": r"^-?\d+\.\d{8}$"})

Money = Annotated[Decimal, _validator(allow_negative=True, allow_zero=True), _SERIALIZER, _SCHEMA]
"""A signed exact amount (trade cash deltas)."""
NonNegativeMoney = Annotated[Decimal, _validator(allow_negative=False, allow_zero=True), _SERIALIZER, _SCHEMA]
"""An amount >= 0 (balances, capital released)."""
PositiveMoney = Annotated[Decimal, _validator(allow_negative=False, allow_zero=False), _SERIALIZER, _SCHEMA]
"""An amount > 0 (allocations, releases, funding)."""
Balance = Annotated[
    Decimal, _validator(allow_negative=True, allow_zero=True, bounded=False), _SERIALIZER, _SCHEMA
]
"""A running balance or position: exact at 8 places like every amount, but a sum of many bounded amounts,
so not itself held to ``MAX_MONEY``."""
