"""``arena dashboard DB``: a live page of a running or finished arena, served by a Bokeh server.

Why Bokeh: it is made for live plotting from Python (``ColumnDataSource.stream`` appends points to a
chart already in the browser, over the server's websocket), it is already the report extra's library
(``arena report --html``), and its server serves BokehJS itself from ``/static`` (the server's own
resources, never a CDN), so the page works offline.

Pages. One Bokeh application at ``/``: the arena's page (``_dashboard_main.py``), or with
``?agent=ID`` that agent's page (``_dashboard_agent.py``); a query rather than a second app route, so
every agent id in a table is a plain link and both pages share the server, its assets and its origin
checks.

Reading. Each browser session opens the store read-only (no writer lock: under WAL it reads while
``arena simulate`` writes from another process, and never blocks it), folds the log once, then once a
second reads only the events after the last seq it saw and folds them into the same running ``Tracker``
(``_dashboard_tracker.py``: ``trading.RunningPerformance``, the fold ``arena report`` runs, so its
figures at any seq are the report's at that seq).

Binding. ``127.0.0.1`` by default; another ``--host`` exposes an unauthenticated page to the network,
so it is an explicit choice and printed with a warning.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, Final

from events import ArenaError
from store import SQLiteEventStore

from ._dashboard_agent import agent_page
from ._dashboard_main import main_page

if TYPE_CHECKING:
    import argparse

__all__ = ["LOCALHOST", "dashboard", "page_for"]

LOCALHOST: Final = "127.0.0.1"
_INSTALL: Final = "pip install 'arena-runtime[report]'"
_UNUSED_MS: Final = 1000


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
        # a closed tab's session (its store reader, its once-a-second read) goes within about 2 s, not
        # Bokeh's default 15 to 32 s, in which every tick would warn that its connection is closed
        check_unused_sessions_milliseconds=_UNUSED_MS,
        unused_session_lifetime_milliseconds=_UNUSED_MS,
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


def page_for(arguments: dict[str, list[bytes]]) -> str | None:
    """Return the agent id a request's query asks for (``?agent=ID``), or None for the arena's page."""
    values = arguments.get("agent")
    if not values:
        return None
    return values[-1].decode("utf-8", errors="replace").strip()


def _session(doc: Any, path: str) -> None:  # noqa: ANN401  (bokeh's Document is untyped)
    """Build one browser session's page: the arena's, or the agent's the query names."""
    request = doc.session_context.request if doc.session_context is not None else None
    agent_id = page_for(request.arguments if request is not None else {})
    if agent_id is None:
        main_page(doc, path)
    else:
        agent_page(doc, path, agent_id)
