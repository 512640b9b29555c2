"""Islands benchmark: agent-steps/s of 1, 2 and 4 islands on Ray against one arena, and a migration's cost.

Cases, all with ``--agents`` agents in total over ``--days`` of hourly synthetic market, a cycle every day
and a barrier every cycle (``--migrants`` genomes per island per barrier):

- ``one arena``: the baseline, ``run_simulation`` in this process on one file store, every agent in it;
- ``N islands``: ``run_islands`` with N islands of ``agents / N`` agents each, one Ray actor (process)
  per island, on a Ray started once beforehand (its start-up is printed on its own line and is not in
  the rates). The time includes opening every island, every leg and barrier, the summaries, and the
  verify and cross-check of every file at the end, as a user waits for them;
- ``2 islands in this process``: the 2-island run's protocol on ``LocalIslands``, one island after the
  other, without Ray (what the per-leg driver calls cost, apart from Ray);
- ``migration``: the wall time of one barrier's rounds (every island emigrates, then every island
  immigrates), through Ray actors against the same calls on islands in this process (``LocalIslands``),
  over the same 2-island run: Ray's overhead per migration.

Ratios are against ``one arena`` (rates) and against the in-process migration (times), measured in the
same run. Run ``python -m benchmarks.bench_islands`` (a few minutes on 2 cores) or
``--agents 24 --days 3`` for a quick look.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import ray

from actors import (
    Arena,
    LocalIslands,
    RayIslands,
    SimClock,
    drive_islands,
    read_manifest,
    run_islands,
    run_simulation,
)
from benchmarks._timing import Timing, print_ratio
from trading import EvolutionPolicy, SyntheticFeed

if TYPE_CHECKING:
    from collections.abc import Sequence

    from actors import IslandRounds

AGENTS: Final = 200
DAYS: Final = 15
ISLANDS: Final = (1, 2, 4)
MIGRANTS: Final = 2
SEED: Final = 1
START: Final = datetime(2026, 1, 1, tzinfo=UTC)
CAPITAL: Final = Decimal(1_000_000)


def _policy(agents: int) -> EvolutionPolicy:
    return EvolutionPolicy(cycle_days=1, min_bars_in_tier=12, population=agents)


def one_arena(directory: Path, agents: int, days: int) -> Timing:
    feed = SyntheticFeed(seed=SEED, start=START, days=days)
    start = time.perf_counter()
    with Arena.open(directory / "one.db", total_capital=CAPITAL, clock=SimClock(START), seed=SEED) as arena:
        report = run_simulation(arena, feed, seed=SEED, agents=agents, policy=_policy(agents))
    timing = Timing(f"one arena, {agents} agents", report.agent_steps, time.perf_counter() - start)
    print(timing, flush=True)
    return timing


def islands(directory: Path, count: int, agents: int, days: int, migrants: int) -> Timing:
    each = agents // count
    start = time.perf_counter()
    report = run_islands(
        directory / f"run-{count}",
        islands=count,
        agents=each,
        days=days,
        seed=SEED,
        migrants=migrants,
        policy=_policy(each),
        capital=CAPITAL,
    )
    assert report.ok, report.audit  # noqa: S101  (a benchmark of a broken run measures nothing)
    timing = Timing(f"{count} islands x {each} agents", report.agent_steps, time.perf_counter() - start)
    print(f"{timing}; {report.barriers} barriers, every file verified and cross-checked", flush=True)
    return timing


class _Timed:
    """Islands whose migration rounds are timed: the emigrate round and the immigrate round of a barrier."""

    def __init__(self, pool: IslandRounds) -> None:
        self._pool = pool
        self.seconds = 0.0
        self.rounds = 0

    def round(self, method: str, arguments: Sequence[tuple[Any, ...]]) -> list[Any]:
        start = time.perf_counter()
        answers = self._pool.round(method, arguments)
        if method in {"emigrate", "immigrate"}:
            self.seconds += time.perf_counter() - start
            self.rounds += method == "immigrate"
        return answers

    def summaries(self) -> Any:  # noqa: ANN401  (the pool's)
        return self._pool.summaries()

    def close(self) -> None:
        self._pool.close()


def migration(directory: Path) -> tuple[Timing, Timing]:
    template = directory / "run-2"  # the 2-island run above wrote its manifest there
    manifest = read_manifest(template)
    local_dir, ray_dir = directory / "migrate-local", directory / "migrate-ray"
    local_dir.mkdir()
    ray_dir.mkdir()
    local = _Timed(LocalIslands(local_dir, manifest))
    start = time.perf_counter()
    try:
        drive_islands(local, manifest)
        steps = sum(summary.agent_steps for summary in local.summaries())
    finally:
        local.close()
    whole = Timing("2 islands in this process, one after another", steps, time.perf_counter() - start)
    print(f"{whole} (the same protocol without Ray, no verify)", flush=True)
    with RayIslands(address=None, islands=manifest.islands) as cluster:
        remote = _Timed(cluster.start(ray_dir, manifest.to_json_dict(), exit_after_steps={}))
        try:
            drive_islands(remote, manifest)
        finally:
            remote.close()
    in_process = Timing("migration in process, per barrier", local.rounds, local.seconds)
    on_ray = Timing("migration on Ray, per barrier", remote.rounds, remote.seconds)
    for timing in (in_process, on_ray):
        per = timing.seconds / max(timing.ops, 1) * 1000
        print(f"{timing}; {per:.2f} ms per barrier", flush=True)
    return in_process, on_ray


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=AGENTS, help=f"agents in total (default {AGENTS})")
    parser.add_argument("--days", type=int, default=DAYS, help=f"days of hourly market (default {DAYS})")
    parser.add_argument("--migrants", type=int, default=MIGRANTS, help=f"per island per barrier ({MIGRANTS})")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    ray.init(
        num_cpus=max(ISLANDS),
        include_dashboard=False,
        object_store_memory=100 * 1024 * 1024,
        log_to_driver=False,
        logging_level=logging.WARNING,
    )
    print(f"ray start-up: {time.perf_counter() - started:.3f}s (not in the rates below)", flush=True)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            directory = Path(tmp)
            baseline = one_arena(directory, args.agents, args.days)
            cases = [islands(directory, n, args.agents, args.days, args.migrants) for n in ISLANDS]
            in_process, on_ray = migration(directory)
    finally:
        ray.shutdown()
    for case in cases:
        print_ratio(f"{case.name} vs one arena", case, baseline)
    ratio = (on_ray.seconds / max(on_ray.ops, 1)) / (in_process.seconds / max(in_process.ops, 1))
    print(f"migration on Ray vs in process: {ratio:.2f}x the time per barrier", flush=True)


if __name__ == "__main__":
    main()
