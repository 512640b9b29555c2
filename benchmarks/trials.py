"""Crash trials: kill -9 a writer at random moments, count what it lost, and time the recovery.

Each trial runs a writer process (this module with ``--writer``: 10 agents for 10 simulated days through
the public API, flushing every 4 simulated hours and printing each head ``Arena.flush()`` returned) on a
new file, and SIGKILLs it at a moment drawn from the trial's seed: while it opens the file (schema
creation, the first event), after a drawn number of acknowledged flushes, or while it closes (the last
flush and the WAL checkpoint); with ``synchronous`` ``normal`` or ``full`` and a snapshot every 7 or 50
events. Then the file is checked: ``store.verify`` with the last acknowledged head as ``expected_head``
passes, and the log holds every acknowledged head (its seq, with its hash). With nothing acknowledged the
file may also be absent, empty, or a store whose creation was interrupted. Finally ``Arena.open``
recovers it (timed: the recovery time), records one event and closes, and the file verifies again.

Printed: the trials and their mix, where the kills landed (by the writer's last line) and what the files
of writers killed before their first ack were, failures (any check that did not hold, each listed), lost
acknowledged events (acknowledged seqs the log no longer holds with their hash: must be 0), unverifiable
files, and recovery-time percentiles against the baseline measured in the same run: ``Arena.open`` of the
same writer's file after a clean close.

``tests/reliability`` runs 30 of these trials in CI. Nothing imports tests, and a crash harness is no
product feature, so the plan, the writer, the kill and the checks are repeated here (about 150 lines,
counting where the tests assert) rather than shared. Run ``python -m benchmarks.trials`` (20 trials,
~20 s) or ``--trials 500`` (~6 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import math
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal

from actors import Arena, SimClock, run_simulation
from benchmarks._timing import Timing, print_ratio
from events import ArenaError
from store import verify
from trading import EvolutionPolicy, SyntheticFeed

if TYPE_CHECKING:
    from store import Head

TRIALS: Final = 20
BASELINE: Final = 20
"""Reopens of a cleanly closed file, the baseline of the recovery time."""
AGENTS: Final = 10
DAYS: Final = 10
FLUSH_EVERY: Final = 4
ACKS: Final = DAYS * 24 // FLUSH_EVERY
START: Final = datetime(2026, 1, 1, tzinfo=UTC)
LATER: Final = START + timedelta(days=DAYS + 1)
CAPITAL: Final = Decimal(1_000_000)
WAIT: Final = 60.0
INTERRUPTED: Final = "the store's creation was interrupted"
ROOT: Final = Path(__file__).resolve().parent.parent

Moment = Literal["opening", "running", "closing"]


@dataclass(frozen=True, slots=True)
class Plan:
    """When and how one trial kills its writer (drawn as ``tests/reliability/trials.py`` draws it)."""

    seed: int
    moment: Moment
    after_acks: int
    delay: float
    synchronous: Literal["normal", "full"]
    snapshot_every: int

    @classmethod
    def draw(cls, seed: int) -> Plan:
        rng = random.Random(f"crash-trial:{seed}")
        moment: Moment = rng.choice(["opening", "running", "running", "closing"])
        delay = {"opening": 0.012, "running": 0.03, "closing": 0.01}[moment] * rng.random()
        return cls(
            seed, moment, rng.randint(1, ACKS), delay, rng.choice(["normal", "full"]), rng.choice([7, 50])
        )

    def __str__(self) -> str:
        when = f"after ack {self.after_acks}" if self.moment == "running" else self.moment
        how = f"{self.synchronous}, snapshot every {self.snapshot_every}"
        return f"trial {self.seed}: kill {when} +{self.delay * 1000:.1f} ms, {how}"


@dataclass(slots=True)
class Tally:
    """What the trials found."""

    trials: int = 0
    killed: int = 0
    mix: Counter[str] = field(default_factory=Counter)
    landed: Counter[str] = field(default_factory=Counter)
    unacknowledged: Counter[str] = field(default_factory=Counter)
    """The files of trials killed before their first ack: absent, empty, creation interrupted, verified."""
    failures: list[str] = field(default_factory=list)
    lost: int = 0
    unverifiable: int = 0
    recoveries: list[float] = field(default_factory=list)


def writer(argv: list[str]) -> int:
    """The killed process: simulate, print ``ack SEQ HASH`` after each flush, ``opening`` and ``closing``."""
    parser = argparse.ArgumentParser(prog="benchmarks.trials --writer")
    parser.add_argument("--db", required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--synchronous", choices=["normal", "full"], default="normal")
    parser.add_argument("--snapshot-every", type=int, default=50)
    args = parser.parse_args(argv)

    def say(line: str) -> None:
        sys.stdout.write(f"{line}\n")
        sys.stdout.flush()

    def ack(head: Head) -> None:
        say(f"ack {head.seq} {head.hash}")

    try:
        say("opening")
        with Arena.open(
            args.db,
            total_capital=CAPITAL,
            synchronous=args.synchronous,
            snapshot_every=args.snapshot_every,
            seed=args.seed,
            clock=SimClock(START),
        ) as arena:
            ack(arena.flush())
            run_simulation(
                arena,
                SyntheticFeed(seed=args.seed, start=START, days=DAYS),
                seed=args.seed,
                agents=AGENTS,
                policy=EvolutionPolicy(cycle_days=1),
                progress=lambda _: ack(arena.flush()),
                progress_every=FLUSH_EVERY,
            )
            ack(arena.flush())
            say("closing")
        say("closed")
    except ArenaError as e:
        sys.stderr.write(f"writer: error: {e}\n")
        return 2
    return 0


def start_writer(path: Path, *, seed: int, synchronous: str, snapshot_every: int) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "benchmarks.trials", "--writer", "--db", str(path), "--seed", str(seed)]
    command += ["--synchronous", synchronous, "--snapshot-every", str(snapshot_every)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen(  # noqa: S603  (our interpreter and module, fixed arguments)
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, env=env
    )


@dataclass(frozen=True, slots=True)
class Killed:
    """What a killed writer said before it died."""

    heads: list[tuple[int, str]]
    """Every head it acknowledged, in order."""
    killed: bool
    """False when it exited by itself before the kill."""
    landed: str
    """Where the kill landed, by the writer's last line: before the first ack, mid-run, mid-close or after
    close (while the interpreter exits)."""
    stderr: str


def kill(path: Path, plan: Plan) -> Killed:
    """Run a writer and SIGKILL it as planned."""
    process = start_writer(
        path, seed=plan.seed, synchronous=plan.synchronous, snapshot_every=plan.snapshot_every
    )
    assert process.stdout is not None  # noqa: S101  (stdout=PIPE)
    seen, acks = [], 0
    for line in process.stdout:
        seen.append(line)
        acks += line.startswith("ack ")
        if line == f"{plan.moment}\n" or (plan.moment == "running" and acks == plan.after_acks):
            break
    try:
        process.wait(timeout=plan.delay)
        killed = False
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        killed = True
    rest, stderr = process.communicate(timeout=WAIT)
    lines = ("".join(seen) + rest).splitlines(keepends=True)
    heads = []
    for line in lines:
        words = line.split()
        if line.endswith("\n") and len(words) == 3 and words[0] == "ack":
            heads.append((int(words[1]), words[2]))
    if "closed\n" in lines:
        landed = "after close"
    elif "closing\n" in lines:
        landed = "mid-close"
    else:
        landed = "mid-run" if heads else "before the first ack"
    return Killed(heads, killed, landed, stderr)


def lost_events(path: Path, heads: list[tuple[int, str]]) -> int:
    """Acknowledged events the log does not hold: those after the last acknowledged head it holds intact."""
    if not heads:
        return 0
    if not path.exists():
        return heads[-1][0]
    connection = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)
    try:
        marks = ", ".join("?" * len(heads))
        stored = dict(
            connection.execute(
                f"SELECT seq, lower(hex(hash)) FROM events WHERE seq IN ({marks})",
                [s for s, _ in heads],
            )
        )
    except sqlite3.Error:
        return heads[-1][0]
    finally:
        connection.close()
    held = max((seq for seq, digest in heads if stored.get(seq) == digest), default=0)
    return heads[-1][0] - held


def check(path: Path, plan: Plan, tally: Tally) -> None:
    """Run one trial and add what it found to ``tally``."""
    found = kill(path, plan)
    heads = found.heads
    tally.trials += 1
    tally.killed += found.killed
    tally.mix.update([plan.moment, plan.synchronous])
    tally.landed.update([found.landed])
    problems = [f"writer stderr: {found.stderr.strip()}"] if found.stderr else []
    stored = 0
    if not path.exists() or not path.stat().st_size:
        state = "absent" if not path.exists() else "empty"
    else:
        report = verify(path, expected_head=heads[-1] if heads else None)
        stored = report.head.seq
        state = "a store that verifies" if report.ok else "unverifiable"
        if not report.ok and not heads and str(report.reason).startswith(INTERRUPTED):
            state = "creation interrupted"
        elif not report.ok:
            tally.unverifiable += 1
            problems.append(f"verify: {report}")
    if not heads:
        tally.unacknowledged.update([state])
    if lost := lost_events(path, heads):
        tally.lost += lost
        problems.append(f"{lost} acknowledged events lost")
    try:
        began = time.perf_counter()
        arena = Arena.open(path, total_capital=CAPITAL, clock=SimClock(LATER))
        tally.recoveries.append(time.perf_counter() - began)
        with arena:
            if (head := arena.head().seq) != (stored or 1):  # nothing stored: a new arena's ArenaOpened
                problems.append(f"reopened at seq {head}, the file held {stored}")
            arena.verify_capital_conservation()
        if not (after := verify(path)).ok:
            problems.append(f"verify after reopening: {after}")
    except ArenaError as e:
        problems.append(f"reopening: {e}")
    if problems:
        tally.failures.append(f"{plan}: {'; '.join(problems)}")


def baseline(directory: Path, count: int) -> list[float]:
    """Seconds ``Arena.open`` takes on the same writer's file after a clean close, ``count`` times."""
    path = directory / "clean.db"
    process = start_writer(path, seed=0, synchronous="normal", snapshot_every=50)
    _, stderr = process.communicate(timeout=WAIT)
    if process.returncode:
        msg = f"the baseline writer failed: {stderr.strip()}"
        raise SystemExit(msg)
    seconds = []
    for _ in range(count):
        began = time.perf_counter()
        arena = Arena.open(path, clock=SimClock(LATER))
        seconds.append(time.perf_counter() - began)
        arena.close()
    return seconds


