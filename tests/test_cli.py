"""The ``arena`` command line, run as users run it: in a subprocess, reading its exit status and streams."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from actors.cli import main

if TYPE_CHECKING:
    from collections.abc import Iterator

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 120  # seconds for one command; the slowest here simulates 6 agents for 4 days (~1 s)


@dataclass(frozen=True)
class Result:
    status: int
    out: str
    err: str


def arena(*args: object, cwd: Path) -> Result:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(  # noqa: S603  (our own interpreter and module, fixed arguments)
        [sys.executable, "-m", "actors.cli", *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    return Result(done.returncode, done.stdout, done.stderr)


def limited(*args: object, cwd: Path, max_file_bytes: int) -> Result:
    """Run ``arena`` with no file allowed past ``max_file_bytes`` (RLIMIT_FSIZE): a size-limited disk.

    Python ignores SIGXFSZ, so a write past the limit fails with EFBIG, which SQLite reports as an I/O
    error, as it would on a quota or a full file system (``PRAGMA max_page_count``, the other way to
    fill a store, lasts only as long as the connection that sets it).
    """
    code = (
        "import resource, sys; resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[1]),) * 2); "
        "from actors.cli import main; sys.exit(main(sys.argv[2:]))"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(  # noqa: S603  (our own interpreter and module, fixed arguments)
        [sys.executable, "-c", code, str(max_file_bytes), *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    return Result(done.returncode, done.stdout, done.stderr)


@contextmanager
def read_only(path: Path) -> Iterator[None]:
    """Make ``path`` unwritable: by its mode for a user; root ignores modes, so by the immutable flag."""
    if os.geteuid() != 0:
        path.chmod(0o444)
        try:
            yield
        finally:
            path.chmod(0o644)
        return
    chattr = shutil.which("chattr")
    flagged = chattr is not None and subprocess.run([chattr, "+i", str(path)], check=False).returncode == 0  # noqa: S603  (a fixed tool on our own file)
    if not flagged or chattr is None:
        pytest.skip("running as root where chattr +i is unavailable: no way to make a file read-only")
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", str(path)], check=True)  # noqa: S603  (a fixed tool on our own file)


def assert_one_line_error(result: Result, status: int, pattern: str) -> None:
    assert result.status == status, result
    assert result.out == ""
    assert "Traceback" not in result.err
    assert result.err.count("\n") == 1, result.err
    assert re.match(pattern, result.err), result.err


def head_of(result: Result) -> tuple[int, str]:
    found = re.search(r"^head: seq (\d+) hash ([0-9a-f]{64})$", result.out, re.MULTILINE)
    assert found, result.out
    return int(found.group(1)), found.group(2)


def copy_store(source: Path, target: Path) -> Path:
    for file in source.parent.glob(f"{source.name}*"):
        shutil.copy(file, target.parent / file.name.replace(source.name, target.name))
    return target


def tamper(path: Path, sql: str, *params: object) -> None:
    """Drop the append-only triggers of a closed store, then run ``sql``: what an editor of the file does."""
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        triggers = connection.execute("SELECT name FROM sqlite_schema WHERE type = 'trigger'").fetchall()
        for (trigger,) in triggers:
            connection.execute(f"DROP TRIGGER {trigger}")
        connection.execute(sql, params)
    finally:
        connection.close()


def write_csv(path: Path, *, hours: int = 96) -> Path:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    lines = ["timestamp,symbol,open,high,low,close,volume"]
    for hour in range(1, hours + 1):
        for symbol, base in (("AAA", 100), ("BBB", 50)):
            price = base + (hour % 24) - 12 + hour / 10
            stamp = (start + timedelta(hours=hour)).isoformat()
            lines.append(
                f"{stamp},{symbol},{price:.2f},{price + 1:.2f},{price - 1:.2f},{price + 0.5:.2f},1000"
            )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> tuple[Path, Result]:
    """One simulated store, shared by the read-only commands; tests that change a store copy it first."""
    where = tmp_path_factory.mktemp("cli")
    # --quiet: a slow machine could take past --progress-every's 10 s and print a progress line
    result = arena(
        "simulate",
        "--db",
        "arena.db",
        "--agents",
        6,
        "--days",
        4,
        "--seed",
        1,
        "--cycle-days",
        1,
        "--quiet",
        cwd=where,
    )
    assert result.status == 0, result
    return where / "arena.db", result


# --- simulate -------------------------------------------------------------------------------------------


def test_simulate_prints_a_summary_with_the_head_to_keep_and_nothing_on_stderr(made):
    path, result = made

    assert result.err == ""
    assert re.search(r"^simulated 96 steps \(480 bars, 576 agent-steps\)", result.out, re.MULTILINE)
    assert re.search(r"^events written: [\d,]+ \(seq 2 to \d+\)$", result.out, re.MULTILINE)
    assert "  TradeExecuted " in result.out
    assert re.search(r"^evolution: 4 cycles; ", result.out, re.MULTILINE)
    assert re.search(r"^capital at seq \d+:$", result.out, re.MULTILINE)
    assert "top agents (depth = generations from a spawned ancestor):" in result.out
    seq, digest = head_of(result)
    assert f"arena verify arena.db --expected-head {seq}:{digest}" in result.out
    assert path.exists()


def test_simulate_with_progress_draws_the_bar_on_stderr_and_keeps_stdout_clean(tmp_path):
    result = arena(
        "simulate", "--db", "a.db", "--agents", 2, "--days", 2, "--seed", 3, "--progress", cwd=tmp_path
    )

    assert result.status == 0, result
    assert re.search(
        r"48/48 \[.*step/s, 2026-01-03T00:00:00Z, nav [\d,]+\.\d{8}, 2 agents, [\d,]+ events\]", result.err
    )
    assert "steps" not in result.out.splitlines()[-1]
    assert "\r" not in result.out


def test_simulate_twice_with_one_seed_gives_one_head(made, tmp_path):
    again = arena(
        "simulate", "--db", "b.db", "--agents", 6, "--days", 4, "--seed", 1, "--cycle-days", 1, cwd=tmp_path
    )

    assert again.status == 0, again
    assert head_of(again) == head_of(made[1])


def test_simulate_refuses_an_existing_store_without_resume_or_force(made, tmp_path):
    path = copy_store(made[0], tmp_path / "arena.db")
    before = path.read_bytes()

    result = arena("simulate", "--db", "arena.db", "--agents", 2, "--days", 1, "--seed", 1, cwd=tmp_path)

    assert_one_line_error(result, 2, r"^arena: error: --db 'arena.db': the file exists; pass --resume")
    assert path.read_bytes() == before


def test_simulate_with_force_replaces_the_store(made, tmp_path):
    copy_store(made[0], tmp_path / "arena.db")

    result = arena(
        "simulate", "--db", "arena.db", "--agents", 2, "--days", 1, "--seed", 9, "--force", cwd=tmp_path
    )

    assert result.status == 0, result
    assert head_of(result) != head_of(made[1])
    assert arena("verify", "arena.db", cwd=tmp_path).status == 0


def test_simulate_with_resume_continues_the_same_log(made, tmp_path):
    copy_store(made[0], tmp_path / "arena.db")
    seq, digest = head_of(made[1])

    result = arena("simulate", "--db", "arena.db", "--days", 2, "--resume", cwd=tmp_path)

    assert result.status == 0, result
    assert re.search(r"^simulated 48 steps .* from 2026-01-05T01:00:00", result.out, re.MULTILINE)
    assert re.search(rf"^events written: [\d,]+ \(seq {seq + 1} to \d+\)$", result.out, re.MULTILINE)
    assert head_of(result)[0] > seq
    old = arena("verify", "arena.db", "--expected-head", f"{seq}:{digest}", cwd=tmp_path)
    new = arena("verify", "arena.db", "--expected-head", "{}:{}".format(*head_of(result)), cwd=tmp_path)
    assert (old.status, new.status) == (0, 0)


def test_simulate_runs_on_a_csv_file(tmp_path):
    write_csv(tmp_path / "prices.csv")

    result = arena(
        "simulate",
        "--db",
        "a.db",
        "--agents",
        3,
        "--days",
        3,
        "--seed",
        1,
        "--data",
        "prices.csv",
        cwd=tmp_path,
    )

    assert result.status == 0, result
    assert re.search(r"^simulated 72 steps .* from 2024-01-01T01:00:00.000000Z", result.out, re.MULTILINE)
    assert arena("verify", "a.db", cwd=tmp_path).status == 0


def test_a_csv_whose_prices_fail_late_in_the_file_refuses_the_run_and_leaves_no_file(tmp_path):
    path = write_csv(tmp_path / "prices.csv")
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[150] = lines[150].replace(",1000", ",-1")  # a negative volume two days into the window
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    result = arena(
        "simulate",
        "--db",
        "a.db",
        "--agents",
        3,
        "--days",
        3,
        "--seed",
        1,
        "--data",
        "prices.csv",
        cwd=tmp_path,
    )

    assert result.status == 2
    assert re.fullmatch(r"arena: error: .*'prices\.csv' line 151.*volume -1 is negative.*\n", result.err)
    assert not (tmp_path / "a.db").exists()


@pytest.mark.parametrize(
    ("setup", "args", "pattern"),
    [
        ({}, ["--agents", 2, "--days", 1], r"^arena: error: --seed: a new arena needs a seed"),
        ({}, ["--days", 1, "--seed", 1], r"^arena: error: --agents: a new arena needs its population"),
        ({}, ["--agents", 2, "--days", 0, "--seed", 1], r"^arena simulate: error: argument --days: 0 is not"),
        (
            {},
            ["--agents", 2, "--days", 1, "--seed", 1, "--capital", "1e9x"],
            r"^arena: error: --capital: '1e9x'",
        ),
        (
            {},
            ["--agents", 2, "--days", 1, "--seed", 1, "--start", "2024-01-01"],
            r"^arena: error: --start 2024-01-01",
        ),
        (
            {},
            ["--agents", 2, "--days", 1, "--seed", 1, "--cycle-days", 0],
            r"^arena: error: --cycle-days 0: ",
        ),
        (
            {"policy.json": '{"kill_fraction": 2}'},
            ["--agents", 2, "--days", 1, "--seed", 1, "--policy", "policy.json"],
            r"^arena: error: policy file 'policy.json': EvolutionPolicy field 'kill_fraction'",
        ),
        (
            {"policy.toml": "kill_fraction = "},
            ["--agents", 2, "--days", 1, "--seed", 1, "--policy", "policy.toml"],
            r"^arena: error: policy file 'policy.toml': is not valid TOML",
        ),
        (
            {},
            ["--agents", 2, "--days", 1, "--seed", 1, "--policy", "missing.json"],
            r"^arena: error: policy file 'missing.json': cannot be read",
        ),
        (
            {"prices.csv": "timestamp,open,high,low,close,volume\n2024-01-01,1,2,x,1,1\n"},
            ["--agents", 2, "--days", 1, "--seed", 1, "--data", "prices.csv"],
            r"^arena: error: .*'prices.csv' line 2, column 'low'",
        ),
        (
            {},
            ["--agents", 2, "--days", 1, "--seed", 1, "--data", "missing.csv"],
            r"^arena: error: .*missing.csv",
        ),
        ({}, ["--days", 1, "--resume"], r"^arena: error: --resume: no arena at 'new.db' to resume"),
        (
            {},
            ["--days", 1, "--seed", 1, "--resume", "--force"],
            r"^arena simulate: error: argument --force: ",
        ),
    ],
)
def test_simulate_refuses_bad_options_in_one_line_and_creates_nothing(tmp_path, setup, args, pattern):
    for name, text in setup.items():
        (tmp_path / name).write_text(text, encoding="utf-8")

    result = arena("simulate", "--db", "new.db", *args, cwd=tmp_path)

    assert_one_line_error(result, 2, pattern)
    assert not (tmp_path / "new.db").exists()


def test_simulate_refuses_to_resume_with_another_seed_or_new_agents(made, tmp_path):
    copy_store(made[0], tmp_path / "arena.db")

    seed = arena("simulate", "--db", "arena.db", "--days", 1, "--seed", 2, "--resume", cwd=tmp_path)
    agents = arena("simulate", "--db", "arena.db", "--days", 1, "--agents", 3, "--resume", cwd=tmp_path)

    assert_one_line_error(seed, 2, r"^arena: error: --resume: --seed 2 \(recorded 1\); a resumed run is the")
    assert_one_line_error(agents, 2, r"^arena: error: --agents 3: a resumed arena keeps the agents it has")


def test_simulate_force_never_replaces_a_file_that_is_not_a_store(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("keep me\n", encoding="utf-8")

    result = arena(
        "simulate", "--db", "notes.txt", "--agents", 2, "--days", 1, "--seed", 1, "--force", cwd=tmp_path
    )

    assert_one_line_error(result, 2, r"^arena: error: --db 'notes.txt': --force replaces only Arena stores")
    assert notes.read_text(encoding="utf-8") == "keep me\n"


# --- a store that cannot be written ---------------------------------------------------------------------


def test_simulate_on_a_read_only_store_fails_in_one_line_and_changes_nothing(made, tmp_path):
    path = copy_store(made[0], tmp_path / "arena.db")
    before = path.read_bytes()

    with read_only(path):
        result = arena("simulate", "--db", "arena.db", "--days", 1, "--resume", cwd=tmp_path)

    assert_one_line_error(result, 2, r"(?i)^arena: error: .*read-?only")
    assert path.read_bytes() == before


def test_simulate_with_v_shows_the_runtimes_log_and_tracebacks_before_the_one_error_line(made, tmp_path):
    path = copy_store(made[0], tmp_path / "arena.db")

    with read_only(path):
        result = arena("-v", "simulate", "--db", "arena.db", "--days", 1, "--resume", cwd=tmp_path)

    lines = result.err.splitlines()
    assert result.status == 2
    assert "Traceback (most recent call last):" in lines
    assert re.match(r"(?i)^arena: error: .*read-?only", lines[-1])
    assert sum(line.startswith("arena: error: ") for line in lines) == 1


def test_simulate_on_a_size_limited_disk_fails_in_one_line_and_loses_nothing_flushed(made, tmp_path):
    path = copy_store(made[0], tmp_path / "arena.db")
    limit = path.stat().st_size + 64 * 1024  # room for the first batches of the run, not for 30 days

    result = limited(
        "simulate", "--db", "arena.db", "--days", 30, "--resume", cwd=tmp_path, max_file_bytes=limit
    )

    assert_one_line_error(result, 2, r"^arena: error: .*\(SQLITE_(IOERR\w*|FULL): ")
    checked = arena("verify", "arena.db", "--expected-head", "{}:{}".format(*head_of(made[1])), cwd=tmp_path)
    assert checked.status == 0, checked


def test_simulate_on_a_full_database_fails_in_one_line_in_process_too(made, tmp_path, monkeypatch, capsys):
    """``main`` itself, as an embedding caller runs it: no log record escapes to stderr around the line."""
    copy_store(made[0], tmp_path / "arena.db")
    connect = sqlite3.connect

    def capped(database: str, *args: object, **kwargs: object) -> sqlite3.Connection:
        connection = connect(database, *args, **kwargs)  # type: ignore[arg-type]  # sqlite3's own arguments
        if "mode=rw" in str(database):  # the writer's (and recovery's) connection, not a reader's
            (pages,) = connection.execute("PRAGMA page_count").fetchone()
            connection.execute(f"PRAGMA max_page_count = {pages + 1}")
        return connection

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sqlite3, "connect", capped)

    status = main(["simulate", "--db", "arena.db", "--days", "2", "--resume"])

    out, err = capsys.readouterr()
    assert (status, out) == (2, "")
    assert err.count("\n") == 1, err
    assert re.match(r"^arena: error: .*\(SQLITE_FULL: database or disk is full\)", err), err


def test_simulate_while_another_connection_holds_the_write_lock_fails_in_one_line(made, tmp_path):
    path = copy_store(made[0], tmp_path / "arena.db")
    before = path.read_bytes()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # a second writer, mid-transaction

    try:
        result = arena("simulate", "--db", "arena.db", "--days", 1, "--resume", cwd=tmp_path)
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    assert_one_line_error(result, 2, r"(?i)^arena: error: .*(lock|busy|another)")
    assert path.read_bytes() == before


# --- bad numbers and amounts ----------------------------------------------------------------------------

HEAD_HASH = "ab" * 32
PLAIN = "expected ASCII digits, an optional leading '-' and at most 8 places after a point"
NEW = ["simulate", "--db", "new.db", "--agents", 2, "--days", 1, "--seed", 1]


def usage(command: str, message: str) -> str:
    return f"arena {command}: error: {message}; see 'arena {command} --help'"


def lenient_capital(text: str, flaw: str, fix: str) -> tuple[list[object], str]:
    line = f"arena: error: --capital: {text!r} is not a plain decimal ({flaw}); {PLAIN}; pass {fix!r}"
    return [*NEW, "--capital", text], line


AGENTS_CAP = (
    "is not a whole number from 1 to 2000 (each agent is an OS thread, and past 2,000 a run spends its time "
    "switching between them; the Arena API takes more)"
)


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["simulate", "--db", "new.db", "--agents", 2, "--days", 1_000_000_000, "--seed", 1],
            usage(
                "simulate",
                "argument --days: 1000000000 is not a whole number from 1 to 36500 "
                "(a century of market: a longer run would not finish)",
            ),
        ),
        (
            ["simulate", "--db", "new.db", "--agents", 1_000_000_000, "--days", 1, "--seed", 1],
            usage("simulate", f"argument --agents: 1000000000 {AGENTS_CAP}"),
        ),
        (
            ["simulate", "--db", "new.db", "--agents", 2001, "--days", 1, "--seed", 1],
            usage("simulate", f"argument --agents: 2001 {AGENTS_CAP}"),
        ),
        (
            ["simulate", "--db", "new.db", "--agents", "1_000", "--days", 1, "--seed", 1],
            usage(
                "simulate", "argument --agents: '1_000' is not a whole number; pass ASCII digits such as 1"
            ),
        ),
        (
            ["simulate", "--db", "new.db", "--agents", "\uff15", "--days", 1, "--seed", 1],  # fullwidth 5
            usage(
                "simulate", "argument --agents: '\uff15' is not a whole number; pass ASCII digits such as 1"
            ),
        ),
        (
            ["simulate", "--db", "new.db", "--agents", 2, "--days", 1, "--seed", 2**63],
            usage(
                "simulate",
                "argument --seed: 9223372036854775808 is not a whole number from -2**63 to 2**63 - 1",
            ),
        ),
        (
            ["simulate", "--db", "new.db", "--agents", 2, "--days", 1, "--seed", -(10**30)],
            usage(
                "simulate",
                "argument --seed: -100000000000000000... (32 digits) is not a whole number "
                "from -2**63 to 2**63 - 1",
            ),
        ),
        (
            [*NEW, "--top", 2**63],
            usage(
                "simulate", "argument --top: 9223372036854775808 is not a whole number from 0 to 2**63 - 1"
            ),
        ),
        (
            [*NEW, "--cycle-days", 2**63],
            usage(
                "simulate",
                "argument --cycle-days: 9223372036854775808 is not a whole number from 0 to 2**63 - 1",
            ),
        ),
        lenient_capital("1_000", "it has underscores", "1000"),
        lenient_capital("\u0661\u0662", "it has non-ASCII characters", "12"),  # Arabic-Indic 12
        lenient_capital("\uff15", "it has non-ASCII characters", "5"),  # fullwidth 5
        lenient_capital(" 7 ", "it has spaces around it", "7"),
        lenient_capital("1e5", "it has an exponent", "100000"),
        lenient_capital("+5", "it has a leading '+'", "5"),
        (
            [*NEW, "--policy", "population.json"],
            (
                "arena: error: policy file 'population.json': population 1000000000 is above 2,000, the most "
                "agents the command line runs (each is an OS thread); pass a population of at most 2000, or "
                "use the Arena API for more"
            ),
        ),
        (
            ["replay", "arena.db", "--from-seq", 2**63],
            usage(
                "replay", "argument --from-seq: 9223372036854775808 is not a whole number from 0 to 2**63 - 1"
            ),
        ),
        (
            ["report", "arena.db", "--at-seq", 2**63],
            usage(
                "report",
                "argument --at-seq/--seq: 9223372036854775808 is not a whole number from 0 to 2**63 - 1",
            ),
        ),
        (
            ["report", "arena.db", "--top", "1" * 5000],
            usage(
                "report",
                "argument --top: 1111111111111111111... (5000 digits) is not a whole number "
                "from 0 to 2**63 - 1",
            ),
        ),
        (
            ["verify", "arena.db", "--expected-head", f"{2**63}:{HEAD_HASH}"],
            (
                "arena: error: --expected-head: seq 9223372036854775808 is beyond 2**63 - 1, the largest seq "
                "a log can reach; pass the head that 'arena simulate' printed"
            ),
        ),
        (
            ["verify", "arena.db", "--expected-head", f"\u0661\u0662:{HEAD_HASH}"],
            (
                f"arena: error: --expected-head: '\u0661\u0662:{HEAD_HASH}' is not SEQ:HASH; pass the head "
                "that 'arena simulate' printed, e.g. 2631:f044f536... (the seq, a colon, then the 64 hex "
                "digits of the hash)"
            ),
        ),
    ],
)
def test_bad_numbers_and_amounts_are_refused_in_one_line_with_the_range_and_change_nothing(
    made, tmp_path, args, line
):
    path = copy_store(made[0], tmp_path / "arena.db")
    (tmp_path / "population.json").write_text('{"population": 1000000000}', encoding="utf-8")
    before = {file.name: file.read_bytes() for file in tmp_path.iterdir()}

    result = arena(*args, cwd=tmp_path)

    assert_one_line_error(result, 2, f"^{re.escape(line)}\n$")
    assert {file.name: file.read_bytes() for file in tmp_path.iterdir()} == before
    assert path.exists()


# --- verify ---------------------------------------------------------------------------------------------


def test_verify_passes_a_clean_store_and_its_recorded_head(made):
    path, simulated = made
    seq, digest = head_of(simulated)

    plain = arena("verify", path.name, cwd=path.parent)
    pinned = arena("verify", path.name, "--expected-head", f"{seq}:{digest}", cwd=path.parent)

    assert (plain.status, pinned.status) == (0, 0)
    assert plain.out.startswith(f"arena.db: ok: {seq} events")
    assert plain.err == pinned.err == ""


def test_verify_fails_a_tampered_store_at_the_first_bad_seq(made, tmp_path):
    path = copy_store(made[0], tmp_path / "arena.db")
    replayed = arena("replay", "arena.db", "--type", "TradeExecuted", "--json", cwd=tmp_path)
    buy = next(e for e in map(json.loads, replayed.out.splitlines()) if e["side"] == "buy")
    bad = buy["seq"]
    tamper(path, "UPDATE events SET data = replace(data, '\"buy\"', '\"sell\"') WHERE seq = ?", bad)

    result = arena("verify", "arena.db", cwd=tmp_path)

    assert result.status == 1, result
    assert re.match(rf"^arena.db: FAILED at seq {bad}: hash chain breaks", result.out)
    assert f"last good event: seq {bad - 1} " in result.out
    assert "Traceback" not in result.err


def test_verify_fails_a_store_cut_short_of_its_recorded_head(made, tmp_path):
    path = copy_store(made[0], tmp_path / "arena.db")
    seq, digest = head_of(made[1])
    tamper(path, "DELETE FROM capital_ledger WHERE seq = ?", seq)
    tamper(path, "DELETE FROM events WHERE seq = ?", seq)

    result = arena("verify", "arena.db", "--expected-head", f"{seq}:{digest}", cwd=tmp_path)

    assert result.status == 1, result
    assert re.match(rf"^arena.db: FAILED at seq {seq}: truncated", result.out)


@pytest.mark.parametrize(
    ("content", "pattern"),
    [
        (None, r"^arena: error: missing.db: FAILED: no such file"),
        ("just some notes\n", r"^arena: error: missing.db: FAILED: SQLite cannot read the file"),
    ],
)
def test_verify_calls_a_missing_or_foreign_file_an_error_not_a_failure(tmp_path, content, pattern):
    if content is not None:
        (tmp_path / "missing.db").write_text(content, encoding="utf-8")

    result = arena("verify", "missing.db", cwd=tmp_path)

    assert_one_line_error(result, 2, pattern)


def test_verify_refuses_a_malformed_expected_head(made):
    result = arena("verify", made[0].name, "--expected-head", "12:abc", cwd=made[0].parent)

    assert_one_line_error(result, 2, r"^arena: error: --expected-head: '12:abc' is not SEQ:HASH")


# --- replay, report, lineage ------------------------------------------------------------------------------


def test_replay_prints_one_line_per_event_in_seq_order(made):
    path, simulated = made
    seq, _ = head_of(simulated)

    result = arena("replay", path.name, cwd=path.parent)

    lines = result.out.splitlines()
    assert result.status == 0
    assert len(lines) == seq
    assert [int(line.split()[0]) for line in lines] == list(range(1, seq + 1))
    assert lines[0].split()[2] == "ArenaOpened"


def test_replay_filters_by_type_agent_and_seq_and_writes_json_lines(made):
    path, _ = made

    typed = arena("replay", path.name, "--type", "AgentSpawned", "AgentKilled", "--json", cwd=path.parent)
    agent = arena("replay", path.name, "--agent", "a-000001", "--from-seq", 3, "--json", cwd=path.parent)

    kinds = {json.loads(line)["event_type"] for line in typed.out.splitlines()}
    about = [json.loads(line) for line in agent.out.splitlines()]
    assert (typed.status, agent.status) == (0, 0)
    assert kinds == {"AgentSpawned", "AgentKilled"}
    assert about
    assert all(e["agent_id"] == "a-000001" and e["seq"] >= 3 for e in about)


@pytest.mark.parametrize(
    ("args", "pattern"),
    [
        (["--type", "Nope"], r"^arena: error: event_types: unknown tags \['Nope'\]"),
        (["--agent", "nobody"], r"^arena: error: agent 'nobody': no such agent in the arena at 'arena.db'"),
        (["--from-seq", 0], r"^arena: error: --from-seq: 0 is not a seq; pass an int >= 1"),
        (["--from-seq", -1], r"^arena replay: error: argument --from-seq: -1 is not a whole number from 0"),
    ],
)
def test_replay_refuses_bad_filters_in_one_line(made, args, pattern):
    result = arena("replay", made[0].name, *args, cwd=made[0].parent)

    assert_one_line_error(result, 2, pattern)


def test_report_shows_capital_by_tier_at_the_head_and_at_any_seq(made):
    path, simulated = made
    seq, _ = head_of(simulated)

    head = arena("report", path.name, cwd=path.parent)
    first = arena("report", path.name, "--at-seq", 1, cwd=path.parent)

    assert (head.status, first.status) == (0, 0)
    assert re.match(rf"^arena [0-9a-f-]+ at seq {seq} of {seq} \(", head.out)
    for tier in ("simulation", "proving", "arena", "all"):
        assert re.search(rf"^  {tier} +\d+ +[\d,]+\.\d{{8}}$", head.out, re.MULTILINE)
    assert "at seq 1 of" in first.out
    assert "  total      1,000,000.00000000" in first.out
    assert "  allocated  0.00000000" in first.out


def block(text: str, title: str) -> list[str]:
    """The lines of the section of ``text`` that starts with a line matching ``title``, up to a blank line."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(title, line))
    end = next((i for i in range(start, len(lines)) if not lines[i]), len(lines))
    return lines[start:end]


