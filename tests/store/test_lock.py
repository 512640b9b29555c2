"""One writer per file: the rules of ``store/_lock.py``, one test each, and the handover between stores."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from events import StoreError, ValidationError
from store import SQLiteEventStore, WriterLock, verify

if TYPE_CHECKING:
    from collections.abc import Iterator

ROOT = Path(__file__).parents[2]

HOLD = """
import sys
from store import SQLiteEventStore
store = SQLiteEventStore.open(sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()
store.close()
"""


@contextlib.contextmanager
def holding(path: Path) -> Iterator[subprocess.Popen[str]]:
    """Run another process that opens ``path`` as a writer and holds it until its stdin closes."""
    with subprocess.Popen(  # noqa: S603  (our own interpreter running a fixed script)
        [sys.executable, "-c", HOLD, str(path)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stdout.readline() == "ready\n"
        yield process
        process.communicate(timeout=60)


def lock_file(path: Path) -> Path:
    return path.with_name(f"{path.name}.lock")


def test_a_writer_of_another_process_is_refused_at_once_naming_its_pid(path):
    SQLiteEventStore.open(path).close()
    with (
        holding(path) as process,
        pytest.raises(
            StoreError,
            match=(
                rf"^store '.*arena.db': another writer has it open \(pid {process.pid}, per "
                r"'arena.db.lock'\); a store has one writer: close that one first, or open with "
                r"readonly=True to read it \(verify, replay and report need no lock\)$"
            ),
        ) as caught,
    ):
        SQLiteEventStore.open(path)

    assert caught.value.path == path
    assert WriterLock.holder(path) is None  # the holder released it as it exited


def test_a_dead_holder_holds_nothing_and_its_stale_pid_is_replaced(path):
    with holding(path) as process:
        process.kill()  # kill -9: no release, the lock file stays with a dead pid
    assert WriterLock.holder(path) == process.pid

    with SQLiteEventStore.open(path) as store:
        assert WriterLock.holder(path) == os.getpid()
        assert store.head().seq == 0


def test_readers_need_no_lock_while_a_writer_holds_the_file(filled, path, log):
    with SQLiteEventStore.open(path, readonly=True) as reader:
        assert reader.head().seq == len(log.events)
    assert verify(path).ok


def test_closing_the_writer_releases_the_lock_and_removes_the_lock_file(store, path):
    assert lock_file(path).read_text() == f"{os.getpid()}\n"

    store.close()

    assert not lock_file(path).exists()
    SQLiteEventStore.open(path).close()


def test_a_second_acquire_in_the_same_process_is_refused_like_another_process(path):
    with WriterLock.acquire(path) as lock, pytest.raises(StoreError, match=r"this process"):
        WriterLock.acquire(path)

    assert not lock.held


def test_release_never_removes_a_lock_file_another_writer_created(path):
    first = WriterLock.acquire(path)
    lock_file(path).unlink()  # removed by hand: a second writer can now create and lock a new one
    second = WriterLock.acquire(path)

    first.release()

    assert lock_file(path).exists()
    assert second.held
    with pytest.raises(StoreError, match=r"another writer has it open"):
        WriterLock.acquire(path)
    second.release()
    assert not lock_file(path).exists()


def test_release_is_idempotent_and_the_repr_says_whether_it_is_held(path):
    lock = WriterLock.acquire(path)
    assert repr(lock) == f"WriterLock('{path}', held)"

    lock.release()
    lock.release()

    assert repr(lock) == f"WriterLock('{path}', released)"
    assert WriterLock.holder(path) is None


def test_a_handed_over_lock_stays_held_until_the_adopting_store_closes(filled, path, log):
    lock = filled.hand_over()

    with pytest.raises(StoreError, match=r"another writer has it open"):
        SQLiteEventStore.open(path)
    adopted = SQLiteEventStore.open(path, lock=lock)
    assert adopted.head().seq == len(log.events)
    adopted.close()

    assert not lock.held
    SQLiteEventStore.open(path).close()


def test_a_store_that_fails_to_open_releases_the_lock_it_adopted(tmp_path):
    path = tmp_path / "notes.db"
    path.write_text("not a database\n")
    lock = WriterLock.acquire(path)

    with pytest.raises(StoreError, match=r"not an SQLite database"):
        SQLiteEventStore.open(path, lock=lock)

    assert not lock.held
    assert not lock_file(path).exists()


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"readonly": True}, r"only a writer of a file adopts a lock"),
        ({"path": None}, r"only a writer of a file adopts a lock"),
        ({"path": "other.db"}, r"it is the lock of '.*arena.db', not of this store"),
    ],
)
def test_a_lock_the_store_cannot_adopt_is_an_argument_error(path, kwargs, problem):
    with WriterLock.acquire(path) as lock:
        where = kwargs.pop("path", path)
        where = path.with_name(where) if isinstance(where, str) else where
        with pytest.raises(
            ValidationError, match=rf"^lock: WriterLock\(.*\) cannot be adopted by .*: {problem}"
        ):
            SQLiteEventStore.open(where, lock=lock, **kwargs)


def test_a_released_lock_cannot_be_adopted(path):
    lock = WriterLock.acquire(path)
    lock.release()

    with pytest.raises(ValidationError, match=r"it was released already; open without lock="):
        SQLiteEventStore.open(path, lock=lock)


def test_hand_over_needs_a_writer_of_a_file(filled, path):
    with (
        SQLiteEventStore.open(path, readonly=True) as reader,
        pytest.raises(StoreError, match=r"hand_over\(\) needs an open writer of a file"),
    ):
        reader.hand_over()
    with SQLiteEventStore.open(None) as memory, pytest.raises(StoreError, match=r"holds no writer lock"):
        memory.hand_over()
