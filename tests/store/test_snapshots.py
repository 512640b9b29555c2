from __future__ import annotations

import hashlib
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
from tests.store.arena_log import SNAPSHOT
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
    tamper(path, """UPDATE events SET data = '{"not":"an event"}' WHERE seq < 20""")

    assert reopened_state(path) == fold(log.events)


def test_load_state_after_appends_folds_only_the_new_events(store, path, log):
    log.scenario()
    events = log.take()
    store.append(events[:10])
    assert store.load_state() == log.state_at(10)
    # Not events any more, but their ids stay: the append checks its causes against them.
    tamper(path, "UPDATE events SET data = json_object('event_id', data ->> 'event_id') WHERE seq <= 10")

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


def forge(path, state, **changes):
    """Replace the stored snapshot with ``state`` changed, its digest recomputed: a consistent forgery."""
    forged = state.model_copy(update=changes)
    data = snapshot_json(forged)
    tamper(
        path,
        (
            "UPDATE arena_state SET data = ?, digest = ?",
            (data, bytes.fromhex(chain_hash(forged.head_hash, data))),
        ),
    )


def untrusted(caplog):
    return [r.getMessage() for r in caplog.records if "is not trusted" in r.getMessage()]


def test_a_snapshot_row_carries_the_digest_of_its_data_bound_to_the_chain(filled, raw):
    seq, data, digest = raw.execute("SELECT seq, data, digest FROM arena_state").fetchone()
    head_hash = raw.execute("SELECT hash FROM events WHERE seq = ?", (seq,)).fetchone()[0].hex()

    assert digest == hashlib.sha256(f"{head_hash}\n{data}".encode()).digest()


def test_a_snapshot_whose_data_was_edited_is_skipped_with_a_warning_and_the_log_folded(
    filled, path, log, caplog
):
    filled.close()
    tamper(path, "UPDATE arena_state SET data = replace(data, '\"cycle\":0', '\"cycle\":7')")

    state = reopened_state(path)

    assert state == fold(log.events)
    assert untrusted(caplog) == [
        (
            f"store '{path}': snapshot #1 at seq {SNAPSHOT} is not trusted (its digest does not match its "
            f"data and the log's hash at seq {SNAPSHOT}); using an earlier snapshot or a full fold instead; "
            "run store.verify(path) to find what was altered"
        )
    ]


def test_a_consistently_forged_snapshot_that_moves_money_is_caught_by_the_ledger(filled, path, log, caplog):
    filled.close()
    state = log.state_at(SNAPSHOT)
    a1 = state.agents["a1"]
    forge(
        path,
        state,
        treasury=state.treasury - 500,
        agents={**state.agents, "a1": a1.model_copy(update={"allocation": a1.allocation + 500})},
    )

    reopened = reopened_state(path)

    assert reopened == fold(log.events)
    assert reopened.agents["a1"].allocation == log.state.agents["a1"].allocation
    [warning] = untrusted(caplog)
    assert f"(its balances differ from the ledger at seq {SNAPSHOT} in ['agent:a1', 'treasury'])" in warning


def test_a_snapshot_of_another_chain_position_is_not_trusted(filled, path, log, caplog):
    filled.close()
    forge(path, log.state_at(SNAPSHOT), head_hash="e" * 64)

    assert reopened_state(path) == fold(log.events)
    [warning] = untrusted(caplog)
    assert "(its digest does not match its data and the log's hash at seq" in warning


def test_a_bad_snapshot_falls_back_to_the_previous_good_one_not_to_a_full_fold(store, path, log, caplog):
    log.scenario()
    events = log.take()
    store.append(events[:10], snapshot=log.state_at(10))
    store.append(events[10:SNAPSHOT], snapshot=log.state_at(SNAPSHOT))
    store.append(events[SNAPSHOT:])
    store.close()
    tamper(path, ("UPDATE arena_state SET digest = ? WHERE seq = ?", (bytes(32), SNAPSHOT)))
    # Unreadable data before the older snapshot cannot matter if the fold starts there.
    tamper(path, """UPDATE events SET data = '{"not":"an event"}' WHERE seq < 10""")

    with SQLiteEventStore.open(path) as reopened:
        assert reopened.load_state() == log.state
        assert reopened.snapshot() == log.state_at(10)

    assert len(untrusted(caplog)) == 2  # once as the store opened, once for snapshot()


def test_a_stored_snapshot_that_does_not_decode_is_skipped_naming_its_seq(filled, path, log, caplog):
    filled.close()
    data = '{"treasury":1.5}'
    tamper(
        path,
        (
            "UPDATE arena_state SET data = ?, digest = ?",
            (data, bytes.fromhex(chain_hash(log.state_at(SNAPSHOT).head_hash, data))),
        ),
    )

    assert reopened_state(path) == fold(log.events)
    [warning] = untrusted(caplog)
    assert f"(snapshot at seq {SNAPSHOT}: field 'treasury': " in warning


def test_an_altered_tail_refuses_to_open_naming_the_seq(filled, path, log):
    filled.close()
    seq = len(log.events) - 1
    tamper(path, ("UPDATE events SET hash = ? WHERE seq = ?", (bytes(32), seq)))

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
            "INSERT INTO events (seq, data, hash) VALUES (3, ?, ?)",
            (data, bytes.fromhex(chain_hash(log.fold.head_hash, data))),
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
