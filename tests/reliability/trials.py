"""Kill -9 trials: run ``writer.py`` in a subprocess, SIGKILL it at a drawn moment, then check what it left.

A trial's plan is drawn from its seed: the moment (``opening``: while a new file gets its schema and
first event; ``running``: after a drawn number of acknowledged flushes; ``closing``: while ``close()``
flushes and checkpoints the WAL into the file), a delay after that moment, ``synchronous`` and
``snapshot_every``. What counts as surviving, checked by ``assert_nothing_acknowledged_lost`` and
``assert_reopens_and_continues``:

* with no head acknowledged, the file may be absent, empty (0 bytes: SQLite had created it but written
  nothing), a store whose creation was interrupted (``verify`` says so: rolling its leftover
  ``-journal`` back leaves an empty database) or a store that verifies; a file that fails ``verify`` in
  any other way is a failure;
* with heads acknowledged, ``store.verify`` passes with the last one as ``expected_head``, and the log
  holds every acknowledged head: an event at its seq with its hash;
* in every case ``Arena.open`` recovers the file (at the stored head, or a new arena where nothing was
  stored), records one more event, closes, and the file still verifies, one event longer.

``benchmarks/trials.py`` runs the same trials in a loop, counting instead of asserting. It keeps its own
copy of the plan, the writer and the kill (about 80 lines): nothing imports tests or benchmarks, and a
crash harness is no product feature that ``actors`` or ``store`` should carry.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from actors import Arena, SimClock
from events import GENESIS_HASH
from store import Head, verify
from tests.reliability.writer import CAPITAL, START

if TYPE_CHECKING:
    from store import Synchronous

ROOT = Path(__file__).resolve().parents[2]
WRITER = Path(__file__).with_name("writer.py")
AGENTS = 10
DAYS = 10
FLUSH_EVERY = 4
"""Steps (simulated hours) between two flushes: 10 agents over 10 days acknowledge 62 heads, ~500 events,
in about 0.5 s after the interpreter's 0.3 s start."""
ACKS = DAYS * 24 // FLUSH_EVERY
"""Acknowledged heads of a whole run, but the first and the last."""
LATER = START + timedelta(days=DAYS + 1)
"""When a reopened arena's clock starts: after everything the writer simulated."""
INTERRUPTED = "the store's creation was interrupted"
"""How ``verify`` reports a file whose schema was being created: its journal rolls back to nothing."""
WAIT = 60.0
"""Seconds to wait for a writer's next line or its exit: a bound for a hang, never reached."""

Moment = Literal["opening", "running", "closing"]


@dataclass(frozen=True)
class Plan:
    """When and how one trial kills its writer."""

    seed: int
    moment: Moment
    after_acks: int
    """With ``running``: kill once this many heads were acknowledged (then after ``delay``)."""
    delay: float
    """Seconds after the moment; the writer may finish first (``closing``), which the trial records."""
    synchronous: Synchronous
    snapshot_every: int

    @classmethod
    def draw(cls, seed: int) -> Plan:
        rng = random.Random(f"crash-trial:{seed}")
        moment: Moment = rng.choice(["opening", "running", "running", "closing"])
        # windows measured on a 2-core machine: opening ~8 ms to the first ack, close 5-15 ms
        delay = {"opening": 0.012, "running": 0.03, "closing": 0.01}[moment] * rng.random()
        return cls(
            seed=seed,
            moment=moment,
            after_acks=rng.randint(1, ACKS),
            delay=delay,
            synchronous=rng.choice(["normal", "full"]),
            snapshot_every=rng.choice([7, 50]),
        )

    def __str__(self) -> str:
        when = f"after ack {self.after_acks}" if self.moment == "running" else self.moment
        return (
            f"trial {self.seed}: kill {when} +{self.delay * 1000:.1f} ms, synchronous={self.synchronous}, "
            f"snapshot_every={self.snapshot_every}"
        )


@dataclass(frozen=True)
class Outcome:
    """What a killed writer said before it died."""

    acknowledged: tuple[Head, ...]
    killed: bool
    """False when the writer exited by itself before the kill (a ``closing`` delay past its close)."""
    stderr: str


def writer_command(path: Path, *options: object) -> list[str]:
    return [sys.executable, str(WRITER), "--db", str(path), *map(str, options)]


def writer_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}


