"""One pykka actor per live agent: its strategy, its tier and its running performance.

An agent decides, it never moves capital: it answers ``OnBars`` with orders and the supervisor fills them
against the ledger. Its portfolio arrives with every step (the ledger's cash and positions), so an agent
cannot drift from the books; what it keeps itself is what the ledger does not: the strategy's rolling
windows, average entry prices (for stop losses and win rates) and the ``PerformanceTracker``.

Crash isolation: anything the strategy does wrong while handling a step is caught here and told to the
supervisor as ``AgentCrashed`` — an exception of any kind (``SystemExit`` and ``KeyboardInterrupt``
included: escaping ``on_receive`` they would make pykka stop every actor of every arena in the process),
or an answer that is not an ``Order`` (or None). The step answers no orders, and
the supervisor records ``AgentFailed`` and applies its policy. Other agents and the arena carry on.

Agent threads are daemon threads, so a process that forgets ``Arena.close()`` can still exit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pykka

from events import value_at
from trading import Fill, Genome, Order, PerformanceTracker, Portfolio, Strategy, make_strategy

from ._messages import AgentCrashed, ChangeTier, GetMetrics, OnBars

if TYPE_CHECKING:
    from types import TracebackType

    from events import Tier, TradeExecuted

__all__ = ["AgentActor", "StrategyFactory"]

logger = logging.getLogger(__name__)

StrategyFactory = Callable[[Genome], Strategy]
"""Builds an agent's strategy from its genome; ``make_strategy`` unless the arena was given another."""

_ZERO = Decimal(0)


class AgentActor(pykka.ThreadingActor):
    """A live agent: holds its genome, tier, strategy and performance tracker.

    Messages: ``OnBars`` (asked, answers ``tuple[Order, ...]``), ``GetMetrics`` (asked, answers
    ``AgentMetrics``), ``ChangeTier`` (told by the supervisor after a graduation).

    Args:
        agent_id: The ledger's id for this agent.
        genome: The parameters its strategy trades with.
        tier: The tier it trades in.
        supervisor: Told ``AgentCrashed`` when the strategy raises.
        incarnation: Tells a restarted agent's reports apart from its predecessor's.
        strategy_factory: Builds the strategy from the genome (tests inject one that raises).

    """

    use_daemon_thread = True  # a stuck strategy must never keep the process alive

    def __init__(
        self,
        agent_id: str,
        genome: Genome,
        tier: Tier,
        *,
        supervisor: pykka.ActorRef[Any],
        incarnation: int = 0,
        strategy_factory: StrategyFactory = make_strategy,
    ) -> None:
        super().__init__()
        self.agent_id = agent_id
        self.genome = genome
        self.tier = tier
        self._supervisor = supervisor
        self._incarnation = incarnation
        self._factory = strategy_factory
        self._strategy: Strategy | None = None
        self._tracker = PerformanceTracker()
        self._cash = _ZERO  # ledger cash as of the last step: a change not explained by fills is a flow
        self._entry: dict[str, Decimal] = {}  # average entry price per symbol held
        self._held: dict[str, Decimal] = {}  # units per symbol, from fills, to average entry prices
        self._closes: dict[str, Decimal] = {}  # last close per symbol, to mark a symbol with no bar this step
        self._crashed = False

    def on_start(self) -> None:
        """Build the strategy in the agent's own thread (a factory that raises is a crash, reported)."""
        try:
            self._strategy = self._factory(self.genome)
        except BaseException as e:  # noqa: BLE001  (user strategy code: SystemExit included, it is a crash)
            self._crash(e)

    def on_receive(self, message: Any) -> Any:  # noqa: ANN401  (pykka's signature: replies are any value)
        """Answer a step with orders, or metrics; take tier changes."""
        match message:
            case OnBars():
                return self._step(message)
            case GetMetrics():
                return self._tracker.metrics()
            case ChangeTier(tier=tier):
                self.tier = tier
                return None
            case _:
                return super().on_receive(message)

    def on_failure(
        self,
        exception_type: type[BaseException] | None,  # noqa: ARG002  (pykka's hook signature)
        exception_value: BaseException | None,
        traceback: TracebackType | None,  # noqa: ARG002  (pykka already logged it)
    ) -> None:
        """Report an error that escaped a told message, so the supervisor applies the failure policy."""
        if exception_value is not None:
            self._crash(exception_value)

    def _step(self, message: OnBars) -> tuple[Order, ...]:
        if self._crashed or self._strategy is None:
            return ()
        try:
            return self._trade(message)
        except BaseException as e:  # noqa: BLE001  (crash isolation: report, answer no orders, stay answerable)
            self._crash(e)
            return ()

    def _trade(self, message: OnBars) -> tuple[Order, ...]:
        strategy = self._strategy
        if strategy is None:
            return ()
        expected = self._cash
        for fill in message.fills:
            self._record(fill)
            expected += fill.cash_delta
        given = message.portfolio
        flow = given.cash - expected
        if flow > 0:
            self._tracker.deposit(flow)
        elif flow < 0:
            self._tracker.withdraw(-flow)
        self._cash = given.cash
        portfolio = Portfolio(
            cash=given.cash,
            positions=given.positions,
            entry_prices={s: p for s, p in self._entry.items() if given.positions.get(s, _ZERO) > 0},
        )
        orders: list[Order] = []
        for bar in message.bars:
            self._closes[bar.symbol] = bar.close
            order = strategy.on_bar(bar, portfolio)
            if order is None:
                continue
            if not isinstance(order, Order):
                msg = f"strategy answered {order!r} for the bar of {bar.symbol!r}; expected an Order or None"
                raise TypeError(msg)
            orders.append(order)
        # the ledger's rounding (half-even per holding), so the agent's equity is the books' to the digit
        equity = given.cash + sum(
            (value_at(units, self._closes.get(symbol, _ZERO)) for symbol, units in given.positions.items()),
            _ZERO,
        )
        self._tracker.mark(equity)
        return tuple(orders)

    def _record(self, trade: TradeExecuted) -> None:
        symbol = trade.symbol
        held = self._held.get(symbol, _ZERO)
        entry = self._entry.get(symbol)
        fill = Fill(
            trade.symbol, trade.side, trade.quantity, trade.quantity, trade.price, trade.fee, trade.cash_delta
        )
        self._tracker.record_fill(fill, entry if trade.side == "sell" else None)
        if trade.side == "buy":
            units = held + trade.quantity
            cost = (entry or _ZERO) * max(held, _ZERO) + trade.price * trade.quantity
            self._entry[symbol] = cost / units if units > 0 else trade.price
            self._held[symbol] = units
        else:
            units = held - trade.quantity
            self._held[symbol] = units
            if units <= 0:
                self._entry.pop(symbol, None)

    def _crash(self, error: BaseException) -> None:
        self._crashed = True
        logger.warning("agent %s: strategy raised %s: %s", self.agent_id, type(error).__name__, error)
        report = AgentCrashed(self.agent_id, type(error).__name__, str(error), self._incarnation)
        try:
            self._supervisor.tell(report)
        except pykka.ActorDeadError:
            logger.debug("agent %s: supervisor is gone; crash not reported", self.agent_id)
