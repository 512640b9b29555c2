"""``remove_store``: delete a store to replace it (``arena simulate --force``), never one in use or too new.

It holds the writer lock while it checks and deletes, so no writer of this release can have the file
open meanwhile: the old failure (deleting a store, its ``-wal`` and ``-shm`` from under a writer that
went on acknowledging flushes into the deleted file) cannot happen. It refuses anything that is not an
Arena store (or an empty file) and a store of a newer schema, which this release cannot read and so must
not judge disposable; a store of an earlier version may be replaced. Files deleted: the store, its
``-wal``, ``-shm`` and ``-journal``, and its receipt; the lock file goes when the lock is released.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from events import StoreError

from ._lock import WriterLock
from ._readonly import open_reader
from ._receipt import receipt_path
from ._schema import FORMAT_NAME, SCHEMA_VERSION
from ._translate import describe

if TYPE_CHECKING:
    import os

__all__ = ["remove_store"]

_SQLITE_MAGIC = b"SQLite format 3\x00"


def remove_store(path: str | os.PathLike[str], *, lock: WriterLock | None = None) -> None:
    """Delete the Arena store at ``path`` with its ``-wal``, ``-shm``, ``-journal`` and receipt.

    Args:
        path: The store file. A path where no file is removes only leftovers (a receipt, a ``-wal``).
        lock: The writer lock on ``path`` when the caller holds it already (it stays held); otherwise
            one is taken for the deletion and released after it.

    Raises:
        StoreError: a writer has the store open (naming its pid); the file is not an Arena store or an
            empty file; it was written by a newer release (nothing is deleted in these cases); or a file
            cannot be deleted (the first that cannot stops the deletion, the store itself going last).

    """
    store = Path(path)
    with contextlib.ExitStack() as stack:
        if lock is None:
            stack.enter_context(WriterLock.acquire(store))
        _check_replaceable(store)
        # the store last: a -wal left beside a new file of the same name would be read into it
        companions = [store.with_name(f"{store.name}{suffix}") for suffix in ("-wal", "-shm", "-journal")]
        for file in (*companions, receipt_path(store), store):
            _unlink(store, file)


def _check_replaceable(store: Path) -> None:
    if not store.exists() or (store.is_file() and store.stat().st_size == 0):
        return
    where = describe(store)
    if not store.is_file():
        msg = f"store {where}: not a file; pass the path of an Arena store to replace"
        raise StoreError(msg, path=store)
    with store.open("rb") as file:
        magic = file.read(len(_SQLITE_MAGIC))
    version: str | None = None
    if magic == _SQLITE_MAGIC:
        try:
            opened = open_reader(store)
            try:
                meta = dict(opened.connection.execute("SELECT key, value FROM meta").fetchall())
            finally:
                opened.close()
        except (sqlite3.Error, OSError):
            meta = {}
        if meta.get("format") == FORMAT_NAME:
            version = meta.get("schema_version", "")
    if version is None:
        msg = (
            f"store {where}: not an Arena store, so it is not replaced; pass another path, or remove the "
            "file yourself if you mean to"
        )
        raise StoreError(msg, path=store)
    if not version.isdigit():
        msg = (
            f"store {where}: meta.schema_version is {version!r}, not a number; the file is damaged, so it "
            "is not replaced; remove it yourself if you mean to"
        )
        raise StoreError(msg, path=store)
    if int(version) > SCHEMA_VERSION:
        msg = (
            f"store {where}: written with schema_version {version}, newer than the {SCHEMA_VERSION} this "
            "release reads, so it is not replaced; upgrade arena-runtime, or pass another path"
        )
        raise StoreError(msg, path=store)


def _unlink(store: Path, file: Path) -> None:
    try:
        file.unlink(missing_ok=True)
    except OSError as e:
        msg = (
            f"store {describe(store)}: cannot delete {file.name!r} ({type(e).__name__}: {e.strerror}); "
            "check the directory's permissions and retry"
        )
        raise StoreError(msg, path=store) from e
