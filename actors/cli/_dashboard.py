"""``arena dashboard DB``: a live page of a running or finished arena, served by a Bokeh server.

Why Bokeh: it is made for live plotting from Python (``ColumnDataSource.stream`` appends points to a
chart already in the browser, over the server's websocket), it is already the report extra's library
(``arena report --html``), and its server serves BokehJS itself from ``/static`` (the server's own
resources, never a CDN), so the page works offline.

Reading. Each browser session opens the store read-only (no writer lock: under WAL it reads while
``arena simulate`` writes from another process, and never blocks it), folds the log once, then once a
second reads only the events after the last seq it saw and folds them into the same running ``Tracker``
(never the whole log again). The tracker follows ``trading.performance`` rule for rule, so its figures
at any seq are the report's at that seq (``tests/test_dashboard.py`` checks it on logs fed in pieces).

Binding. ``127.0.0.1`` by default; another ``--host`` exposes an unauthenticated page to the network,
so it is an explicit choice and printed with a warning.
"""

from __future__ import annotations

import sys
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from events import (
    ZERO,
    AgentDemoted,
    AgentGraduated,
    AgentKilled,
    AgentSpawned,
    ArenaError,
    CapitalAllocated,
    CapitalReleased,
    EvolutionCycleComplete,
    Fold,
    MarksRecorded,
    Tier,
    equity,
    format_timestamp,
    nav,
)
from store import SQLiteEventStore
from trading import buy_and_hold_curve

from ._format import amount

if TYPE_CHECKING:
    import argparse
    from collections.abc import Iterable

    from events import Event

__all__ = ["DECISIONS_SHOWN", "LOCALHOST", "Point", "Row", "Tracker", "dashboard", "figures_text"]

LOCALHOST: Final = "127.0.0.1"
DECISIONS_SHOWN: Final = 20
"""The latest kills, promotions and demotions the page lists."""
_TICK_MS: Final = 1000
_ROWS_SHOWN: Final = 50
_INSTALL: Final = "pip install 'arena-runtime[report]'"


@dataclass(frozen=True, slots=True)
class Row:
    """One live agent's line on the leaderboard, figured as ``trading.AgentPerformance`` figures it."""

    agent_id: str
    tier: Tier
    equity: Decimal
    pnl: Decimal
    total_return: Decimal
    max_drawdown: Decimal
    trades: int


@dataclass(slots=True)
class _Curve:
    allocated: Decimal = ZERO
    released: Decimal = ZERO
    peak: Decimal = ZERO
    drawdown: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class Point:
    """The arena at one ``MarksRecorded``: what the NAV and tier charts draw."""

    seq: int
    time_ms: float
    nav: Decimal
    capital_at_cost: Decimal
    buy_and_hold: Decimal
    by_tier: dict[Tier, Decimal]


