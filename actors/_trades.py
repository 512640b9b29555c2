"""Fills against the ledger: orders, liquidations and the portfolios strategies see.

The supervisor fills orders one at a time in the order given, each against the agent's ledger cash and
position as the previous fill left them, with the broker's pure ``execute``. Because the broker never
spends more than the cash it is given, an agent's cash can never go negative, however many orders race
for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from events import ZERO, TradeExecuted, TradeRejected, ValidationError
from trading import BrokerConfig, Fill, Order, Portfolio, execute

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from decimal import Decimal

    from ._emitter import Chain, Emitter

__all__ = ["check_marks", "execute_orders", "fill", "liquidate", "portfolios"]


def check_marks(em: Emitter, agent_id: str, marks: Mapping[str, Decimal]) -> None:
    """Refuse ``marks`` that lack a price for a symbol ``agent_id`` holds.

    Raises:
        ValidationError: a held symbol has no mark.

    """
    missing = sorted(symbol for symbol in em.existing(agent_id).positions if symbol not in marks)
    if missing:
        msg = (
            f"marks: no price for {', '.join(map(repr, missing))}, held by agent {agent_id!r}; pass a mark "
            "for every symbol it holds, or omit marks to write its positions off"
        )
        raise ValidationError(msg, field="marks", value=missing[0])


def liquidate(
    em: Emitter,
    agent_id: str,
    marks: Mapping[str, Decimal],
    broker: BrokerConfig | None,
    chain: Chain,
) -> int:
    """Close every position of ``agent_id`` at ``marks`` (validated by ``check_marks``); return the trades.

    Long positions are sold, short ones bought back as far as the cash allows; each fill or rejection is
    emitted on ``chain``. What cannot be closed is written off when the agent is killed.
    """
    config = broker if broker is not None else BrokerConfig()
    events = 0
    for symbol, units in sorted(em.existing(agent_id).positions.items()):
        order = Order(symbol, "sell" if units > 0 else "buy", abs(units))
        fill(em, agent_id, order, marks[symbol], config, chain=chain)
        events += 1
    return events


def fill(
    em: Emitter,
    agent_id: str,
    order: Order,
    price: Decimal,
    broker: BrokerConfig,
    *,
    chain: Chain | None = None,
) -> TradeExecuted | TradeRejected:
    """Fill ``order`` for a live agent at ``price`` and emit the ``TradeExecuted`` or ``TradeRejected``.

    A position the broker refuses to trade against (a short with shorting now off) becomes a rejection,
    not an error, so one bad order never stops the ones after it.
    """
    record = em.alive(agent_id)
    position = em.existing(agent_id).positions.get(order.symbol, ZERO)
    try:
        result = execute(order, open_price=price, cash=record.allocation, position=position, config=broker)
    except ValidationError as e:
        result = None
        reason = e.msg
    if isinstance(result, Fill):
        return em.emit(
            TradeExecuted,
            chain=chain,
            agent_id=agent_id,
            symbol=order.symbol,
            side=result.side,
            quantity=result.quantity,
            price=result.price,
            fee=result.fee,
            cash_delta=result.cash_delta,
        )
    if result is not None:
        reason = result.reason
    return em.emit(
        TradeRejected,
        chain=chain,
        agent_id=agent_id,
        symbol=order.symbol,
        side=order.side,
        quantity=order.quantity,
        reason=reason,
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


def portfolios(em: Emitter) -> dict[str, Portfolio]:
    """Return each live agent's ledger cash and positions, by id, without freezing the whole state."""
    result: dict[str, Portfolio] = {}
    for agent_id in sorted(em.fold.agents):
        record = em.fold.agent(agent_id)
        if record is not None and record.alive:
            result[agent_id] = Portfolio(cash=record.allocation, positions=em.existing(agent_id).positions)
    return result
