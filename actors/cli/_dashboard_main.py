"""The dashboard's main page: the whole arena, following the log as it grows.

NAV and capital at cost against the buy-and-hold, capital by tier, events per second and by type, the
leaderboard, the latest kills, promotions and demotions with their reasons, the evolution cycles. Every
agent id is a link to its page (``_dashboard_agent.py``). Curves grow by ``stream`` (only the new points
cross the websocket); the tables are small and are replaced whole, once a second at most, only when the
log moved.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any, Final

from events import Tier

from ._dashboard_tracker import Tracker, figures_text
from ._dashboard_widgets import WIDTH, follow, table
from ._format import amount

if TYPE_CHECKING:
    from ._dashboard_tracker import Point

__all__ = ["ROWS_SHOWN", "main_page"]

ROWS_SHOWN: Final = 50
"""Leaderboard rows on the page: the live agents with the highest equity."""
_TIER_COLORS: Final = ("#1f77b4", "#ff7f0e", "#2ca02c")


def main_page(doc: Any, path: str) -> None:  # noqa: ANN401  (bokeh's Document is untyped)
    """Build the main page of the store at ``path`` into ``doc`` and keep it current."""
    from bokeh.layouts import column, row  # noqa: PLC0415
    from bokeh.models import ColumnDataSource  # noqa: PLC0415
    from bokeh.models.widgets import Div  # noqa: PLC0415
    from bokeh.plotting import figure  # noqa: PLC0415

    tracker = Tracker()
    tiers = [str(tier) for tier in Tier]
    nav_source = ColumnDataSource({"t": [], "nav": [], "cost": [], "bh": [], "seq": []}, name="nav-source")
    tier_source = ColumnDataSource({"t": [], **{tier: [] for tier in tiers}}, name="tier-source")
    board = ColumnDataSource(
        {"agent": [], "tier": [], "equity": [], "pnl": [], "ret": [], "dd": [], "trades": []},
        name="board-source",
    )
    kinds = ColumnDataSource({"type": [], "count": []})
    decided = ColumnDataSource(
        {"seq": [], "time": [], "kind": [], "agent": [], "reason": []}, name="decisions-source"
    )
    cycles = ColumnDataSource({"cycle": [], "killed": [], "graduated": [], "mutated": [], "reallocated": []})
    figures = Div(text="reading the log...", name="figures", styles={"font-family": "monospace"})
    rate = Div(text="", name="rate")

    nav_fig = figure(
        title="NAV and capital at cost vs buy-and-hold",
        x_axis_type="datetime",
        height=300,
        width=WIDTH,
        name="nav",
    )
    nav_fig.line("t", "nav", source=nav_source, legend_label="NAV", color="#1f77b4", line_width=2)
    nav_fig.line("t", "cost", source=nav_source, legend_label="capital at cost", color="#2ca02c")
    nav_fig.line(
        "t", "bh", source=nav_source, legend_label="buy and hold", color="#7f7f7f", line_dash="dashed"
    )
    nav_fig.legend.location = "top_left"
    tier_fig = figure(title="Capital at cost by tier", x_axis_type="datetime", height=250, width=WIDTH)
    tier_fig.varea_stack(
        stackers=tiers,
        x="t",
        source=tier_source,
        color=list(_TIER_COLORS[: len(tiers)]),
        legend_label=tiers,
    )
    tier_fig.legend.location = "top_left"

    doc.title = f"arena dashboard: {path}"
    doc.add_root(
        column(
            Div(text=f"<h2>arena dashboard: {escape(path)}</h2>"),
            figures,
            rate,
            nav_fig,
            tier_fig,
            Div(text="<h3>Leaderboard</h3><p>Click an agent for its page (<code>/?agent=ID</code>).</p>"),
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
                name="board",
                height=400,
                links=["agent"],
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
                name="decisions",
                links=["agent"],
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
                        name="cycles",
                        width=WIDTH // 2,
                    ),
                ),
                column(
                    Div(text="<h3>Events by type</h3>"),
                    table(kinds, [("type", "type"), ("count", "count")], name="kinds", width=WIDTH // 2),
                ),
            ),
        )
    )

    def show(points: list[Point], per_second: float) -> None:
        if points:
            times = [p.time_ms for p in points]
            nav_source.stream(
                {
                    "t": times,
                    "nav": [float(p.nav) for p in points],
                    "cost": [float(p.capital_at_cost) for p in points],
                    "bh": [float(p.buy_and_hold) for p in points],
                    "seq": [p.seq for p in points],
                }
            )
            tier_source.stream(
                {"t": times, **{str(tier): [float(p.by_tier[tier]) for p in points] for tier in Tier}}
            )
        rate.text = f"events/s: {per_second:,.0f}"
        text = figures_text(tracker)
        if figures.text == text:
            return  # the log did not move: nothing below changed
        figures.text = text
        rows = tracker.rows()[:ROWS_SHOWN]
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

    follow(doc, path, tracker, show)
