"""Agent actor benchmark: a thread per agent (before) against agents pooled on a few workers (after).

Cases, each ``AgentActor`` telling crashes to a stand-in supervisor, genomes drawn from one seed:

- ``spawn``: start ``N`` agents and wait until each has answered one ask (its ``on_start`` ran), for
  each size in ``--agents``; with the resident memory (RSS) the agents added and the threads alive. The
  thread-per-agent path (an ``AgentActor`` started without a pool runs on a thread of its own, as a
  ``ThreadingActor`` does) runs only up to ``--thread-max`` agents: 100,000 threads are out of reach.
  Each spawn case runs in a fresh interpreter, so one case's freed memory does not flatter the next.
- ``steps``: ``--step-agents`` agents answer ``OnBars`` for every step of ``--days`` of hourly bars
  (5 symbols), in the driver's pattern (ask every agent without blocking, then collect every answer),
  on threads and on the pool; the baseline is ``strategies alone``: the same strategies stepped in one
  thread with no actors at all.

Then the ratios: pool against threads, and each against strategies alone. Run
``python -m benchmarks.bench_agents`` (about a minute), or ``--agents 1000 --step-agents 100`` for a
quick look.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import threading
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import pykka

from actors import STEP_TIMEOUT, STOP_TIMEOUT, ActorPool, AgentActor, OnBars, default_workers
from benchmarks._timing import Timing, measure, print_ratio
from events import Tier
from trading import Portfolio, SyntheticFeed, make_strategy, random_genome, steps

AGENTS: Final = (10_000, 100_000)
THREAD_MAX: Final = 10_000
STEP_AGENTS: Final = 1_000
DAYS: Final = 5
SEED: Final = 1
START: Final = datetime(2026, 1, 1, tzinfo=UTC)
PORTFOLIO: Final = Portfolio(cash=Decimal(10_000))
ROOT: Final = Path(__file__).resolve().parent.parent


class _Supervisor(pykka.ThreadingActor):
    """Stands in for the arena supervisor: agents tell it crashes, none happen here."""

    def on_receive(self, _message: Any) -> Any:  # noqa: ANN401  (pykka's signature)
        return None


def _rss_mb() -> float:
    """Resident set size of this process now, in MB (Linux ``/proc``; the peak elsewhere)."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _start_agents(count: int, supervisor: pykka.ActorRef[Any], pool: ActorPool | None) -> list[Any]:
    rng = random.Random(f"{SEED}:genomes")
    refs = [
        AgentActor.start(f"a-{i:06d}", random_genome(rng), Tier.SIMULATION, supervisor=supervisor, pool=pool)
        for i in range(count)
    ]
    for future in [ref.ask(OnBars((), PORTFOLIO), block=False) for ref in refs]:
        future.get(timeout=STEP_TIMEOUT)
    return refs


def _stop(refs: list[Any], pool: ActorPool | None) -> None:
    for future in [ref.stop(block=False) for ref in refs]:
        future.get(timeout=STOP_TIMEOUT)
    if pool is not None:
        pool.shutdown(timeout=STOP_TIMEOUT)


def spawn_case(kind: str, count: int) -> dict[str, float]:
    """Start ``count`` agents on threads or on the pool in this process; return rate, RSS and threads."""
    supervisor = _Supervisor.start()
    rss_before = _rss_mb()
    threads_before = threading.active_count()
    pool = ActorPool(name="AgentWorker") if kind == "pool" else None  # its workers count as the agents'
    timing, refs = measure(
        f"spawn {count:,} agents ({kind})", count, lambda: _start_agents(count, supervisor, pool)
    )
    result = {
        "rate": timing.rate,
        "seconds": timing.seconds,
        "rss_mb": _rss_mb() - rss_before,
        "threads": threading.active_count() - threads_before,
    }
    _stop(refs, pool)
    supervisor.stop(timeout=STOP_TIMEOUT)
    return result


def spawn_in_child(kind: str, count: int) -> dict[str, float]:
    """Run ``spawn_case`` in a fresh interpreter and return what it measured."""
    done = subprocess.run(  # noqa: S603  (our own interpreter on our own module)
        [sys.executable, "-m", "benchmarks.bench_agents", "--child", kind, str(count)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    print(
        f"spawn {count:,} agents ({kind}): {result['seconds']:.3f}s ({result['rate']:,.0f} agents/s), "
        f"+{result['rss_mb']:,.1f} MB RSS ({result['rss_mb'] * 1024 / count:.1f} KB/agent), "
        f"+{result['threads']:,.0f} threads",
        flush=True,
    )
    return result


def agent_steps(kind: str, agents: int, days: int) -> Timing:
    """Ask ``agents`` agents each step's bars, all at once, collecting every answer before the next."""
    supervisor = _Supervisor.start()
    pool = ActorPool(name="AgentWorker") if kind == "pool" else None
    refs = _start_agents(agents, supervisor, pool)
    bars_by_step = [bars for _, bars in steps(SyntheticFeed(seed=SEED, start=START, days=days))]

    def run() -> None:
        for bars in bars_by_step:
            for future in [ref.ask(OnBars(bars, PORTFOLIO), block=False) for ref in refs]:
                future.get(timeout=STEP_TIMEOUT)

    try:
        timing, _ = measure(f"agent-steps, {agents:,} agents ({kind})", agents * len(bars_by_step), run)
    finally:
        _stop(refs, pool)
        supervisor.stop(timeout=STOP_TIMEOUT)
    return timing


def strategies_alone(agents: int, days: int) -> Timing:
    """Step every agent's strategy through every bar in one thread, with no actors."""
    rng = random.Random(f"{SEED}:genomes")
    strategies = [make_strategy(random_genome(rng)) for _ in range(agents)]
    bars_by_step = [bars for _, bars in steps(SyntheticFeed(seed=SEED, start=START, days=days))]

    def run() -> None:
        for bars in bars_by_step:
            for strategy in strategies:
                for bar in bars:
                    strategy.on_bar(bar, PORTFOLIO)

    timing, _ = measure(f"agent-steps, {agents:,} strategies alone", agents * len(bars_by_step), run)
    return timing


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--agents", type=int, nargs="+", default=list(AGENTS), help="spawn sizes")
    parser.add_argument("--thread-max", type=int, default=THREAD_MAX, help="largest thread-per-agent spawn")
    parser.add_argument("--step-agents", type=int, default=STEP_AGENTS, help="agents of the step cases")
    parser.add_argument("--days", type=int, default=DAYS, help="days of hourly bars of the step cases")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, count = args.child
        print(json.dumps(spawn_case(kind, int(count))), flush=True)
        return

    print(f"pool: {default_workers()} workers (default_workers()), throughput 32", flush=True)
    for count in args.agents:
        pooled = spawn_in_child("pool", count)
        if count <= args.thread_max:
            threaded = spawn_in_child("threads", count)
            print(
                f"spawn ratio at {count:,}: {pooled['rate'] / threaded['rate']:.2f}x agents/s, "
                f"{threaded['rss_mb'] / max(pooled['rss_mb'], 0.1):.2f}x less RSS (pool / threads)",
                flush=True,
            )
    alone = strategies_alone(args.step_agents, args.days)
    threaded_steps = agent_steps("threads", args.step_agents, args.days)
    pooled_steps = agent_steps("pool", args.step_agents, args.days)
    print_ratio("pool vs threads", pooled_steps, threaded_steps)
    print_ratio("threads vs strategies alone", threaded_steps, alone)
    print_ratio("pool vs strategies alone", pooled_steps, alone)


if __name__ == "__main__":
    main()
