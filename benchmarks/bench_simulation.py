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

Then how a run's time grows with the number of agents: ``--scale-base`` agents times 1, 2 and 4, over
``--scale-days``. Run ``python -m benchmarks.bench_simulation`` (a few minutes, most of it the 1,000
agent run), or ``--agents 100 --days 5`` for a quick look.
"""

from __future__ import annotations

import argparse
import random
import tempfile
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import pykka

from actors import STEP_TIMEOUT, STOP_TIMEOUT, Arena, SimClock, run_simulation
from benchmarks._timing import Timing, measure, print_ratio
from trading import Portfolio, SyntheticFeed, make_strategy, random_genome, steps

if TYPE_CHECKING:
    from trading import Genome

AGENTS: Final = (100, 1_000)
DAYS: Final = 30
SCALE_BASE: Final = 100
SCALE_DAYS: Final = 10
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
    parser.add_argument("--scale-base", type=int, default=SCALE_BASE, help="agents of the 1x scaling run")
    parser.add_argument("--scale-days", type=int, default=SCALE_DAYS, help="days of each scaling run")
    args = parser.parse_args()
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
        scaling: list[Timing] = []
        for factor in (1, 2, 4):
            agents = args.scale_base * factor
            timing, _ = measure(
                f"scaling {factor}x: simulation {agents} agents x {args.scale_days} days",
                agents * args.scale_days * 24,
                partial(simulate, agents, args.scale_days, directory),
            )
            scaling.append(timing)
        base = scaling[0]
        for factor, timing in zip((2, 4), scaling[1:], strict=True):
            print(f"time grows {timing.seconds / base.seconds:.2f}x for {factor}x the agents ({timing.name})")


if __name__ == "__main__":
    main()