@dataclass(slots=True)
class Tracker:
    """The log folded so far, fed in pieces: the running state of one dashboard session.

    ``feed`` takes the next events (in seq order, continuing where the last piece ended) and returns the
    chart points they add; every figure is then the one ``trading.performance`` gives at ``seq``.
    """

    fold: Fold = field(default_factory=Fold)
    counts: Counter[str] = field(default_factory=Counter)
    decisions: deque[tuple[int, str, str, str, str]] = field(
        default_factory=lambda: deque(maxlen=DECISIONS_SHOWN)
    )
    """``(seq, time, kind, agent, reason)`` of the latest kills, promotions and demotions."""
    cycles: list[tuple[int, int, int, int, int]] = field(default_factory=list)
    """``(cycle, killed, graduated, mutated, reallocated)`` of each completed evolution cycle."""
    _curves: dict[str, _Curve] = field(default_factory=dict)
    _first_marks: dict[str, Decimal] = field(default_factory=dict)

    @property
    def seq(self) -> int:
        """Seq of the last event folded (0 before any)."""
        return self.fold.seq

    def feed(self, events: Iterable[Event]) -> list[Point]:
        """Fold ``events`` (the log's next ones) and return a point per ``MarksRecorded`` among them."""
        points = []
        for event in events:
            self.fold.apply(event)
            self.counts[event.event_type] += 1
            self._observe(event)
            if isinstance(event, MarksRecorded):
                points.append(self._point(event))
        return points

    def _observe(self, event: Event) -> None:  # noqa: C901  (one case per event type, as in performance)
        match event:
            case AgentSpawned(agent_id=agent_id):
                self._curves[agent_id] = _Curve()
            case AgentKilled(agent_id=agent_id, reason=reason):
                del self._curves[agent_id]
                self._decide(event, "killed", agent_id, reason)
            case AgentGraduated(agent_id=agent_id, reason=reason, to_tier=tier):
                self._decide(event, f"promoted to {tier}", agent_id, reason)
            case AgentDemoted(agent_id=agent_id, reason=reason, to_tier=tier):
                self._decide(event, f"demoted to {tier}", agent_id, reason)
            case CapitalAllocated(agent_id=agent_id, amount=money):
                self._curves[agent_id].allocated += money
            case CapitalReleased(agent_id=agent_id, amount=money) if agent_id in self._curves:
                self._curves[agent_id].released += money
            case EvolutionCycleComplete():
                self.cycles.append(
                    (event.cycle, event.killed, event.graduated, event.mutated, event.reallocated)
                )
            case MarksRecorded(marks=marks):
                for symbol, price in marks.items():
                    self._first_marks.setdefault(symbol, price)
                for agent_id, curve in self._curves.items():
                    agent = self.fold.agents[agent_id]
                    pnl = equity(agent, self.fold.marks) - (curve.allocated - curve.released)
                    curve.peak = max(curve.peak, pnl)
                    curve.drawdown = max(curve.drawdown, curve.peak - pnl)
            case _:
                pass

    def _decide(self, event: Event, kind: str, agent_id: str, reason: str) -> None:
        self.decisions.appendleft((event.seq, format_timestamp(event.timestamp), kind, agent_id, reason))

    def _point(self, event: MarksRecorded) -> Point:
        by_tier = dict.fromkeys(Tier, ZERO)
        for agent_id in self._curves:
            agent = self.fold.agents[agent_id]
            by_tier[agent.tier] += agent.capital_at_cost
        return Point(
            seq=event.seq,
            time_ms=event.timestamp.timestamp() * 1000,
            nav=self.nav(),
            capital_at_cost=self.fold.total_capital,
            buy_and_hold=self.buy_and_hold(),
            by_tier=by_tier,
        )

    def nav(self) -> Decimal:
        """NAV at the latest marks, as ``performance`` values it."""
        live = [self.fold.agents[agent_id] for agent_id in self._curves]
        return nav(self.fold.treasury, live, self.fold.marks)

    def capital_at_cost(self) -> Decimal:
        """Return the treasury, cash and holdings at cost: ``funding + realized - fees``."""
        return self.fold.total_capital

    def buy_and_hold(self) -> Decimal:
        """Return the equal-weight buy-and-hold of the funding (every symbol marked so far) at the marks."""
        return buy_and_hold_curve(self.fold.funding, [self._first_marks, self.fold.marks])[-1]

    def rows(self) -> list[Row]:
        """Every live agent, by equity (highest first), ties by id: the leaderboard."""
        rows = []
        for agent_id, curve in self._curves.items():
            agent = self.fold.agents[agent_id]
            worth = equity(agent, self.fold.marks)
            pnl = worth - (curve.allocated - curve.released)
            ratio = (pnl / curve.allocated).quantize(Decimal("0.00000001")) if curve.allocated else ZERO
            rows.append(Row(agent_id, agent.tier, worth, pnl, ratio, curve.drawdown, agent.trades))
        return sorted(rows, key=lambda row: (-row.equity, row.agent_id))


def figures_text(tracker: Tracker) -> str:
    """Return the head's figures in the words a reader (or a test) compares with ``arena report``'s."""
    return (
        f"seq {tracker.seq} | events {sum(tracker.counts.values())} | nav {amount(tracker.nav())} | "
        f"capital at cost {amount(tracker.capital_at_cost())} | buy and hold {amount(tracker.buy_and_hold())}"
    )