def money_of(text: str) -> Decimal:
    return Decimal(text.replace(",", ""))


def figures_of(lines: list[str]) -> dict[str, Decimal]:
    """The headline's figures by label: ``= nav   1,234.50000000`` gives ``{"nav": Decimal("1234.5")}``."""
    found = {}
    for line in lines[1:]:
        label, value = re.match(r"^[ +=-] (\S.*?)  +(-?[\d,]+\.\d+)%?(?:  \(.*\))?$", line).groups()
        found[label] = money_of(value)
    return found


def test_report_prints_the_result_as_a_sum_that_reconciles_to_the_last_digit(made):
    path, _ = made

    result = arena("report", path.name, cwd=path.parent)

    assert result.status == 0, result
    headline = figures_of(block(result.out, r"^performance at seq \d+ \(at the last marks"))
    at_cost = headline["funding"] + headline["realized p&l"] - headline["fees paid"]
    assert headline["capital at cost"] == at_cost
    assert headline["nav"] == at_cost + headline["unrealized p&l"]
    assert headline["nav return"] == ((headline["nav"] / headline["funding"] - 1) * 100).quantize(
        Decimal("1E-6"), rounding=ROUND_HALF_EVEN
    )
    assert headline["return vs buy and hold"] == headline["nav return"] - headline["buy-and-hold return"]
    assert headline["slippage paid"] > 0
    tiers = {row.split()[0]: row.split() for row in block(result.out, r"^nav by tier:$")[2:]}
    assert set(tiers) == {"simulation", "proving", "arena", "treasury", "all"}
    assert money_of(tiers["all"][2]) == headline["nav"]
    assert (
        sum(money_of(tiers[t][2]) for t in ("simulation", "proving", "arena", "treasury")) == headline["nav"]
    )


