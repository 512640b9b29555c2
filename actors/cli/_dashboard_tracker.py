"""The dashboard's ``Tracker``: the log folded so far, fed in pieces, for one browser session.

One rule for value. The tracker holds a ``trading.RunningPerformance``, the very fold ``arena report``
runs (``trading.performance`` is that fold applied to the whole log), so NAV, capital at cost, the
buy-and-hold and every leaderboard row at any seq are the report's at that seq by construction, not by a
second copy of the rules kept in step. What the tracker adds is only what a page shows and a report does
not: counts by type, the latest decisions, the cycles, and, for an agent page, one agent's equity at
each mark (``events.equity``, the ledger's valuation), its fills, its tier moves and its lineage (the
ancestors' last judged fitness through ``arena lineage``'s own ``record_life``).

Cost per event: the fold's, plus O(live agents) at each ``MarksRecorded`` (the report's P&L curves);
``rows()`` builds a report, O(agents), once per seq asked.
"""

from __future__ import annotations

import json
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from events import (
    ZERO,
    AgentDemoted,
    AgentGraduated,
    AgentKilled,
    AgentSpawned,
    EvolutionCycleComplete,
    MarksRecorded,
    Tier,
    TradeExecuted,
    equity,
    format_timestamp,
)
from trading import RunningPerformance

from ._format import amount
from ._inspect import Life, ancestors, judged_fitness, record_life

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from decimal import Decimal

    from events import AgentEntry, Event
    from trading import AgentPerformance, PerformanceReport

__all__ = ["DECISIONS_SHOWN", "Ancestor", "Fill", "Move", "Point", "Tracker", "figures_text"]

DECISIONS_SHOWN: Final = 20
"""The latest kills, promotions and demotions the page lists."""


@dataclass(frozen=True, slots=True)
class Point:
    """The arena at one ``MarksRecorded``: what the NAV, tier and agent equity charts draw."""

    seq: int
    time_ms: float
    nav: Decimal
    capital_at_cost: Decimal
    buy_and_hold: Decimal
    by_tier: dict[Tier, Decimal]
    """Capital at cost of the live agents of each tier (``actors.breakdown_of``'s ``by_tier``)."""
    agent_equity: Decimal | None = None
    """The followed agent's equity at these marks while it lives (as ``actors.frames``' ``equity`` rows);
    None without one, before its spawn and after its kill."""


@dataclass(frozen=True, slots=True)
class Fill:
    """One fill of the followed agent, as its ``TradeExecuted`` records it."""

    seq: int
    time: str
    side: str
    symbol: str
    quantity: Decimal
    price: Decimal
    fee: Decimal
    realized_pnl: Decimal


@dataclass(frozen=True, slots=True)
class Move:
    """One step of the followed agent's tier history: its spawn, a promotion or demotion, its kill."""

    seq: int
    time: str
    change: str
    reason: str
    evidence: str
    """The decision's evidence as compact JSON (empty for a spawn)."""


@dataclass(frozen=True, slots=True)
class Ancestor:
    """One agent of the followed agent's line (itself first), with its fitness at its last judgement."""

    agent_id: str
    generation: int
    tier: Tier
    alive: bool
    fitness: str


