"""Read-only auditing: a store on read-only media, and one with a leftover rollback journal.

The rules are those of ``store/_readonly.py``: read the store as the next writer would find it, and
never change a byte beside it.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from store import SQLiteEventStore, verify
from tests.store.arena_log import LAST

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

ROOT = Path(__file__).parents[2]

CRASH_CREATING = """
import os, sqlite3, sys
from store import _schema
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("PRAGMA cache_size = 1")  # spill pages into the file before COMMIT, as a kill can find
connection.execute("BEGIN IMMEDIATE")
for statement in _schema._DDL:
    connection.execute(statement)
os._exit(9)
"""

CRASH_WRITING = """
import os, sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("PRAGMA journal_mode = DELETE")
connection.execute("PRAGMA cache_size = 1")
connection.execute("BEGIN IMMEDIATE")
for n in range(200):
    connection.execute("INSERT INTO meta VALUES (?, hex(randomblob(2000)))", (f"junk{n}",))
os._exit(9)
"""


def crash(script: str, path: Path) -> None:
    """Run ``script`` on ``path`` in another process, which dies mid-transaction."""
    done = subprocess.run(  # noqa: S603  (our own interpreter running a fixed script)
        [sys.executable, "-c", script, str(path)], cwd=ROOT, check=False, capture_output=True
    )
    assert done.returncode == 9, done.stderr
    assert path.with_name(f"{path.name}-journal").stat().st_size > 0


def files(directory: Path) -> dict[str, bytes]:
    return {file.name: file.read_bytes() for file in sorted(directory.iterdir())}


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Callable[[Path], None]]:
    """Make a directory immutable (chattr +i: not even root can write it), as read-only media are."""
    if shutil.which("chattr") is None:
        pytest.skip("chattr is not installed")
    frozen: list[Path] = []

    def freeze(directory: Path) -> None:
        done = subprocess.run(["chattr", "+i", str(directory)], check=False, capture_output=True)  # noqa: S603, S607  (a fixed chattr command on our own temp dir)
        if done.returncode != 0:
            pytest.skip(f"cannot make a directory immutable here: {done.stderr.decode().strip()}")
        frozen.append(directory)

    yield freeze
    for directory in frozen:
        subprocess.run(["chattr", "-i", str(directory)], check=True)  # noqa: S603, S607  (as above)
    assert tmp_path.exists()


@pytest.fixture
def evidence(filled: SQLiteEventStore, path: Path, tmp_path: Path) -> Path:
    """A copy of the ``filled`` store taken while its writer is open: its events are in the -wal."""
    filled.acknowledge(filled.head())
    directory = tmp_path / "evidence"
    directory.mkdir()
    for name in ("arena.db", "arena.db-wal", "arena.db.receipt"):
        shutil.copyfile(path.with_name(name), directory / name)
    filled.close()
    return directory / "arena.db"


def test_a_wal_store_on_read_only_media_verifies_with_its_wal_folded_in(evidence, read_only):
    read_only(evidence.parent)
    before = files(evidence.parent)
    main_file_alone = sqlite3.connect(f"{evidence.as_uri()}?mode=ro&immutable=1", uri=True)
    try:
        events_in_main_file = main_file_alone.execute("SELECT count(*) FROM events").fetchone()[0]
    finally:
        main_file_alone.close()

    report = verify(evidence)

    assert report.ok, report
    assert report.events_checked == LAST
    assert events_in_main_file < LAST  # so immutable=1 alone would have reported a loss
    assert report.warnings == (
        (
            "the directory is read-only, so the store and its arena.db-wal were read through a temporary "
            "copy, the WAL folded in as a writer would"
        ),
    )
    assert files(evidence.parent) == before


def test_a_reader_reads_a_wal_store_on_read_only_media_through_a_copy(evidence, read_only, log):
    read_only(evidence.parent)
    before = files(evidence.parent)

    with SQLiteEventStore.open(evidence, readonly=True) as reader:
        events = list(reader.read())
        state = reader.load_state()

    assert events == log.events
    assert state == log.state
    assert files(evidence.parent) == before


def test_a_checkpointed_store_on_read_only_media_is_read_immutable(closed, read_only, log):
    read_only(closed.parent)
    before = files(closed.parent)

    report = verify(closed)
    with SQLiteEventStore.open(closed, readonly=True) as reader:
        assert reader.head().seq == LAST

    assert report.ok
    assert report.warnings == (
        "the directory is read-only and no -wal is beside the file: read with immutable=1",
    )
    assert files(closed.parent) == before


def test_a_store_whose_creation_was_killed_verifies_as_interrupted_with_what_to_do(path):
    crash(CRASH_CREATING, path)
    before = files(path.parent)

    report = verify(path)

    assert not report.ok
    assert report.reason == (
        "the store's creation was interrupted: rolling back its leftover journal leaves an empty database, "
        "which holds no arena; open it for writing to create the store again, or delete the file and its "
        "-journal"
    )
    assert report.warnings[0].startswith("a rollback journal (arena.db-journal) was left by an interrupted")
    assert files(path.parent) == before


def test_a_writer_rolls_the_interrupted_creation_back_and_creates_the_store(path):
    crash(CRASH_CREATING, path)

    SQLiteEventStore.open(path).close()

    assert not path.with_name("arena.db-journal").exists()
    assert verify(path).ok


def test_an_interrupted_write_is_verified_as_the_next_writer_finds_it_and_the_file_left_alone(closed, log):
    crash(CRASH_WRITING, closed)
    before = files(closed.parent)

    report = verify(closed)

    assert report.ok, report
    assert report.events_checked == LAST
    assert report.warnings == (
        (
            "a rollback journal (arena.db-journal) was left by an interrupted write: the file was read as "
            "the next writer will find it, rolled back in a temporary copy; the file itself is unchanged "
            "(opening it for writing rolls it back)"
        ),
    )
    assert files(closed.parent) == before
    with SQLiteEventStore.open(closed, readonly=True) as reader:
        assert list(reader.read()) == log.events
    with SQLiteEventStore.open(closed) as writer:
        assert writer.head().seq == LAST
    assert not closed.with_name("arena.db-journal").exists()
