"""The trading floor: the driver's side of an arena, where agents are asked for orders and orders fill.

A simulation driver (``run_simulation``, or a host engine embedding the arena) steps the agents through
market data with these calls: move simulated time, read every agent's ledger account, ask each agent's
actor for its orders, fill the orders against the ledger, read the agents' metrics. They are one concept
apart from the arena's management API (agents, capital, evolution, the log), and the same facade rules
hold: arguments checked in the caller's thread, one command per call, errors raised in the caller's
thread. Get one from ``Arena.floor``.

Crash boundaries: ``with floor.atomic():`` makes the events of every command in its body durable together
or not at all (``actors/_backlog.py``), so a driver that wraps each step can be killed at any moment and
its log still ends at a step's end. The block ends only when the body returns normally. On an exception
it stays open, and ``close()`` discards it: the body stopped half way, so its events are a partial step
that no driver could continue from, and ending the block would make exactly that durable; sending
anything more to an arena that may be dead or stuck (the exception may be its timeout, or a
``KeyboardInterrupt``) would only delay the close. The discarded block's events are in the live state,
which the log then lacks, so the arena is closed for good and is reopened from its store.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from events import ValidationError
from trading import BrokerConfig

from ._checks import agent_id_arg, bars_arg, broker_arg, marks_arg, orders_arg, reason_arg
from ._messages import (
    AgentRefs,
    BeginAtomic,
    CloseStep,
    EndAtomic,
    ExecuteOrders,
    GetEventCounts,
    GetTime,
    OpenStep,
    Portfolios,
    RecordMarks,
    ReportStuck,
    SetTime,
    StartRun,
    StepAgents,
)
from ._step import StepCollector
from ._timeouts import ASK_TIMEOUT, FLUSH_TIMEOUT, STEP_TIMEOUT

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence
    from datetime import datetime
    from decimal import Decimal

    import pykka
    from pydantic import JsonValue

    from events import SimulationStarted, TradeExecuted, TradeRejected
    from trading import AgentMetrics, Bar, Order, Portfolio

    from ._client import ArenaClient
    from ._step import StepAnswers

__all__ = ["TradingFloor"]


class TradingFloor:
    """The calls a driver steps an arena's agents with; safe from any thread. See the module docstring."""

    def __init__(self, client: ArenaClient) -> None:
        """Share the arena's client; get one from ``Arena.floor`` instead."""
        self._client = client
        self.pending: tuple[tuple[str, Order], ...] | None = None
        """The orders a driver's last step placed, waiting for the next step's opens; kept here between
        two runs of the driver on one open arena. None until a driver stepped since the arena was
        opened: a reopened arena's strategies and pending orders are rebuilt by ``rehearse``."""
        self.memo: object | None = None
        """What a driver's last run on this open arena learnt from the log (its manifest, where it
        stopped), so the next run on it need not read the log again; the driver's own business."""

    def now(self) -> datetime:
        """Return the arena clock's time: where simulated time stands."""
        moment: datetime = self._client.ask(GetTime())
        return moment

    def event_counts(self) -> dict[str, int]:
        """Return how many events of each type the arena emitted since it was opened."""
        counts: dict[str, int] = self._client.ask(GetEventCounts())
        return counts

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """Make every event emitted in the body durable together, in one transaction, or not at all.

        Ends the block only when the body returns; on an exception the block stays open and ``close()``
        discards it (see the module docstring for why). Meanwhile ``flush()`` makes durable what came
        before the block. Any caller's commands during the block belong to it: the block is the arena's.

        Raises:
            ArenaError: a block is open already (blocks do not nest), or the arena refused the command.

        """
        self.begin_atomic()
        yield
        self.end_atomic()

    def begin_atomic(self) -> None:
        """Open an atomic block: ``atomic()`` without the ``with``, for a block that spans code regions.

        Raises:
            ArenaError: a block is open already: blocks do not nest.

        """
        self._client.ask(BeginAtomic(), timeout=ASK_TIMEOUT)

    def end_atomic(self) -> None:
        """End the open atomic block: its events go to the writer as one transaction.

        Waits up to ``FLUSH_TIMEOUT``: a large block may meet back-pressure as it is handed over.

        Raises:
            ArenaError: no block is open.

        """
        self._client.ask(EndAtomic(), timeout=FLUSH_TIMEOUT)

    def agent_metrics(self, *, lifetime: bool = False) -> dict[str, AgentMetrics]:
        """Return every live agent's metrics from the arena's performance book (the ledger's own evidence).

        By default each agent's current stint in its tier (what evolution judges); with ``lifetime``,
        everything since it was spawned.
        """
        return self._client.gather_metrics(lifetime=lifetime)

    def start_run(self, manifest: Mapping[str, JsonValue]) -> SimulationStarted:
        """Record a simulation run's manifest as ``SimulationStarted`` (the driver does, once per run)."""
        started: SimulationStarted = self._client.ask(StartRun(tuple(manifest.items())))
        return started

    def agent_refs(self) -> dict[str, pykka.ActorRef[Any]]:
        """Return the actor of each live agent, by id, for a driver that messages agents itself."""
        refs: dict[str, pykka.ActorRef[Any]] = self._client.ask(AgentRefs())
        return refs

    def open_step(self, moment: datetime) -> None:
        """Move simulated time to ``moment`` and open the step's atomic block: one command for both.

        Raises:
            ArenaError: a block is open already; nothing changed (the clock did not move).
            ValidationError: ``moment`` is naive or before the clock's time; nothing changed.

        """
        self._client.ask(OpenStep(moment), timeout=ASK_TIMEOUT)

    def step_agents(self, bars: Sequence[Bar], *, timeout: float = STEP_TIMEOUT) -> StepAnswers:
        """Tell every live agent ``bars`` with its ledger portfolio; wait up to ``timeout`` s for all answers.

        One supervisor command tells them all (no round trip per agent); the answers come back as
        messages and are returned in canonical order (agent id, then the agent's own order), so what
        follows does not depend on which agent answered first. Agents that had not answered by then
        are in ``StepAnswers.stuck``: report them (``report_stuck``) for the failure policy to apply.

        Raises:
            ValidationError: ``bars`` holds something that is not a ``Bar``; no agent was told.
            ArenaError: an agent's actor let an error escape its handler (a runtime bug).

        """
        checked = bars_arg(bars)
        collector = StepCollector()
        self._client.ask(StepAgents(checked, collector), timeout=ASK_TIMEOUT)
        return collector.wait(timeout)

    def close_step(self, marks: Mapping[str, Decimal]) -> None:
        """Record the step's closes as marks and end its atomic block: ``record_marks`` + ``end_atomic``.

        Raises:
            ValidationError: ``marks`` is empty or a price is not an exact positive amount; nothing changed.
            ArenaError: no block is open; nothing changed.

        """
        checked = marks_arg(marks)
        if not checked:
            raise _no_marks(marks)
        self._client.ask(CloseStep(checked), timeout=FLUSH_TIMEOUT)

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
        trades: tuple[TradeExecuted | TradeRejected, ...] = self._client.ask(
            ExecuteOrders(orders_arg(orders), prices_checked, config)
        )
        return trades

    def portfolios(self) -> dict[str, Portfolio]:
        """Return each live agent's ledger cash and positions, by id."""
        result: dict[str, Portfolio] = self._client.ask(Portfolios())
        return result

    def record_marks(self, marks: Mapping[str, Decimal]) -> None:
        """Record the prices holdings are valued at from now on (one ``MarksRecorded``).

        A driver records every symbol's close once per step, so NAV, unrealized P&L and each agent's
        equity at any seq follow from the log alone, and a kill can always sell what the agent holds.

        Raises:
            ValidationError: ``marks`` is empty or a price is not an exact positive amount.

        """
        checked = marks_arg(marks)
        if not checked:
            raise _no_marks(marks)
        self._client.ask(RecordMarks(checked))

    def report_stuck(self, agent_id: str, problem: str) -> None:
        """Report that ``agent_id`` did not answer a step in time: it failed, and its policy applies.

        Its actor is stuck in its strategy and cannot be stopped, so it is abandoned (a daemon thread);
        under the ``kill`` policy the agent is killed and its holdings sold, as for any failure.

        Raises:
            UnknownAgentError: no such agent.

        """
        self._client.ask(ReportStuck(agent_id_arg(agent_id), reason_arg(problem)))

    def set_time(self, moment: datetime) -> None:
        """Move the arena's ``SimClock`` to ``moment`` (never backwards)."""
        self._client.ask(SetTime(moment))


def _no_marks(marks: object) -> ValidationError:
    msg = f"marks: {marks!r} names no symbol; pass {{symbol: Decimal price}} with at least one price"
    return ValidationError(msg, field="marks", value=marks)
