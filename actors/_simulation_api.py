"""The part of the ``Arena`` API that drives a simulation: agents' actors and metrics, fills, evolution.

A mixin of ``Arena`` (kept in its own module only so that neither half outgrows the house limit): every
method here is an ``Arena`` method and follows the facade's rules (arguments checked in the caller's
thread, one command per call, errors raised in the caller's thread).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._arguments import broker_arg, int_arg, marks_arg, metrics_arg, orders_arg, policy_arg
from ._messages import AgentRefs, ExecuteOrders, KillUnderperformers, Portfolios, RunEvolutionCycle, SetTime
from ._selection import check_selection
from ._timeouts import FLUSH_TIMEOUT
from .simulation import BrokerConfig

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from datetime import datetime
    from decimal import Decimal

    import pykka

    from events import TradeExecuted, TradeRejected

    from ._handle import ActorHandle
    from ._reports import CycleReport
    from .simulation import AgentMetrics, EvolutionPolicy, Order, Portfolio

__all__ = ["SimulationMixin"]


class SimulationMixin:
    """``Arena`` methods for simulation drivers; see ``Arena``."""

    _actors: ActorHandle

    def _ask(self, message: object, *, timeout: float | None = None) -> Any:  # noqa: ANN401  (callers narrow it)
        if timeout is None:
            return self._actors.ask(message)
        return self._actors.ask(message, timeout=timeout)

    def kill_underperformers(
        self,
        metric: str,
        *,
        threshold: float | None = None,
        bottom_fraction: float | None = None,
        metrics: Mapping[str, AgentMetrics] | None = None,
        marks: Mapping[str, Decimal] | None = None,
        broker: BrokerConfig | None = None,
    ) -> tuple[str, ...]:
        """Kill every live agent worse than ``threshold`` on ``metric``, or the worst ``bottom_fraction``.

        ``metric`` is an ``AgentMetrics`` field; larger is worse for ``max_drawdown``, smaller for the
        rest. ``metrics`` defaults to those the agents report now. Returns the killed ids, worst first.

        Raises:
            ValidationError: ``metric`` is unknown, or not exactly one of ``threshold`` and
                ``bottom_fraction`` is given, or it is out of range.

        """
        check_selection(metric, threshold, bottom_fraction)
        given = metrics_arg(metrics)
        pairs = tuple(given) if given is not None else tuple(self.agent_metrics().items())
        command = KillUnderperformers(
            metric,
            threshold,
            bottom_fraction,
            pairs,
            marks_arg(marks),
            broker_arg(broker),
        )
        killed: tuple[str, ...] = self._ask(command)
        return killed

    def agent_metrics(self) -> dict[str, AgentMetrics]:
        """Ask every live agent for its metrics, concurrently; agents killed meanwhile are left out."""
        return self._actors.gather_metrics()

    def agent_refs(self) -> dict[str, pykka.ActorRef[Any]]:
        """Return the actor of each live agent, by id, for a driver to ask ``OnBars`` concurrently."""
        refs: dict[str, pykka.ActorRef[Any]] = self._ask(AgentRefs())
        return refs

    # --- trading and evolution ------------------------------------------------------------------------

    def execute_orders(
        self,
        orders: Sequence[tuple[str, Order]],
        prices: Mapping[str, Decimal],
        broker: BrokerConfig | None = None,
    ) -> tuple[TradeExecuted | TradeRejected, ...]:
        """Fill orders in the given order at ``prices`` against each agent's ledger cash; one event each.

        Raises:
            UnknownAgentError: an order names an agent never spawned; nothing was filled.
            ValidationError: an ordered symbol has no price; nothing was filled.

        """
        prices_checked = marks_arg(prices, "prices") or ()
        config = broker_arg(broker) or BrokerConfig()
        trades: tuple[TradeExecuted | TradeRejected, ...] = self._ask(
            ExecuteOrders(orders_arg(orders), prices_checked, config)
        )
        return trades

    def portfolios(self) -> dict[str, Portfolio]:
        """Return each live agent's ledger cash and positions, by id."""
        result: dict[str, Portfolio] = self._ask(Portfolios())
        return result

    def run_evolution_cycle(
        self,
        policy: EvolutionPolicy,
        *,
        metrics: Mapping[str, AgentMetrics] | None = None,
        marks: Mapping[str, Decimal] | None = None,
        seed: int | None = None,
        broker: BrokerConfig | None = None,
    ) -> CycleReport:
        """Kill, graduate, breed and reallocate as one serialized step, under ``policy``.

        Args:
            policy: The rules.
            metrics: Fitness inputs per agent; by default the agents' own, gathered here first.
            marks: Prices at which killed agents' positions are sold; without, they are written off.
            seed: Seeds the cycle's tournaments and mutations; by default the arena's rng.
            broker: Fees and slippage of the liquidation sales.

        Raises:
            ValidationError: a metric is not finite, or ``marks`` misses a symbol a killed agent holds.
            EvolutionError: a parent's genome cannot be bred.

        """
        checked = policy_arg(policy)
        given = metrics_arg(metrics)
        pairs = tuple(given) if given is not None else tuple(self.agent_metrics().items())
        command = RunEvolutionCycle(
            checked,
            pairs,
            marks_arg(marks),
            int_arg(seed, "seed", optional=True),
            broker_arg(broker),
        )
        report: CycleReport = self._ask(command, timeout=FLUSH_TIMEOUT)
        return report

    def set_time(self, moment: datetime) -> None:
        """Move the arena's ``SimClock`` to ``moment`` (never backwards)."""
        self._ask(SetTime(moment))
