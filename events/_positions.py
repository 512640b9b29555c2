"""Positions at cost: the one cost rule (average cost) and the one rounding of value at a price.

Every holding is carried at cost, in money, beside its quantity. A buy adds its notional to the cost; a
sale takes out the cost of the quantity sold by **average cost**: ``cost * sold / held``, computed in
integer minor units and rounded half-even to the unit (selling everything takes out exactly the whole
cost, so no remainder is ever stranded on an empty position). The broker that makes fills, the fold that
checks them and the verifier that audits them all call this module, so the three cannot round apart.
"""

from __future__ import annotations

import decimal
from decimal import Decimal
from typing import Final

from ._money import MONEY_SCALE, ZERO, from_minor, to_minor

__all__ = ["cost_of_sale", "value_at"]

_MINOR: Final = 10**MONEY_SCALE
_QUANTUM: Final = Decimal(1).scaleb(-MONEY_SCALE)
_EXACT: Final = decimal.Context(
    prec=90, rounding=decimal.ROUND_HALF_EVEN, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN, traps=[]
)
"""Wide enough that the product of two amounts below 10**30 at 8 places (76 digits) is exact."""


def _half_even(numerator: int, denominator: int) -> int:
    """Return ``numerator / denominator`` rounded half-even to an integer, exactly (both non-negative)."""
    quotient, remainder = divmod(numerator, denominator)
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and quotient % 2 == 1):
        quotient += 1
    return quotient


def cost_of_sale(held_quantity: Decimal, held_cost: Decimal, quantity: Decimal) -> Decimal:
    """Return the cost basis that selling ``quantity`` of a holding takes out, by average cost.

    ``quantity`` is at most ``held_quantity`` (the caller refuses a larger sale); all three are amounts at
    8 places. Selling the whole holding takes out exactly ``held_cost``.
    """
    if quantity >= held_quantity:
        return held_cost
    cost = _half_even(to_minor(held_cost) * to_minor(quantity), to_minor(held_quantity))
    return from_minor(cost)


def value_at(quantity: Decimal, price: Decimal) -> Decimal:
    """Return ``quantity * price`` rounded half-even to 8 places: a fill's notional, a holding's value.

    The exact product rounded once (Decimal's half-even is the integer rule ``_half_even`` states, sign
    included), at a quarter of the cost of going through integer minor units: every mark values every
    holding of every agent with it. A zero is always ``0E-8``, never ``-0E-8``.
    """
    value = _EXACT.multiply(quantity, price).quantize(_QUANTUM, None, _EXACT)
    return value or ZERO
