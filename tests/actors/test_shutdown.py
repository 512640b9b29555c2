from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pykka
import pytest

from events import ArenaError
from store import SQLiteEventStore
from tests.actors.support import T0, open_arena
from trading import EvolutionPolicy, Order

CLOSED = r"^arena is closed; open it again with Arena\.open\(path\)$"
STOP_TIMEOUT = 30


def new_threads(before: set[threading.Thread]) -> list[str]:
    started = [t for t in threading.enumerate() if t not in before]
    for thread in started:
        thread.join(timeout=STOP_TIMEOUT)
    return [t.name for t in started if t.is_alive()]


def test_close_stops_every_actor_and_every_thread_the_arena_started():
    before = set(threading.enumerate())
    arena = open_arena()
    for _ in range(5):
        arena.spawn_agent()

    arena.close()

    assert pykka.ActorRegistry.get_all() == []
    assert new_threads(before) == []


def test_the_context_manager_closes_the_arena_when_its_body_raises():
    before = set(threading.enumerate())
    arena = open_arena()

    def use_and_fail() -> None:
        with arena:
            arena.spawn_agent()
            raise RuntimeError("body failed")

    with pytest.raises(RuntimeError, match=r"^body failed$"):
        use_and_fail()

    assert arena.closed
    assert new_threads(before) == []


def test_close_is_idempotent():
    arena = open_arena()

    arena.close()
    arena.close()

    assert arena.closed


def test_close_from_many_threads_at_once_closes_once_and_stops_everything():
    before = set(threading.enumerate())
    arena = open_arena()
    arena.spawn_agent()
    errors: list[BaseException] = []

    def close() -> None:
        try:
            arena.close()
        except BaseException as e:  # noqa: BLE001  (the test collects whatever a closer raises)
            errors.append(e)

    closers = [threading.Thread(target=close) for _ in range(8)]
    for closer in closers:
        closer.start()
    for closer in closers:
        closer.join(timeout=STOP_TIMEOUT)

    assert errors == []
    assert new_threads(before) == []


def test_close_makes_everything_answered_before_it_durable(tmp_path):
    path = tmp_path / "arena.db"
    arena = open_arena(path, max_delay=60.0, max_batch=10_000)
    agent = arena.spawn_agent()
    arena.allocate_capital({agent: Decimal(3)})
    head = arena.head()

    arena.close()

    with SQLiteEventStore.open(path, readonly=True) as store:
        assert store.head() == head


@pytest.mark.parametrize(
    "command",
    [
        lambda arena: arena.spawn_agent(),
        lambda arena: arena.allocate_capital({"a-000001": Decimal(1)}),
        lambda arena: arena.release_capital("a-000001"),
        lambda arena: arena.kill_agent("a-000001", "x"),
        lambda arena: arena.kill_underperformers("sharpe", threshold=0.0),
        lambda arena: arena.graduate_to_proving("a-000001"),
        lambda arena: arena.graduate_to_arena("a-000001"),
        lambda arena: arena.mutate_agent("a-000001"),
        lambda arena: arena.run_evolution_cycle(EvolutionPolicy()),
        lambda arena: arena.verify_capital_conservation(),
        lambda arena: arena.replay_events(),
        lambda arena: arena.get_capital_allocation_breakdown(),
        lambda arena: arena.flush(),
        lambda arena: arena.head(),
        lambda arena: arena.state(),
        lambda arena: arena.floor.execute_orders(
            [("a-000001", Order("X", "buy", Decimal(1)))], {"X": Decimal(1)}
        ),
        lambda arena: arena.floor.portfolios(),
        lambda arena: arena.floor.agent_refs(),
        lambda arena: arena.floor.agent_metrics(),
        lambda arena: arena.floor.set_time(T0 + timedelta(hours=1)),
    ],
)
def test_every_method_of_a_closed_arena_raises_a_clear_error(command):
    arena = open_arena()
    arena.spawn_agent()
    arena.close()

    with pytest.raises(ArenaError, match=CLOSED):
        command(arena)


def test_a_command_racing_close_either_runs_or_is_refused_as_closed():
    arena = open_arena()
    agent = arena.spawn_agent()
    outcomes: list[str] = []
    started = threading.Event()

    def allocate_until_closed() -> None:
        started.set()
        while True:
            try:
                arena.allocate_capital({agent: Decimal("0.01")})
            except ArenaError as e:
                outcomes.append(str(e))
                return

    worker = threading.Thread(target=allocate_until_closed)
    worker.start()
    assert started.wait(timeout=STOP_TIMEOUT)
    arena.close()
    worker.join(timeout=STOP_TIMEOUT)

    assert outcomes == ["arena is closed; open it again with Arena.open(path)"]