def dashboard(args: argparse.Namespace) -> int:
    """Serve the live page for the store at ``args.path`` until interrupted (Ctrl-C).

    Raises:
        StoreError: the file is not a readable store (checked before the server starts).
        ArenaError: bokeh is not installed.

    """
    try:
        from bokeh.application import Application  # noqa: PLC0415  (the optional extra)
        from bokeh.application.handlers.function import FunctionHandler  # noqa: PLC0415
        from bokeh.server.server import Server  # noqa: PLC0415
    except ImportError:
        msg = f"dashboard: it needs bokeh, which is not installed; install the report extra: {_INSTALL}"
        raise ArenaError(msg) from None
    with SQLiteEventStore.open(args.path, readonly=True):
        pass  # a foreign or missing file fails here, on the command line, not in a browser session
    path = args.path
    origins = [f"{args.host}:{args.port}"] if args.port else None
    server = Server(
        {"/": Application(FunctionHandler(lambda doc: _session(doc, path)))},
        address=args.host,
        port=args.port,
        allow_websocket_origin=origins,
    )
    if not args.port:  # port 0: the free port the server bound, which the page's websocket must accept
        server._tornado._websocket_origins.add(f"{args.host}:{server.port}")  # noqa: SLF001
        server._tornado._websocket_origins.add(f"localhost:{server.port}")  # noqa: SLF001
    server.start()
    if args.host != LOCALHOST:
        sys.stderr.write(
            f"arena: warning: --host {args.host}: the dashboard is reachable from other machines, with no "
            "authentication; use the default 127.0.0.1 to keep it on this one\n"
        )
    sys.stdout.write(f"dashboard of {path} at http://{args.host}:{server.port}/ (Ctrl-C to stop)\n")
    sys.stdout.flush()
    try:
        server.io_loop.start()
    finally:
        server.stop()
        server.io_loop.close()
    return 0


