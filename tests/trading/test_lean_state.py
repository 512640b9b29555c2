"""Per-agent trading state that costs nothing until it is used, and gives the same answers as before.

A 100,000-agent arena holds a book entry, a strategy and (briefly) a genome per agent (issue 14): the
stint tracker is the life tracker until the agent changes tier, a genome that already fits its space is
not copied, and a strategy makes its Decimals on its first trade.
"""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from events import Fold, LogBuilder
from trading import BUILTIN_STRATEGIES, Genome, PerformanceBook, PerformanceTracker


def replay(builder: LogBuilder) -> PerformanceBook:
    book, state = PerformanceBook(), Fold()
    for event in builder.events:
        state.apply(event)
        book.observe(event, state)
    return book


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(["mark-up", "mark-down", "buy", "sell", "allocate"]), max_size=12))
def test_until_an_agent_changes_tier_its_stint_is_its_life(moves: list[str]) -> None:
    b = LogBuilder(seed=1)
    b.open("100000")
    b.spawn("a")
    b.allocate("a", "1000")
    price, held = Decimal(10), Decimal(0)
    for move in moves:
        match move:
            case "mark-up" | "mark-down":
                price += 1 if move == "mark-up" else -1 if price > 2 else 0
                b.mark({"XYZ": price})
            case "buy":
                b.trade("a", "buy", "1", price, "0")
                held += 1
            case "sell" if held:
                b.trade("a", "sell", "1", price, "0")
                held -= 1
            case "allocate":
                b.allocate("a", "10")
            case _:
                pass

    book = replay(b)

    assert book.metrics() == book.lifetime()


def test_a_stint_parts_from_the_life_at_the_first_tier_change() -> None:
    b = LogBuilder(seed=1)
    b.open("100000")
    b.spawn("a")
    b.allocate("a", "1000")
    b.mark({"XYZ": "10"})
    b.graduate("a")
    b.mark({"XYZ": "10"})

    book = replay(b)

    assert (book.metrics()["a"].bars, book.lifetime()["a"].bars) == (1, 2)


def test_a_tracker_keeps_a_floor_already_at_scale_and_normalises_another() -> None:
    floor = Decimal("10.00000000")

    kept = PerformanceTracker(min_trade_notional=floor)
    normalised = PerformanceTracker(min_trade_notional=Decimal(10))

    assert kept._floor is floor
    assert normalised._floor == floor
    assert str(normalised._floor) == "10.00000000"


def test_checking_a_genome_that_fits_returns_it_and_one_that_does_not_is_rebuilt() -> None:
    genome = BUILTIN_STRATEGIES.random_genome(random.Random(3))
    reordered = Genome(strategy=genome.strategy, params=dict(reversed(list(genome.params.items()))))

    same = BUILTIN_STRATEGIES.check(genome)
    rebuilt = BUILTIN_STRATEGIES.check(reordered)

    assert same is genome
    assert rebuilt is not reordered
    assert rebuilt == genome
    assert list(rebuilt.params) == list(genome.params)


def test_a_strategy_missing_a_shared_parameter_fails_when_built_not_when_it_trades() -> None:
    factory = BUILTIN_STRATEGIES["momentum"].factory

    with pytest.raises(KeyError, match="stop_loss"):
        factory({"position_fraction": 0.5, "lookback": 3, "entry_threshold": 0.1, "exit_threshold": 0.1})
