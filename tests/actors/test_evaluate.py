"""Evaluation on held-out data: fixed populations, no cycles, against equal-weight buy-and-hold."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from actors import BUY_AND_HOLD, Arena, SimClock, evaluate, run_simulation
from events import EvolutionCycleStarted, ValidationError
from trading import EvolutionPolicy, SyntheticFeed, random_genome

START = datetime(2026, 1, 1, tzinfo=UTC)
CAPITAL = Decimal(100_000)


def market(days: int = 3, seed: int = 5) -> SyntheticFeed:
    return SyntheticFeed(seed=seed, start=START, days=days)


def genomes(count: int, seed: int) -> list:
    rng = random.Random(seed)
    return [random_genome(rng) for _ in range(count)]


def test_each_population_and_the_benchmark_get_a_row_over_the_same_bars():
    result = evaluate({"a": genomes(4, 1), "b": genomes(3, 2)}, market, seed=1, capital=CAPITAL)

    assert [row.name for row in result.rows] == ["a", "b", BUY_AND_HOLD]
    assert [row.agents for row in result.rows] == [4, 3, 0]
    assert result.bars == 3 * 24
    assert result.first_bar == next(iter(market())).timestamp
    for row in result.rows:
        assert row.total_return == pytest.approx(float(row.final_nav / CAPITAL) - 1)
        assert 0.0 <= row.max_drawdown <= 1.0


def test_the_same_inputs_give_the_same_table():
    first = evaluate({"a": genomes(3, 1)}, market, seed=1, capital=CAPITAL)
    second = evaluate({"a": genomes(3, 1)}, market, seed=1, capital=CAPITAL)

    assert first == second


def test_buy_and_hold_is_the_markets_own_return_with_no_fees():
    feed = market(days=2)
    bars = list(feed)
    symbols = sorted(feed.symbols)
    first_open = {s: next(b.open for b in bars if b.symbol == s) for s in symbols}
    last_close = {s: [b.close for b in bars if b.symbol == s][-1] for s in symbols}
    share = CAPITAL / len(symbols)
    expected = sum(share / first_open[s] * last_close[s] for s in symbols)

    result = evaluate({"a": genomes(2, 1)}, lambda: market(days=2), seed=1, capital=CAPITAL)

    benchmark = result.rows[-1]
    assert (benchmark.trades, benchmark.fees) == (0, Decimal(0))
    assert benchmark.final_nav == pytest.approx(expected, rel=Decimal("1e-12"))


def test_no_cycle_runs_in_an_evaluation():
    with Arena.open(None, total_capital=CAPITAL, seed=1, clock=SimClock(START)) as arena:
        run_simulation(
            arena, market(days=12), seed=1, agents=4, policy=EvolutionPolicy(cycle_days=1), evolve=False
        )
        started = list(arena.replay_events(event_types=["EvolutionCycleStarted"]))

    assert started == []
    assert EvolutionCycleStarted  # the event a cycle would have written


def test_bad_populations_are_refused():
    with pytest.raises(ValidationError, match="no population to evaluate"):
        evaluate({}, market, seed=1)
    with pytest.raises(ValidationError, match="population 'a' has no genomes"):
        evaluate({"a": []}, market, seed=1)


def test_evolve_must_be_a_bool():
    with Arena.open(None, total_capital=CAPITAL, seed=1, clock=SimClock(START)) as arena:
        with pytest.raises(ValidationError, match="evolve must be True or False, got 'no'"):
            run_simulation(arena, market(), seed=1, evolve="no")  # type: ignore[arg-type]
        assert arena.head().seq == 1  # only the opening