def test_report_lists_the_live_agents_by_equity_and_their_equity_adds_up_to_the_nav(made):
    path, _ = made

    result = arena("report", path.name, cwd=path.parent)

    agents = block(result.out, r"^live agents by equity \(top 6 of 6\):$")
    assert agents[3].split() == ["agent", "tier", "equity", "p&l", "return", "drawdown", "trades"]
    rows = [line.split() for line in agents[4:]]
    equities = [money_of(row[2]) for row in rows]
    assert len(rows) == 6
    assert equities == sorted(equities, reverse=True)
    treasury = money_of(block(result.out, r"^nav by tier:$")[5].split()[2])
    nav = figures_of(block(result.out, r"^performance at seq")[:7])["nav"]
    assert treasury + sum(equities) == nav


def test_report_top_limits_the_agents_listed_and_says_how_many_more_there_are(made):
    path, _ = made

    result = arena("report", path.name, "--top", 2, "--seq", 60, cwd=path.parent)

    assert result.status == 0, result
    assert result.out.startswith("arena ")
    assert " at seq 60 of " in result.out.splitlines()[0]
    assert "performance at seq 60 (at the last marks, from the log alone):" in result.out
    agents = block(result.out, r"^live agents by equity \(top 2 of 6\):$")
    assert len(agents) == 7
    assert agents[-1] == "  ... and 4 more; pass --top N to list them"


