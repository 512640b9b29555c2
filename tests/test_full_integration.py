"""The whole runtime at once: driver, agents, supervisor, writer, store and verifier over a month of bars."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest

from actors import Arena, SimClock, run_simulation
from events import (
    ArenaState,
    EvolutionCycleComplete,
    EvolutionCycleStarted,
    Fold,
    equity,
    fold,
    nav,
    value_at,
)
from store import SQLiteEventStore, verify
from trading import EvolutionPolicy, SyntheticFeed

if TYPE_CHECKING:
    from pathlib import Path

    from actors import SimulationReport

START = datetime(2026, 1, 1, tzinfo=UTC)
CAPITAL = Decimal(1_000_000)
POLICY = EvolutionPolicy(cycle_days=2, min_bars_in_tier=12)  # several cycles in the 10 days the checks run


@dataclass(frozen=True)
class Run:
    path: Path | None
    report: SimulationReport
    state: ArenaState
    """The live state the arena held when the run ended, before it was closed."""


def simulate(path: Path | None, *, seed: int, agents: int = 12, days: int = 10) -> Run:
    with Arena.open(path, total_capital=CAPITAL, seed=seed, clock=SimClock(START)) as arena:
        feed = SyntheticFeed(seed=seed, start=START, days=days)
        report = run_simulation(arena, feed, seed=seed, agents=agents, policy=POLICY)
        state = arena.state()
    return Run(path, report, state)


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Run:
    return simulate(tmp_path_factory.mktemp("integration") / "arena.db", seed=11)


def stored(path: Path) -> list:
    with SQLiteEventStore.open(path, readonly=True) as store:
        return list(store.read())


def test_the_run_trades_and_evolves_over_several_cycles(run):
    assert run.report.steps == 240
    assert len(run.report.cycles) >= 4
    assert run.report.events_by_type["TradeExecuted"] > 0
    assert run.report.events_by_type["AgentKilled"] > 0
    assert run.report.events_by_type["AgentMutated"] > 0


def test_every_event_the_run_reports_is_in_the_log(run):
    events = stored(run.path)
    counts = Counter(e.event_type for e in events if e.seq > run.report.start_seq)

    assert dict(counts) == run.report.events_by_type
    assert [e.seq for e in events] == list(range(1, run.report.head_seq + 1))
    assert counts["EvolutionCycleStarted"] == counts["EvolutionCycleComplete"] == len(run.report.cycles)
    liquidations = sum(cycle.liquidations for cycle in run.report.cycles)
    assert counts["TradeExecuted"] + counts["TradeRejected"] == run.report.orders + liquidations
    assert counts["AgentSpawned"] == 12 + sum(len(cycle.children) for cycle in run.report.cycles)


def test_value_is_conserved_at_every_event_and_the_file_verifies_clean(run):
    working = Fold()
    for event in stored(run.path):
        working.apply(event)
        held = sum((agent.capital_at_cost for agent in working.agents.values()), Decimal(0))
        assert working.treasury + held == working.total_capital, f"books off after seq {event.seq}"
        expected = working.funding + working.realized_pnl - working.fees_paid
        assert working.total_capital == expected, f"value off after seq {event.seq}"

    result = verify(run.path, expected_head=(run.report.head_seq, run.report.head_hash))

    assert result.ok, str(result)
    assert result.events_checked == run.report.head_seq


def test_no_agent_leaves_a_cycle_above_its_cap_except_by_holdings_it_was_never_forced_to_sell(run):
    working = Fold()
    cap = Decimal(0)
    checked = 0
    for event in stored(run.path):
        if isinstance(event, EvolutionCycleStarted):
            nav_before = nav(working.treasury, working.agents.values(), working.marks)
            cap = nav_before * Decimal(repr(POLICY.max_agent_fraction))
        working.apply(event)
        if isinstance(event, EvolutionCycleComplete):
            for agent in working.agents.values():
                if not agent.alive:
                    continue
                worth = equity(agent, working.marks)
                holdings = worth - agent.allocation
                assert worth <= cap or (holdings > cap and agent.allocation == 0), agent.agent_id
                checked += 1

    assert checked > 0


def test_the_reported_nav_is_cash_plus_holdings_at_the_last_marks_to_the_last_digit(run):
    state = fold(stored(run.path))
    breakdown = run.report.breakdown
    by_hand = state.treasury + sum(
        (
            agent.allocation
            + sum(
                (value_at(units, state.marks[symbol]) for symbol, units in agent.positions.items()),
                Decimal(0),
            )
            for agent in state.agents.values()
        ),
        Decimal(0),
    )

    assert breakdown.nav == by_hand == state.nav()
    assert breakdown.nav == breakdown.total_capital + breakdown.unrealized_pnl


def test_replaying_the_log_rebuilds_the_final_state(run):
    replayed = fold(stored(run.path))

    assert replayed == run.state
    assert replayed.head_hash == run.report.head_hash
    with SQLiteEventStore.open(run.path, readonly=True) as store:
        assert store.load_state() == run.state


def test_the_same_seed_writes_the_same_log_and_another_seed_another(run):
    again = simulate(None, seed=11)
    other = simulate(None, seed=12)

    assert (again.report.head_seq, again.report.head_hash) == (run.report.head_seq, run.report.head_hash)
    assert again.report == run.report
    assert other.report.head_hash != run.report.head_hash


def test_a_reopened_arena_continues_the_same_log(tmp_path):
    path = tmp_path / "arena.db"
    first = simulate(path, seed=21, agents=6, days=4)

    with Arena.open(path, seed=21, clock=SimClock(first.report.last_step)) as arena:
        feed = SyntheticFeed(seed=21, start=START, days=8)
        second = run_simulation(arena, feed, seed=21, policy=POLICY)

    events = stored(path)
    assert second.start_seq == first.report.head_seq
    assert second.first_step is not None
    assert first.report.last_step is not None
    assert second.first_step > first.report.last_step
    assert second.steps == 96
    assert [e.seq for e in events] == list(range(1, second.head_seq + 1))
    assert verify(path, expected_head=(first.report.head_seq, first.report.head_hash)).ok
    assert verify(path, expected_head=(second.head_seq, second.head_hash)).ok


@pytest.mark.slow
def test_fifty_agents_over_thirty_days_verify_clean_and_replay_exactly(tmp_path):
    long = simulate(tmp_path / "arena.db", seed=1, agents=50, days=30)

    assert long.report.steps == 720
    assert long.report.agent_steps == 50 * 720  # every kill is replaced by a child in the same cycle
    assert verify(long.path, expected_head=(long.report.head_seq, long.report.head_hash)).ok
    assert fold(stored(long.path)) == long.state
