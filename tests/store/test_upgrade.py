"""Schema version 1 files (snapshots without ``killed_seq``) are upgraded in place by their first writer."""

from __future__ import annotations

import json
import sqlite3

import pytest

from events import StoreError, fold
from store import SCHEMA_VERSION, SQLiteEventStore, verify


def make_version_1(path) -> None:
    """Turn a closed store into what release 1 wrote: version 1, snapshots with no ``killed_seq``."""
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        rows = connection.execute("SELECT snapshot_id, data FROM arena_state").fetchall()
        for snapshot_id, data in rows:
            state = json.loads(data)
            for agent in state["agents"].values():
                del agent["killed_seq"]
            text = json.dumps(state, sort_keys=True, separators=(",", ":"))
            connection.execute("UPDATE arena_state SET data = ? WHERE snapshot_id = ?", (text, snapshot_id))
        connection.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    finally:
        connection.close()


def test_the_version_is_two_since_snapshots_record_when_each_dead_agent_was_killed():
    assert SCHEMA_VERSION == 2


def test_a_writer_upgrades_a_version_1_store_in_place_and_keeps_its_log(filled, path, log):
    head = filled.head()
    filled.close()
    make_version_1(path)

    with SQLiteEventStore.open(path) as store:
        meta, state, snapshot = store.meta(), store.load_state(), store.snapshot()

    assert meta["schema_version"] == str(SCHEMA_VERSION)
    assert snapshot is None
    assert state == fold(log.events)
    assert any(agent.killed_seq is not None for agent in state.agents.values())
    with SQLiteEventStore.open(path, readonly=True) as reader:
        assert reader.head() == head
    assert verify(path).ok


def test_a_reader_refuses_a_version_1_store_with_the_upgrade_as_the_fix_and_changes_nothing(filled, path):
    filled.close()
    make_version_1(path)
    before = path.read_bytes()

    with pytest.raises(
        StoreError,
        match=(
            r"^store '.*arena.db': schema_version 1 is older than the 2 this release reads; open it "
            r"once for writing with this release \(SQLiteEventStore.open\(path\).close\(\), "
            r"or Arena.open\(path\)\)"
        ),
    ):
        SQLiteEventStore.open(path, readonly=True)

    assert path.read_bytes() == before


def test_verify_fails_a_version_1_store_and_says_how_to_upgrade_it(filled, path):
    filled.close()
    make_version_1(path)

    report = verify(path)

    assert not report.ok
    assert "schema_version 1 is older than 2; open it once for writing" in str(report)