def test_report_at_the_first_seq_has_no_market_yet_and_no_agents(made):
    path, _ = made

    result = arena("report", path.name, "--at-seq", 1, cwd=path.parent)

    headline = block(result.out, r"^performance at seq 1 ")
    assert "  buy and hold" in headline[8]
    assert headline[8].endswith("1,000,000.00000000  (no symbol marked yet: the funding, as cash)")
    assert result.out.rstrip().endswith("live agents by equity: none")


def test_simulate_prints_the_same_headline_as_report_reads_from_the_file(made):
    path, simulated = made

    report = arena("report", path.name, cwd=path.parent)

    assert block(simulated.out, r"^performance at seq ") == block(report.out, r"^performance at seq ")


def test_report_refuses_a_negative_top(made):
    result = arena("report", made[0].name, "--top", -1, cwd=made[0].parent)

    assert_one_line_error(
        result, 2, r"^arena report: error: argument --top: -1 is not a whole number from 0 to 2\*\*63 - 1;"
    )


@pytest.mark.parametrize("seq", [0, 10**9])
def test_report_refuses_a_seq_outside_the_log(made, seq):
    result = arena("report", made[0].name, "--at-seq", seq, cwd=made[0].parent)

    assert_one_line_error(result, 2, rf"^arena: error: --at-seq: {seq} is outside the log, which ends at seq")


