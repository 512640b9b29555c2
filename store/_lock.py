"""``WriterLock``: one writer per store file, as an OS advisory lock on a sidecar file.

The rules, each with a test in ``tests/store/test_lock.py``:

* **Where.** The lock is ``flock(LOCK_EX | LOCK_NB)`` on ``<store>.lock`` (``arena.db.lock``), not on the
  database: SQLite takes POSIX record locks on the database and its ``-wal``/``-shm``, and closing *any*
  descriptor of a file drops every such lock the process holds on it; a lock of ours on the database
  would share that fate (and on NFS, where Linux emulates ``flock`` with record locks, would collide
  with SQLite's). A sidecar is touched by nothing else.
* **At once.** Taking it never waits for the holder: a second writer is refused there and then with one
  line naming the store and the holder's pid, which the holder writes into the lock file just after
  locking it. A refused writer gives the holder up to ``PID_PATIENCE`` seconds to have written it (two
  writers creating the file together meet in that instant); past that it says ``pid unknown``.
* **Also within a process.** ``flock`` belongs to an open file description, so a second ``acquire`` in
  the same process is refused as one from another process would be: two arenas of one process cannot
  write one file either. A lock passes from one store to the next only by handing the held
  ``WriterLock`` over (``SQLiteEventStore.hand_over`` and ``SQLiteEventStore.open(path, lock=...)``).
* **A dead holder holds nothing.** The kernel drops the lock with the holder's last descriptor, kill -9
  included: a lock file left by a dead writer blocks no one, and the next writer overwrites its pid.
* **No stray file.** Release unlinks the lock file while still holding it, then closes it. An acquirer
  checks, once it holds a lock, that the file it locked is still the one at the path (same device and
  inode) and starts over if not, so the unlink can never let two writers in.
* **Readers never take it.** ``verify``, ``replay``, ``report`` and ``open(..., readonly=True)`` read a
  store whatever writer holds it.

It is advisory: it binds every writer of this release (``SQLiteEventStore.open`` without ``readonly``),
not another program writing the file with plain ``sqlite3``. POSIX only (``fcntl``).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Final

from events import StoreError

from ._translate import describe

if TYPE_CHECKING:
    from types import TracebackType
    from typing import Self

__all__ = ["PID_PATIENCE", "WriterLock", "lock_path"]

logger = logging.getLogger(__name__)

PID_PATIENCE: Final = 0.05
"""Seconds a refused writer waits for the holder's pid to appear in the lock file, for its message."""

_ATTEMPTS: Final = 10
"""Times ``acquire`` starts over when the file it locked was unlinked under it by a releasing holder;
each retry needs another writer to take and release the lock in between, so 10 is never reached."""


def lock_path(store: Path) -> Path:
    """Return the lock file of the store at ``store``: ``<store>.lock`` beside it."""
    return store.with_name(f"{store.name}.lock")


