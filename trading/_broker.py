"""Paper trading: fill an order at the next bar's open with slippage and fees, exactly, in ``Decimal``.

``execute`` is a pure function of the order and the account, so the driver can replay any fill from events.
Every amount it returns has exactly 8 decimal places, rounded half-even, and a buy never costs more than the
cash it is given: the ledger downstream can trust ``cash + fill.cash_delta >= 0`` without checking. A sale
never exceeds the holding (there is no shorting: an agent never holds a negative quantity), and takes out
the holding's cost by the one average-cost rule (``events.cost_of_sale``) that the fold re-checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING, Final

from pydantic import Field, ValidationInfo, field_validator

from events import MAX_MONEY, MONEY_SCALE, ZERO, ValidationError, cost_of_sale, money, trade_cash_delta

from ._validation import ValidatedModel

if TYPE_CHECKING:
    from events import Side

    from ._strategy import Order

__all__ = ["BrokerConfig", "Fill", "Rejection", "execute"]

_QUANTUM: Final = Decimal(1).scaleb(-MONEY_SCALE)
_BPS: Final = Decimal(10_000)


class BrokerConfig(ValidatedModel):
    """How far fills drift from the open and what each trade costs."""

    slippage_bps: Decimal = Field(default=Decimal(5), ge=0, le=1000)
    """Price moved against the trader, in basis points of the open: buys pay more, sells get less."""
    fee_bps: Decimal = Field(default=Decimal(10), ge=0, le=1000)
    """Fee in basis points of the fill's notional, charged on both sides (at most the notional, so a
    sale's proceeds never go below zero)."""

    @field_validator("slippage_bps", "fee_bps", mode="before")
    @classmethod
    def _no_floats(cls, value: object, info: ValidationInfo) -> object:
        if isinstance(value, float):
            msg = (
                f"BrokerConfig field {info.field_name!r}: basis points must be exact, "
                f"got the float {value!r}; pass Decimal({str(value)!r}) or an int"
            )
            raise ValidationError(msg, field=info.field_name, value=value)
        return value


@dataclass(frozen=True, slots=True)
class Fill:
    """An order that traded; ``cash_delta`` is exactly what the agent's cash changes by."""

    symbol: str
    side: Side
    quantity: Decimal
    """What traded: the requested quantity, or less if cash or the position capped it."""
    requested_quantity: Decimal
    price: Decimal
    """The open moved by slippage against the trader."""
    fee: Decimal
    cash_delta: Decimal
    """``-(notional + fee)`` for a buy, ``notional - fee`` for a sell, where notional is quantity x price."""
    market_price: Decimal = ZERO
    """The open the fill started from, before slippage."""
    cost: Decimal = ZERO
    """Cost basis moved: a buy's notional, or the average cost of the units sold."""
    realized_pnl: Decimal = ZERO
    """A sale's notional minus ``cost``; zero for a buy."""

    @property
    def notional(self) -> Decimal:
        """Quantity times price, rounded to 8 places: the value traded before the fee."""
        return -self.cash_delta - self.fee if self.side == "buy" else self.cash_delta + self.fee


@dataclass(frozen=True, slots=True)
class Rejection:
    """An order that did not trade at all, and why, in a sentence fit for an event or a log."""

    symbol: str
    side: Side
    requested_quantity: Decimal
    reason: str


def _money(value: Decimal) -> Decimal:
    return value.quantize(_QUANTUM, rounding=ROUND_HALF_EVEN)


def _costs(quantity: Decimal, price: Decimal, fee_rate: Decimal) -> tuple[Decimal, Decimal]:
    notional = _money(quantity * price)
    return notional, _money(notional * fee_rate)


def _affordable(cash: Decimal, price: Decimal, fee_rate: Decimal) -> Decimal:
    """Largest quantity (a multiple of 8 places) whose notional plus fee is at most ``cash``.

    Rounding moves the cost of a quantity by at most 1.05 units of 0.00000001 from the exact
    ``quantity * price * (1 + fee_rate)`` (fee rate <= 10%), so the answer lies between the exact answers for
    ``cash`` minus and plus 2 units; cost is monotone in quantity, so bisect that bracket (a few steps at
    ordinary prices, about 22 at a price of 0.000001).
    """
    unit_cost = price * (1 + fee_rate)
    low = max(0, int(((cash - 2 * _QUANTUM) / unit_cost / _QUANTUM).to_integral_value(ROUND_FLOOR)))
    high = int(((cash + 2 * _QUANTUM) / unit_cost / _QUANTUM).to_integral_value(ROUND_CEILING)) + 1
    while high - low > 1:  # invariant: `low` units are affordable (or 0), `high` units are not
        middle = (low + high) // 2
        notional, fee = _costs(middle * _QUANTUM, price, fee_rate)
        if notional + fee <= cash:
            low = middle
        else:
            high = middle
    return low * _QUANTUM


