"""Exact money: ``Decimal`` at a fixed scale of 8 places, stored as integer minor units.

The design we replace kept capital in floats and ``REAL`` columns, so conservation drifted by ulps and an
auditor could never prove the books balanced. Here every amount is an exact decimal with at most
``MONEY_SCALE`` places, floats are refused at the boundary (never rounded: rounding would hide a caller's
bug), and SQL holds integers.
"""

from __future__ import annotations

import decimal
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


def money(
    value: object,
    *,
    field: str = "amount",
    allow_negative: bool = False,
    allow_zero: bool = True,
    bounded: bool = True,
) -> Decimal:
    """Return ``value`` as an exact Decimal at ``MONEY_SCALE`` places, or raise ``ValidationError``.

    Accepts ``Decimal``, ``int`` and decimal strings. Rejects floats (binary fractions cannot represent
    most decimal amounts), booleans, NaN, infinities, more than ``MONEY_SCALE`` places and, unless
    allowed, negative or zero amounts. The message names ``field`` and the bad value.
    """
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        hint = f"Decimal({str(value)!r})" if isinstance(value, float) else "a Decimal, int or decimal string"
        msg = f"{field}: {value!r} is a {type(value).__name__}, not an exact amount; pass {hint}"
        raise ValidationError(msg, field=field, value=value)
    try:
        amount = Decimal(value.strip() if isinstance(value, str) else value)
    except decimal.InvalidOperation:
        msg = f"{field}: {value!r} is not a decimal number; pass digits such as '1250.50'"
        raise ValidationError(msg, field=field, value=value) from None
    if not amount.is_finite():
        msg = f"{field}: {value!r} is not a finite amount; pass a real number of currency units"
        raise ValidationError(msg, field=field, value=value)
    in_range = abs(amount) <= MAX_MONEY or (not bounded and abs(amount) < _UNBOUNDED_LIMIT)
    quantized = amount.quantize(_QUANTUM, context=_CONTEXT) if in_range else None
    if quantized is None:
        msg = f"{field}: {value!r} exceeds the largest amount {MAX_MONEY}; pass a smaller amount"
        raise ValidationError(msg, field=field, value=value)
    if quantized != amount:
        msg = (
            f"{field}: {value!r} has more than {MONEY_SCALE} decimal places; "
            f"round it to {MONEY_SCALE} places before passing it"
        )
        raise ValidationError(msg, field=field, value=value)
    if quantized < 0 and not allow_negative:
        msg = f"{field}: {value!r} is negative; pass an amount >= 0"
        raise ValidationError(msg, field=field, value=value)
    if quantized == 0 and not allow_zero:
        msg = f"{field}: {value!r} is zero; pass an amount > 0"
        raise ValidationError(msg, field=field, value=value)
    return quantized.copy_abs() if quantized == 0 else quantized  # -0 and 0 are one amount


def to_minor(amount: Decimal) -> int:
    """Return ``amount`` in integer minor units (``amount * 10**MONEY_SCALE``), exactly."""
    return int(amount.scaleb(MONEY_SCALE, context=_CONTEXT))


def from_minor(units: int) -> Decimal:
    """Return the Decimal amount of ``units`` minor units, at ``MONEY_SCALE`` places."""
    return Decimal(units).scaleb(-MONEY_SCALE, context=_CONTEXT).quantize(_QUANTUM, context=_CONTEXT)


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