@dataclass(slots=True)
class Tracker:
    """The log folded so far, fed in pieces: the running state of one dashboard session.

    ``feed`` takes the next events (in seq order, continuing where the last piece ended) and returns the
    chart points they add; every figure is then the one ``trading.performance`` gives at ``seq``. With
    ``agent_id`` it also follows that agent (its equity in each point, ``fills``, ``moves``, ``lineage``).
    """

    agent_id: str | None = None
    running: RunningPerformance = field(default_factory=RunningPerformance)
    counts: Counter[str] = field(default_factory=Counter)
    decisions: deque[tuple[int, str, str, str, str]] = field(
        default_factory=lambda: deque(maxlen=DECISIONS_SHOWN)
    )
    """``(seq, time, kind, agent, reason)`` of the latest kills, promotions and demotions, newest first."""
    cycles: list[tuple[int, int, int, int, int]] = field(default_factory=list)
    """``(cycle, killed, graduated, mutated, reallocated)`` of each completed evolution cycle."""
    fills: list[Fill] = field(default_factory=list)
    """The followed agent's fills, in seq order."""
    moves: list[Move] = field(default_factory=list)
    """The followed agent's tier history, in seq order."""
    _lives: dict[str, Life] = field(default_factory=dict)
    _report: PerformanceReport | None = None

    @property
    def seq(self) -> int:
        """Seq of the last event folded (0 before any)."""
        return self.running.seq

    def feed(self, events: Iterable[Event]) -> list[Point]:
        """Fold ``events`` (the log's next ones) and return a point per ``MarksRecorded`` among them."""
        points = []
        for event in events:
            self.running.apply(event)
            self._report = None
            self.counts[event.event_type] += 1
            self._observe(event)
            if self.agent_id is not None:
                self._follow(event)
            if isinstance(event, MarksRecorded):
                points.append(self._point(event))
        return points

    def _observe(self, event: Event) -> None:
        match event:
            case AgentKilled(agent_id=agent_id, reason=reason):
                self._decide(event, "killed", agent_id, reason)
            case AgentGraduated(agent_id=agent_id, reason=reason, to_tier=tier):
                self._decide(event, f"promoted to {tier}", agent_id, reason)
            case AgentDemoted(agent_id=agent_id, reason=reason, to_tier=tier):
                self._decide(event, f"demoted to {tier}", agent_id, reason)
            case EvolutionCycleComplete():
                self.cycles.append(
                    (event.cycle, event.killed, event.graduated, event.mutated, event.reallocated)
                )
            case _:
                pass

    def _decide(self, event: Event, kind: str, agent_id: str, reason: str) -> None:
        self.decisions.appendleft((event.seq, format_timestamp(event.timestamp), kind, agent_id, reason))

    def _follow(self, event: Event) -> None:
        """Keep every agent's life (a future ancestor's judgement is needed later) and the agent's own."""
        agent_id = getattr(event, "agent_id", None)
        if isinstance(event, AgentSpawned | AgentGraduated | AgentDemoted | AgentKilled):
            record_life(self._lives.setdefault(event.agent_id, Life()), event)
        if agent_id != self.agent_id:
            return
        when = format_timestamp(event.timestamp)
        match event:
            case TradeExecuted():
                self.fills.append(
                    Fill(
                        event.seq,
                        when,
                        event.side,
                        event.symbol,
                        event.quantity,
                        event.price,
                        event.fee,
                        event.realized_pnl,
                    )
                )
            case AgentSpawned(tier=tier, parent_id=parent):
                reason = "first generation" if parent is None else f"bred from {parent}"
                self.moves.append(Move(event.seq, when, f"spawned in {tier}", reason, ""))
            case AgentGraduated() | AgentDemoted():
                change = f"{event.from_tier} -> {event.to_tier}"
                self.moves.append(Move(event.seq, when, change, event.reason, _evidence(event.evidence)))
            case AgentKilled():
                self.moves.append(Move(event.seq, when, "killed", event.reason, _evidence(event.evidence)))
            case _:
                pass

    def _point(self, event: MarksRecorded) -> Point:
        fold = self.running.fold
        by_tier = dict.fromkeys(Tier, ZERO)
        for agent in self.running.live_agents():
            by_tier[agent.tier] += agent.capital_at_cost
        followed = self.agent()
        return Point(
            seq=event.seq,
            time_ms=event.timestamp.timestamp() * 1000,
            nav=self.nav(),
            capital_at_cost=fold.total_capital,
            buy_and_hold=self.buy_and_hold(),
            by_tier=by_tier,
            agent_equity=equity(followed, fold.marks) if followed is not None and followed.alive else None,
        )

    def nav(self) -> Decimal:
        """Return NAV at the latest marks: the report's, by the report's own rule."""
        return self.running.nav()

    def capital_at_cost(self) -> Decimal:
        """Return the treasury, cash and holdings at cost: ``funding + realized - fees``."""
        return self.running.fold.total_capital

    def buy_and_hold(self) -> Decimal:
        """Return the equal-weight buy-and-hold of the funding at the latest marks: the report's."""
        return self.running.buy_and_hold()

    def report(self) -> PerformanceReport:
        """Return ``trading.performance`` of the log folded so far (built once per seq)."""
        if self._report is None:
            self._report = self.running.report()
        return self._report

    def rows(self) -> tuple[AgentPerformance, ...]:
        """Every live agent, by equity (highest first), ties by id: the leaderboard, the report's rows."""
        return self.report().agents

    def agent(self) -> AgentEntry | None:
        """Return the followed agent's books, or None (no agent followed, or no such agent yet)."""
        return None if self.agent_id is None else self.running.fold.agents.get(self.agent_id)

    def lineage(self) -> list[Ancestor]:
        """Return the followed agent and its ancestors to the first generation (empty if it is unknown)."""
        if self.agent() is None or self.agent_id is None:
            return []
        return [
            Ancestor(
                record.agent_id,
                record.generation,
                record.tier,
                record.alive,
                judged_fitness(self._lives.get(record.agent_id, Life())),
            )
            for record in ancestors(self.running.fold.agents, self.agent_id)
        ]


def figures_text(tracker: Tracker) -> str:
    """Return the head's figures in the words a reader (or a test) compares with ``arena report``'s."""
    return (
        f"seq {tracker.seq} | events {sum(tracker.counts.values())} | nav {amount(tracker.nav())} | "
        f"capital at cost {amount(tracker.capital_at_cost())} | buy and hold {amount(tracker.buy_and_hold())}"
    )


def _evidence(evidence: Mapping[str, object]) -> str:
    return json.dumps(evidence, separators=(", ", ": "), sort_keys=False, default=str)