def test_lineage_shows_ancestors_and_descendants_with_their_mutations(made):
    path, _ = made
    replayed = arena("replay", path.name, "--type", "AgentMutated", "--json", cwd=path.parent)
    birth = json.loads(replayed.out.splitlines()[0])

    child = arena("lineage", path.name, birth["child_id"], cwd=path.parent)
    parent = arena("lineage", path.name, birth["parent_id"], cwd=path.parent)

    assert (child.status, parent.status) == (0, 0)
    assert child.out.startswith(f"agent {birth['child_id']}: generation ")
    ancestors = child.out.split("descendants:")[0]
    assert birth["parent_id"] in ancestors
    assert f"bred from {birth['parent_id']}: " in ancestors
    assert birth["child_id"] in parent.out.split("descendants:")[1]


def test_lineage_of_an_unknown_agent_is_an_error(made):
    result = arena("lineage", made[0].name, "a-999999", cwd=made[0].parent)

    assert_one_line_error(
        result, 2, r"^arena: error: agent 'a-999999': no such agent in the arena at 'arena.db'"
    )


def test_reading_a_file_that_is_not_a_store_is_an_error(tmp_path):
    (tmp_path / "notes.txt").write_text("hello\n", encoding="utf-8")

    result = arena("report", "notes.txt", cwd=tmp_path)

    assert_one_line_error(result, 2, r"^arena: error: store 'notes.txt': ")