class WriterLock:
    """The exclusive right to write one store file, held until ``release()``.

    Take it with ``WriterLock.acquire(path)``; use it as a context manager or ``release()`` it. Releasing
    is idempotent and safe from any thread.
    """

    def __init__(self, store: Path, descriptor: int) -> None:
        """Wrap a held lock; call ``acquire`` instead."""
        self._store = store
        self._file = lock_path(store)
        self._descriptor: int | None = descriptor
        self._guard = threading.Lock()  # release() may race with itself across threads

    @classmethod
    def acquire(cls, path: str | os.PathLike[str]) -> WriterLock:
        """Take the writer lock on the store at ``path`` at once, or refuse.

        Raises:
            StoreError: another writer holds it (the message names its pid), or the lock file cannot be
                created (the directory is missing, read-only or not ours).

        """
        store = Path(path)
        file = lock_path(store)
        for _ in range(_ATTEMPTS):
            try:
                descriptor = os.open(file, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            except OSError as e:
                raise _cannot_lock(store, e) from e
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _wait_for_pid(descriptor)
                os.close(descriptor)
                raise _held(store, holder) from None
            except OSError as e:
                os.close(descriptor)
                raise _cannot_lock(store, e) from e
            if _is_at(descriptor, file):
                os.ftruncate(descriptor, 0)
                os.pwrite(descriptor, f"{os.getpid()}\n".encode(), 0)
                logger.debug("store %s: writer lock taken", describe(store))
                return cls(store, descriptor)
            os.close(descriptor)  # its holder unlinked it as it released: lock the file now at the path
        msg = (
            f"store {describe(store)}: the writer lock {file.name!r} was replaced {_ATTEMPTS} times while "
            "taking it; other writers are opening and closing it in a loop; stop them and retry"
        )
        raise StoreError(msg, path=store)

    @staticmethod
    def holder(path: str | os.PathLike[str]) -> int | None:
        """Return the pid recorded in the store's lock file, or None if there is none.

        For messages only: the file is removed when a writer releases the lock, so it outlives only a
        writer that died (whose lock the kernel dropped); ``acquire`` is what decides.
        """
        try:
            descriptor = os.open(lock_path(Path(path)), os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return None
        try:
            return _read_pid(descriptor)
        finally:
            os.close(descriptor)

    @property
    def path(self) -> Path:
        """The store file this lock is for."""
        return self._store

    @property
    def held(self) -> bool:
        """Whether the lock is still held (``release()`` not called yet)."""
        return self._descriptor is not None

    def release(self) -> None:
        """Remove the lock file and release the lock; idempotent."""
        with self._guard:
            descriptor, self._descriptor = self._descriptor, None
        if descriptor is None:
            return
        try:
            if _is_at(descriptor, self._file):  # never unlink a file another writer created and holds
                self._file.unlink()
        except OSError as e:
            # The lock is released all the same; a lock file left behind blocks no one.
            logger.warning("store %s: cannot remove %s (%s)", describe(self._store), self._file.name, e)
        finally:
            os.close(descriptor)
        logger.debug("store %s: writer lock released", describe(self._store))

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"WriterLock({describe(self._store)}, {'held' if self.held else 'released'})"


def _is_at(descriptor: int, file: Path) -> bool:
    """Whether the open ``descriptor`` is the file now at ``file`` (it may have been unlinked)."""
    try:
        here = file.stat()
    except FileNotFoundError:
        return False
    there = os.fstat(descriptor)
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)


def _wait_for_pid(descriptor: int) -> int | None:
    deadline = time.monotonic() + PID_PATIENCE
    while (pid := _read_pid(descriptor)) is None and time.monotonic() < deadline:
        time.sleep(0.001)  # the holder writes its pid microseconds after locking
    return pid


def _read_pid(descriptor: int) -> int | None:
    with contextlib.suppress(OSError):
        text = os.pread(descriptor, 32, 0).decode("ascii", "replace").strip()
        if text.isdigit():
            return int(text)
    return None


def _held(store: Path, holder: int | None) -> StoreError:
    if holder is None:
        who = "pid unknown"
    elif holder == os.getpid():
        who = f"pid {holder}: this process"
    else:
        who = f"pid {holder}"
    msg = (
        f"store {describe(store)}: another writer has it open ({who}, per {lock_path(store).name!r}); a "
        "store has one writer: close that one first, or open with readonly=True to read it (verify, "
        "replay and report need no lock)"
    )
    return StoreError(msg, path=store)


def _cannot_lock(store: Path, error: OSError) -> StoreError:
    msg = (
        f"store {describe(store)}: cannot take the writer lock ({type(error).__name__}: {error.strerror} "
        f"creating {lock_path(store).name!r}); the file cannot be opened or created here; check that the "
        "directory exists and is writable, or open with readonly=True to read a store you cannot write"
    )
    return StoreError(msg, path=store)
