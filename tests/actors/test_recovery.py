from __future__ import annotations

import json
import os
from decimal import Decimal

import pykka
import pytest

from actors import Arena, SimClock
from events import AgentNotAliveError, EventSourcingError, StoreError, ValidationError, chain_hash, fold
from store import SQLiteEventStore, WriterLock, verify
from tests.actors.support import T0, FailingSink, assert_log_matches_state, open_arena, stored
from tests.store.tampering import tamper
from trading import EvolutionPolicy


def read_all(path) -> list:
    with SQLiteEventStore.open(path, readonly=True) as store:
        return list(store.read())


def test_a_reopened_arena_continues_its_log_gaplessly_and_verifies_clean(tmp_path):
    path = tmp_path / "arena.db"
    with open_arena(path) as arena:
        first = arena.spawn_agent()
        arena.allocate_capital({first: Decimal(100)})
        closed_at = arena.head()

    with Arena.open(path, seed=1, clock=SimClock(T0)) as arena:
        reopened_at = arena.head()
        second = arena.spawn_agent()
        arena.allocate_capital({second: Decimal(50)})
        events = assert_log_matches_state(arena)

    assert reopened_at == closed_at
    assert second == "a-000002"
    assert [e.seq for e in events] == list(range(1, 6))
    assert verify(path).ok


def test_reopening_with_the_funding_it_was_opened_with_is_accepted(tmp_path):
    path = tmp_path / "arena.db"
    open_arena(path).close()

    with open_arena(path, total_capital="1000.00") as arena:
        assert len(stored(arena)) == 1


def test_reopening_with_different_funding_is_refused(tmp_path):
    path = tmp_path / "arena.db"
    open_arena(path).close()

    with pytest.raises(
        ValidationError, match=r"^total_capital: 5.00000000 differs from the 1000.00000000 that the"
    ):
        open_arena(path, total_capital=Decimal(5))

    assert pykka.ActorRegistry.get_all() == []


def test_live_agents_get_their_actors_back_and_dead_ones_stay_dead(tmp_path):
    path = tmp_path / "arena.db"
    with open_arena(path) as arena:
        alive, dead = arena.spawn_agent(), arena.spawn_agent()
        arena.kill_agent(dead, "gone")

    with Arena.open(path) as arena:
        refs = arena.floor.agent_refs()

        assert set(refs) == {alive}
        assert refs[alive].is_alive()
        with pytest.raises(AgentNotAliveError, match=r"^agent 'a-000002' was killed at seq 4: dead agents"):
            arena.release_capital(dead)


def test_snapshots_are_stored_every_snapshot_every_events_with_the_events_they_follow(tmp_path):
    path = tmp_path / "arena.db"
    with open_arena(path, snapshot_every=4) as arena:
        agent = arena.spawn_agent()
        for _ in range(10):
            arena.allocate_capital({agent: Decimal(1)})

    with SQLiteEventStore.open(path, readonly=True) as store:
        latest = store.snapshot()
        events = list(store.read())
        earlier = store.snapshot(at_or_before=latest.seq - 1)

    assert latest.seq == 12
    assert earlier is not None
    assert earlier.seq == 8
    assert latest == fold(events[: latest.seq])


def test_an_arena_reopened_from_a_snapshot_equals_the_fold_of_its_whole_log(tmp_path):
    path = tmp_path / "arena.db"
    with open_arena(path, snapshot_every=3) as arena:
        ids = [arena.spawn_agent() for _ in range(4)]
        arena.allocate_capital(dict.fromkeys(ids, Decimal(10)))
        arena.kill_agent(ids[0], "x")

    with Arena.open(path) as arena:
        assert arena.state() == fold(stored(arena))


def test_a_seeded_arena_reopened_draws_event_ids_its_first_run_never_used(tmp_path):
    path = tmp_path / "arena.db"
    with open_arena(path, seed=9) as arena:
        arena.spawn_agent()

    with open_arena(path, seed=9, total_capital=None) as arena:
        arena.spawn_agent()
        arena.mutate_agent("a-000001")

    events = read_all(path)
    assert len({e.event_id for e in events}) == len(events) == 5
    assert verify(path).ok