# --- usage ----------------------------------------------------------------------------------------------


def test_a_missing_command_is_a_one_line_usage_error():
    result = arena(cwd=ROOT)

    assert_one_line_error(result, 2, r"^arena: error: the following arguments are required: COMMAND; see")


def test_help_lists_every_command():
    result = arena("--help", cwd=ROOT)

    assert result.status == 0
    for command in ("simulate", "verify", "replay", "report", "lineage"):
        assert command in result.out


# --- lineage: fitness, tier history and lifetime of each ancestor -----------------------------------------


def built_lineage(path: Path) -> dict[str, object]:
    """A store whose ``parent`` was promoted, demoted and killed, with a ``child`` bred from it."""
    from events import LogBuilder  # noqa: PLC0415  (only these tests build a store by hand)
    from store import SQLiteEventStore  # noqa: PLC0415

    log = LogBuilder(seed=3)
    log.open("1000")
    log.spawn("parent")
    log.mark({"XYZ": "10"})
    up = log.graduate("parent", reason="sharpe fitness 1.2 >= 0.5", evidence={"fitness": 1.2})
    log.mark({"XYZ": "11"})
    log.mutate("parent", "child")
    down = log.demote("parent", reason="max drawdown 0.31 > 0.25", evidence={"fitness": 0.4})
    log.mark({"XYZ": "12"})
    killed = log.kill("parent", reason="ranked 2 of 2", evidence={"fitness": -0.7, "rank": 2})
    log.mark({"XYZ": "13"})
    with SQLiteEventStore.open(path) as store:
        store.append(log.take())
    return {"up": up, "down": down, "killed": killed, "spawn": log.spawn_of("parent")}