def start_writer(path: Path, *options: object, stdin: int = subprocess.DEVNULL) -> subprocess.Popen[str]:
    return subprocess.Popen(  # noqa: S603  (our interpreter and our script, fixed arguments)
        writer_command(path, *options),
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=writer_env(),
    )


def acknowledged_heads(lines: str) -> tuple[Head, ...]:
    """The ``ack SEQ HASH`` lines of a writer's stdout, complete lines only."""
    heads = []
    for line in lines.splitlines(keepends=True):
        words = line.split()
        if line.endswith("\n") and len(words) == 3 and words[0] == "ack":
            heads.append(Head(int(words[1]), words[2]))
    return tuple(heads)


def kill_trial(path: Path, plan: Plan) -> Outcome:
    """Run the writer on a new file at ``path`` and SIGKILL it as ``plan`` says."""
    writer = start_writer(
        path,
        "--agents",
        AGENTS,
        "--days",
        DAYS,
        "--seed",
        plan.seed,
        "--synchronous",
        plan.synchronous,
        "--snapshot-every",
        plan.snapshot_every,
        "--flush-every",
        FLUSH_EVERY,
    )
    assert writer.stdout is not None
    seen: list[str] = []
    acks = 0
    for line in writer.stdout:  # the moment comes when its line does; EOF means the writer ended first
        seen.append(line)
        acks += line.startswith("ack ")
        if line == f"{plan.moment}\n" or (plan.moment == "running" and acks == plan.after_acks):
            break
    try:
        writer.wait(timeout=plan.delay)  # returns early if the writer exits before the moment
        killed = False
    except subprocess.TimeoutExpired:
        writer.send_signal(signal.SIGKILL)
        killed = True
    rest, stderr = writer.communicate(timeout=WAIT)
    return Outcome(acknowledged_heads("".join(seen) + rest), killed, stderr)


def killed_while_holding(path: Path, hold_after: int, *options: object) -> tuple[Head, ...]:
    """Run a writer until it holds after ``hold_after`` acknowledged heads, SIGKILL it; return the heads.

    While it holds, everything it wrote is acknowledged: nothing is buffered, nothing is being committed.
    """
    writer = start_writer(path, "--hold-after", hold_after, *options, stdin=subprocess.PIPE)
    said = read_until_holding(writer)
    writer.send_signal(signal.SIGKILL)
    writer.communicate(timeout=WAIT)
    assert said.endswith("holding\n"), said
    return acknowledged_heads(said)


def read_until_holding(writer: subprocess.Popen[str]) -> str:
    """Everything the writer prints up to ``holding``, or up to its end if it never holds."""
    assert writer.stdout is not None
    seen = []
    for line in writer.stdout:
        seen.append(line)
        if line == "holding\n":
            break
    return "".join(seen)


def stored_hashes(path: Path, seqs: list[int]) -> dict[int, str]:
    """The hash the file holds at each of ``seqs`` that it holds, read as an auditor would: plain SQL."""
    connection = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)
    try:
        marks = ", ".join("?" * len(seqs))
        rows = connection.execute(f"SELECT seq, hash FROM events WHERE seq IN ({marks})", seqs)  # noqa: S608  (placeholders only)
        return {seq: digest.hex() for seq, digest in rows.fetchall()}  # the file holds the 32 bytes
    finally:
        connection.close()


def assert_nothing_acknowledged_lost(path: Path, acknowledged: tuple[Head, ...]) -> Head:
    """The file verifies and holds every acknowledged head (module docstring); return its head."""
    if not acknowledged:
        if path.exists() and path.stat().st_size:
            report = verify(path)
            assert report.ok or str(report.reason).startswith(INTERRUPTED), report
            return report.head
        return Head(0, GENESIS_HASH)
    report = verify(path, expected_head=acknowledged[-1])
    assert report.ok, report
    wanted = {head.seq: head.hash for head in acknowledged}
    assert stored_hashes(path, list(wanted)) == wanted
    return report.head


def assert_reopens_and_continues(path: Path, stored: Head) -> None:
    """Recover the file, record one event, close, and verify it again."""
    with Arena.open(path, total_capital=CAPITAL, clock=SimClock(LATER)) as arena:
        head = arena.head()
        if stored.seq:
            assert head == stored
        else:  # nothing was stored: this is a new arena, its ArenaOpened the first event
            assert head.seq == 1
        assert arena.verify_capital_conservation().ok

    report = verify(path)

    assert report.ok, report
    assert report.head.seq == head.seq + 1