def percentile(values: list[float], p: float) -> float:
    ranked = sorted(values)
    return ranked[max(0, math.ceil(p * len(ranked)) - 1)] if ranked else float("nan")


def main() -> None:
    if sys.argv[1:2] == ["--writer"]:
        raise SystemExit(writer(sys.argv[2:]))
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trials", type=int, default=TRIALS)
    parser.add_argument("--first-seed", type=int, default=0, help="the trials' seeds run from here")
    args = parser.parse_args()
    tally = Tally()
    with tempfile.TemporaryDirectory(prefix="arena-trials-") as scratch:
        clean = baseline(Path(scratch), BASELINE)
        began = time.perf_counter()
        for seed in range(args.first_seed, args.first_seed + args.trials):
            directory = Path(scratch) / f"trial-{seed}"  # for the -wal, -shm, lock and receipt it leaves
            directory.mkdir()
            check(directory / "arena.db", Plan.draw(seed), tally)
        elapsed = time.perf_counter() - began
    trials = Timing("kill trials", tally.trials, elapsed)
    recovery = Timing("recovery (Arena.open after kill -9)", len(tally.recoveries), sum(tally.recoveries))
    reopen = Timing("reopen after a clean close (baseline)", len(clean), sum(clean))
    for timing in (trials, recovery, reopen):
        print(timing)
    print_ratio("recovery / clean reopen", recovery, reopen)
    mix = ", ".join(
        f"{name} {tally.mix[name]}" for name in ("opening", "running", "closing", "normal", "full")
    )
    print(
        f"trials: {tally.trials} (killed {tally.killed}, "
        f"exited before the kill {tally.trials - tally.killed}; {mix})"
    )
    landed = ("before the first ack", "mid-run", "mid-close", "after close")
    print("kills landed: " + ", ".join(f"{name} {tally.landed[name]}" for name in landed))
    print(
        "killed before the first ack, the file was: "
        + (", ".join(f"{name} {count}" for name, count in tally.unacknowledged.most_common()) or "-")
    )
    print(f"failures: {len(tally.failures)}")
    for failure in tally.failures:
        print(f"  {failure}")
    print(f"lost acknowledged events: {tally.lost}")
    print(f"unverifiable files: {tally.unverifiable}")
    print(
        "recovery time: "
        + " ".join(f"p{round(p * 100)} {percentile(tally.recoveries, p):.3f}s" for p in (0.5, 0.9, 0.99))
        + f" (baseline p50 {percentile(clean, 0.5):.3f}s)"
    )
    if tally.failures or tally.lost or tally.unverifiable:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
