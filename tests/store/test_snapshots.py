from __future__ import annotations

import json

import pytest

from events import (
    AgentSpawned,
    ArenaState,
    StoreError,
    Tier,
    canonical_json,
    chain_hash,
    fold,
    to_minor,
)
from store import SQLiteEventStore
from tests.store.tampering import tamper


def snapshot_json(state):
    """The canonical JSON docs/FORMAT.md specifies for arena_state.data."""
    return json.dumps(
        state.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


def reopened_state(path):
    with SQLiteEventStore.open(path) as store:
        return store.load_state()


def test_reopening_with_a_snapshot_equals_a_fold_from_seq_1(filled, path, log):
    filled.close()

    assert reopened_state(path) == fold(log.events)


def test_reopening_without_a_snapshot_equals_a_fold_from_seq_1(store, path, log):
    log.scenario()
    store.append(log.take())
    store.close()

    assert reopened_state(path) == fold(log.events)


def test_reopening_folds_only_the_events_after_the_latest_snapshot(filled, path, log):
    filled.close()
    # Unreadable data before the snapshot (at seq 20) cannot matter if only the tail is replayed.
    tamper(path, "UPDATE events SET data = 'not json' WHERE seq < 20")

    assert reopened_state(path) == fold(log.events)


def test_load_state_after_appends_folds_only_the_new_events(store, path, log):
    log.scenario()
    events = log.take()
    store.append(events[:10])
    assert store.load_state() == log.state_at(10)
    tamper(path, "UPDATE events SET data = 'not json' WHERE seq <= 10")

    store.append(events[10:])

    assert store.load_state() == log.state


def test_the_state_from_any_snapshot_plus_the_tail_equals_the_full_fold(store, log):
    log.scenario()
    events = log.take()
    for seq, event in enumerate(events, start=1):
        store.append([event], snapshot=log.state_at(seq) if seq % 4 == 0 else None)

    for seq in range(len(events) + 1):
        base = store.snapshot(at_or_before=seq) or ArenaState()

        assert fold(events[base.seq :], base) == log.state


def test_a_snapshot_row_holds_the_totals_and_tier_counts(store, log, raw):
    log.scenario()
    store.append(log.take(), snapshot=log.state)
    state = log.state

    row = raw.execute(
        "SELECT seq, timestamp, total_capital, allocated_capital, free_capital, active_agents, "
        "proving_agents, "
        "simulation_agents, data FROM arena_state"
    ).fetchone()

    tiers = state.tier_counts()
    assert row == (
        state.seq,
        log.events[-1].timestamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        to_minor(state.total_capital),
        to_minor(state.allocated_capital),
        to_minor(state.free_capital),
        tiers[Tier.ARENA],
        tiers[Tier.PROVING],
        tiers[Tier.SIMULATION],
        snapshot_json(state),
    )
    assert to_minor(state.allocated_capital) + to_minor(state.free_capital) == to_minor(state.total_capital)


def test_snapshot_json_is_canonical_and_round_trips(log):
    log.scenario()
    state = log.state

    text = snapshot_json(state)

    assert ArenaState.model_validate_json(text) == state
    assert text == snapshot_json(ArenaState.model_validate_json(text))
    assert ": " not in text


def test_a_snapshot_that_does_not_match_the_chain_refuses_to_open(filled, path, log):
    filled.close()
    third = len(log.events) // 3
    forged = log.state_at(2 * third).model_copy(update={"head_hash": "e" * 64})
    tamper(path, ("UPDATE arena_state SET data = ?", (snapshot_json(forged),)))

    with pytest.raises(
        StoreError, match=rf"the snapshot at seq {2 * third} does not match the log's hash there"
    ) as caught:
        SQLiteEventStore.open(path)

    assert caught.value.seq == 2 * third


def test_an_altered_tail_refuses_to_open_naming_the_seq(filled, path, log):
    filled.close()
    seq = len(log.events) - 1
    tamper(path, ("UPDATE events SET hash = ? WHERE seq = ?", ("0" * 64, seq)))

    with pytest.raises(
        StoreError, match=rf"the hash chain breaks at seq {seq} .*run store.verify\(path\)"
    ) as caught:
        SQLiteEventStore.open(path)

    assert caught.value.seq == seq


def test_a_tail_event_that_contradicts_the_log_refuses_to_open(store, path, log):
    log.open(capital="10")
    log.spawn("a1")
    store.append(log.take())
    store.close()
    # A second spawn of a1 with a valid chain hash: only the fold can see that it contradicts the log.
    twin = log.make(AgentSpawned, agent_id="a1", tier=Tier.SIMULATION)
    data = canonical_json(twin)
    tamper(
        path,
        (
            "INSERT INTO events VALUES (3, ?, 'AgentSpawned', 'a1', ?, ?, NULL, ?)",
            (
                str(twin.event_id),
                twin.timestamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                data,
                chain_hash(log.fold.head_hash, data),
            ),
        ),
    )

    with pytest.raises(
        StoreError,
        match=(
            r"the event at seq 3 cannot be replayed \(event seq 3 \(AgentSpawned\): agent 'a1' "
            r"already exists"
        ),
    ):
        SQLiteEventStore.open(path)


def test_a_stored_snapshot_that_does_not_decode_refuses_to_open_naming_its_seq(filled, path, log):
    third = len(log.events) // 3
    filled.close()
    tamper(path, """UPDATE arena_state SET data = '{"treasury":1.5}'""")

    with pytest.raises(
        StoreError,
        match=(
            rf"^store '.*arena.db': snapshot at seq {2 * third}: field 'treasury': .*the stored snapshot "
            rf"is malformed, delete it"
        ),
    ) as caught:
        SQLiteEventStore.open(path)

    assert caught.value.seq == 2 * third
