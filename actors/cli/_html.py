"""``arena report DB --html OUT``: the report and its charts in one self-contained, offline HTML file.

Six Bokeh charts (``TITLES``) above the text ``arena report`` prints, in one file with Bokeh's JavaScript
inlined (``bokeh.resources.INLINE``): no CDN, no network, so the page opens on a laptop in a train and
can be attached to a ticket. Every figure comes from the store file alone, opened read-only (no writer
lock, safe beside a running simulation): the curves from ``actors.frames`` (one pass of the shared
fold, so they reconcile with ``arena report`` to the last digit), the text and the head's figures from
the report itself.

Numbers. The charts draw floats, but every plotted number is also in the page as an exact decimal
string, in ``<script type="application/json" id="arena-figures">``, so a reader (or a test) can check
the NAV curve's last point against the report's NAV to the digit. The NAV curve has one point per
recorded mark plus, when the log goes on past its last mark (a cycle's kills pay liquidation fees), one
at the report's seq with the report's own NAV, capital at cost and buy-and-hold.

The buy-and-hold curve. ``trading.performance`` values the benchmark at the end only; the curve applies
its rule at every mark: the funding is split equally over every symbol the log marks by the report's
seq (the remainder's minor units to the first symbols by name), each stake is bought at its symbol's
first mark and valued at that symbol's latest mark, rounded half-even to the minor unit per stake; a
stake whose symbol has no mark yet is held as cash. So the curve ends exactly at the report's
``buy_and_hold`` (``tests/test_cli_html.py`` checks it against ``performance`` at several marks).

Size. A line with more than ``MAX_POINTS`` points is thinned to ``MAX_POINTS``, evenly spaced by index,
the first and last points always kept (the page says so under the charts); the drawdown is computed on
the whole curve before thinning, and its maximum is stated in its chart's title. A 365-day hourly run
thus stays a few megabytes, most of it Bokeh's own JavaScript (about 1 MB).

The file is written atomically (a temporary file in the same folder, then a rename), so a failure leaves
no half page, and never replaces an existing file without ``--force``. Bokeh is the optional extra
``arena-runtime[report]`` (with pandas), imported only here and only when a page is written: without it
``--html`` fails with an error naming the install command and writes nothing.
"""

from __future__ import annotations

import html
import json
import os
import tempfile
from collections import defaultdict
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime  # noqa: TC003  (a dataclass field's type)
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from actors import frames
from events import ArenaError, MarksRecorded, Tier, ValidationError, format_money
from store import SQLiteEventStore
from trading import buy_and_hold_curve

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from types import ModuleType

    import pandas as pd

    from trading import PerformanceReport

__all__ = [
    "INSTALL",
    "MAX_POINTS",
    "PNG_CHARTS",
    "TITLES",
    "TOP_CURVES",
    "check_html",
    "main_charts",
    "need_bokeh",
    "picks",
    "write_html",
]

INSTALL: Final = "pip install 'arena-runtime[report]'"
MAX_POINTS: Final = 2000
"""The most points a line keeps in the page (see the module docstring)."""
TOP_CURVES: Final = 10
"""Equity curves drawn: the live agents with the highest equity at the report's seq."""
TITLES: Final = (
    "NAV and capital at cost vs buy-and-hold",
    "Drawdown of NAV",
    "Capital at cost by tier",
    "Equity of the top agents",
    "Decisions per evolution cycle",
    "Lineage of the best agent",
)
PNG_CHARTS: Final = ("nav", "drawdown", "capital_by_tier", "top_agents")
"""The main charts, by the name of the image ``--png`` writes of each (``nav.png``, ...): the first four
of ``TITLES``."""
_DECISIONS: Final = (("killed", "kills"), ("graduated", "promotions"), ("demoted", "demotions"))
_CHILDREN: Final = ("spawned", "children")
_REASONS_SHOWN: Final = 5  # per bar's hover: more would not fit on a screen
_QUANTUM: Final = Decimal("0.00000001")
_WIDTH: Final = 1000
_PALETTE: Final = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)


