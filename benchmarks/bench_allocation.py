"""Allocations per second from 8 client threads: the arena against its floor and the design it replaces.

Every case runs the same call pattern: ``THREADS`` threads, started together, each allocating a small
exact amount to its own agent ``OPS`` times, one call at a time, waiting for each answer. Measured in one
run, case after case, for ``ROUNDS`` rounds; each case reports its best round (the one least disturbed by
anything else on the machine), so the ratios compare like with like.

* ``arena``: ``Arena.allocate_capital`` with the SQLite store, at ``synchronous=normal`` and ``full``.
  An arena allocation is durable at the next flush, so each arena case ends with ``flush()``, inside the
  timing: at ``full`` every allocation counted has survived power loss, as in the lock-based case.
* ``arena, null sink``: the same arena writing to ``NullSink``: what persistence costs.
* ``bare pykka``: one no-op pykka actor asked the same way: the floor any actor design pays.
* ``lock-based``: the design we replace (``benchmarks/_lock_based.py``): a lock around each call, one
  event written and committed per call, at ``normal`` and ``full``. At ``full`` each call is an fsync, so
  it runs ``LOCK_FULL_OPS`` calls per thread (the rate, not the count, is what is compared).

Run: ``python -m benchmarks.bench_allocation [--threads 8] [--ops 2500] [--rounds 3]``.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import pykka

from actors import ASK_TIMEOUT, STOP_TIMEOUT, Arena, NullSink
from benchmarks._lock_based import LockBasedManager
from benchmarks._timing import Timing, print_ratio

if TYPE_CHECKING:
    from collections.abc import Callable

THREADS = 8
OPS = 2500
LOCK_FULL_OPS = 250
ROUNDS = 3
FUNDING = Decimal(10) ** 9
AMOUNT = Decimal("0.01")
GOAL_PERSISTENCE = 0.9
"""Issue 14: persistence costs at most a tenth (arena at ``normal`` / arena with a null sink)."""
GOAL_BARE = 0.6
"""Issue 14: the arena makes at least 0.6 of what a bare pykka no-op actor does, asked the same way."""
GOAL_DURABLE_VS_LOCK_NORMAL = 1.0
"""Issue 14: the durable arena (``full``) is at least as fast as the lock-based design at ``normal``."""
GOAL_LOCK_BASED = 5.0
"""The seed's goal at equal durability (both ``full``)."""


@dataclass(frozen=True, slots=True)
class Allocate:
    """What the bare actor is asked: the same shape as the arena's ``AllocateCapital``."""

    allocations: tuple[tuple[str, Decimal], ...]


class NoOp(pykka.ThreadingActor):
    """Answers every message with None: the cost of the actor round trip alone."""

    def on_receive(self, message: object) -> None:  # noqa: ARG002  (every message gets the same answer)
        return None


def hammer(call: Callable[[int], object], threads: int, ops: int, finish: Callable[[], object]) -> float:
    """Call ``call(thread_index)`` ``ops`` times on each thread; return the seconds until ``finish()``."""
    start = threading.Barrier(threads + 1)
    errors: list[BaseException] = []

    def client(index: int) -> None:
        start.wait()
        try:
            for _ in range(ops):
                call(index)
        except BaseException as e:  # noqa: BLE001  (reported after the join)
            errors.append(e)

    workers = [threading.Thread(target=client, args=(index,)) for index in range(threads)]
    for worker in workers:
        worker.start()
    start.wait()
    began = time.perf_counter()
    for worker in workers:
        worker.join()
    finish()
    elapsed = time.perf_counter() - began
    if errors:
        raise errors[0]
    return elapsed


def arena_case(directory: Path, synchronous: str | None, threads: int, ops: int) -> float:
    """Allocations through the arena; ``synchronous=None`` means the null sink."""
    if synchronous is None:
        arena = Arena.open(None, total_capital=FUNDING, sink_factory=NullSink)
    else:
        path = directory / f"arena-{synchronous}-{time.monotonic_ns()}.db"
        arena = Arena.open(path, total_capital=FUNDING, synchronous=synchronous)
    try:
        agents = [arena.spawn_agent() for _ in range(threads)]
        arena.flush()
        return hammer(lambda i: arena.allocate_capital({agents[i]: AMOUNT}), threads, ops, arena.flush)
    finally:
        arena.close()


