"""Simulation benchmark: agent-steps per second of the whole runtime, against pykka's own message floor.

An agent-step is one agent handling one step (all the bars of one timestamp): one ``OnBars`` ask, the
strategy's work on every bar, marking to market, and the share of the fills, cycles and event writes
that step causes. Cases, for each size in ``--agents`` over ``--days`` of hourly bars (5 symbols):

- ``simulation``: ``run_simulation`` on a file store (``synchronous=normal``), evolution every 5 days,
  from the first spawn to the report (the report reads the log back to count events by type);
- ``pykka floor``: the same number of agent-steps as bare pykka asks to actors that answer at once,
  in the driver's pattern (ask every actor without blocking, then collect every answer): the cost of the
  messages alone, the lowest a one-actor-per-agent design can reach;
- ``strategies in actors``: the floor's pattern, each actor running its strategy on the step's bars
  against a fixed portfolio: messages plus the strategy work, contending for the GIL, with no ledger,
  no fills, no evolution and no log (the difference to ``simulation`` is what those cost);
- ``strategies alone``: the same strategy work in one thread with no actors, no ledger and no log.

Then how a run's time grows with the number of agents: ``--scale-base`` agents times 1, 4 and 16 (1,000 ->
4,000 -> 16,000 by default) over ``--scale-days``; and a large arena (``--big``, 100,000 agents by
default), in a fresh interpreter so its memory is its own: ``Arena.spawn_agents`` on a file store (agents
per second, resident memory added, threads alive), then funded and stepped ``--big-steps`` steps.

Goals (issue 14), printed beside each figure with how far off it is: simulation / strategies alone >= 0.5 at
1,000 agents; 4x the agents <= 4.4x the time; the large arena spawns >= 20,000 agents/s and stays <= 300 MB
RSS with <= 2 x cores + 8 threads.

Run ``python -m benchmarks.bench_simulation`` (several minutes), or ``--agents 100 --days 5 --scale-base
100 --big 10000`` for a quick look.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import pykka

from actors import STEP_TIMEOUT, STOP_TIMEOUT, Arena, SimClock, fund_equally, run_simulation
from benchmarks._timing import Timing, measure, print_ratio
from trading import EvolutionPolicy, Portfolio, SyntheticFeed, make_strategy, random_genome, steps

if TYPE_CHECKING:
    from trading import Genome

AGENTS: Final = (100, 1_000)
DAYS: Final = 30
SCALE_BASE: Final = 1_000
SCALE_FACTORS: Final = (1, 4, 16)
SCALE_DAYS: Final = 2
BIG: Final = 100_000
BIG_STEPS: Final = 3
GOAL_ALONE: Final = 0.5
GOAL_GROWTH: Final = 4.4
GOAL_SPAWN_RATE: Final = 20_000
GOAL_RSS_MB: Final = 300
ROOT: Final = Path(__file__).resolve().parent.parent
SEED: Final = 1
START: Final = datetime(2026, 1, 1, tzinfo=UTC)
CAPITAL: Final = Decimal(10_000_000)


class _Echo(pykka.ThreadingActor):
    """Answers every message at once with no orders: what is left of an agent when it does no work."""

    def on_receive(self, _message: Any) -> Any:  # noqa: ANN401  (pykka's signature)
        return ()


class _StrategyActor(pykka.ThreadingActor):
    """Runs one agent's strategy on each step's bars, as an agent does, but with nothing else."""

    def __init__(self, genome: Genome) -> None:
        super().__init__()
        self._strategy = make_strategy(genome)
        self._portfolio = Portfolio(cash=Decimal(10_000))

    def on_receive(self, message: Any) -> Any:  # noqa: ANN401  (pykka's signature)
        for bar in message:
            self._strategy.on_bar(bar, self._portfolio)
        return ()


def simulate(agents: int, days: int, directory: Path) -> int:
    """Run a full simulation into a new store; return the agent-steps it made."""
    path = directory / f"bench-{agents}-{days}.db"
    with Arena.open(path, total_capital=CAPITAL, seed=SEED, clock=SimClock(START)) as arena:
        feed = SyntheticFeed(seed=SEED, start=START, days=days)
        report = run_simulation(arena, feed, seed=SEED, agents=agents)
    return report.agent_steps


def _rss_mb(field: str = "VmRSS") -> float:
    """Resident set size of this process now (``VmHWM``: its peak so far), in MB (Linux ``/proc``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # pragma: no cover  (not Linux)


def big_arena(agents: int, step_count: int, directory: Path) -> dict[str, float]:
    """Spawn ``agents`` in one arena on a file store, fund them, step them; return what it measured."""
    rss_before = _rss_mb()
    threads_before = threading.active_count()
    with Arena.open(directory / "big.db", total_capital=CAPITAL, seed=SEED, clock=SimClock(START)) as arena:
        began = time.perf_counter()
        ids = arena.spawn_agents(agents)
        spawn_seconds = time.perf_counter() - began
        rss = _rss_mb() - rss_before
        threads = threading.active_count() - threads_before
        began = time.perf_counter()
        fund_equally(arena, ids, EvolutionPolicy())
        fund_seconds = time.perf_counter() - began
        feed = SyntheticFeed(seed=SEED, start=START, days=1)
        taken = 0

        def enough() -> bool:
            nonlocal taken
            taken += 1
            return taken >= step_count

        began = time.perf_counter()
        report = run_simulation(arena, feed, seed=SEED, evolve=False, stop=enough)
        step_seconds = time.perf_counter() - began
        end_rss = _rss_mb() - rss_before
        began = time.perf_counter()
    close_seconds = time.perf_counter() - began
    peak_rss = _rss_mb("VmHWM") - rss_before  # the high-water mark: funding and steps included
    return {
        "spawn_rate": agents / spawn_seconds,
        "spawn_seconds": spawn_seconds,
        "rss_mb": rss,
        "peak_rss_mb": peak_rss,
        "end_rss_mb": end_rss,
        "fund_seconds": fund_seconds,
        "threads": threads,
        "agent_steps_per_s": report.agent_steps / step_seconds,
        "steps": report.steps,
        "close_seconds": close_seconds,
    }


def big_in_child(agents: int, step_count: int) -> dict[str, float]:
    """Run ``big_arena`` in a fresh interpreter (its memory its own) and return what it measured."""
    done = subprocess.run(  # noqa: S603  (our own interpreter on our own module)
        [sys.executable, "-m", "benchmarks.bench_simulation", "--child-big", str(agents), str(step_count)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def goal(label: str, value: float, target: float, *, at_most: bool = False) -> None:
    """Print ``value`` against its goal, and by how much it misses."""
    met = value <= target if at_most else value >= target
    sign = "<=" if at_most else ">="
    verdict = "met" if met else f"missed by {abs(value / target - 1):.0%}"
    shown = f"{target:,}" if isinstance(target, int) else f"{target:.2f}"
    print(f"  goal {label} {sign} {shown}: {value:,.2f} ({verdict})", flush=True)


def pykka_floor(agents: int, step_count: int) -> int:
    """Ask ``agents`` echo actors once per step, all at once, collecting every answer before the next."""
    refs = [_Echo.start() for _ in range(agents)]
    try:
        for _ in range(step_count):
            futures = [ref.ask(None, block=False) for ref in refs]
            for future in futures:
                future.get(timeout=STEP_TIMEOUT)
    finally:
        for ref in refs:
            ref.stop(timeout=STOP_TIMEOUT)
    return agents * step_count


def strategies_in_actors(agents: int, days: int) -> int:
    """Ask one strategy actor per agent with each step's bars, all at once, collecting every answer."""
    rng = random.Random(f"{SEED}:genomes")
    refs = [_StrategyActor.start(random_genome(rng)) for _ in range(agents)]
    count = 0
    try:
        for _, bars in steps(SyntheticFeed(seed=SEED, start=START, days=days)):
            futures = [ref.ask(bars, block=False) for ref in refs]
            for future in futures:
                future.get(timeout=STEP_TIMEOUT)
            count += agents
    finally:
        for ref in refs:
            ref.stop(timeout=STOP_TIMEOUT)
    return count


def strategies_alone(agents: int, days: int) -> int:
    """Step every agent's strategy through every bar in one thread, with a fixed portfolio."""
    rng = random.Random(f"{SEED}:genomes")
    strategies = [make_strategy(random_genome(rng)) for _ in range(agents)]
    portfolio = Portfolio(cash=Decimal(10_000))
    count = 0
    for _, bars in steps(SyntheticFeed(seed=SEED, start=START, days=days)):
        for strategy in strategies:
            for bar in bars:
                strategy.on_bar(bar, portfolio)
        count += agents
    return count


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--agents", type=int, nargs="+", default=list(AGENTS), help="population sizes")
    parser.add_argument("--days", type=int, default=DAYS, help="days of hourly bars per run")
    parser.add_argument(
        "--scale-base", type=int, default=SCALE_BASE, help="agents of the 1x scaling run (0 skips it)"
    )
    parser.add_argument("--scale-days", type=int, default=SCALE_DAYS, help="days of each scaling run")
    parser.add_argument("--big", type=int, default=BIG, help="agents of the large arena (0 skips it)")
    parser.add_argument("--big-steps", type=int, default=BIG_STEPS, help="steps the large arena takes")
    parser.add_argument("--child-big", nargs=2, type=int, metavar=("AGENTS", "STEPS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_big:
        with tempfile.TemporaryDirectory(prefix="bench-big-") as tmp:
            agents, step_count = args.child_big
            print(json.dumps(big_arena(agents, step_count, Path(tmp))), flush=True)
        return
    step_count = args.days * 24
    with tempfile.TemporaryDirectory(prefix="bench-simulation-") as tmp:
        directory = Path(tmp)
        for agents in args.agents:
            ops = agents * step_count
            run, made = measure(
                f"simulation {agents} agents x {args.days} days",
                ops,
                partial(simulate, agents, args.days, directory),
            )
            floor, _ = measure(
                f"pykka floor {agents} actors x {step_count} steps",
                ops,
                partial(pykka_floor, agents, step_count),
            )
            actors, _ = measure(
                f"strategies in actors {agents} x {step_count} steps",
                ops,
                partial(strategies_in_actors, agents, args.days),
            )
            alone, _ = measure(
                f"strategies alone {agents} x {step_count} steps",
                ops,
                partial(strategies_alone, agents, args.days),
            )
            if made != ops:
                print(f"  (the run made {made} agent-steps: agents died without replacement)")
            print_ratio(f"simulation vs pykka floor, {agents} agents", run, floor)
            print_ratio(f"simulation vs strategies in actors, {agents} agents", run, actors)
            print_ratio(f"simulation vs strategies alone, {agents} agents", run, alone)
            if agents == 1_000:
                goal("simulation / strategies alone at 1,000 agents", run.rate / alone.rate, GOAL_ALONE)
        scaling: list[Timing] = []
        for factor in SCALE_FACTORS if args.scale_base > 0 else ():
            agents = args.scale_base * factor
            timing, _ = measure(
                f"scaling {factor}x: simulation {agents} agents x {args.scale_days} days",
                agents * args.scale_days * 24,
                partial(simulate, agents, args.scale_days, directory),
            )
            scaling.append(timing)
        for before, after in itertools.pairwise(scaling):
            growth = after.seconds / before.seconds
            print(f"time grows {growth:.2f}x for {after.ops // before.ops}x the agent-steps ({after.name})")
            goal("time for 4x the agents", growth, GOAL_GROWTH, at_most=True)
    if args.big:
        big = big_in_child(args.big, args.big_steps)
        cores = os.cpu_count() or 1
        print(
            f"large arena, {args.big:,} agents: spawned in {big['spawn_seconds']:.2f}s "
            f"({big['spawn_rate']:,.0f} agents/s), +{big['rss_mb']:,.0f} MB RSS "
            f"({big['rss_mb'] * 1024 / args.big:.1f} KB/agent), +{big['threads']:.0f} threads; "
            f"funded in {big['fund_seconds']:.2f}s; {big['steps']:.0f} steps at "
            f"{big['agent_steps_per_s']:,.0f} agent-steps/s, +{big['end_rss_mb']:,.0f} MB after them, "
            f"peak +{big['peak_rss_mb']:,.0f} MB; closed in {big['close_seconds']:.2f}s",
            flush=True,
        )
        goal("spawn rate, agents/s", big["spawn_rate"], GOAL_SPAWN_RATE)
        goal("RSS after the spawn, MB", big["rss_mb"], GOAL_RSS_MB, at_most=True)
        goal("threads added", big["threads"], 2 * cores + 8, at_most=True)


if __name__ == "__main__":
    main()
