"""Events of paper trading: fills, refused orders and the marks positions are valued at."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

from ._base import Event
from ._money import ZERO, Money, NonNegativeMoney, PositiveMoney
from ._positions import value_at

if TYPE_CHECKING:
    from decimal import Decimal

__all__ = ["MarksRecorded", "Side", "TradeExecuted", "TradeRejected", "trade_cash_delta"]

Side = Literal["buy", "sell"]


def trade_cash_delta(side: Side, quantity: Decimal, price: Decimal, fee: Decimal) -> Decimal:
    """Return the exact cash effect of a fill: notional rounded half-even to 8 places, then the fee.

    One formula shared by the broker that makes fills and the event that records them, so a stored fill
    can be re-checked from its own fields.
    """
    notional = value_at(quantity, price)
    return -(notional + fee) if side == "buy" else notional - fee


class TradeExecuted(Event):
    """An agent's order filled: cash swapped for a position at cost (or back), the fee paid.

    One balanced multi-leg posting (``events.postings``): a buy moves ``cost`` (the notional) from the
    agent's cash to its position and the fee to ``fees``; a sale moves the position's ``cost`` out, the
    proceeds net of the fee into cash, the fee to ``fees`` and ``realized_pnl`` from the market's P&L
    account. Quantities move between the market and the agent's holding of ``symbol``.
    """

    event_type: Literal["TradeExecuted"] = "TradeExecuted"
    agent_id: str = Field(min_length=1, max_length=128)
    symbol: str = Field(min_length=1, max_length=64)
    side: Side
    quantity: PositiveMoney
    """Units filled (8 places, like money); a sale never exceeds the holding."""
    price: PositiveMoney
    """Fill price per unit, slippage included."""
    market_price: PositiveMoney
    """The market's price the fill started from (the bar's open), before slippage: what slippage cost is
    ``|price - market_price| * quantity``."""
    fee: NonNegativeMoney
    cash_delta: Money
    """Signed change of the agent's cash: ``-(quantity*price + fee)`` for buys, ``quantity*price - fee``
    for sells, the notional rounded half-even to 8 places."""
    cost: NonNegativeMoney
    """Cost basis the fill moves: a buy's notional into the position, or the average cost of the units
    sold out of it (``events.cost_of_sale``; the fold checks it against the holding)."""
    realized_pnl: Money = ZERO
    """A sale's notional minus ``cost``: the gain (or loss) realized before fees; zero for a buy."""

    @model_validator(mode="after")
    def _amounts_match(self) -> TradeExecuted:
        expected = trade_cash_delta(self.side, self.quantity, self.price, self.fee)
        if self.cash_delta != expected:
            msg = (
                f"TradeExecuted: cash_delta {self.cash_delta} does not match {self.side} of "
                f"{self.quantity} at {self.price} with fee {self.fee} (expected {expected})"
            )
            raise ValueError(msg)
        notional = value_at(self.quantity, self.price)
        if self.side == "buy" and (self.cost != notional or self.realized_pnl != 0):
            msg = (
                f"TradeExecuted: a buy's cost is its notional {notional} and it realizes nothing, "
                f"got cost {self.cost} and realized_pnl {self.realized_pnl}"
            )
            raise ValueError(msg)
        if self.side == "sell" and self.realized_pnl != notional - self.cost:
            msg = (
                f"TradeExecuted: a sale realizes its notional {notional} minus its cost {self.cost}, "
                f"{notional - self.cost}, got realized_pnl {self.realized_pnl}"
            )
            raise ValueError(msg)
        return self

    @property
    def notional(self) -> Decimal:
        """Quantity times price, rounded half-even to 8 places: the value traded before the fee."""
        return value_at(self.quantity, self.price)

    @property
    def slippage(self) -> Decimal:
        """What the fill paid for moving off the market price: ``|price - market_price| * quantity``."""
        return value_at(self.quantity, abs(self.price - self.market_price))


class MarksRecorded(Event):
    """The prices positions are valued at from now on (a symbol not named keeps its last mark).

    The driver records every symbol's close once per step, so NAV, unrealized P&L and each agent's equity
    at any seq follow from the log alone.
    """

    event_type: Literal["MarksRecorded"] = "MarksRecorded"
    marks: dict[str, PositiveMoney] = Field(min_length=1)
    """Price per symbol."""


class TradeRejected(Event):
    """An order could not be filled at all (no cash, nothing to sell); nothing moved."""

    event_type: Literal["TradeRejected"] = "TradeRejected"
    agent_id: str = Field(min_length=1, max_length=128)
    symbol: str = Field(min_length=1, max_length=64)
    side: Side
    quantity: PositiveMoney
    """The quantity the order asked for."""
    reason: str