def test_evolution_cycles_keep_counting_across_a_reopen(tmp_path):
    path = tmp_path / "arena.db"
    policy = EvolutionPolicy(min_bars_in_tier=0)
    with open_arena(path) as arena:
        for _ in range(3):
            arena.spawn_agent()
        arena.run_evolution_cycle(policy, seed=1)

    with Arena.open(path) as arena:
        report = arena.run_evolution_cycle(policy, seed=2)

    assert report.cycle == 2


def test_a_file_that_is_not_an_arena_store_is_refused_clearly(tmp_path):
    path = tmp_path / "notes.db"
    path.write_text("just some notes\n")

    with pytest.raises(StoreError):
        Arena.open(path, total_capital=Decimal(1))

    assert pykka.ActorRegistry.get_all() == []
    assert sorted(f.name for f in tmp_path.iterdir()) == ["notes.db"]
    assert path.read_text() == "just some notes\n"


def test_a_failed_write_stops_the_log_and_every_later_command_says_why(tmp_path):
    path = tmp_path / "arena.db"
    sink = FailingSink(path)
    arena = open_arena(sink_factory=lambda: sink)
    agent = arena.spawn_agent()
    acknowledged = arena.flush()
    sink.fail.set()
    arena.allocate_capital({agent: Decimal(1)})  # taken in memory; its write is what fails

    with pytest.raises(
        EventSourcingError, match=r"^event writer: a store write failed \(StoreError: disk full"
    ) as caught:
        arena.flush()
    with pytest.raises(
        EventSourcingError,
        match=r"^arena: the event log cannot grow since the event writer failed \(StoreError: disk full",
    ):
        arena.spawn_agent()
    with pytest.raises(EventSourcingError):
        arena.close()

    assert caught.value.last_durable_seq == acknowledged.seq
    assert [e.seq for e in read_all(path)] == list(range(1, acknowledged.seq + 1))
    assert verify(path).ok
    assert pykka.ActorRegistry.get_all() == []


def test_after_a_failed_write_the_store_reopens_with_everything_acknowledged(tmp_path):
    path = tmp_path / "arena.db"
    sink = FailingSink(path)
    arena = open_arena(sink_factory=lambda: sink)
    agent = arena.spawn_agent()
    arena.allocate_capital({agent: Decimal(7)})
    acknowledged = arena.flush()
    sink.fail.set()
    arena.release_capital(agent)
    with pytest.raises(EventSourcingError):
        arena.close()

    with Arena.open(path) as reopened:
        assert reopened.head() == acknowledged
        assert reopened.state().agents[agent].allocation == Decimal(7)


def test_a_store_that_cannot_be_opened_fails_arena_open_and_leaves_no_actor():
    def broken():
        msg = "no such directory"
        raise OSError(msg)

    with pytest.raises(
        EventSourcingError, match=r"^event writer: cannot open the event sink \(OSError: no such"
    ):
        open_arena(sink_factory=broken)

    assert pykka.ActorRegistry.get_all() == []


def test_a_second_arena_on_the_same_file_is_refused_at_once_naming_the_holder(tmp_path):
    path = tmp_path / "arena.db"
    with open_arena(path) as arena:
        actors = len(pykka.ActorRegistry.get_all())
        with pytest.raises(
            StoreError,
            match=(
                rf"^store '.*arena.db': another writer has it open \(pid {os.getpid()}: this process, per "
                r"'arena.db.lock'\); a store has one writer"
            ),
        ):
            Arena.open(path)

        assert len(pykka.ActorRegistry.get_all()) == actors
        arena.spawn_agent()  # the first arena is untouched

    with Arena.open(path) as reopened:
        assert reopened.head().seq == 2


def test_the_arena_holds_the_writer_lock_from_before_recovery_until_its_writer_closed(tmp_path):
    path = tmp_path / "arena.db"
    arena = open_arena(path)
    with pytest.raises(StoreError, match=r"another writer has it open"):
        WriterLock.acquire(path)

    arena.close()

    assert not path.with_name("arena.db.lock").exists()
    WriterLock.acquire(path).release()


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"total_capital": None}, r"^total_capital: a new arena needs its funding"),
        ({"total_capital": "-5"}, r"^total_capital: "),
        ({"total_capital": 1.5}, r"^total_capital: "),
        ({"snapshot_every": 0}, r"^snapshot_every: "),
        ({"synchronous": "sometimes"}, r"^synchronous: 'sometimes' is not a mode"),
    ],
)
def test_a_refused_open_of_a_new_store_leaves_no_file_behind(tmp_path, options, error):
    with pytest.raises(ValidationError, match=error):
        open_arena(tmp_path / "typo.db", **options)

    assert list(tmp_path.iterdir()) == []
    assert pykka.ActorRegistry.get_all() == []


