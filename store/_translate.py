"""The one place where ``sqlite3`` errors become ``StoreError``: the path, what failed, and what to do.

SQLite's own messages ("unable to open database file", "database or disk is full") name neither the file
nor a remedy; callers get both here, with the original error chained as ``__cause__``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from events import StoreError

if TYPE_CHECKING:
    import sqlite3
    from pathlib import Path

__all__ = ["describe", "store_error"]

_REMEDIES: Final = {
    "SQLITE_FULL": (
        "the disk is full or the database reached its size limit; free space (or raise the limit) and retry"
    ),
    "SQLITE_CANTOPEN": (
        "the file cannot be opened or created here; check that the directory exists and is writable, "
        "or open with readonly=True to read a store you cannot write"
    ),
    "SQLITE_READONLY": (
        "the location is read-only; move the store to a writable directory, "
        "or open with readonly=True to read it"
    ),
    "SQLITE_PERM": "permission denied; check the file's owner and mode",
    "SQLITE_NOTADB": (
        "the file is not an SQLite database; pass the path of an Arena store, or a new path to create one"
    ),
    "SQLITE_CORRUPT": "the file is corrupt; run store.verify(path) and restore it from a backup",
    "SQLITE_BUSY": (
        "another connection holds the write lock; a store has one writer, so close the other one first"
    ),
    "SQLITE_LOCKED": "the database is locked by this process; close other connections to it first",
    "SQLITE_IOERR": "the operating system reported an I/O error; check the disk and retry",
}


def describe(path: Path | None) -> str:
    """Return how messages name a store: its path, or ``:memory:`` for a private in-memory database."""
    return ":memory:" if path is None else repr(str(path))


def store_error(error: sqlite3.Error, path: Path | None, doing: str, *, seq: int | None = None) -> StoreError:
    """Return the ``StoreError`` for ``error``, raised while ``doing`` (e.g. "appending seq 5..9").

    The caller raises it ``from error`` so the SQLite detail stays in the traceback.
    """
    name = getattr(error, "sqlite_errorname", None) or ""
    family = "_".join(name.split("_")[:2])  # SQLITE_READONLY_DBMOVED -> SQLITE_READONLY
    if "thread" in str(error):
        remedy = "the store belongs to the thread that opened it; open one store per thread"
    elif "closed" in str(error):
        remedy = "the store was closed; open it again"
    else:
        remedy = _REMEDIES.get(name) or _REMEDIES.get(family) or "see the SQLite error chained below"
    detail = f"{name}: {error}" if name else f"{type(error).__name__}: {error}"
    msg = f"store {describe(path)}: {doing} failed ({detail}); {remedy}"
    return StoreError(msg, path=path, seq=seq)
