"""Opening a store's SQLite connection: the URI mode, and the pragmas every connection runs with."""

from __future__ import annotations

import logging
import sqlite3
from typing import TYPE_CHECKING, Literal

from events import StoreError, ValidationError

from ._errors import describe, store_error

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["Synchronous", "configure", "connect"]

logger = logging.getLogger(__name__)

Synchronous = Literal["normal", "full"]
"""``normal`` survives a process crash (WAL); ``full`` also survives power loss, at one fsync per commit."""


def connect(path: Path | None, *, readonly: bool, create: bool) -> sqlite3.Connection:
    """Open the connection: ``mode=ro`` for readers, ``rw`` when ``create`` is False, ``rwc`` otherwise.

    Raises:
        StoreError: the file is missing (and may not be created) or cannot be opened.
        ValidationError: ``readonly`` was asked of an in-memory store.

    """
    if path is None:
        if readonly:
            msg = (
                "store :memory:: readonly=True needs a file, and an in-memory store is private and empty; "
                "pass a path"
            )
            raise ValidationError(msg, field="readonly", value=readonly)
        return sqlite3.connect(":memory:", isolation_level=None)
    if (readonly or not create) and not path.exists():
        flag = "readonly=True" if readonly else "create=False"
        msg = (
            f"store {describe(path)}: no such file, and {flag} does not create one; pass the path of an "
            "existing store, or open with create=True to start a new one"
        )
        raise StoreError(msg, path=path)
    mode = "ro" if readonly else ("rwc" if create else "rw")
    try:
        # check_same_thread stays on: the connection belongs to the thread that opened it.
        return sqlite3.connect(f"{path.absolute().as_uri()}?mode={mode}", uri=True, isolation_level=None)
    except sqlite3.Error as e:
        raise store_error(e, path, "opening") from e


def configure(
    connection: sqlite3.Connection, path: Path | None, *, synchronous: Synchronous, readonly: bool
) -> None:
    """Set the per-connection pragmas every store connection runs with.

    Raises:
        StoreError: the file cannot be read (not SQLite, unreadable) or cannot switch to WAL.

    """
    try:
        connection.execute("PRAGMA foreign_keys = ON")
        # Large enough to keep the event_id index (random UUID keys) hot: with the 2 MB default a 1M-event
        # append slows by ~2x once that index outgrows the cache.
        connection.execute("PRAGMA cache_size = -65536")
        if path is not None and not readonly:
            # The first statement that reads the file: "file is not a database" surfaces here.
            mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode != "wal":
                logger.warning(
                    "store %s: journal_mode is %s, not wal; readers may block the writer", path, mode
                )
        connection.execute(f"PRAGMA synchronous = {synchronous.upper()}")
    except sqlite3.Error as e:
        raise store_error(e, path, "opening") from e
