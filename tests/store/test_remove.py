"""``remove_store``: what ``arena simulate --force`` deletes, and what it refuses to."""

from __future__ import annotations

import os
import sqlite3

import pytest

from events import StoreError
from store import SCHEMA_VERSION, SQLiteEventStore, WriterLock, remove_store
from tests.store.tampering import tamper


def names(directory) -> list[str]:
    return sorted(file.name for file in directory.iterdir())


def test_a_store_is_removed_with_its_wal_shm_journal_and_receipt(filled, path):
    filled.acknowledge(filled.head())
    filled.close()
    for suffix in ("-wal", "-shm", "-journal"):
        path.with_name(f"arena.db{suffix}").write_bytes(b"left over")

    remove_store(path)

    assert names(path.parent) == []


def test_a_store_a_writer_has_open_is_refused_and_nothing_is_deleted(store, path):
    before = names(path.parent)

    with pytest.raises(
        StoreError,
        match=rf"^store '.*arena.db': another writer has it open \(pid {os.getpid()}: this process",
    ):
        remove_store(path)

    assert names(path.parent) == before


def test_a_store_of_a_newer_release_is_never_removed(closed):
    newer = SCHEMA_VERSION + 1
    tamper(closed, ("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(newer),)))

    with pytest.raises(
        StoreError,
        match=(
            rf"^store '.*arena.db': written with schema_version {newer}, newer than the {SCHEMA_VERSION} "
            r"this release reads, so it is not replaced; upgrade arena-runtime, or pass another path$"
        ),
    ):
        remove_store(closed)

    assert closed.exists()


def test_a_store_of_an_earlier_release_may_be_replaced(closed):
    tamper(closed, "UPDATE meta SET value = '2' WHERE key = 'schema_version'")

    remove_store(closed)

    assert not closed.exists()


@pytest.mark.parametrize("content", [b"just some notes\n", b"SQLite format 3\x00 but truncated"])
def test_a_file_that_is_not_an_arena_store_is_refused(tmp_path, content):
    path = tmp_path / "notes.db"
    path.write_bytes(content)

    with pytest.raises(
        StoreError,
        match=(
            r"^store '.*notes.db': not an Arena store, so it is not replaced; pass another path, or remove "
            r"the file yourself if you mean to$"
        ),
    ):
        remove_store(path)

    assert path.read_bytes() == content


def test_another_programs_database_is_refused(tmp_path):
    path = tmp_path / "other.db"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE meta (key TEXT, value TEXT)")
    connection.commit()
    connection.close()

    with pytest.raises(StoreError, match=r"not an Arena store"):
        remove_store(path)


def test_an_empty_file_and_a_missing_one_with_leftovers_are_removed(tmp_path):
    empty = tmp_path / "empty.db"
    empty.touch()
    stray = tmp_path / "gone.db.receipt"
    stray.write_text("{}")

    remove_store(empty)
    remove_store(tmp_path / "gone.db")

    assert names(tmp_path) == []


def test_a_caller_holding_the_lock_keeps_it(closed):
    with WriterLock.acquire(closed) as lock:
        remove_store(closed, lock=lock)

        assert lock.held
        assert not closed.exists()
    SQLiteEventStore.open(closed).close()
