"""The evidence evolution judges comes from the ledger: the supervisor's performance book, end to end."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest

from actors import Arena, SimClock, run_simulation
from events import AgentKilled, ArenaOpened, Fold, ValidationError
from trading import (
    MIN_TRADE_NOTIONAL,
    EvolutionPolicy,
    Param,
    ParameterSpace,
    PerformanceBook,
    Strategies,
    StrategySpec,
    SyntheticFeed,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from trading import Bar, Order, Portfolio

START = datetime(2026, 1, 1, tzinfo=UTC)


class Sitter:
    """Never trades: the agent the old rules could never judge."""

    def __init__(self, params: Mapping[str, object]) -> None:
        del params

    def on_bar(self, bar: Bar, portfolio: Portfolio) -> Order | None:
        del bar, portfolio
        return None


SITTER = StrategySpec(
    name="sitter", factory=Sitter, space=ParameterSpace(Param(name="patience", kind="int", low=1, high=9))
)


def test_the_arenas_metrics_are_the_book_of_its_own_log():
    with Arena.open(None, total_capital=100_000, seed=2, clock=SimClock(START)) as arena:
        run_simulation(arena, SyntheticFeed(seed=2, start=START, days=4), seed=2, agents=6)
        live, lifetime = arena.floor.agent_metrics(), arena.floor.agent_metrics(lifetime=True)
        log = list(arena.replay_events())

    book, state = PerformanceBook(), Fold()
    for event in log:
        state.apply(event)
        book.observe(event, state)
    assert live == book.metrics()
    assert lifetime == book.lifetime()
    assert sorted(live) == sorted(a for a, e in state.agents.items() if e.alive)


def test_an_agent_that_never_trades_is_killed_as_idle_with_the_numbers():
    policy = EvolutionPolicy(cycle_days=1, idle_bars=30, min_bars_in_tier=12, kill_fraction=0.0)
    strategies = Strategies(SITTER)
    with Arena.open(
        None, total_capital=100_000, seed=3, clock=SimClock(START), strategies=strategies
    ) as arena:
        run_simulation(arena, SyntheticFeed(seed=3, start=START, days=4), seed=3, agents=4, policy=policy)
        kills = [e for e in arena.replay_events(event_types=["AgentKilled"]) if isinstance(e, AgentKilled)]
        idle_now = {a: m.idle_bars for a, m in arena.floor.agent_metrics().items()}

    assert kills, "idle agents must die"
    for kill in kills:
        assert kill.reason.startswith("idle for ")
        assert kill.evidence["rule"] == "idle"
        assert kill.evidence["idle_bars"] >= 30  # type: ignore[operator]
        assert kill.evidence["idle_limit"] == 30
    # whoever lives has been idle for less than the window plus one cycle (24 hourly bars) since it
    # was judged: the next cycle kills it
    assert all(bars < 30 + 24 for bars in idle_now.values())


def test_the_notional_floor_is_the_arenas_and_is_recorded_in_the_log():
    with Arena.open(None, total_capital=1_000, min_trade_notional="2.5") as arena:
        opened = next(iter(arena.replay_events(to_seq=1)))

    assert isinstance(opened, ArenaOpened)
    assert opened.config["min_trade_notional"] == "2.50000000"
    with Arena.open(None, total_capital=1_000) as arena:
        default = next(iter(arena.replay_events(to_seq=1)))
    assert isinstance(default, ArenaOpened)
    assert Decimal(str(default.config["min_trade_notional"])) == MIN_TRADE_NOTIONAL


@pytest.mark.parametrize("bad", [1.5, -1, "ten", True])
def test_a_bad_notional_floor_is_refused_and_makes_nothing(bad, tmp_path):
    path = tmp_path / "arena.db"
    with pytest.raises(ValidationError, match="min_trade_notional"):
        Arena.open(path, total_capital=1_000, min_trade_notional=bad)

    assert not path.exists()


def test_a_reopened_arena_judges_on_the_book_it_had_and_keeps_its_floor(tmp_path):
    path = tmp_path / "arena.db"
    with Arena.open(
        path, total_capital=100_000, seed=4, clock=SimClock(START), min_trade_notional=5
    ) as arena:
        run_simulation(arena, SyntheticFeed(seed=4, start=START, days=3), seed=4, agents=5)
        before, lifetime = arena.floor.agent_metrics(), arena.floor.agent_metrics(lifetime=True)

    with Arena.open(path, seed=4) as arena:
        assert arena.floor.agent_metrics() == before
        assert arena.floor.agent_metrics(lifetime=True) == lifetime
    with pytest.raises(ValidationError, match=r"min_trade_notional: 7\.00000000 differs from 5\.00000000"):
        Arena.open(path, seed=4, min_trade_notional=7)
