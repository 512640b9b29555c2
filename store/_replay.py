"""Rebuilding the arena's state: a stored snapshot, then a fold of the events after it.

The fold is the one in ``events`` that the supervisor and the verifier also use. Replaying recomputes the
hash chain as it goes, so a store whose tail was altered refuses to open rather than serve a wrong state.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Final

from events import EventSourcingError, StoreError, parse_event

from ._translate import describe, store_error

if TYPE_CHECKING:
    from pathlib import Path

    from events import ArenaState

__all__ = ["fold_tail"]

_TAIL: Final = "SELECT seq, data, hash FROM events WHERE seq > ? AND seq <= ? ORDER BY seq"


def fold_tail(connection: sqlite3.Connection, path: Path | None, base: ArenaState, to_seq: int) -> ArenaState:
    """Return ``base`` with the stored events after it, up to ``to_seq``, folded in.

    Raises:
        StoreError: ``base`` does not match the log's hash at its seq, an event cannot be replayed, or the
            recomputed chain differs from the stored one (the file was altered).

    """
    where = describe(path)
    try:
        if base.seq:
            row = connection.execute("SELECT hash FROM events WHERE seq = ?", (base.seq,)).fetchone()
            if row is None or row[0] != base.head_hash:
                msg = (
                    f"store {where}: the snapshot at seq {base.seq} does not match the log's hash there; the "
                    "file was altered; run store.verify(path) to locate the damage and restore a backup"
                )
                raise StoreError(msg, path=path, seq=base.seq)
        working = base.thaw()
        for seq, data, digest in connection.execute(_TAIL, (base.seq, to_seq)):
            try:
                working.apply(parse_event(data), data=data)
            except EventSourcingError as e:
                msg = (
                    f"store {where}: the event at seq {seq} cannot be replayed ({e}); the file was altered "
                    "or written by a faulty writer; run store.verify(path) to locate the damage"
                )
                raise StoreError(msg, path=path, seq=seq) from e
            if working.head_hash != digest:
                msg = (
                    f"store {where}: the hash chain breaks at seq {seq} (stored {digest[:12]}..., recomputed "
                    f"{working.head_hash[:12]}...); the file was altered; run store.verify(path) for details"
                )
                raise StoreError(msg, path=path, seq=seq)
    except sqlite3.Error as e:
        raise store_error(e, path, "replaying the log") from e
    return working.freeze()