def test_lineage_shows_each_ancestors_fitness_tier_history_and_lifetime(tmp_path):
    made = built_lineage(tmp_path / "arena.db")
    stamp = made["spawn"].timestamp.strftime("%Y-%m-%dT%H:%M:%S")

    result = arena("lineage", "arena.db", "child", cwd=tmp_path)

    assert result.status == 0, result
    ancestors = result.out.split("descendants:")[0]
    parent = ancestors.split("  parent  ")[1].split("  child  ")[0]
    up, down, killed = made["up"], made["down"], made["killed"]
    assert f"fitness -0.7 at its kill (seq {killed.seq})" in parent
    assert re.search(rf"seq 2  {stamp}\.\d+Z  spawned in simulation", parent)
    assert f"seq {up.seq}  " in parent
    assert "simulation -> proving: sharpe fitness 1.2 >= 0.5" in parent
    assert f"seq {down.seq}  " in parent
    assert "proving -> simulation: max drawdown 0.31 > 0.25" in parent
    lifetime = rf"lifetime: spawned {stamp}\.\d+Z \(seq 2\) -> killed .*Z \(seq {killed.seq}: ranked 2 of 2\)"
    assert re.search(lifetime + ", 3 bars", parent)
    child = ancestors.split("  child  ")[1]
    assert "fitness: never judged" in child
    assert "lifetime: spawned " in child
    assert "-> alive, 2 bars" in child
