"""The dashboard's incremental reader and its pages, at the ``Tracker`` and Bokeh document level.

A log fed in pieces gives the figures of the whole log folded once (``trading.performance``'s, by the
same ``RunningPerformance``), at any cut, inside a kill's wind-down too; the agent page's curve, fills,
tier history and lineage are the ledger's, ``actors.frames``' and ``arena lineage``'s.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pytest
from bokeh.document import Document
from hypothesis import given, settings

from actors import breakdown_of, frames
from actors.cli import main
from actors.cli._dashboard import page_for
from actors.cli._dashboard_agent import agent_page, unknown_agent_text
from actors.cli._dashboard_main import main_page
from actors.cli._dashboard_tracker import DECISIONS_SHOWN, Tracker, figures_text
from actors.cli._dashboard_widgets import AGENT_LINK, agent_url
from actors.cli._format import amount
from events import AgentDemoted, AgentGraduated, AgentKilled, Fold, Tier, TradeExecuted
from store import SQLiteEventStore
from tests.strategies import valid_event_logs
from trading import RunningPerformance, performance

if TYPE_CHECKING:
    from pathlib import Path

    from events import AnyEvent


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("dashboard") / "arena.db"
    argv = ["simulate", "--db", str(path), "--agents", "12", "--days", "30", "--seed", "3", "--quiet"]
    assert main(argv) == 0
    return path


@pytest.fixture(scope="module")
def log(db: Path) -> list[AnyEvent]:
    with SQLiteEventStore.open(str(db), readonly=True) as store:
        return list(store.read())


@pytest.fixture(scope="module")
def bred(log: list[AnyEvent]) -> str:
    """The id of the deepest-bred agent that traded: a page with fills and ancestors."""
    state = Fold()
    for event in log:
        state.apply(event)
    traded = {e.agent_id for e in log if isinstance(e, TradeExecuted)}
    return max(
        (a for a in state.agents.values() if a.agent_id in traded),
        key=lambda a: (a.generation, a.agent_id),
    ).agent_id


def figures_of(tracker: Tracker) -> tuple[object, ...]:
    return (tracker.seq, tracker.nav(), tracker.capital_at_cost(), tracker.buy_and_hold(), tracker.rows())


def whole_at(log: list[AnyEvent], end: int) -> tuple[object, ...]:
    whole = performance(log[:end])
    return (whole.seq, whole.nav, whole.capital_at_cost, whole.buy_and_hold, whole.agents)


@pytest.mark.parametrize("pieces", [1, 2, 7, 100])
def test_pieces_give_the_whole_logs_figures(log: list[AnyEvent], pieces: int) -> None:
    marks = [i + 1 for i, e in enumerate(log) if type(e).__name__ == "MarksRecorded"]
    cuts = [*marks[:: max(1, len(marks) // pieces)], len(log)]
    tracker = Tracker()
    points = []
    start = 0

    for end in cuts:
        points += tracker.feed(log[start:end])
        start = end
        assert figures_of(tracker) == whole_at(log, end)

    state = Fold()
    for event in log[: points[-1].seq]:
        state.apply(event)
    breakdown = breakdown_of(state.freeze())
    assert points[-1].by_tier == {tier: breakdown.by_tier[tier] for tier in Tier}
    assert sum(tracker.counts.values()) == len(log)
    nav = amount(performance(log).nav)
    assert figures_text(tracker).startswith(f"seq {len(log)} | events {len(log)} | nav {nav} |")


def test_a_cut_inside_a_kills_wind_down_gives_the_reports_figures(log: list[AnyEvent]) -> None:
    """Between an ``AgentKilled`` and the release of its proceeds the dead agent is still value."""
    kills = [i + 1 for i, e in enumerate(log) if isinstance(e, AgentKilled)]
    assert kills
    tracker = Tracker()
    start = 0

    for end in kills[:10]:
        tracker.feed(log[start:end])
        start = end
        assert figures_of(tracker) == whole_at(log, end)


def test_running_performance_is_performance_at_every_prefix(log: list[AnyEvent]) -> None:
    running = RunningPerformance()

    for index, event in enumerate(log, start=1):
        running.apply(event)
        if index % 97 == 0 or index == len(log):
            whole = performance(log[:index])
            assert (running.nav(), running.buy_and_hold()) == (whole.nav, whole.buy_and_hold)
            assert running.report() == whole


@settings(max_examples=60, deadline=None)
@given(valid_event_logs())
def test_running_performance_gives_the_reports_nav_and_benchmark_at_every_seq_of_any_log(
    log: list[AnyEvent],
) -> None:
    """Random logs: kills of agents still holding units (wind-downs), marks between, every seq checked."""
    running = RunningPerformance()

    for index, event in enumerate(log, start=1):
        running.apply(event)
        whole = performance(log[:index])
        assert (running.seq, running.nav(), running.buy_and_hold()) == (
            whole.seq,
            whole.nav,
            whole.buy_and_hold,
        )
        assert {a.agent_id for a in running.live_agents()} == {a.agent_id for a in whole.agents}
    assert running.report() == performance(log)


def test_each_mark_is_a_point_with_the_reports_figures_at_its_seq(log: list[AnyEvent]) -> None:
    points = Tracker().feed(log)

    assert len(points) == sum(1 for e in log if type(e).__name__ == "MarksRecorded")
    for point in points[:: max(1, len(points) // 5)]:
        at = performance(log[: point.seq])
        assert (point.nav, point.capital_at_cost, point.buy_and_hold) == (
            at.nav,
            at.capital_at_cost,
            at.buy_and_hold,
        )
        assert point.agent_equity is None  # no agent followed


def test_the_latest_decisions_are_the_logs_newest_first_and_capped(log: list[AnyEvent]) -> None:
    tracker = Tracker()

    tracker.feed(log)

    decided = [e for e in log if isinstance(e, AgentKilled | AgentGraduated | AgentDemoted)]
    assert len(decided) > DECISIONS_SHOWN
    assert [d[0] for d in tracker.decisions] == [e.seq for e in reversed(decided)][:DECISIONS_SHOWN]
    assert [d[4] for d in tracker.decisions] == [e.reason for e in reversed(decided)][:DECISIONS_SHOWN]


def test_an_agents_curve_is_its_equity_rows_of_the_frames(db: Path, log: list[AnyEvent], bred: str) -> None:
    tracker = Tracker(agent_id=bred)
    points = tracker.feed(log[:100]) + tracker.feed(log[100:])

    table = frames(str(db), ["equity"])["equity"]
    mine = table[table["agent_id"] == bred]
    expected = list(zip(mine["seq"], mine["equity"], strict=True))
    assert [(p.seq, p.agent_equity) for p in points if p.agent_equity is not None] == expected
    assert expected


def test_an_agents_fills_are_its_trades_as_the_log_records_them(log: list[AnyEvent], bred: str) -> None:
    tracker = Tracker(agent_id=bred)

    tracker.feed(log)

    trades = [e for e in log if isinstance(e, TradeExecuted) and e.agent_id == bred]
    assert trades
    assert [(f.seq, f.side, f.symbol, f.quantity, f.price, f.fee, f.realized_pnl) for f in tracker.fills] == [
        (e.seq, e.side, e.symbol, e.quantity, e.price, e.fee, e.realized_pnl) for e in trades
    ]


def test_an_agents_tier_history_is_its_spawn_then_each_decision_with_reason_and_evidence(
    log: list[AnyEvent], bred: str
) -> None:
    tracker = Tracker(agent_id=bred)

    tracker.feed(log)

    decided = [
        e for e in log if isinstance(e, AgentGraduated | AgentDemoted | AgentKilled) and e.agent_id == bred
    ]
    assert tracker.moves[0].change.startswith("spawned in ")
    assert tracker.moves[0].reason.startswith("bred from a-")
    assert [(m.seq, m.reason) for m in tracker.moves[1:]] == [(e.seq, e.reason) for e in decided]
    for move, event in zip(tracker.moves[1:], decided, strict=True):
        for key in event.evidence:
            assert f'"{key}"' in move.evidence


def test_an_agents_lineage_is_arena_lineages_with_each_ancestors_last_judged_fitness(
    db: Path, log: list[AnyEvent], bred: str, capsys: pytest.CaptureFixture[str]
) -> None:
    tracker = Tracker(agent_id=bred)
    tracker.feed(log)
    assert main(["lineage", str(db), bred]) == 0
    out = capsys.readouterr().out

    ancestry = tracker.lineage()

    printed = out.split("descendants:")[0]
    ids = re.findall(r"^  (a-\d+)  generation", printed, re.MULTILINE)
    fitness = re.findall(r"^      fitness:? (.+)$", printed, re.MULTILINE)
    assert [a.agent_id for a in reversed(ancestry)] == ids
    assert [a.fitness for a in reversed(ancestry)] == fitness
    assert ancestry[0].agent_id == bred
    assert ancestry[-1].generation == 0
    assert len(ancestry) >= 2


def test_an_unknown_agent_follows_nothing_and_its_message_says_what_to_do(log: list[AnyEvent]) -> None:
    tracker = Tracker(agent_id="a-999999")

    points = tracker.feed(log)

    assert tracker.agent() is None
    assert tracker.lineage() == []
    assert all(p.agent_equity is None for p in points)
    text = unknown_agent_text("a-999999", "x.db", tracker)
    assert text.startswith(f"agent 'a-999999': no such agent in the arena at 'x.db' as of seq {len(log)};")
    assert "click an agent" in text
    assert "a-000001, a-000002, a-000003, ..." in text


@pytest.mark.parametrize(
    ("query", "expected"),
    [({}, None), ({"agent": [b"a-000012"]}, "a-000012"), ({"agent": []}, None), ({"agent": [b" x "]}, "x")],
)
def test_the_query_picks_the_page(query: dict[str, list[bytes]], expected: str | None) -> None:
    assert page_for(query) == expected


def test_an_agent_url_is_the_query_the_links_build() -> None:
    assert agent_url("a-000012") == "/?agent=a-000012"
    assert agent_url("a b&c") == "/?agent=a%20b%26c"
    assert "/?agent=<%= encodeURIComponent(value) %>" in AGENT_LINK


# --- the pages as Bokeh documents ---------------------------------------------------------------------


def built(build: Any, *args: object) -> Document:
    doc = Document()
    build(doc, *args)
    return doc


def close(doc: Document) -> None:
    nobody: Any = None  # the session context: the pages' callbacks do not read it
    for callback in list(doc.session_destroyed_callbacks):
        callback(nobody)


def model(doc: Document, name: str, **more: Any) -> Any:
    selector: dict[Any, Any] = {"name": name, **more}
    found = doc.select_one(selector)
    assert found is not None, name
    return found


def data(doc: Document, name: str) -> dict[str, list[Any]]:
    return dict(model(doc, name).data)


def test_every_table_redraws_on_every_data_change_whatever_its_length(db: Path, bred: str) -> None:
    """Bokeh's DataTable redraws only when its view's indices change; each table tells it to."""
    from bokeh.models.widgets import DataTable  # noqa: PLC0415

    for doc in (built(main_page, str(db)), built(agent_page, str(db), bred)):
        try:
            tables: list[Any] = list(doc.select({"type": DataTable}))
            assert len(tables) >= 3
            for widget in tables:
                (callback,) = widget.source.js_property_callbacks["change:data"]
                assert callback.code == "view.change.emit()"
                assert callback.args["view"] is widget.view
        finally:
            close(doc)


def test_the_main_page_shows_the_reports_figures_and_links_every_agent(db: Path, log: list[AnyEvent]) -> None:
    from bokeh.models.widgets import DataTable  # noqa: PLC0415

    doc = built(main_page, str(db))
    try:
        whole = performance(log)
        figures = model(doc, "figures")
        assert figures.text.startswith(f"seq {len(log)} | events {len(log)} | nav {amount(whole.nav)} |")
        assert data(doc, "board-source")["agent"] == [a.agent_id for a in whole.agents]
        assert len(data(doc, "decisions-source")["seq"]) == DECISIONS_SHOWN
        assert data(doc, "nav-source")["nav"][-1] == float(whole.nav)
        for name in ("board", "decisions"):
            table = model(doc, name, type=DataTable)
            (agent,) = [c for c in table.columns if c.field == "agent"]
            assert agent.formatter.template == AGENT_LINK
    finally:
        close(doc)


def test_the_agent_page_shows_its_curve_fills_tiers_and_lineage(
    db: Path, log: list[AnyEvent], bred: str
) -> None:
    tracker = Tracker(agent_id=bred)
    points = tracker.feed(log)

    doc = built(agent_page, str(db), bred)
    try:
        curve = data(doc, "agent-equity-source")
        assert curve["equity"] == [float(p.agent_equity) for p in points if p.agent_equity is not None]
        assert data(doc, "agent-fills-source")["seq"] == [f.seq for f in tracker.fills]
        assert data(doc, "agent-tiers-source")["reason"] == [m.reason for m in tracker.moves]
        assert data(doc, "agent-lineage-source")["agent"] == [a.agent_id for a in tracker.lineage()]
        assert model(doc, "agent-missing").visible is False
        heading = model(doc, "agent-heading").text
        assert f"generation {tracker.lineage()[0].generation}" in heading
    finally:
        close(doc)


def test_the_agent_page_of_an_unknown_id_shows_the_message_not_the_page(db: Path) -> None:
    doc = built(agent_page, str(db), "no-such-agent")
    try:
        missing = model(doc, "agent-missing")
        assert missing.visible is True
        assert missing.text.startswith("agent &#x27;no-such-agent&#x27;: no such agent in the arena at")
        assert data(doc, "agent-equity-source")["equity"] == []
    finally:
        close(doc)


def test_a_missing_store_is_refused_before_serving(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["dashboard", str(tmp_path / "nothing.db"), "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("arena: error:")
    assert "nothing.db" in err


def test_a_port_out_of_range_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dashboard", str(tmp_path / "a.db"), "--port", "70000"]) == 2
    assert "0 to 65535" in capsys.readouterr().err
