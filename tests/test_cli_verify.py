"""``arena verify --workers N``: the processes of an audit, checked at the boundary, never the verdict."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from actors.cli import main
from store import SQLiteEventStore
from tests.store.arena_log import ArenaLog

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture
def store_file(tmp_path: Path) -> Path:
    log = ArenaLog(seed=0)
    log.scenario()
    path = tmp_path / "arena.db"
    with SQLiteEventStore.open(path) as store:
        store.append(log.take())
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.mark.parametrize("workers", ["1", "2", " 3 "])
def test_verify_with_workers_reports_what_the_default_reports(store_file, capsys, workers):
    default = run(capsys, "verify", str(store_file))

    chosen = run(capsys, "verify", str(store_file), "--workers", workers)

    assert chosen == default
    assert chosen[0] == 0
    assert re.match(r"^.*arena\.db: ok: \d+ events", chosen[1])


@pytest.mark.parametrize("workers", ["0", "-1", "1.5", "two", "\u0662", "1" * 5000, "257", ""])
def test_verify_refuses_a_workers_value_that_is_no_number_of_processes(store_file, capsys, workers):
    before = store_file.read_bytes()

    status, out, err = run(capsys, "verify", str(store_file), "--workers", workers)

    assert (status, out) == (2, "")
    assert err.count("\n") == 1
    assert err.startswith(f"arena: error: --workers: {workers[:19]!r}")
    assert len(err) < 200
    assert "is not a number of processes; pass an int from 1 to 256, e.g. --workers 2\n" in err
    assert store_file.read_bytes() == before
