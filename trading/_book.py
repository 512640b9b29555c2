"""Every live agent's performance, folded from the ledger's own events: the evidence evolution judges.

Agents used to measure themselves; now the books do. A ``PerformanceBook`` watches each event right after
the shared fold applied it and keeps two ``PerformanceTracker`` per live agent: one for its whole life
and one for its current *stint* (since it entered its current tier), because promotion and demotion
judge what an agent did in the tier it is in, not what it did before. Every input comes from the log:

* equity at each ``MarksRecorded``: the agent's cash plus its holdings at the marks, exactly as the
  ledger values them (``events.equity``), so a judged equity curve is the books' to the digit;
* flows from ``CapitalAllocated``/``CapitalReleased`` (never a return);
* trades from ``TradeExecuted``: a fill of at least ``min_trade_notional`` is evidence and ends an idle
  spell, a dust fill is neither; a sale wins when its cash after fees beats the cost it took out;
* stints restart at ``AgentGraduated`` and ``AgentDemoted``; an agent leaves the book at ``AgentKilled``.

Because it is a function of the log, the same log gives the same metrics in every process, and the
numbers a cycle acted on can be rebuilt by an auditor from the file alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Final

from events import (
    AgentKilled,
    AgentSpawned,
    CapitalAllocated,
    CapitalReleased,
    MarksRecorded,
    TradeExecuted,
    equity,
    money,
)

from ._metrics import PerformanceTracker

if TYPE_CHECKING:
    from datetime import datetime

    from events import Event, Fold

    from ._metrics import AgentMetrics

__all__ = ["MIN_TRADE_NOTIONAL", "PerformanceBook"]

MIN_TRADE_NOTIONAL: Final = Decimal(10)
"""Smallest fill (quantity times price) that counts as evidence and as activity: a few dollars is noise
next to the thousands an agent is allocated, and a $0.02 dust buy must not make an agent look busy."""

_STINT_ENDS = frozenset({"AgentGraduated", "AgentDemoted"})


@dataclass(slots=True)
class _Agent:
    life: PerformanceTracker
    stint: PerformanceTracker | None = None
    """None until the agent first changes tier: until then its stint is its life, fed the very same
    calls, so one tracker serves both (half the book's memory for an agent that never moves)."""

    def trackers(self) -> tuple[PerformanceTracker, ...]:
        return (self.life,) if self.stint is None else (self.life, self.stint)


class PerformanceBook:
    """Metrics of every live agent, kept current by ``observe`` after each event is folded.

    Args:
        min_trade_notional: Fills below it are trades but not evidence (see ``MIN_TRADE_NOTIONAL``).

    Raises:
        ValidationError: ``min_trade_notional`` is not a non-negative ``Decimal``.

    """

    __slots__ = ("_agents", "_floor")

    def __init__(self, *, min_trade_notional: Decimal = MIN_TRADE_NOTIONAL) -> None:
        self._floor = money(min_trade_notional, field="min_trade_notional")
        self._agents: dict[str, _Agent] = {}

    @property
    def min_trade_notional(self) -> Decimal:
        """The evidence floor every tracker of this book counts fills against."""
        return self._floor

    def observe(self, event: Event, state: Fold) -> None:
        """Account for ``event``, which ``state`` has just folded in (so ``state`` is as of the event)."""
        match event:
            case MarksRecorded(timestamp=at):
                self._mark(state, at)
            case CapitalAllocated(agent_id=agent_id, amount=amount):
                for tracker in self._trackers(agent_id):
                    tracker.deposit(amount)
            case CapitalReleased(agent_id=agent_id, amount=amount):
                for tracker in self._trackers(agent_id):
                    tracker.withdraw(amount)
            case TradeExecuted():
                self._trade(event)
            case AgentSpawned(agent_id=agent_id, timestamp=at):
                self._agents[agent_id] = _Agent(life=self._tracker(None, at))
            case AgentKilled(agent_id=agent_id):
                self._agents.pop(agent_id, None)
            case _ if event.event_type in _STINT_ENDS:
                self._restart(getattr(event, "agent_id", None), state, event.timestamp)
            case _:
                pass

    def _mark(self, state: Fold, at: datetime) -> None:
        marks = state.marks
        for agent_id, books in self._agents.items():
            entry = state.agents[agent_id]
            worth = equity(entry, marks)
            held = worth - entry.allocation
            books.life.mark(worth, at=at, holdings=held)
            if books.stint is not None:
                books.stint.mark(worth, at=at, holdings=held)

    def _trade(self, fill: TradeExecuted) -> None:
        for tracker in self._trackers(fill.agent_id):
            tracker.count_trade(fill.notional)
            if fill.side == "sell":
                tracker.close_round_trip(won=fill.cash_delta > fill.cost)

    def _restart(self, agent_id: object, state: Fold, at: datetime) -> None:
        """Begin a new stint at the agent's equity now: it changed tier."""
        books = self._agents.get(agent_id) if isinstance(agent_id, str) else None
        if books is not None:
            books.stint = self._tracker(equity(state.agents[str(agent_id)], state.marks), at)

    def metrics(self) -> dict[str, AgentMetrics]:
        """Metrics of each live agent's current stint (what evolution judges), with its idle spell.

        The idle spell is the agent's, not the stint's: changing tier does not wake an idle agent up.
        """
        result: dict[str, AgentMetrics] = {}
        for agent_id in sorted(self._agents):
            books = self._agents[agent_id]
            if books.stint is None:  # the stint is the life: one tracker, one metrics() call
                result[agent_id] = books.life.metrics()
                continue
            stint, idle = books.stint.metrics(), books.life.metrics().idle_bars
            if stint.idle_bars != idle:
                stint = stint.model_copy(update={"idle_bars": idle})
            result[agent_id] = stint
        return result

    def lifetime(self) -> dict[str, AgentMetrics]:
        """Metrics of each live agent since it was spawned (what a leaderboard shows)."""
        return {agent_id: self._agents[agent_id].life.metrics() for agent_id in sorted(self._agents)}

    def _trackers(self, agent_id: str) -> tuple[PerformanceTracker, ...]:
        books = self._agents.get(agent_id)  # a killed agent winding down is no longer tracked
        return () if books is None else books.trackers()

    def _tracker(self, initial: Decimal | None, at: datetime | None) -> PerformanceTracker:
        return PerformanceTracker(initial, started_at=at, min_trade_notional=self._floor)
