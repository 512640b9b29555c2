"""What both dashboard pages are made of: tables that really refresh, agent links, the once-a-second read.

Tables. A Bokeh ``DataTable`` redraws its rows only when its ``CDSView`` signals a change, and the view
signals one only when its row indices change, that is when the source's *length* changes: BokehJS
recomputes the indices on every data change, but setting ``indices`` to an equal value emits nothing.
So replacing ``source.data`` with as many rows as before (the latest decisions, capped at 20, once 20
decisions were made; a leaderboard of a steady population) updated the data in the browser and left the
grid showing the old rows. ``table`` makes every data change of its source emit the view's change too
(a ``CustomJS`` of one line), so the grid redraws whatever the length.

Links. An agent id in a table is a link to its page, ``/?agent=ID`` (one Bokeh app, the page chosen
from the query: the same server, session and assets).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Final

from store import SQLiteEventStore

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from ._dashboard_tracker import Point, Tracker

__all__ = ["AGENT_LINK", "TICK_MS", "WIDTH", "agent_url", "follow", "table"]

TICK_MS: Final = 1000
"""How often a session reads the events committed since its last read."""
WIDTH: Final = 1100
AGENT_LINK: Final = '<a href="/?agent=<%= encodeURIComponent(value) %>"><%- value %></a>'
"""A table cell showing an agent id as a link to its page (an underscore template, as Bokeh's are)."""
_REDRAW: Final = "view.change.emit()"
_WIDE: Final = frozenset({"reason", "evidence", "fitness", "change", "time"})
"""Fields of long text: their columns get a larger share of a table's width."""
_SHARES: Final = (100, 360)  # relative widths of a column and of a wide one; DataTable scales them to fit


def agent_url(agent_id: str) -> str:
    """Return the path of ``agent_id``'s page on the dashboard's server."""
    from urllib.parse import quote  # noqa: PLC0415

    return f"/?agent={quote(agent_id)}"


def table(
    source: Any,  # noqa: ANN401  (bokeh's models are untyped)
    columns: Sequence[tuple[str, str]],
    *,
    name: str | None = None,
    height: int = 250,
    width: int = WIDTH,
    links: Sequence[str] = (),
) -> Any:  # noqa: ANN401
    """Return a ``DataTable`` of ``source`` that redraws on every data change (see the module docstring).

    ``columns`` are ``(field, title)``; the fields in ``links`` are agent ids, shown as links to their pages.
    """
    from bokeh.models import CustomJS  # noqa: PLC0415
    from bokeh.models.widgets import DataTable, HTMLTemplateFormatter, TableColumn  # noqa: PLC0415

    link = HTMLTemplateFormatter(template=AGENT_LINK)
    shown = [TableColumn(field=f, title=t, width=_SHARES[f in _WIDE]) for f, t in columns]
    for column in shown:
        if column.field in links:
            column.formatter = link
    widget = DataTable(
        name=name,
        source=source,
        columns=shown,
        width=width,
        height=height,
        index_position=None,
        reorderable=False,  # reordering columns needs jquery-ui, which BokehJS warns about in the console
    )
    source.js_on_change("data", CustomJS(args={"view": widget.view}, code=_REDRAW))
    return widget


def follow(doc: Any, path: str, tracker: Tracker, show: Callable[[list[Point], float], None]) -> None:  # noqa: ANN401
    """Feed ``tracker`` the store's events now and once a second; call ``show(points, events_per_second)``.

    The store is opened read-only (no writer lock, so it never blocks ``arena simulate``) for the
    session's life, and each read starts after the last seq folded: the log is folded once per session.
    """
    store = SQLiteEventStore.open(path, readonly=True)
    clock = {"at": time.monotonic(), "events": 0}

    def tick() -> None:
        reader = store.read(from_seq=tracker.seq + 1)
        try:
            points = tracker.feed(reader)
        finally:
            reader.close()
        now, total = time.monotonic(), sum(tracker.counts.values())
        per_second = (total - clock["events"]) / max(now - clock["at"], 1e-9)
        clock["at"], clock["events"] = now, total
        show(points, per_second)

    tick()
    doc.add_periodic_callback(tick, TICK_MS)
    doc.on_session_destroyed(lambda _context: store.close())
