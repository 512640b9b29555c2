"""Writing one batch in one transaction, and explaining why a write was refused.

``BEGIN IMMEDIATE`` takes the write lock before anything is read, so the one query that checks
``caused_by`` against the stored log sees exactly the log the batch is appended to. Constraint failures
are explained only after the rollback, so the happy path pays nothing for good messages.
"""

from __future__ import annotations

import json
import sqlite3
from typing import TYPE_CHECKING, Final

from events import EventSourcingError, StoreError

from ._rows import INSERT_ACCOUNT, INSERT_EVENT, INSERT_POSTING, INSERT_SNAPSHOT
from ._translate import describe, store_error

if TYPE_CHECKING:
    from pathlib import Path

    from ._batch import Batch
    from ._head import Head
    from ._rows import SnapshotRow

__all__ = ["commit"]

_STORED_IDS: Final = (
    "SELECT seq, event_id FROM events WHERE event_id IN (SELECT value FROM json_each(?)) ORDER BY seq"
)
_LAST_SEQ: Final = "SELECT coalesce(max(seq), 0) FROM events"


def commit(
    connection: sqlite3.Connection,
    path: Path | None,
    batch: Batch,
    snapshot_row: SnapshotRow | None,
    head: Head,
) -> None:
    """Write ``batch`` (and ``snapshot_row``) after ``head`` in one transaction, or roll back and raise.

    Raises:
        EventSourcingError: a ``caused_by`` names no stored event, or an event id is already stored.
        StoreError: SQLite failed (disk full, read-only, another writer); nothing was written.

    """
    doing = f"appending seq {head.seq + 1}..{batch.head.seq}" if batch.event_rows else "writing a snapshot"
    try:
        connection.execute("BEGIN IMMEDIATE")
        try:
            if batch.causes:
                _check_causes(connection, batch, head)
            connection.executemany(INSERT_EVENT, batch.event_rows)
            if batch.account_rows:
                connection.executemany(INSERT_ACCOUNT, batch.account_rows)
            connection.executemany(INSERT_POSTING, batch.ledger_rows)
            if snapshot_row is not None:
                connection.execute(INSERT_SNAPSHOT, snapshot_row)
            if batch.arena_id is not None:
                connection.execute("INSERT INTO meta (key, value) VALUES ('arena_id', ?)", (batch.arena_id,))
            connection.execute("COMMIT")
        except BaseException:
            # SQLite has already rolled back after some errors (SQLITE_FULL among them).
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
    except sqlite3.IntegrityError as e:
        raise _conflict(connection, path, batch, head, doing=doing, error=e) from e
    except sqlite3.Error as e:
        raise store_error(e, path, f"{doing} (rolled back, nothing written)", seq=head.seq + 1) from e


def _check_causes(connection: sqlite3.Connection, batch: Batch, head: Head) -> None:
    stored = {key for (_, key) in connection.execute(_STORED_IDS, (json.dumps(list(batch.causes)),))}
    missing = [(seq, key) for key, seq in batch.causes.items() if key not in stored]
    if not missing:
        return
    seq, key = min(missing)
    event_type = batch.events[seq - head.seq - 1].event_type
    msg = (
        f"append: event seq {seq} ({event_type}): caused_by {key} names no stored event and no earlier event "
        "of the batch; a cause must be an earlier event of the log; nothing of the batch was written, the "
        f"log still ends at seq {head.seq}"
    )
    raise EventSourcingError(
        msg, seq=seq, event_type=event_type, field="caused_by", last_durable_seq=head.seq
    )


def _conflict(
    connection: sqlite3.Connection,
    path: Path | None,
    batch: Batch,
    head: Head,
    *,
    doing: str,
    error: sqlite3.IntegrityError,
) -> EventSourcingError:
    try:
        stored_seq = connection.execute(_LAST_SEQ).fetchone()[0]
        ids = json.dumps([str(event.event_id) for event in batch.events])
        clash = connection.execute(_STORED_IDS, (ids,)).fetchone()
    except sqlite3.Error:
        return store_error(error, path, f"{doing} (rolled back, nothing written)")
    if stored_seq != head.seq:
        msg = (
            f"store {describe(path)}: another connection appended to this store (the file's log ends "
            f"at seq {stored_seq}, this writer's at seq {head.seq}); a store has one writer: close the "
            "other one and reopen this store; nothing of the batch was written"
        )
        return StoreError(msg, path=path, seq=stored_seq)
    if clash is not None:
        stored_at, key = clash
        seq = next(event.seq for event in batch.events if str(event.event_id) == key)
        msg = (
            f"append: event seq {seq}: event_id {key} is already stored at seq {stored_at}; event ids are "
            "unique, so give each event a fresh uuid4; nothing of the batch was written, the log still ends "
            f"at seq {head.seq}"
        )
        return EventSourcingError(msg, seq=seq, field="event_id", last_durable_seq=head.seq)
    return store_error(error, path, f"{doing} (rolled back, nothing written)")
