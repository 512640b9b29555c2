"""``arena export``: one file per frame, money exact, read-only on the store, all files or none."""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime
from decimal import Decimal

import pandas as pd
import pytest

from actors import FRAMES, Arena, SimClock, frames, read_frame, run_simulation
from actors.cli import main
from trading import EvolutionPolicy, SyntheticFeed

START = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("export") / "arena.db"
    with Arena.open(path, total_capital=Decimal(50_000), seed=4, clock=SimClock(START)) as arena:
        run_simulation(
            arena,
            SyntheticFeed(seed=4, start=START, days=4),
            seed=4,
            agents=4,
            policy=EvolutionPolicy(cycle_days=1),
        )
    return path


def export(*args: object) -> int:
    return main(["export", *map(str, args)])


def one_line_error(capsys, pattern: str) -> None:
    out, err = capsys.readouterr()
    assert out == ""
    assert "Traceback" not in err
    assert err.count("\n") == 1, err
    assert re.match(pattern, err), err


@pytest.mark.parametrize("file_format", ["csv", "parquet"])
def test_export_writes_one_file_per_frame_that_reads_back_exactly(store, tmp_path, capsys, file_format):
    out = tmp_path / "tables"

    status = export(store, "--format", file_format, "--out", out)

    printed = capsys.readouterr()
    expected = frames(store)
    assert status == 0
    assert printed.err == ""
    assert sorted(path.name for path in out.iterdir()) == sorted(f"{name}.{file_format}" for name in FRAMES)
    for name in FRAMES:
        path = out / f"{name}.{file_format}"
        assert f"wrote {path} ({len(expected[name])} rows)" in printed.out
        pd.testing.assert_frame_equal(read_frame(path), expected[name], check_exact=True)


def test_export_writes_only_the_frames_asked_for(store, tmp_path, capsys):
    status = export(store, "--format", "csv", "--out", tmp_path, "--frames", "nav, fills")

    assert status == 0
    assert sorted(path.name for path in tmp_path.iterdir()) == ["fills.csv", "nav.csv"]
    assert capsys.readouterr().out.splitlines()[0].startswith(f"wrote {tmp_path / 'fills.csv'} (")


def test_export_runs_beside_a_writer_that_holds_the_store(store, tmp_path, capsys):
    live = tmp_path / "live.db"
    live.write_bytes(store.read_bytes())
    with Arena.open(live, seed=4, clock=SimClock(START)) as arena:
        arena.spawn_agent()
        arena.flush()

        status = export(live, "--format", "parquet", "--out", tmp_path / "out", "--frames", "agents")

        assert status == 0
        agents = read_frame(tmp_path / "out" / "agents.parquet")
        assert set(agents["agent_id"]) == set(arena.state().agents)


def test_export_refuses_to_overwrite_without_force_and_replaces_with_it(store, tmp_path, capsys):
    (tmp_path / "nav.csv").write_text("old", encoding="utf-8")

    refused = export(store, "--format", "csv", "--out", tmp_path, "--frames", "nav")
    one_line_error(capsys, r"^arena: error: out: '.*' already holds nav.csv; pass another folder, or replace")
    kept = (tmp_path / "nav.csv").read_text(encoding="utf-8")
    replaced = export(store, "--format", "csv", "--out", tmp_path, "--frames", "nav", "--force")

    assert (refused, kept, replaced) == (2, "old", 0)
    assert (tmp_path / "nav.csv").read_text(encoding="utf-8").startswith("seq,timestamp,nav,")


@pytest.mark.parametrize(
    ("args", "pattern"),
    [
        (["--format", "xlsx"], r"^arena export: error: argument --format: invalid choice: 'xlsx'"),
        (
            ["--format", "csv", "--frames", "nav,fill"],
            r"^arena: error: --frames: 'fill' is not a frame; pass",
        ),
        (["--format", "csv", "--frames", ","], r"^arena: error: --frames: ',' names no frame; pass a comma"),
        ([], r"^arena export: error: the following arguments are required: --format"),
    ],
)
def test_export_refuses_bad_options_and_writes_nothing(store, tmp_path, capsys, args, pattern):
    status = export(store, "--out", tmp_path / "out", *args)

    assert status == 2
    one_line_error(capsys, pattern)
    assert not (tmp_path / "out").exists()


def test_export_of_a_missing_store_fails_in_one_line_and_writes_nothing(tmp_path, capsys):
    status = export(tmp_path / "nope.db", "--format", "csv", "--out", tmp_path / "out")

    assert status == 2
    one_line_error(capsys, r"^arena: error: .*nope\.db")
    assert not (tmp_path / "out").exists()


def test_export_to_a_file_or_under_a_missing_folder_is_refused(store, tmp_path, capsys):
    (tmp_path / "file").write_text("x", encoding="utf-8")

    into_file = export(store, "--format", "csv", "--out", tmp_path / "file")
    one_line_error(capsys, r"^arena: error: out: '.*file' is a file, not a folder")
    under_missing = export(store, "--format", "csv", "--out", tmp_path / "no" / "out")
    one_line_error(capsys, r"^arena: error: out: the parent folder of '.*out' does not exist")

    assert (into_file, under_missing) == (2, 2)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["file"]


def test_export_without_the_analysis_extra_says_how_to_install_it(store, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)

    status = export(store, "--format", "csv", "--out", tmp_path / "out")

    assert status == 2
    one_line_error(capsys, r"^arena: error: a frame needs pandas, .*pip install 'arena-runtime\[analysis\]'$")
    assert not (tmp_path / "out").exists()