def check_html(out: str, *, force: bool) -> Path:
    """Return ``out`` as a path once it can take the page, before anything is read.

    Raises:
        ValidationError: ``out`` is a folder, its folder does not exist, or it exists and ``force`` is
            false.
        ArenaError: bokeh (or pandas) is not installed.

    """
    path = Path(out)
    if path.is_dir():
        msg = f"--html: {out!r} is a folder; pass the path of the HTML file to write, e.g. {out}/report.html"
        raise ValidationError(msg, field="--html", value=out)
    parent = path.parent
    if not parent.is_dir():
        msg = f"--html: {out!r} is in no existing folder ({str(parent)!r}); create the folder first"
        raise ValidationError(msg, field="--html", value=out)
    if path.exists() and not force:
        msg = f"--html: {out!r} already exists; pass --force to replace it, or another path"
        raise ValidationError(msg, field="--html", value=out)
    need_bokeh("--html", "the HTML report")
    return path


def need_bokeh(option: str, what: str) -> ModuleType:
    """Return bokeh once it and pandas are importable; else fail naming ``option`` and the extra.

    Raises:
        ArenaError: bokeh or pandas is not installed.

    """
    try:
        import bokeh  # noqa: PLC0415  (the optional extra: imported only when a page is written)
        import pandas as pd  # noqa: F401, PLC0415  (the frames below need it; say so before reading)
    except ImportError as e:
        msg = (
            f"{option}: {what} needs {e.name or 'bokeh'}, which is not installed; install the "
            f"report extra: {INSTALL}"
        )
        raise ArenaError(msg) from None
    return bokeh


def write_html(
    out: str, source: str, *, lines: Sequence[str], result: PerformanceReport, force: bool
) -> Path:
    """Write the page for the store at ``source`` as of ``result.seq`` to ``out``; return its path.

    Raises:
        ValidationError, ArenaError: as ``check_html`` says.
        StoreError: the file is not a readable store.
        OSError: the page could not be written (nothing is left behind).

    """
    path = check_html(out, force=force)
    figures = _figures(source, result)
    page = _page(figures, lines)
    _write(path, page)
    return path


def main_charts(source: str, result: PerformanceReport) -> dict[str, Any]:
    """Return the main charts of the page (``PNG_CHARTS``) for the store at ``source`` as of ``result.seq``.

    The same figures and the same drawing as the page's: an image and the page never disagree.
    """
    figures = _figures(source, result)
    return dict(
        zip(
            PNG_CHARTS,
            (
                _nav_chart(figures["nav"]),
                _drawdown_chart(figures["drawdown"]),
                _tier_chart(figures["capital_by_tier"]),
                _equity_chart(figures["equity"]),
            ),
            strict=True,
        )
    )


# --- figures: exact numbers from the file --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Point:
    """One point of the NAV curve: a recorded mark, or the report's seq past the last mark."""

    seq: int
    timestamp: datetime
    nav: Decimal
    capital_at_cost: Decimal
    treasury: Decimal
    buy_and_hold: Decimal
    tiers: dict[str, Decimal] | None
    """Capital at cost by tier; None at the report's seq (the tier chart ends at the last mark)."""


def _figures(source: str, result: PerformanceReport) -> dict[str, Any]:
    seq = result.seq
    tables = frames(source, ["equity", "nav", "cycles", "agents"], to_seq=seq)
    marks, stamp = _marks(source, seq)
    records = _records(tables["nav"])
    points = [
        _Point(
            seq=int(row["seq"]),
            timestamp=row["timestamp"],
            nav=row["nav"],
            capital_at_cost=row["capital_at_cost"],
            treasury=row["treasury"],
            buy_and_hold=worth,
            tiers={tier.value: row[f"capital_{tier.value}"] for tier in Tier},
        )
        for row, worth in zip(records, buy_and_hold_curve(result.funding, marks), strict=True)
    ]
    if stamp is not None and (not points or points[-1].seq < seq):
        points.append(
            _Point(
                seq=seq,
                timestamp=stamp,
                nav=result.nav,
                capital_at_cost=result.capital_at_cost,
                treasury=result.treasury,
                buy_and_hold=result.buy_and_hold,
                tiers=None,
            )
        )
    drawdown = _drawdown([point.nav for point in points])
    kept = picks(len(points))
    picked = [points[index] for index in kept]
    at_marks = [point for point in points if point.tiers is not None]
    by_tier = [at_marks[index] for index in picks(len(at_marks))]
    return {
        "seq": seq,
        "max_points": MAX_POINTS,
        "nav": {
            "seq": [point.seq for point in picked],
            "timestamp": [point.timestamp.isoformat() for point in picked],
            "nav": [_text(point.nav) for point in picked],
            "capital_at_cost": [_text(point.capital_at_cost) for point in picked],
            "buy_and_hold": [_text(point.buy_and_hold) for point in picked],
            "points": len(points),
        },
        "drawdown": {
            "timestamp": [point.timestamp.isoformat() for point in picked],
            "drawdown": [_text(drawdown[index]) for index in kept],
            "max_drawdown": _text(max((-value for value in drawdown), default=Decimal(0))),
        },
        "capital_by_tier": {
            "timestamp": [point.timestamp.isoformat() for point in by_tier],
            "treasury": [_text(point.treasury) for point in by_tier],
            **{tier.value: [_text((point.tiers or {})[tier.value]) for point in by_tier] for tier in Tier},
        },
        "equity": _equity(tables["equity"], [agent.agent_id for agent in result.agents[:TOP_CURVES]]),
        "cycles": _cycles(tables["cycles"]),
        "lineage": _lineage(tables["agents"], tables["cycles"], result),
    }


