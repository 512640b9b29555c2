"""Events of paper trading: fills and refused orders."""

from __future__ import annotations

import decimal
from decimal import Decimal
from typing import Final, Literal

from pydantic import Field, model_validator

from ._base import Event
from ._money import MONEY_SCALE, Money, NonNegativeMoney, PositiveMoney

__all__ = ["Side", "TradeExecuted", "TradeRejected", "trade_cash_delta"]

Side = Literal["buy", "sell"]

_QUANTUM: Final = Decimal(1).scaleb(-MONEY_SCALE)
_CONTEXT: Final = decimal.Context(prec=40, rounding=decimal.ROUND_HALF_EVEN)


def trade_cash_delta(side: Side, quantity: Decimal, price: Decimal, fee: Decimal) -> Decimal:
    """Return the exact cash effect of a fill: notional rounded half-even to 8 places, then the fee.

    One formula shared by the broker that makes fills and the event that records them, so a stored fill
    can be re-checked from its own fields.
    """
    notional = (quantity * price).quantize(_QUANTUM, context=_CONTEXT)
    return -(notional + fee) if side == "buy" else notional - fee


class TradeExecuted(Event):
    """An agent's order filled: cash moved between the agent and ``external`` (the market)."""

    event_type: Literal["TradeExecuted"] = "TradeExecuted"
    agent_id: str = Field(min_length=1, max_length=128)
    symbol: str = Field(min_length=1, max_length=64)
    side: Side
    quantity: PositiveMoney
    """Units filled (8 places, like money)."""
    price: PositiveMoney
    """Fill price per unit, slippage included."""
    fee: NonNegativeMoney
    cash_delta: Money
    """Signed change of the agent's cash: ``-(quantity*price + fee)`` for buys, ``quantity*price - fee``
    for sells, the notional rounded half-even to 8 places."""

    @model_validator(mode="after")
    def _cash_delta_matches(self) -> TradeExecuted:
        expected = trade_cash_delta(self.side, self.quantity, self.price, self.fee)
        if self.cash_delta != expected:
            msg = (
                f"TradeExecuted: cash_delta {self.cash_delta} does not match {self.side} of "
                f"{self.quantity} at {self.price} with fee {self.fee} (expected {expected})"
            )
            raise ValueError(msg)
        return self


class TradeRejected(Event):
    """An order could not be filled at all (no cash, nothing to sell); nothing moved."""

    event_type: Literal["TradeRejected"] = "TradeRejected"
    agent_id: str = Field(min_length=1, max_length=128)
    symbol: str = Field(min_length=1, max_length=64)
    side: Side
    quantity: PositiveMoney
    """The quantity the order asked for."""
    reason: str
