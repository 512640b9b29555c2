from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

import pytest

from store import SQLiteEventStore
from tests.store.arena_log import LAST, ArenaLog

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@pytest.fixture
def log() -> ArenaLog:
    return ArenaLog(seed=0)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "arena.db"


@pytest.fixture
def store(path: Path) -> Iterator[SQLiteEventStore]:
    with SQLiteEventStore.open(path) as opened:
        yield opened


@pytest.fixture
def filled(store: SQLiteEventStore, log: ArenaLog) -> SQLiteEventStore:
    """A store holding ``log.scenario()`` appended in three batches, with a snapshot after the second."""
    log.scenario()
    events = log.take()
    third = len(events) // 3
    store.append(events[:third])
    store.append(events[third : 2 * third], snapshot=log.state_at(2 * third))
    store.append(events[2 * third :])
    return store


@pytest.fixture
def raw(path: Path) -> Iterator[sqlite3.Connection]:
    """A plain sqlite3 connection to the store file, as an auditor would open it."""
    connection = sqlite3.connect(path, isolation_level=None)
    yield connection
    connection.close()


@pytest.fixture
def closed(filled: SQLiteEventStore, path: Path) -> Path:
    """The ``filled`` store's file, its writer closed (so the WAL is checkpointed into it)."""
    assert filled.head().seq == LAST
    filled.close()
    return path
