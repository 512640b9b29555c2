"""A run is a function of its manifest: interrupted anywhere and resumed, it writes the uninterrupted log.

In-process interruptions for speed (a ``KeyboardInterrupt`` between two steps, or inside a step after its
fills and cycle but before its marks, so the unfinished block is discarded), on synthetic and CSV data,
with agents that crash and restart and evolution cycles inside the window. Real subprocess kills are in
``tests/test_cli_resume.py``.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actors import Arena, SimClock, run_simulation
from events import AgentFailed, ValidationError
from store import Head, SQLiteEventStore, verify
from trading import (
    BUILTIN_STRATEGIES,
    CsvFeed,
    EvolutionPolicy,
    Order,
    Param,
    ParameterSpace,
    Strategies,
    StrategySpec,
    SyntheticFeed,
)

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from pathlib import Path

    from trading import Bar, MarketFeed, Portfolio

START = datetime(2026, 1, 1, tzinfo=UTC)
DAYS = 3
AGENTS = 8
SEED = 21
POLICY = EvolutionPolicy(cycle_days=1, min_bars_in_tier=12, idle_bars=30, kill_fraction=0.25)


class Flaky:
    """Buys on a rise, sells on a fall, and raises on some closes: it crashes, deterministically."""

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.modulus = int(params["modulus"])
        self.last: dict[str, Decimal] = {}

    def on_bar(self, bar: Bar, portfolio: Portfolio) -> Order | None:
        last, self.last[bar.symbol] = self.last.get(bar.symbol), bar.close
        if int(bar.close * 1000) % self.modulus == 0:
            msg = f"flaky at {bar.close}"
            raise ValueError(msg)
        held = portfolio.positions.get(bar.symbol, Decimal(0))
        if last is None:
            return None
        if bar.close > last and held == 0 and portfolio.cash > 100:
            return Order(bar.symbol, "buy", (portfolio.cash / 10 / bar.close).quantize(Decimal("1e-6")))
        if bar.close < last and held > 0:
            return Order(bar.symbol, "sell", held)
        return None


FLAKY = StrategySpec(
    name="flaky", factory=Flaky, space=ParameterSpace(Param(name="modulus", kind="int", low=60, high=120))
)
STRATEGIES = Strategies(FLAKY, BUILTIN_STRATEGIES["momentum"], BUILTIN_STRATEGIES["mean_reversion"])


def synthetic() -> MarketFeed:
    return SyntheticFeed(seed=SEED, start=START, days=DAYS)


@dataclass(frozen=True)
class Market:
    kind: str
    path: Path | None

    def feed(self) -> MarketFeed:
        return synthetic() if self.path is None else CsvFeed(self.path)


class Interrupted(KeyboardInterrupt):
    """Where the test pulled the plug."""


class CutFeed:
    """The market, with a ``KeyboardInterrupt`` before the bar at ``at``: between two steps."""

    def __init__(self, feed: MarketFeed, at: int) -> None:
        self._feed, self._at = feed, at

    @property
    def symbols(self) -> tuple[str, ...]:
        return self._feed.symbols

    def identity(self) -> object:
        return self._feed.identity()  # type: ignore[attr-defined]

    def __iter__(self) -> Iterator[Bar]:
        for n, bar in enumerate(self._feed):
            if n == self._at:
                raise Interrupted
            yield bar


def open_arena(path: Path, *, new: bool) -> Arena:
    return Arena.open(
        path,
        total_capital=100_000 if new else None,
        seed=SEED,
        clock=SimClock(START),
        strategies=STRATEGIES,
        on_agent_failure="restart",
    )


def run(arena: Arena, feed: MarketFeed, *, agents: int) -> None:
    run_simulation(arena, feed, seed=SEED, agents=agents, policy=POLICY)


def head_of(path: Path) -> Head:
    with SQLiteEventStore.open(path, readonly=True) as store:
        return store.head()


@dataclass(frozen=True)
class Reference:
    market: Market
    head: Head
    path: Path


@pytest.fixture(scope="module")
def markets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Reference]:
    """Each market with its uninterrupted run."""
    root = tmp_path_factory.mktemp("resume")
    table = root / "market.csv"
    with table.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["timestamp", "symbol", "open", "high", "low", "close", "volume"])
        for bar in synthetic():
            writer.writerow(
                [bar.timestamp.isoformat(), bar.symbol, bar.open, bar.high, bar.low, bar.close, bar.volume]
            )
    found: dict[str, Reference] = {}
    for market in (Market("synthetic", None), Market("csv", table)):
        path = root / f"whole-{market.kind}.db"
        with open_arena(path, new=True) as arena:
            run(arena, market.feed(), agents=AGENTS)
        found[market.kind] = Reference(market, head_of(path), path)
    return found


def interrupted_run(path: Path, market: Market, *, cut: int, inside: bool) -> None:
    """Run ``market`` into a new arena at ``path`` and pull the plug at bar ``cut``.

    Between steps (the feed raises before the bar), or inside the step of that bar: after its fills and
    cycle, before its marks, so that the step's unfinished block is what the close discards.
    """
    arena = open_arena(path, new=True)
    try:
        feed: MarketFeed = market.feed()
        if inside:
            steps_seen = 0
            close = arena.floor.close_step

            def interrupting(marks: Mapping[str, Decimal]) -> None:
                nonlocal steps_seen
                steps_seen += 1
                if steps_seen * len(feed.symbols) >= cut:
                    raise Interrupted
                close(marks)

            arena.floor.close_step = interrupting  # type: ignore[method-assign]
        else:
            feed = CutFeed(feed, cut)
        with pytest.raises(Interrupted):
            run(arena, feed, agents=AGENTS)
    finally:
        arena.close()


def test_the_reference_runs_crash_restart_and_cycle(markets):
    for reference in markets.values():
        with SQLiteEventStore.open(reference.path, readonly=True) as store:
            log = list(store.read())
        failures = [e for e in log if isinstance(e, AgentFailed)]
        assert any(f.action == "restarted" for f in failures)
        assert sum(1 for e in log if e.event_type == "EvolutionCycleStarted") >= 2


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    kind=st.sampled_from(["synthetic", "csv"]), cut=st.integers(1, DAYS * 24 * 5 - 1), inside=st.booleans()
)
def test_a_run_interrupted_anywhere_and_resumed_writes_the_uninterrupted_log(
    markets, tmp_path_factory, kind, cut, inside
):
    reference = markets[kind]
    path = tmp_path_factory.mktemp("cut") / "arena.db"
    interrupted_run(path, reference.market, cut=cut, inside=inside)
    assert head_of(path).seq < reference.head.seq
    assert verify(path).ok

    with open_arena(path, new=False) as arena:
        # before the run's first block was durable nothing of it happened: it starts again, as the
        # command line does from the options beside the store; after, it resumes from its manifest
        started = any(arena.replay_events(event_types=["SimulationStarted"]))
        run(arena, reference.market.feed(), agents=0 if started else AGENTS)

    assert head_of(path) == reference.head
    assert verify(path).ok


def test_two_runs_on_one_open_arena_write_the_one_run_log(markets, tmp_path):
    reference = markets["synthetic"]
    path = tmp_path / "arena.db"
    first_half = SyntheticFeed(seed=SEED, start=START, days=1)

    with open_arena(path, new=True) as arena:
        run(arena, first_half, agents=AGENTS)
        run(arena, synthetic(), agents=0)

    assert head_of(path) == reference.head


def test_a_resume_on_another_market_is_refused_naming_the_difference(markets, tmp_path):
    path = tmp_path / "arena.db"
    interrupted_run(path, markets["synthetic"].market, cut=100, inside=False)
    before = head_of(path)
    other = SyntheticFeed(seed=SEED + 1, start=START, days=DAYS)

    with open_arena(path, new=False) as arena:
        with pytest.raises(ValidationError, match=r"market\.seed: recorded 21, given 22"):
            run(arena, other, agents=0)
        with pytest.raises(ValidationError, match="a resumed run spawns none: pass agents=0"):
            run(arena, synthetic(), agents=3)

    assert head_of(path) == before


def test_a_resume_under_another_policy_is_refused(markets, tmp_path):
    path = tmp_path / "arena.db"
    interrupted_run(path, markets["synthetic"].market, cut=100, inside=False)
    before = head_of(path)

    with (
        open_arena(path, new=False) as arena,
        pytest.raises(ValidationError, match=r"policy\.cycle_days: recorded 1, given 2"),
    ):
        run_simulation(
            arena, synthetic(), seed=SEED, agents=0, policy=POLICY.model_copy(update={"cycle_days": 2})
        )

    assert head_of(path) == before


def test_a_stop_request_ends_the_run_after_a_complete_step_and_resuming_finishes_it(markets, tmp_path):
    reference = markets["synthetic"]
    path = tmp_path / "arena.db"
    asked = 0

    def stop() -> bool:
        nonlocal asked
        asked += 1
        return asked == 30

    with open_arena(path, new=True) as arena:
        report = run_simulation(arena, synthetic(), seed=SEED, agents=AGENTS, policy=POLICY, stop=stop)
        head = arena.head()

    assert report.stopped
    assert report.steps == 30
    assert head_of(path) == head  # nothing was discarded: the run stopped at a step
    with open_arena(path, new=False) as arena:
        finished = run_simulation(arena, synthetic(), seed=SEED, agents=0, policy=POLICY)
    assert not finished.stopped
    assert head_of(path) == reference.head
