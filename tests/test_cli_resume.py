"""`arena simulate` stopped by a real signal, or run in legs, then resumed: the uninterrupted log."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from store import Head, SQLiteEventStore

ROOT = Path(__file__).resolve().parent.parent
RUN = ("--agents", "12", "--days", "6", "--seed", "13", "--cycle-days", "1")
TIMEOUT = 180


def arena(*args: object, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603  (our own interpreter and module, fixed arguments)
        [sys.executable, "-m", "actors.cli", *map(str, args)],
        cwd=cwd,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}


def head_of(path: Path) -> Head:
    with SQLiteEventStore.open(path, readonly=True) as store:
        return store.head()


def seq_now(path: Path) -> int:
    """The last committed seq, read with one query: the store's own open folds the tail, which on a busy
    machine took longer than the whole run being watched, so the poll missed its moment."""
    if not path.exists():
        return 0
    try:
        connection = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)
        try:
            (seq,) = connection.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()
        finally:
            connection.close()
    except sqlite3.Error:  # not made yet, or its schema not yet committed
        return 0
    return int(seq)


@pytest.fixture(scope="module")
def whole(tmp_path_factory: pytest.TempPathFactory) -> Head:
    cwd = tmp_path_factory.mktemp("whole")
    done = arena("simulate", "--db", "whole.db", *RUN, cwd=cwd)
    assert done.returncode == 0, done.stderr
    return head_of(cwd / "whole.db")


@pytest.mark.parametrize(
    ("signum", "status"),
    [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGKILL, -signal.SIGKILL)],
    ids=["SIGINT", "SIGTERM", "kill -9"],
)
def test_a_signal_at_a_random_moment_then_resume_gives_the_uninterrupted_log(whole, tmp_path, signum, status):
    rng = random.Random(f"{signum}")  # a different moment per signal, the same one every run
    threshold = rng.randint(50, max(51, whole.seq // 2))
    process = subprocess.Popen(  # noqa: S603  (our own interpreter and module, fixed arguments)
        [sys.executable, "-m", "actors.cli", "simulate", "--db", "arena.db", *RUN],
        cwd=tmp_path,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + TIMEOUT
    while seq_now(tmp_path / "arena.db") < threshold and process.poll() is None:
        assert time.monotonic() < deadline, "the run never reached the interruption point"
        time.sleep(0.01)
    process.send_signal(signum)
    _, err = process.communicate(timeout=TIMEOUT)
    if process.returncode == 0:
        pytest.fail(f"the run finished before the signal (threshold {threshold}); lower it")
    assert process.returncode == status, err
    if signum != signal.SIGKILL:
        assert "resume the same run with:" in err
        assert "arena simulate --db arena.db --resume" in err
    assert head_of(tmp_path / "arena.db").seq < whole.seq

    resumed = arena("simulate", "--db", "arena.db", "--resume", cwd=tmp_path)

    assert resumed.returncode == 0, resumed.stderr
    assert head_of(tmp_path / "arena.db") == whole
    check = arena("verify", "arena.db", "--expected-head", f"{whole.seq}:{whole.hash}", cwd=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr


def test_days_in_legs_give_the_one_run_log_and_a_finished_run_needs_days(whole, tmp_path):
    first = arena("simulate", "--db", "arena.db", *RUN[:2], "--days", "2", *RUN[4:], cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    second = arena("simulate", "--db", "arena.db", "--resume", "--days", "3", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    third = arena("simulate", "--db", "arena.db", "--resume", "--days", "1", cwd=tmp_path)
    assert third.returncode == 0, third.stderr

    assert head_of(tmp_path / "arena.db") == whole
    finished = arena("simulate", "--db", "arena.db", "--resume", cwd=tmp_path)
    assert finished.returncode == 2
    assert "is finished" in finished.stderr
    assert "pass --days N to extend it" in finished.stderr


def test_a_resume_that_names_another_seed_or_market_is_refused_and_changes_nothing(tmp_path):
    first = arena("simulate", "--db", "arena.db", *RUN[:2], "--days", "1", *RUN[4:], cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    before = head_of(tmp_path / "arena.db")

    other_seed = arena(
        "simulate", "--db", "arena.db", "--resume", "--days", "1", "--seed", "14", cwd=tmp_path
    )
    other_policy = arena(
        "simulate", "--db", "arena.db", "--resume", "--days", "1", "--cycle-days", "2", cwd=tmp_path
    )

    assert other_seed.returncode == 2
    assert "--seed 14 (recorded 13)" in other_seed.stderr
    assert other_policy.returncode == 2
    assert "differ from the recorded policy" in other_policy.stderr
    assert head_of(tmp_path / "arena.db") == before


def test_report_shows_the_manifest_and_whether_the_run_finished(tmp_path):
    done = arena("simulate", "--db", "arena.db", *RUN[:2], "--days", "1", *RUN[4:], cwd=tmp_path)
    assert done.returncode == 0, done.stderr

    report = arena("report", "arena.db", cwd=tmp_path)

    assert report.returncode == 0, report.stderr
    assert "run (manifest at seq 2): seed 13, 12 agents, synthetic market seed 13" in report.stdout
    assert "finished: its last step reached the target" in report.stdout