def bare_case(threads: int, ops: int) -> float:
    """The same asks to a no-op actor."""
    actor = NoOp.start()
    try:
        messages = [Allocate(((f"a-{i:06d}", AMOUNT),)) for i in range(threads)]
        return hammer(lambda i: actor.ask(messages[i], timeout=ASK_TIMEOUT), threads, ops, lambda: None)
    finally:
        actor.stop(timeout=STOP_TIMEOUT)


def lock_case(directory: Path, synchronous: str, threads: int, ops: int) -> float:
    """The same allocations through the lock-based manager, each committed before it returns."""
    manager = LockBasedManager(
        directory / f"lock-{synchronous}-{time.monotonic_ns()}.db",
        synchronous=synchronous,
        total_capital=FUNDING,
    )
    try:
        agents = [manager.spawn_agent() for _ in range(threads)]
        return hammer(lambda i: manager.allocate_capital(agents[i], AMOUNT), threads, ops, lambda: None)
    finally:
        manager.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=THREADS)
    parser.add_argument("--ops", type=int, default=OPS, help="calls per thread")
    parser.add_argument(
        "--lock-full-ops", type=int, default=LOCK_FULL_OPS, help="calls per thread, lock-based full"
    )
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args()
    threads, ops = args.threads, args.ops
    with tempfile.TemporaryDirectory(prefix="bench-allocation-") as tmp:
        directory = Path(tmp)
        cases: dict[str, tuple[int, Callable[[], float]]] = {
            "arena, SQLite synchronous=normal": (ops, lambda: arena_case(directory, "normal", threads, ops)),
            "arena, SQLite synchronous=full": (ops, lambda: arena_case(directory, "full", threads, ops)),
            "arena, null sink": (ops, lambda: arena_case(directory, None, threads, ops)),
            "bare pykka actor, no-op": (ops, lambda: bare_case(threads, ops)),
            "lock-based, synchronous=normal": (ops, lambda: lock_case(directory, "normal", threads, ops)),
            "lock-based, synchronous=full": (
                args.lock_full_ops,
                lambda: lock_case(directory, "full", threads, args.lock_full_ops),
            ),
        }
        best: dict[str, float] = {}
        for _ in range(args.rounds):
            for name, (_, run) in cases.items():
                best[name] = min(best.get(name, float("inf")), run())
    timings = {
        name: Timing(name, per_thread * threads, best[name]) for name, (per_thread, _) in cases.items()
    }
    for timing in timings.values():
        print(timing)
    sqlite_normal, sqlite_full = (
        timings["arena, SQLite synchronous=normal"],
        timings["arena, SQLite synchronous=full"],
    )
    lock_normal = timings["lock-based, synchronous=normal"]
    lock_full = timings["lock-based, synchronous=full"]
    for label, case, baseline, goal in (
        ("persistence/null", sqlite_normal, timings["arena, null sink"], GOAL_PERSISTENCE),
        ("arena/bare-pykka", sqlite_normal, timings["bare pykka actor, no-op"], GOAL_BARE),
        ("arena at full / lock-based at normal", sqlite_full, lock_normal, GOAL_DURABLE_VS_LOCK_NORMAL),
        ("arena/lock-based at equal durability (full)", sqlite_full, lock_full, GOAL_LOCK_BASED),
        ("arena/lock-based at synchronous=normal", sqlite_normal, lock_normal, None),
    ):
        print_ratio(label, case, baseline)
        if goal is not None:
            ratio = case.rate / baseline.rate
            verdict = "met" if ratio >= goal else f"missed by {1 - ratio / goal:.0%}"
            print(f"  goal >= {goal}: {verdict}", flush=True)


if __name__ == "__main__":
    main()
