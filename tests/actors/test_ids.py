"""Event ids by (seed, seq): a reopened arena writes the ids, bytes and hashes of one that never closed."""

from __future__ import annotations

import hashlib
import uuid
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actors import MAX_RESTARTS, STEP_TIMEOUT, Arena, OnBars, SequentialIds, SimClock
from events import AgentFailed
from store import SQLiteEventStore, verify
from tests.actors.support import T0, bar, open_arena, raising_factory
from trading import BUILTIN_STRATEGIES, Order

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

    from store import Head

GENOME = BUILTIN_STRATEGIES["ma_crossover"].genome()


def head_of(path: Path) -> Head:
    with SQLiteEventStore.open(path, readonly=True) as store:
        return store.head()


def stored_ids(path: Path) -> list[uuid.UUID]:
    with SQLiteEventStore.open(path, readonly=True) as store:
        return [event.event_id for event in store.read()]


# --- the generator -------------------------------------------------------------------------------------


def test_a_seeded_event_id_depends_on_the_seed_and_the_seq_only() -> None:
    first, second = SequentialIds(7), SequentialIds(7)

    drawn_in_order = [first.event_id(seq) for seq in range(1, 6)]
    drawn_backwards = [second.event_id(seq) for seq in range(5, 0, -1)]

    assert drawn_in_order == drawn_backwards[::-1]
    assert len(set(drawn_in_order)) == 5
    assert SequentialIds(8).event_id(1) != first.event_id(1)


def test_a_seeded_event_id_is_a_version_4_uuid_from_blake2b_of_seed_and_seq() -> None:
    digest = hashlib.blake2b(b"arena-ids/7/42", digest_size=16).digest()

    event_id = SequentialIds(7).event_id(42)

    assert event_id == uuid.UUID(bytes=digest, version=4)
    assert (event_id.version, event_id.variant) == (4, uuid.RFC_4122)


def test_unseeded_event_ids_are_random_version_4_uuids() -> None:
    first, second = SequentialIds(), SequentialIds()

    ids = {first.event_id(1), second.event_id(1), first.event_id(1)}

    assert len(ids) == 3
    assert {event_id.version for event_id in ids} == {4}


def test_a_resuming_generator_continues_past_the_highest_agent_number() -> None:
    ids = SequentialIds.resuming(1, agent_ids=["a-000002", "a-000009", "not-ours"])

    assert ids.agent_id() == "a-000010"
    assert ids.event_id(3) == SequentialIds(1).event_id(3)


# --- reopening changes nothing -------------------------------------------------------------------------

COMMANDS = st.lists(st.sampled_from(["spawn", "fund", "marks", "buy", "kill", "mutate"]), max_size=14)


class Driver:
    """Applies commands to an arena, each one valid whatever came before (a model of who is alive)."""

    def __init__(self) -> None:
        self.alive: list[str] = []
        self.step = 0

    def apply(self, arena: Arena, command: str) -> None:
        self.step += 1
        if command == "spawn" or not self.alive:
            self.alive.append(arena.spawn_agent(GENOME))
        elif command == "fund":
            arena.allocate_capital({self.alive[-1]: "5"})
        elif command == "marks":
            arena.floor.record_marks({"XYZ": Decimal(10 + self.step)})
        elif command == "buy":
            order = Order("XYZ", "buy", Decimal("0.01"))
            arena.floor.execute_orders([(self.alive[-1], order)], {"XYZ": Decimal(10)})
        elif command == "kill":
            arena.kill_agent(self.alive.pop(0), "the test's choice", marks={"XYZ": Decimal(10)})
        else:
            self.alive.append(arena.mutate_agent(self.alive[0], seed=self.step))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(commands=COMMANDS, data=st.data())
def test_reopening_a_seeded_arena_at_any_seq_continues_the_same_ids_and_bytes(
    tmp_path_factory: pytest.TempPathFactory, commands: list[str], data: st.DataObject
) -> None:
    directory = tmp_path_factory.mktemp("ids")
    whole, reopened = directory / "whole.db", directory / "reopened.db"
    cuts = sorted(data.draw(st.sets(st.integers(0, len(commands)), max_size=3), label="reopen after"))

    driver = Driver()
    with open_arena(whole) as arena:
        for command in commands:
            driver.apply(arena, command)

    driver = Driver()
    arena = open_arena(reopened)
    try:
        for index, command in enumerate(commands):
            if index in cuts:
                arena.close()
                arena = Arena.open(reopened, seed=1, clock=SimClock(T0))
            driver.apply(arena, command)
    finally:
        arena.close()

    assert head_of(reopened) == head_of(whole)
    assert stored_ids(reopened) == stored_ids(whole)
    assert verify(reopened).ok


# --- restarts count from the ledger --------------------------------------------------------------------


def crashing_arena(path: Path, *, new: bool) -> Arena:
    options: dict[str, Any] = {
        "strategy_factory": raising_factory(RuntimeError("always")),
        "on_agent_failure": "restart",
    }
    if new:
        return open_arena(path, **options)
    return Arena.open(path, seed=1, clock=SimClock(T0), **options)


def crashing_step(arena: Arena, hour: int) -> None:
    """Ask every agent for orders (each crashes), then record marks, which records the crashes first."""
    bars = (bar("XYZ", "10", hour=hour),)
    portfolios = arena.floor.portfolios()
    for agent_id, ref in sorted(arena.floor.agent_refs().items()):
        ref.ask(OnBars(bars, portfolios[agent_id]), timeout=STEP_TIMEOUT)
    arena.floor.record_marks({"XYZ": Decimal(10)})


def failures(path: Path) -> list[str]:
    with SQLiteEventStore.open(path, readonly=True) as store:
        return [event.action for event in store.read() if isinstance(event, AgentFailed)]


def test_restart_counts_survive_a_reopen_so_a_crashing_agent_dies_on_the_same_failure(tmp_path: Path) -> None:
    whole, reopened = tmp_path / "whole.db", tmp_path / "reopened.db"
    steps = MAX_RESTARTS + 2
    with crashing_arena(whole, new=True) as arena:
        arena.spawn_agent(GENOME)
        for hour in range(steps):
            crashing_step(arena, hour)

    for hour in range(steps):  # closed and reopened between every two steps
        with crashing_arena(reopened, new=hour == 0) as arena:
            if hour == 0:
                arena.spawn_agent(GENOME)
            crashing_step(arena, hour)

    assert failures(whole) == ["restarted"] * MAX_RESTARTS + ["killed"]
    assert failures(reopened) == failures(whole)
    assert head_of(reopened) == head_of(whole)