def _check(open_price: Decimal, cash: Decimal, position: Decimal, cost_basis: Decimal) -> tuple[Decimal, ...]:
    """Reject malformed inputs; return cash, position and cost basis at exactly 8 places."""
    if not isinstance(open_price, Decimal) or not open_price.is_finite() or open_price <= 0:
        msg = (
            f"execute: open_price must be a positive finite Decimal, got {open_price!r}; "
            "pass the next bar's open"
        )
        raise ValidationError(msg, field="open_price", value=open_price)
    cash = money(cash, field="cash")  # an amount of the ledger: exact, 8 places, never negative
    position = money(position, field="position", allow_negative=True)
    if position < 0:
        msg = (
            f"execute: position {position} is short, but agents never hold a negative quantity; "
            "pass the holding the ledger records"
        )
        raise ValidationError(msg, field="position", value=position)
    cost_basis = money(cost_basis, field="cost_basis")
    return cash, position, cost_basis


def execute(
    order: Order,
    *,
    open_price: Decimal,
    cash: Decimal,
    position: Decimal,
    config: BrokerConfig,
    cost_basis: Decimal = ZERO,
) -> Fill | Rejection:
    """Fill ``order`` at ``open_price`` (the bar after the one that produced it), or reject it.

    A buy costing more than ``cash`` shrinks to the largest affordable quantity; a sell of more than
    ``position`` shrinks to the position, and takes out its share of ``cost_basis`` (what the holding
    cost) by average cost. An order that would trade nothing, or whose notional rounds to zero, becomes a
    ``Rejection``: that is the market saying no, not a bug.

    Raises:
        ValidationError: ``open_price`` is not a positive ``Decimal``; ``cash``, ``position`` or
            ``cost_basis`` is not an exact amount (see ``events.money``), or ``cash`` or ``position`` is
            negative.

    """
    cash, position, cost_basis = _check(open_price, cash, position, cost_basis)
    fee_rate = config.fee_bps / _BPS
    slip = config.slippage_bps / _BPS
    requested = order.quantity
    if order.side == "buy":
        price = _money(open_price * (1 + slip))
        quantity = requested
        notional, fee = _costs(quantity, price, fee_rate)
        if notional + fee > cash:
            quantity = _affordable(cash, price, fee_rate)
            notional, fee = _costs(quantity, price, fee_rate)
            if quantity == 0:
                reason = (
                    f"buy {order.symbol}: cash {cash:f} cannot pay for even {_QUANTUM:f} at {price} plus "
                    f"{config.fee_bps} bps fee; the order needs more cash"
                )
                return Rejection(order.symbol, "buy", requested, reason)
    else:
        if position <= 0:
            reason = (
                f"sell {order.symbol}: nothing is held (position {position:f}) and agents cannot sell "
                "short; buy first"
            )
            return Rejection(order.symbol, "sell", requested, reason)
        price = _money(open_price * (1 - slip))
        quantity = min(requested, position)
        notional, fee = _costs(quantity, price, fee_rate)
    if notional + fee > MAX_MONEY:
        reason = (
            f"{order.side} {order.symbol}: {quantity:f} at {price} is worth {notional}, above the largest "
            f"amount one fill may move ({MAX_MONEY}); trade a smaller quantity"
        )
        return Rejection(order.symbol, order.side, requested, reason)
    if notional == 0:
        reason = (
            f"{order.side} {order.symbol}: {quantity:f} at {price} is worth less than {_QUANTUM:f}, "
            "so the fill would move no cash; trade a larger quantity"
        )
        return Rejection(order.symbol, order.side, requested, reason)
    cash_delta = trade_cash_delta(order.side, quantity, price, fee)  # the formula TradeExecuted re-checks
    if order.side == "buy":
        cost, realized = notional, ZERO
    else:
        cost = cost_of_sale(position, cost_basis, quantity)
        realized = notional - cost
    return Fill(
        order.symbol,
        order.side,
        quantity,
        requested,
        price,
        fee,
        cash_delta,
        _money(open_price),
        cost,
        realized,
    )
