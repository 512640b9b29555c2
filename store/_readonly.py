"""Reading a store without writing anything: read-only media, and a rollback journal left by a crash.

A reader opens the file with ``mode=ro``. Two situations make that fail, and this module decides, from
the files alone and before anything is read, how to read the store as the next writer would see it:

1. **A hot rollback journal** (``<store>-journal``, left by a writer killed while creating the schema,
   which runs before the file switches to WAL): SQLite must roll it back before anyone reads, and a
   rollback is a write, so ``mode=ro`` fails with ``SQLITE_READONLY_ROLLBACK``. The store and its
   journal are copied to a temporary directory and the copy is rolled back there, exactly as the next
   writer will roll back the file; the copy is read. The file and its journal stay as they are.
2. **A directory the process cannot write** (an evidence copy on read-only media): in WAL mode SQLite
   needs to create the ``-shm`` beside the file, and fails with ``SQLITE_READONLY_DIRECTORY``. If a
   ``-wal`` with frames is there, the store and its ``-wal`` are copied to a temporary directory and
   read there, which folds the WAL in as a writer would (``immutable=1`` would silently read the main
   file without it: the events acknowledged since the last checkpoint would be missing). Without one,
   the file is opened with ``immutable=1``: nothing can change it, so SQLite needs no ``-shm`` and takes
   no lock.

Otherwise the file itself is opened ``mode=ro``. A copy costs the size of the store in temporary space
once, at open; it is deleted when the reader closes, and a reader of a copy sees the store as of its
open. ``Opened.note`` says which way was taken (``verify`` reports it as a warning).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Opened", "open_reader"]


@dataclass(slots=True)
class Opened:
    """An open connection to a store, and the temporary copy it reads, if it reads one."""

    connection: sqlite3.Connection
    note: str | None
    """How the store was read when not directly (a copy, ``immutable=1``), for a report; else None."""
    rolled_back: bool = False
    """Whether a leftover rollback journal was rolled back (in the copy) before reading."""
    copy: tempfile.TemporaryDirectory[str] | None = None

    def close(self) -> None:
        """Close the connection and delete the copy; idempotent."""
        try:
            self.connection.close()
        finally:
            copy, self.copy = self.copy, None
            if copy is not None:
                copy.cleanup()


def open_reader(path: Path) -> Opened:
    """Open the store at ``path`` for reading without writing anything beside it (module docstring).

    Raises:
        sqlite3.Error: SQLite cannot open or read the file (the caller translates it).
        OSError: the temporary copy cannot be made.

    """
    journal = path.with_name(f"{path.name}-journal")
    if _has_content(journal):
        connection = _connect(path, "mode=ro")
        try:
            connection.execute("SELECT count(*) FROM sqlite_schema").fetchone()
        except sqlite3.Error as e:
            connection.close()
            if e.sqlite_errorname != "SQLITE_READONLY_ROLLBACK" and os.access(path.parent, os.W_OK):
                raise
            # hot, or unreadable from here: read what rolling it back leaves
            note = (
                f"a rollback journal ({journal.name}) was left by an interrupted write: the file was read "
                "as the next writer will find it, rolled back in a temporary copy; the file itself is "
                "unchanged (opening it for writing rolls it back)"
            )
            return _read_copy(path, journal, note, rollback=True)
        return Opened(connection, None)
    if not os.access(path.parent, os.W_OK):
        wal = path.with_name(f"{path.name}-wal")
        if _has_content(wal):
            note = (
                f"the directory is read-only, so the store and its {wal.name} were read through a "
                "temporary copy, the WAL folded in as a writer would"
            )
            return _read_copy(path, wal, note, rollback=False)
        note = "the directory is read-only and no -wal is beside the file: read with immutable=1"
        return Opened(_connect(path, "mode=ro&immutable=1"), note)
    return Opened(_connect(path, "mode=ro"), None)


def _connect(path: Path, query: str) -> sqlite3.Connection:
    # check_same_thread stays on: the connection belongs to the thread that opened it.
    return sqlite3.connect(f"{path.absolute().as_uri()}?{query}", uri=True, isolation_level=None)


def _has_content(file: Path) -> bool:
    try:
        return file.stat().st_size > 0
    except OSError:
        return False


def _read_copy(path: Path, companion: Path, note: str, *, rollback: bool) -> Opened:
    copy = tempfile.TemporaryDirectory(prefix="arena-store-")
    try:
        target = Path(copy.name) / path.name
        shutil.copyfile(path, target)
        shutil.copyfile(companion, target.with_name(f"{target.name}{companion.name[len(path.name) :]}"))
        if rollback:
            writer = sqlite3.connect(target, isolation_level=None)  # opening for a read rolls it back
            try:
                writer.execute("SELECT count(*) FROM sqlite_schema").fetchone()
            finally:
                writer.close()
        return Opened(_connect(target, "mode=ro"), note, rolled_back=rollback, copy=copy)
    except BaseException:
        copy.cleanup()
        raise