def _session(doc: Any, path: str) -> None:  # noqa: ANN401, PLR0915  (bokeh's Document is untyped; one layout)
    """Build one browser session's page and its once-a-second read of the new events."""
    from bokeh.layouts import column, row  # noqa: PLC0415
    from bokeh.models import ColumnDataSource  # noqa: PLC0415
    from bokeh.models.widgets import DataTable, Div, TableColumn  # noqa: PLC0415
    from bokeh.plotting import figure  # noqa: PLC0415

    store = SQLiteEventStore.open(path, readonly=True)
    tracker = Tracker()
    tiers = [str(tier) for tier in Tier]
    nav_source = ColumnDataSource({"t": [], "nav": [], "cost": [], "bh": [], "seq": []}, name="nav-source")
    tier_source = ColumnDataSource({"t": [], **{tier: [] for tier in tiers}}, name="tier-source")
    board = ColumnDataSource(
        {"agent": [], "tier": [], "equity": [], "pnl": [], "ret": [], "dd": [], "trades": []}
    )
    kinds = ColumnDataSource({"type": [], "count": []})
    decided = ColumnDataSource({"seq": [], "time": [], "kind": [], "agent": [], "reason": []})
    cycles = ColumnDataSource({"cycle": [], "killed": [], "graduated": [], "mutated": [], "reallocated": []})
    figures = Div(text="reading the log...", name="figures", styles={"font-family": "monospace"})
    rate = Div(text="", name="rate")

    nav_fig = figure(
        title="NAV and capital at cost vs buy-and-hold",
        x_axis_type="datetime",
        height=300,
        width=900,
        name="nav",
    )
    nav_fig.line("t", "nav", source=nav_source, legend_label="NAV", color="#1f77b4")
    nav_fig.line("t", "cost", source=nav_source, legend_label="capital at cost", color="#2ca02c")
    nav_fig.line(
        "t", "bh", source=nav_source, legend_label="buy and hold", color="#7f7f7f", line_dash="dashed"
    )
    nav_fig.legend.location = "top_left"
    tier_fig = figure(title="Capital at cost by tier", x_axis_type="datetime", height=250, width=900)
    tier_fig.varea_stack(
        stackers=tiers,
        x="t",
        source=tier_source,
        color=["#1f77b4", "#ff7f0e", "#2ca02c"][: len(tiers)],
        legend_label=tiers,
    )
    tier_fig.legend.location = "top_left"

    def table(source: Any, columns: list[tuple[str, str]], height: int = 250) -> Any:  # noqa: ANN401
        return DataTable(
            source=source,
            columns=[TableColumn(field=f, title=t) for f, t in columns],
            width=900,
            height=height,
        )

    doc.add_root(
        column(
            Div(text=f"<h2>arena dashboard: {path}</h2>"),
            figures,
            rate,
            nav_fig,
            tier_fig,
            Div(text="<h3>Leaderboard</h3>"),
            table(
                board,
                [
                    ("agent", "agent"),
                    ("tier", "tier"),
                    ("equity", "equity"),
                    ("pnl", "P&L"),
                    ("ret", "return"),
                    ("dd", "drawdown"),
                    ("trades", "trades"),
                ],
                400,
            ),
            Div(text="<h3>Latest kills, promotions and demotions</h3>"),
            table(
                decided,
                [
                    ("seq", "seq"),
                    ("time", "time"),
                    ("kind", "decision"),
                    ("agent", "agent"),
                    ("reason", "reason"),
                ],
            ),
            row(
                column(
                    Div(text="<h3>Evolution cycles</h3>"),
                    table(
                        cycles,
                        [
                            ("cycle", "cycle"),
                            ("killed", "killed"),
                            ("graduated", "promoted"),
                            ("mutated", "bred"),
                            ("reallocated", "reallocations"),
                        ],
                    ),
                ),
                column(
                    Div(text="<h3>Events by type</h3>"), table(kinds, [("type", "type"), ("count", "count")])
                ),
            ),
        )
    )
    clock = {"at": time.monotonic(), "events": 0}

    def tick() -> None:
        reader = store.read(from_seq=tracker.seq + 1)
        try:
            points = tracker.feed(reader)
        finally:
            reader.close()
        if points:
            nav_source.stream(
                {
                    "t": [p.time_ms for p in points],
                    "nav": [float(p.nav) for p in points],
                    "cost": [float(p.capital_at_cost) for p in points],
                    "bh": [float(p.buy_and_hold) for p in points],
                    "seq": [p.seq for p in points],
                }
            )
            tier_source.stream(
                {
                    "t": [p.time_ms for p in points],
                    **{str(tier): [float(p.by_tier[tier]) for p in points] for tier in Tier},
                }
            )
        now, total = time.monotonic(), sum(tracker.counts.values())
        per_second = (total - clock["events"]) / max(now - clock["at"], 1e-9)
        clock["at"], clock["events"] = now, total
        rate.text = f"events/s: {per_second:,.0f}"
        text = figures_text(tracker)
        if figures.text == text:
            return
        figures.text = text
        rows = tracker.rows()[:_ROWS_SHOWN]
        board.data = {
            "agent": [r.agent_id for r in rows],
            "tier": [str(r.tier) for r in rows],
            "equity": [amount(r.equity) for r in rows],
            "pnl": [amount(r.pnl) for r in rows],
            "ret": [f"{r.total_return * 100:.2f}%" for r in rows],
            "dd": [amount(r.max_drawdown) for r in rows],
            "trades": [r.trades for r in rows],
        }
        ordered = sorted(tracker.counts.items(), key=lambda item: (-item[1], item[0]))
        kinds.data = {"type": [k for k, _ in ordered], "count": [n for _, n in ordered]}
        latest = list(tracker.decisions)
        decided.data = {
            key: [d[i] for d in latest] for i, key in enumerate(("seq", "time", "kind", "agent", "reason"))
        }
        done = tracker.cycles
        cycles.data = {
            key: [c[i] for c in done]
            for i, key in enumerate(("cycle", "killed", "graduated", "mutated", "reallocated"))
        }

    tick()
    doc.add_periodic_callback(tick, _TICK_MS)
    doc.on_session_destroyed(lambda _context: store.close())
