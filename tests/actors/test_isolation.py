"""A misbehaving strategy is its agent's failure, never the arena's or another arena's; exits stay clean."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pykka
import pytest

import actors._timeouts as timeouts
from actors import OnBars, run_simulation
from store import SQLiteEventStore
from tests.actors.support import T0, bar, open_arena, stored
from trading import Order, Portfolio, SyntheticFeed

ROOT = Path(__file__).resolve().parents[2]


class Raising:
    def __init__(self, error: BaseException) -> None:
        self.error = error

    def on_bar(self, bar, portfolio):
        raise self.error


class Answering:
    def __init__(self, answer: object) -> None:
        self.answer = answer

    def on_bar(self, bar, portfolio):
        return self.answer


class Stuck:
    release = threading.Event()

    def on_bar(self, bar, portfolio):
        Stuck.release.wait(timeout=60)


def step(arena, agent: str) -> None:
    ref = arena.floor.agent_refs()[agent]
    ref.ask(_bars(), timeout=10)
    arena.flush()


@pytest.mark.parametrize(
    ("strategy", "error_type"),
    [
        (Raising(SystemExit(3)), "SystemExit"),
        (Raising(KeyboardInterrupt()), "KeyboardInterrupt"),
        (Answering("buy everything"), "TypeError"),
        (Answering(Decimal(5)), "TypeError"),
    ],
)
def test_a_strategy_that_exits_interrupts_or_answers_nonsense_fails_only_its_own_agent(strategy, error_type):
    with open_arena(strategy_factory=lambda genome: strategy) as arena, open_arena() as bystander:
        agent = arena.spawn_agent()
        other = bystander.spawn_agent()

        step(arena, agent)
        arena.floor.set_time(T0 + timedelta(hours=1))  # the next command records the step's crash

        (failed,) = stored(arena, event_types=["AgentFailed"])
        assert failed.error_type == error_type
        assert failed.action == "killed"
        assert not arena.state().agents[agent].alive
        assert bystander.state().agents[other].alive
        assert bystander.floor.agent_refs().keys() == {other}


def test_an_agent_stuck_in_its_strategy_fails_alone_and_the_run_goes_on(monkeypatch):
    monkeypatch.setattr(timeouts, "STEP_TIMEOUT", 0.5)
    monkeypatch.setattr(timeouts, "STOP_TIMEOUT", 0.5)
    Stuck.release.clear()
    made = []

    def factory(genome):
        made.append(genome)
        return Stuck() if len(made) == 1 else Answering(None)

    try:
        arena = open_arena(strategy_factory=factory)
        arena.spawn_agent()
        arena.spawn_agent()
        feed = SyntheticFeed(seed=1, start=T0, days=1, symbols=("BTC",))

        report = run_simulation(arena, feed, seed=1)

        failed = stored(arena, event_types=["AgentFailed"])
        assert [(e.agent_id, e.error_type) for e in failed] == [("a-000001", "StepTimeout")]
        assert report.steps == 24
        started = time.monotonic()
        arena.close()
        assert time.monotonic() - started < 5
    finally:
        Stuck.release.set()


def test_close_abandons_stuck_agents_within_one_deadline_not_one_per_agent(monkeypatch):
    monkeypatch.setattr(timeouts, "STOP_TIMEOUT", 0.5)
    Stuck.release.clear()
    try:
        arena = open_arena(strategy_factory=lambda genome: Stuck())
        ids = [arena.spawn_agent() for _ in range(4)]
        refs = arena.floor.agent_refs()
        for agent in ids:
            refs[agent].tell(_bars())

        started = time.monotonic()
        arena.close()

        assert time.monotonic() - started < 3
    finally:
        Stuck.release.set()


def _bars() -> OnBars:
    return OnBars((bar("BTC", "100"),), Portfolio(cash=Decimal(0)))


def test_agents_supervisors_and_writers_run_on_daemon_threads():
    before = set(threading.enumerate())
    with open_arena() as arena:
        arena.spawn_agent()

        started = [t for t in threading.enumerate() if t not in before]

        assert len(pykka.ActorRegistry.get_all()) == 3  # supervisor, writer, agent
        assert len(started) >= 3
        assert all(t.daemon for t in started)


def test_a_script_that_forgets_close_still_exits_and_its_events_are_durable(tmp_path):
    path = tmp_path / "forgot.db"
    script = textwrap.dedent(
        f"""
        from decimal import Decimal
        from actors import Arena
        arena = Arena.open({str(path)!r}, total_capital=Decimal(1000), seed=1)
        agent = arena.spawn_agent()
        arena.allocate_capital({{agent: Decimal(10)}})
        print("done")
        """
    )

    done = subprocess.run(  # noqa: S603  (our own interpreter on our own script)
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "done"
    with SQLiteEventStore.open(path, readonly=True) as store:
        assert [e.event_type for e in store.read()] == ["ArenaOpened", "AgentSpawned", "CapitalAllocated"]


def test_a_fill_worth_more_than_the_largest_amount_is_rejected_not_raised():
    with open_arena(total_capital=Decimal(10**10)) as arena:
        agent = arena.spawn_agent()
        arena.allocate_capital({agent: Decimal(10**10)})
        arena.floor.execute_orders([(agent, Order("BTC", "buy", Decimal(1000)))], {"BTC": Decimal(1)})

        (trade,) = arena.floor.execute_orders(
            [(agent, Order("BTC", "sell", Decimal(1000)))], {"BTC": Decimal(10**9)}
        )

        assert trade.event_type == "TradeRejected"
        assert "above the largest amount one fill may move" in trade.reason