def test_a_refused_reopen_leaves_the_store_as_it_was(tmp_path):
    path = tmp_path / "arena.db"
    open_arena(path).close()
    before = {f.name: f.read_bytes() for f in tmp_path.iterdir()}

    with pytest.raises(ValidationError, match=r"^total_capital: 5.00000000 differs"):
        open_arena(path, total_capital=Decimal(5))

    assert {f.name: f.read_bytes() for f in tmp_path.iterdir()} == before


def test_every_flush_records_the_durable_head_in_the_receipt(tmp_path):
    path = tmp_path / "arena.db"
    with open_arena(path) as arena:
        arena.spawn_agent()
        head = arena.flush()
        receipt = json.loads(path.with_name("arena.db.receipt").read_text())

    assert (receipt["seq"], receipt["hash"]) == head


def test_an_arena_is_not_reopened_over_lost_acknowledged_events(tmp_path):
    path = tmp_path / "arena.db"
    with open_arena(path) as arena:
        arena.spawn_agent()
        arena.spawn_agent()
        head = arena.flush()
    tamper(path, ("DELETE FROM events WHERE seq = ?", (head.seq,)))

    with pytest.raises(
        StoreError,
        match=(
            rf"acknowledged events lost: the receipt records seq {head.seq} as acknowledged, but the log "
            rf"ends at seq {head.seq - 1}: 1 acknowledged events are missing"
        ),
    ):
        Arena.open(path)
    assert pykka.ActorRegistry.get_all() == []
    SQLiteEventStore.open(path, accept_loss=True).close()

    with Arena.open(path) as arena:
        assert arena.head().seq == head.seq - 1


def test_a_consistently_forged_snapshot_cannot_hand_out_money_after_a_reopen(tmp_path):
    path = tmp_path / "arena.db"
    with open_arena(path, snapshot_every=2) as arena:
        agent = arena.spawn_agent()
        arena.allocate_capital({agent: Decimal(100)})
        arena.allocate_capital({agent: Decimal(1)})
    with SQLiteEventStore.open(path, readonly=True) as store:
        genuine = store.load_state()
        latest = store.snapshot()
    record = latest.agents[agent]
    forged = latest.model_copy(
        update={
            "treasury": latest.treasury - 500,
            "agents": {agent: record.model_copy(update={"allocation": record.allocation + 500})},
        }
    )
    data = json.dumps(
        forged.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    tamper(
        path,
        (
            "UPDATE arena_state SET data = ?, digest = ? WHERE seq = ?",
            (data, bytes.fromhex(chain_hash(forged.head_hash, data)), latest.seq),
        ),
    )

    with Arena.open(path) as arena:
        state = arena.state()
        released = arena.release_capital(agent)
        conservation = arena.verify_capital_conservation()

    assert state == genuine
    assert released == genuine.agents[agent].allocation == Decimal(101)
    assert conservation.ok
    assert not verify(path).ok  # the audit still names the edited snapshot


def test_a_new_store_whose_writer_fails_to_open_is_removed_again(tmp_path, monkeypatch):
    real = SQLiteEventStore.open.__func__

    def failing_writer(cls, path, **options):
        if options.get("lock") is None:
            return real(cls, path, **options)
        options["lock"].release()  # what a failing open does with the lock it adopted
        msg = "disk full (simulated)"
        raise StoreError(msg, path=path)

    monkeypatch.setattr(SQLiteEventStore, "open", classmethod(failing_writer))

    with pytest.raises(EventSourcingError, match=r"cannot open the event sink \(StoreError: disk full"):
        open_arena(tmp_path / "arena.db")

    assert list(tmp_path.iterdir()) == []
    assert pykka.ActorRegistry.get_all() == []
