"""The dashboard's incremental reader: a log fed in pieces gives the figures of the whole log folded once."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from actors import breakdown_of
from actors.cli._dashboard import Tracker, figures_text
from actors.cli._format import amount
from events import Fold, Tier
from store import SQLiteEventStore
from trading import performance

if TYPE_CHECKING:
    from pathlib import Path

    from events import AnyEvent

from actors.cli import main


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> list[AnyEvent]:
    db = tmp_path_factory.mktemp("dashboard") / "arena.db"
    assert (
        main(["simulate", "--db", str(db), "--agents", "12", "--days", "30", "--seed", "3", "--quiet"]) == 0
    )
    with SQLiteEventStore.open(str(db), readonly=True) as store:
        return list(store.read())


@pytest.mark.parametrize("pieces", [1, 2, 7, 100])
def test_pieces_give_the_whole_logs_figures(log: list[AnyEvent], pieces: int) -> None:
    # cut right after marks (and at the end): where a report at that seq is defined (not mid-kill)
    marks = [i + 1 for i, e in enumerate(log) if type(e).__name__ == "MarksRecorded"]
    cuts = [*marks[:: max(1, len(marks) // pieces)], len(log)]
    tracker = Tracker()
    points = []
    start = 0
    for end in cuts:
        points += tracker.feed(log[start:end])
        start = end
        whole = performance(log[:end])
        assert (tracker.seq, tracker.nav(), tracker.capital_at_cost(), tracker.buy_and_hold()) == (
            whole.seq,
            whole.nav,
            whole.capital_at_cost,
            whole.buy_and_hold,
        )
        rows = [
            (r.agent_id, r.tier, r.equity, r.pnl, r.total_return, r.max_drawdown, r.trades)
            for r in tracker.rows()
        ]
        assert rows == [
            (a.agent_id, a.tier, a.equity, a.pnl, a.total_return, a.max_drawdown, a.trades)
            for a in whole.agents
        ]
    state = Fold()
    for event in log[: points[-1].seq]:
        state.apply(event)
    breakdown = breakdown_of(state.freeze())
    assert points[-1].by_tier == {tier: breakdown.by_tier[tier] for tier in Tier}
    assert sum(tracker.counts.values()) == len(log)
    assert figures_text(tracker).startswith(f"seq {len(log)} | events {len(log)} | nav {amount(whole.nav)} |")


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