def _records(table: pd.DataFrame) -> list[dict[str, Any]]:
    """Return the rows of ``table`` as plain dicts: Decimals stay exact, times stay ``datetime``s."""
    return [{str(name): value for name, value in row.items()} for row in table.to_dict("records")]


def _marks(source: str, seq: int) -> tuple[list[dict[str, Decimal]], datetime | None]:
    """Return every ``MarksRecorded``'s marks up to ``seq``, in seq order, and the time of event ``seq``."""
    with SQLiteEventStore.open(source, readonly=True) as store:
        with closing(store.read(event_types=["MarksRecorded"], to_seq=seq)) as events:
            marks = [dict(event.marks) for event in events if isinstance(event, MarksRecorded)]
        with closing(store.read(from_seq=seq, to_seq=seq)) as events:
            last = next(iter(events), None)
    return marks, None if last is None else last.timestamp


def _drawdown(navs: Sequence[Decimal]) -> list[Decimal]:
    """Return each point's NAV below the running peak, as a fraction of the peak at 8 places (0 or less)."""
    peak = Decimal(0)
    out = []
    for value in navs:
        peak = max(peak, value)
        fall = (value / peak - 1) if peak > 0 else Decimal(0)
        out.append(fall.quantize(_QUANTUM, rounding=ROUND_HALF_EVEN))
    return out


