"""The dashboard's agent page, ``/?agent=ID``: one agent, following the log as it grows.

Its equity at every ``MarksRecorded`` (from the ledger: ``events.equity`` of its books at the marks,
while it is on the books), its fills, its tier history with each decision's reason and evidence, and its
lineage: itself and its ancestors to the first generation, each with its fitness at its last judged
decision (``arena lineage``'s rule, ``_inspect.judged_fitness``). An id the log does not know shows a
message naming it and saying what to do instead of the page; the page keeps reading, so an agent spawned
later appears by itself.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any, Final

from events import equity

from ._dashboard_tracker import Tracker
from ._dashboard_widgets import WIDTH, agent_url, follow, table
from ._format import amount

if TYPE_CHECKING:
    from ._dashboard_tracker import Point

__all__ = ["agent_page", "unknown_agent_text"]

_IDS_SHOWN: Final = 3


def unknown_agent_text(agent_id: str, path: str, tracker: Tracker) -> str:
    """Return the message the page shows while ``agent_id`` names no agent of the log read so far."""
    known = sorted(tracker.running.fold.agents)
    sample = ", ".join(known[:_IDS_SHOWN]) + (", ..." if len(known) > _IDS_SHOWN else "")
    return (
        f"agent {agent_id!r}: no such agent in the arena at {path!r} as of seq {tracker.seq}; open the "
        f"arena's page (/) and click an agent, or pass one of its {len(known)} agent ids "
        f"({sample or 'it has none yet'}) as /?agent=ID. This page keeps reading the log and shows the "
        "agent if it is spawned later."
    )


def agent_page(doc: Any, path: str, agent_id: str) -> None:  # noqa: ANN401  (bokeh's Document is untyped)
    """Build the page of ``agent_id`` in the store at ``path`` into ``doc`` and keep it current."""
    from bokeh.layouts import column  # noqa: PLC0415
    from bokeh.models import ColumnDataSource  # noqa: PLC0415
    from bokeh.models.widgets import Div  # noqa: PLC0415
    from bokeh.plotting import figure  # noqa: PLC0415

    tracker = Tracker(agent_id=agent_id)
    missing = Div(text="reading the log...", name="agent-missing", styles={"color": "#b00020"})
    heading = Div(text="", name="agent-heading", styles={"font-family": "monospace"})
    curve = ColumnDataSource({"t": [], "equity": [], "seq": []}, name="agent-equity-source")
    fills = ColumnDataSource(
        {
            "seq": [],
            "time": [],
            "side": [],
            "symbol": [],
            "quantity": [],
            "price": [],
            "fee": [],
            "pnl": [],
        },
        name="agent-fills-source",
    )
    moves = ColumnDataSource(
        {"seq": [], "time": [], "change": [], "reason": [], "evidence": []}, name="agent-tiers-source"
    )
    line = ColumnDataSource(
        {"generation": [], "agent": [], "tier": [], "status": [], "fitness": []}, name="agent-lineage-source"
    )
    chart = figure(
        title=f"Equity of {agent_id} at each mark",
        x_axis_type="datetime",
        height=300,
        width=WIDTH,
        name="agent-equity",
    )
    chart.line("t", "equity", source=curve, color="#1f77b4", line_width=2)
    page = column(
        heading,
        chart,
        Div(text="<h3>Fills</h3>"),
        table(
            fills,
            [
                ("seq", "seq"),
                ("time", "time"),
                ("side", "side"),
                ("symbol", "symbol"),
                ("quantity", "quantity"),
                ("price", "price"),
                ("fee", "fee"),
                ("pnl", "realized P&L"),
            ],
            name="agent-fills",
            height=300,
        ),
        Div(text="<h3>Tier history</h3>"),
        table(
            moves,
            [
                ("seq", "seq"),
                ("time", "time"),
                ("change", "change"),
                ("reason", "reason"),
                ("evidence", "evidence"),
            ],
            name="agent-tiers",
            height=200,
        ),
        Div(text="<h3>Lineage (itself, then each ancestor to the first generation)</h3>"),
        table(
            line,
            [
                ("generation", "generation"),
                ("agent", "agent"),
                ("tier", "tier"),
                ("status", "status"),
                ("fitness", "fitness at its last judgement"),
            ],
            name="agent-lineage",
            height=200,
            links=["agent"],
        ),
        visible=False,
    )
    doc.title = f"arena dashboard: {agent_id}"
    doc.add_root(
        column(
            Div(text=f'<h2>agent {escape(agent_id)} in {escape(path)}</h2><p><a href="/">the arena</a></p>'),
            missing,
            page,
        )
    )
    shown = {"fills": 0, "moves": 0, "seq": -1}

    def show(points: list[Point], _per_second: float) -> None:
        agent = tracker.agent()
        if agent is None:
            missing.text = escape(unknown_agent_text(agent_id, path, tracker))
            return
        missing.visible, page.visible = False, True
        drawn = [p for p in points if p.agent_equity is not None]
        if drawn:
            curve.stream(
                {
                    "t": [p.time_ms for p in drawn],
                    "equity": [float(p.agent_equity or 0) for p in drawn],
                    "seq": [p.seq for p in drawn],
                }
            )
        new = tracker.fills[shown["fills"] :]
        if new:
            fills.stream(
                {
                    "seq": [f.seq for f in new],
                    "time": [f.time for f in new],
                    "side": [f.side for f in new],
                    "symbol": [f.symbol for f in new],
                    "quantity": [str(f.quantity) for f in new],
                    "price": [amount(f.price) for f in new],
                    "fee": [amount(f.fee) for f in new],
                    "pnl": [amount(f.realized_pnl) for f in new],
                }
            )
            shown["fills"] = len(tracker.fills)
        if len(tracker.moves) != shown["moves"]:
            history = tracker.moves
            moves.data = {
                "seq": [m.seq for m in history],
                "time": [m.time for m in history],
                "change": [m.change for m in history],
                "reason": [m.reason for m in history],
                "evidence": [m.evidence for m in history],
            }
            shown["moves"] = len(history)
        if tracker.seq == shown["seq"]:
            return
        shown["seq"] = tracker.seq
        status = "alive" if agent.alive else "killed"
        worth = equity(agent, tracker.running.fold.marks)
        heading.text = escape(
            f"seq {tracker.seq} | generation {agent.generation} | {agent.tier} | {status} | "
            f"equity {amount(worth)} | cash {amount(agent.allocation)} | "
            f"fills {len(tracker.fills)} | page {agent_url(agent_id)}"
        )
        ancestry = tracker.lineage()
        line.data = {
            "generation": [a.generation for a in ancestry],
            "agent": [a.agent_id for a in ancestry],
            "tier": [str(a.tier) for a in ancestry],
            "status": ["alive" if a.alive else "killed" for a in ancestry],
            "fitness": [a.fitness for a in ancestry],
        }

    follow(doc, path, tracker, show)
