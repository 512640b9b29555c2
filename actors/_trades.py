"""Fills against the ledger: orders, liquidations and the portfolios strategies see.

The supervisor fills orders one at a time in the order given, each against the agent's ledger cash and
position as the previous fill left them, with the broker's pure ``execute``. Because the broker never
spends more than the cash it is given, an agent's cash can never go negative, however many orders race
for it.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING, Final

from events import MAX_MONEY, ZERO, TradeExecuted, TradeRejected, ValidationError, value_at
from trading import BrokerConfig, Fill, Order, Portfolio, execute

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from uuid import UUID

    from events import AgentEntry

    from ._emitter import Emitter

__all__ = ["execute_orders", "fill", "liquidate", "liquidation_prices", "portfolio_of"]

_UNIT: Final = Decimal("0.00000001")


def liquidation_prices(
    em: Emitter, agent_id: str, marks: Mapping[str, Decimal] | None = None
) -> dict[str, Decimal]:
    """Return the price to sell each of ``agent_id``'s holdings at: ``marks`` first, else the latest mark.

    Raises:
        ValidationError: a holding has no price at all, so it could not be sold and would leave the books.

    """
    holding = em.existing(agent_id).positions
    known = em.fold.marks if marks is None else {**em.fold.marks, **marks}
    missing = sorted(symbol for symbol in holding if symbol not in known)
    if missing:
        msg = (
            f"agent {agent_id!r}: cannot be killed: no price for {', '.join(map(repr, missing))}, which it "
            "holds, and value never leaves the books unsold; pass marks={symbol: price} for every symbol it "
            "holds, or record marks first (Arena.floor.record_marks)"
        )
        raise ValidationError(msg, field="marks", value=missing[0])
    return {symbol: known[symbol] for symbol in holding}


def liquidate(
    em: Emitter,
    agent_id: str,
    prices: Mapping[str, Decimal],
    broker: BrokerConfig | None,
    cause: UUID,
) -> int:
    """Sell every holding of the killed ``agent_id`` at ``prices`` (from ``liquidation_prices``).

    Returns the number of fills. Each sale goes through the broker (slippage and fees) and is
    ``caused_by`` ``cause``, the ``AgentKilled`` that decided it. A holding so small that its sale rounds
    to no money at all (dust) still leaves the books: it is sold for nothing, its whole cost realized as a
    loss, so the agent ends flat.
    """
    config = broker if broker is not None else BrokerConfig()
    sales = 0
    for symbol in sorted(em.existing(agent_id).positions):
        price = prices[symbol]
        # a holding worth more than one fill may move is sold in as many fills as it takes
        most = max((MAX_MONEY / 2 / price).quantize(_UNIT, rounding=ROUND_DOWN), _UNIT)
        while units := em.existing(agent_id).positions.get(symbol):
            agent = em.existing(agent_id)
            cost = agent.cost_basis.get(symbol, ZERO)
            order = Order(symbol, "sell", min(units, most))
            result = execute(
                order, open_price=price, cash=agent.allocation, position=units, cost_basis=cost, config=config
            )
            if not isinstance(result, Fill):  # dust: after slippage, worth less than the smallest amount
                notional = value_at(units, price)
                result = Fill(
                    symbol, "sell", units, units, price, ZERO, notional, price, cost, notional - cost
                )
            _executed(em, agent_id, result, cause)
            sales += 1
    return sales


def fill(
    em: Emitter,
    agent_id: str,
    order: Order,
    price: Decimal,
    broker: BrokerConfig,
    *,
    cause: UUID | None = None,
) -> TradeExecuted | TradeRejected:
    """Fill ``order`` for a live agent at ``price`` and emit the ``TradeExecuted`` or ``TradeRejected``.

    An order the broker refuses (no cash, nothing to sell) becomes a rejection, not an error, so one bad
    order never stops the ones after it.
    """
    record = em.alive(agent_id)
    position = record.positions.get(order.symbol, ZERO)
    cost = record.cost_basis.get(order.symbol, ZERO)
    try:
        result = execute(
            order, open_price=price, cash=record.allocation, position=position, cost_basis=cost, config=broker
        )
    except ValidationError as e:
        result = None
        reason = e.msg
    if isinstance(result, Fill):
        return _executed(em, agent_id, result, cause)
    if result is not None:
        reason = result.reason
    return em.emit(
        TradeRejected,
        caused_by=cause,
        agent_id=agent_id,
        symbol=order.symbol,
        side=order.side,
        quantity=order.quantity,
        reason=reason,
    )


def _executed(em: Emitter, agent_id: str, result: Fill, cause: UUID | None) -> TradeExecuted:
    return em.emit(
        TradeExecuted,
        caused_by=cause,
        agent_id=agent_id,
        symbol=result.symbol,
        side=result.side,
        quantity=result.quantity,
        price=result.price,
        market_price=result.market_price,
        fee=result.fee,
        cash_delta=result.cash_delta,
        cost=result.cost,
        realized_pnl=result.realized_pnl,
    )


def execute_orders(
    em: Emitter,
    orders: Sequence[tuple[str, Order]],
    prices: Mapping[str, Decimal],
    broker: BrokerConfig,
) -> tuple[TradeExecuted | TradeRejected, ...]:
    """Fill ``orders`` in the given order; return one trade event per order.

    An order from an agent killed since it was placed is rejected (the agent cannot trade any more); an
    order naming an agent that never existed, or a symbol without a price, refuses the whole batch.

    Raises:
        UnknownAgentError: an order names an agent that was never spawned (nothing is emitted).
        ValidationError: an ordered symbol has no price (nothing is emitted).

    """
    for agent_id, order in orders:
        em.existing(agent_id)
        if order.symbol not in prices:
            msg = (
                f"prices: no price for {order.symbol!r}, ordered by agent {agent_id!r}; "
                "pass a price for every symbol ordered"
            )
            raise ValidationError(msg, field="prices", value=order.symbol)
    results: list[TradeExecuted | TradeRejected] = []
    for agent_id, order in orders:
        if not em.existing(agent_id).alive:
            reason = (
                f"agent {agent_id!r} was killed at seq {em.existing(agent_id).killed_seq} before its order "
                "was filled; dead agents do not trade"
            )
            results.append(
                em.emit(
                    TradeRejected,
                    agent_id=agent_id,
                    symbol=order.symbol,
                    side=order.side,
                    quantity=order.quantity,
                    reason=reason,
                )
            )
            continue
        results.append(fill(em, agent_id, order, prices[order.symbol], broker))
    return tuple(results)


def portfolio_of(agent: AgentEntry) -> Portfolio:
    """Return what a strategy sees of ``agent``'s account: cash, positions and average costs.

    The entry price of a holding is its cost basis per unit (a buy's cost is its notional, fees apart):
    the ledger's average cost, so a strategy's stop loss reads the same number an auditor does.
    """
    entry = {s: agent.cost_basis[s] / units for s, units in agent.positions.items() if units > 0}
    return Portfolio(cash=agent.allocation, positions=agent.positions, entry_prices=entry)