def picks(count: int, limit: int = MAX_POINTS) -> list[int]:
    """Return the indices kept of ``count`` points: all of them, or ``limit`` evenly spaced with both ends."""
    if count <= limit:
        return list(range(count))
    return sorted({index * (count - 1) // (limit - 1) for index in range(limit)})


def _equity(table: pd.DataFrame, top: Sequence[str]) -> list[dict[str, Any]]:
    rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    wanted = set(top)
    for row in _records(table[["timestamp", "agent_id", "equity"]]):
        if row["agent_id"] in wanted:
            rows[row["agent_id"]].append(row)
    curves = []
    for agent_id in top:
        kept = [rows[agent_id][index] for index in picks(len(rows[agent_id]))]
        curves.append(
            {
                "agent_id": agent_id,
                "timestamp": [row["timestamp"].isoformat() for row in kept],
                "equity": [_text(row["equity"]) for row in kept],
            }
        )
    return curves


def _cycles(table: pd.DataFrame) -> list[dict[str, Any]]:
    """Return one entry per cycle: per decision kind, the agents with their reasons."""
    found: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    names = dict([*_DECISIONS, _CHILDREN])
    for row in _records(table):
        if row["decision"] in names:
            reason = row["reason"] if isinstance(row["reason"], str) else f"child of {row['parent_id']}"
            found[int(row["cycle"])][names[row["decision"]]].append(f"{row['agent_id']}: {reason}")
    return [
        {"cycle": cycle, **{name: found[cycle].get(name, []) for name in names.values()}}
        for cycle in sorted(found)
    ]


def _lineage(agents: pd.DataFrame, cycles: pd.DataFrame, result: PerformanceReport) -> dict[str, Any]:
    """Return the best agent's ancestors, each with its other children, layered by generation."""
    by_id = {row["agent_id"]: row for row in _records(agents)}
    if not by_id:
        return {"best": None, "nodes": [], "edges": []}
    best: str = (
        result.agents[0].agent_id
        if result.agents
        else max(by_id.values(), key=lambda row: (row["equity"], row["agent_id"]))["agent_id"]
    )
    chain = [best]
    while isinstance(parent := by_id[chain[-1]]["parent_id"], str):
        chain.append(parent)
    members = set(chain)
    shown = chain + sorted(
        agent_id for agent_id, row in by_id.items() if row["parent_id"] in members and agent_id not in members
    )
    layers: dict[int, list[str]] = defaultdict(list)
    for agent_id in shown:  # the ancestor first in its generation, at y = 0
        layers[int(by_id[agent_id]["generation"])].append(agent_id)
    fitness = _fitness(cycles)
    nodes = [
        _node(by_id[agent_id], generation, place, ancestor=agent_id in members, fitness=fitness)
        for generation, ids in sorted(layers.items())
        for place, agent_id in enumerate(ids)
    ]
    edges = [[by_id[agent_id]["parent_id"], agent_id] for agent_id in shown if agent_id != chain[-1]]
    return {"best": best, "nodes": nodes, "edges": edges}


def _fitness(cycles: pd.DataFrame) -> dict[str, str]:
    """Return each agent's fitness at its last judged decision (the evidence of a kill or tier move)."""
    if "evidence.fitness" not in cycles.columns:
        return {}
    found = {}
    for row in _records(cycles[["agent_id", "evidence.fitness"]]):
        value = row["evidence.fitness"]
        if value is not None and value == value:  # noqa: PLR0124  (NaN is the one value unequal to itself)
            found[str(row["agent_id"])] = str(value)
    return found


def _node(
    row: Mapping[str, Any], generation: int, place: int, *, ancestor: bool, fitness: Mapping[str, str]
) -> dict[str, Any]:
    return {
        "agent_id": row["agent_id"],
        "generation": generation,
        "y": place,
        "ancestor": ancestor,
        "tier": row["tier"],
        "alive": bool(row["alive"]),
        "equity": _text(row["equity"]),
        "fitness": fitness.get(row["agent_id"], "never judged"),
        "kill_reason": row["kill_reason"] if isinstance(row["kill_reason"], str) else "",
    }


def _text(value: Decimal) -> str:
    return format_money(Decimal(value).quantize(_QUANTUM, rounding=ROUND_HALF_EVEN))


# --- the page ------------------------------------------------------------------------------------------


_TEMPLATE: Final = """
{% block postamble %}<style>body { font-family: sans-serif; margin: 2em; } pre { font-size: 12px; }</style>
{% endblock %}
{% block contents %}
<h1>{{ heading }}</h1>
{{ super() }}
<p>{{ notes }}</p>
<h2>arena report</h2>
<pre id="arena-report">{{ report }}</pre>
<script type="application/json" id="arena-figures">{{ figures }}</script>
{% endblock %}
"""
"""Bokeh's own page (``file.html``, which inlines only the bundles the charts use) with our blocks;
every variable is escaped before it is passed."""


def _page(figures: Mapping[str, Any], lines: Iterable[str]) -> str:
    from bokeh.embed import file_html  # noqa: PLC0415  (the optional extra)
    from bokeh.layouts import column  # noqa: PLC0415
    from bokeh.resources import INLINE  # noqa: PLC0415

    charts = [
        _nav_chart(figures["nav"]),
        _drawdown_chart(figures["drawdown"]),
        _tier_chart(figures["capital_by_tier"]),
        _equity_chart(figures["equity"]),
        _cycle_chart(figures["cycles"]),
        _lineage_chart(figures["lineage"]),
    ]
    points = figures["nav"]["points"]
    notes = (
        f"The NAV curve has {points} points; a line longer than {MAX_POINTS} points is thinned to "
        f"{MAX_POINTS}, evenly spaced by index, keeping the first and last (the drawdown is computed on "
        "the whole curve first). The buy-and-hold splits the funding equally over every symbol the log "
        "marks, each stake bought at its symbol's first mark. Every plotted number is in the JSON block "
        "arena-figures as an exact decimal string."
    )
    title = f"arena report at seq {figures['seq']}"
    page: str = file_html(
        column(*charts),
        INLINE,
        title,
        template=_TEMPLATE,
        template_variables={
            "heading": html.escape(title),
            "notes": html.escape(notes),
            "report": html.escape("\n".join(lines)),
            # JSON inside <script>: only "</" could end the element early
            "figures": json.dumps(figures, separators=(",", ":")).replace("</", "<\\/"),
        },
    )
    return page


def _times(texts: Sequence[str]) -> list[float]:
    """ISO times as Bokeh's datetime axis counts them: milliseconds since the epoch."""
    from datetime import datetime  # noqa: PLC0415  (at run time here only)

    return [datetime.fromisoformat(text).timestamp() * 1000 for text in texts]


def _floats(texts: Sequence[str]) -> list[float]:
    return [float(text) for text in texts]


def _figure(title: str, **options: Any) -> Any:  # noqa: ANN401  (bokeh's figure)
    from bokeh.plotting import figure  # noqa: PLC0415

    return figure(
        title=title, width=_WIDTH, height=320, tools="pan,wheel_zoom,box_zoom,reset,save", **options
    )


def _nav_chart(nav: Mapping[str, Any]) -> Any:  # noqa: ANN401
    from bokeh.models import ColumnDataSource, HoverTool  # noqa: PLC0415

    source = ColumnDataSource(
        {
            "t": _times(nav["timestamp"]),
            "seq": nav["seq"],
            "nav": _floats(nav["nav"]),
            "cost": _floats(nav["capital_at_cost"]),
            "bh": _floats(nav["buy_and_hold"]),
        }
    )
    chart = _figure(TITLES[0], x_axis_type="datetime")
    chart.line("t", "nav", source=source, legend_label="NAV", color=_PALETTE[0], line_width=2)
    chart.line("t", "cost", source=source, legend_label="capital at cost", color=_PALETTE[2])
    chart.line("t", "bh", source=source, legend_label="buy-and-hold", color=_PALETTE[1], line_dash="dashed")
    chart.add_tools(
        HoverTool(
            tooltips=[("seq", "@seq"), ("NAV", "@nav{0,0.00}"), ("buy-and-hold", "@bh{0,0.00}")],
            formatters={"@t": "datetime"},
            mode="vline",
        )
    )
    chart.legend.location = "top_left"
    return chart


def _drawdown_chart(drawdown: Mapping[str, Any]) -> Any:  # noqa: ANN401
    from bokeh.models import ColumnDataSource  # noqa: PLC0415

    worst = Decimal(drawdown["max_drawdown"]) * 100
    source = ColumnDataSource(
        {"t": _times(drawdown["timestamp"]), "dd": [v * 100 for v in _floats(drawdown["drawdown"])]}
    )
    chart = _figure(f"{TITLES[1]} (maximum {worst:.2f}%)", x_axis_type="datetime", y_axis_label="%")
    chart.varea(x="t", y1="dd", y2=0, source=source, color=_PALETTE[3], alpha=0.4)
    chart.line("t", "dd", source=source, color=_PALETTE[3])
    return chart


def _tier_chart(tiers: Mapping[str, Any]) -> Any:  # noqa: ANN401
    from bokeh.models import ColumnDataSource  # noqa: PLC0415

    names = ["treasury", *(tier.value for tier in Tier)]
    source = ColumnDataSource(
        {"t": _times(tiers["timestamp"]), **{name: _floats(tiers[name]) for name in names}}
    )
    chart = _figure(TITLES[2], x_axis_type="datetime")
    chart.varea_stack(
        names, x="t", source=source, color=list(_PALETTE[: len(names)]), legend_label=names, alpha=0.7
    )
    chart.legend.location = "top_left"
    return chart


def _equity_chart(curves: Sequence[Mapping[str, Any]]) -> Any:  # noqa: ANN401
    from bokeh.models import ColumnDataSource, HoverTool  # noqa: PLC0415

    chart = _figure(f"{TITLES[3]} ({len(curves)} by equity at the end)", x_axis_type="datetime")
    for index, curve in enumerate(curves):
        source = ColumnDataSource(
            {
                "t": _times(curve["timestamp"]),
                "equity": _floats(curve["equity"]),
                "agent": [curve["agent_id"]] * len(curve["timestamp"]),
            }
        )
        chart.line(
            "t",
            "equity",
            source=source,
            legend_label=curve["agent_id"],
            color=_PALETTE[index % len(_PALETTE)],
        )
    chart.add_tools(HoverTool(tooltips=[("agent", "@agent"), ("equity", "@equity{0,0.00}")]))
    if curves:
        chart.legend.location = "top_left"
    return chart


def _cycle_chart(cycles: Sequence[Mapping[str, Any]]) -> Any:  # noqa: ANN401
    from bokeh.models import ColumnDataSource, HoverTool  # noqa: PLC0415
    from bokeh.transform import dodge  # noqa: PLC0415

    chart = _figure(TITLES[4], x_axis_label="cycle", y_axis_label="decisions")
    kinds = [name for _, name in (*_DECISIONS, _CHILDREN)]
    for index, kind in enumerate(kinds):
        reasons = [_reasons(entry[kind]) for entry in cycles]
        source = ColumnDataSource(
            {
                "cycle": [entry["cycle"] for entry in cycles],
                "count": [len(entry[kind]) for entry in cycles],
                "reasons": reasons,
                "kind": [kind] * len(cycles),
            }
        )
        bars = chart.vbar(
            x=dodge("cycle", -0.3 + 0.2 * index),
            top="count",
            width=0.18,
            source=source,
            color=_PALETTE[index],
            legend_label=kind,
        )
        chart.add_tools(
            HoverTool(
                renderers=[bars], tooltips=[("cycle", "@cycle"), (kind, "@count"), ("reasons", "@reasons")]
            )
        )
    chart.legend.location = "top_left"
    return chart


def _reasons(entries: Sequence[str]) -> str:
    shown = "; ".join(entries[:_REASONS_SHOWN])
    more = len(entries) - _REASONS_SHOWN
    return f"{shown}; ... and {more} more" if more > 0 else shown


def _lineage_chart(lineage: Mapping[str, Any]) -> Any:  # noqa: ANN401
    from bokeh.models import ColumnDataSource, HoverTool  # noqa: PLC0415

    best = lineage["best"] or "no agent"
    chart = _figure(f"{TITLES[5]} ({best})", x_axis_label="generation")
    nodes = lineage["nodes"]
    place = {node["agent_id"]: (node["generation"], node["y"]) for node in nodes}
    edges = lineage["edges"]
    chart.segment(
        x0=[place[a][0] for a, _ in edges],
        y0=[place[a][1] for a, _ in edges],
        x1=[place[b][0] for _, b in edges],
        y1=[place[b][1] for _, b in edges],
        color="#999999",
    )
    source = ColumnDataSource(
        {
            "x": [node["generation"] for node in nodes],
            "y": [node["y"] for node in nodes],
            "agent": [node["agent_id"] for node in nodes],
            "tier": [node["tier"] for node in nodes],
            "alive": ["alive" if node["alive"] else "killed" for node in nodes],
            "equity": [node["equity"] for node in nodes],
            "fitness": [node["fitness"] for node in nodes],
            "kill": [node["kill_reason"] for node in nodes],
            "color": [_PALETTE[0] if node["ancestor"] else "#cccccc" for node in nodes],
        }
    )
    dots = chart.scatter("x", "y", source=source, size=14, color="color")
    chart.add_tools(
        HoverTool(
            renderers=[dots],
            tooltips=[
                ("agent", "@agent"),
                ("tier", "@tier"),
                ("status", "@alive"),
                ("equity", "@equity"),
                ("fitness", "@fitness"),
                ("killed for", "@kill"),
            ],
        )
    )
    chart.yaxis.visible = False
    return chart


# --- the file ------------------------------------------------------------------------------------------


def _write(path: Path, page: str) -> None:
    """Write ``page`` to a temporary file beside ``path``, then rename it: all of the page or nothing."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(page)
        mask = os.umask(0)  # mkstemp makes the file private; the page gets the mode of any new file
        os.umask(mask)
        Path(temporary).chmod(0o666 & ~mask)
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
