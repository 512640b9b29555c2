"""The receipt: the head of the last acknowledged flush, beside the store, where a WAL cannot roll it back.

The rules (``docs/FORMAT.md``, "The receipt"; each has a test in ``tests/store/test_receipt.py``):

* **What.** ``<store>.receipt`` holds one line of canonical JSON: ``{"arena_id": ..., "format":
  "arena-receipt-v1", "hash": ..., "seq": ...}``, the head of the log as of the last flush the writer
  acknowledged and the arena it belongs to.
* **When.** The writer records it when it answers a ``Flush`` (``SQLiteEventStore.acknowledge``), after the
  commit it names, and not on every commit: a receipt costs two fsyncs, a commit at ``normal`` none.
* **Never torn.** Written to ``<store>.receipt.tmp``, fsynced, renamed over the receipt, then the
  directory is fsynced: a crash leaves the old receipt or the new one, and once ``acknowledge`` has
  returned the new one survives a power loss.
* **Behind its log.** Because it is written after the commit it records, a reader that reads the receipt
  *before* the log (``verify`` does) never finds a healthy log behind it, even while a writer appends.
* **Loss.** A log that ends before the receipt's seq, or has another hash there, or belongs to another
  arena, has lost acknowledged events: a damaged WAL frame makes SQLite drop it and every later frame,
  silently; so would a restored older copy. ``verify`` fails such a file and a writer refuses to open it
  unless told to accept the loss.

What it cannot see: a rewrite of the whole chain *and* the receipt; that takes a head recorded elsewhere
(``verify(path, expected_head=...)``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from pathlib import Path

    from ._head import Head

__all__ = ["RECEIPT_FORMAT", "Loss", "Receipt", "UnreadableReceiptError", "find_loss", "receipt_path"]

RECEIPT_FORMAT: Final = "arena-receipt-v1"
"""The receipt's ``format``: a receipt of another format is refused as unreadable."""

_MAX_SIZE: Final = 4096
"""A receipt is under 200 bytes; a larger file is not one."""


def receipt_path(store: Path) -> Path:
    """Return the receipt of the store at ``store``: ``<store>.receipt`` beside it."""
    return store.with_name(f"{store.name}.receipt")


class UnreadableReceiptError(ValueError):
    """The receipt file exists but is not a receipt; ``reason`` says why (for a message or a report)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Receipt:
    """The head the writer last acknowledged, and the arena of the log it belongs to."""

    seq: int
    hash: str
    arena_id: str | None

    @classmethod
    def read(cls, store: Path) -> Receipt | None:
        """Return the receipt beside ``store``, or None if there is none.

        Raises:
            UnreadableReceiptError: the file is not a receipt (torn by hand, of another format, unreadable).

        """
        file = receipt_path(store)
        try:
            with file.open("rb") as handle:
                raw = handle.read(_MAX_SIZE + 1)
        except FileNotFoundError:
            return None
        except OSError as e:
            reason = f"the receipt {file.name!r} cannot be read ({type(e).__name__}: {e.strerror})"
            raise UnreadableReceiptError(reason) from e
        try:
            data = json.loads(raw.decode("utf-8")) if len(raw) <= _MAX_SIZE else None
        except (UnicodeDecodeError, json.JSONDecodeError):
            data = None
        if not isinstance(data, dict) or data.get("format") != RECEIPT_FORMAT:
            reason = f"the receipt {file.name!r} is not an {RECEIPT_FORMAT} receipt"
            raise UnreadableReceiptError(reason)
        seq, digest, arena_id = data.get("seq"), data.get("hash"), data.get("arena_id")
        if (
            type(seq) is not int
            or seq < 0
            or not isinstance(digest, str)
            or len(digest) != 64  # noqa: PLR2004  (a sha256 in hex)
            or not (arena_id is None or isinstance(arena_id, str))
        ):
            reason = f"the receipt {file.name!r} holds no valid seq, hash and arena_id"
            raise UnreadableReceiptError(reason)
        return cls(seq, digest, arena_id)

    def write(self, store: Path) -> None:
        """Replace the receipt beside ``store`` with this one, durably (see the module docstring).

        Raises:
            OSError: the file or the directory cannot be written or synced; the old receipt stands.

        """
        file = receipt_path(store)
        temporary = file.with_name(f"{file.name}.tmp")
        text = json.dumps(
            {"arena_id": self.arena_id, "format": RECEIPT_FORMAT, "hash": self.hash, "seq": self.seq},
            sort_keys=True,
            separators=(",", ":"),
        )
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        try:
            os.write(descriptor, f"{text}\n".encode())
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        temporary.replace(file)
        directory = os.open(file.parent, os.O_RDONLY | os.O_CLOEXEC)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


@dataclass(frozen=True, slots=True)
class Loss:
    """Acknowledged events the log no longer holds, as the receipt shows them."""

    acknowledged: int
    """The receipt's seq: events 1..acknowledged were acknowledged."""
    durable: int
    """Where the log ends now."""
    reason: str
    """What was found, with the counts, in one clause (no remedy: callers add theirs)."""


def find_loss(receipt: Receipt | None, head: Head, hash_at: str | None, arena_id: str | None) -> Loss | None:
    """Compare the log with its receipt: None if the log still holds every acknowledged event.

    Args:
        receipt: The receipt beside the store, if any.
        head: Where the log ends.
        hash_at: The log's hash at ``receipt.seq`` (None if the log is shorter).
        arena_id: The arena the log belongs to (None while it is empty).

    """
    if receipt is None or receipt.seq == 0:
        return None
    acknowledged, durable = receipt.seq, head.seq
    if durable < acknowledged:
        reason = (
            f"acknowledged events lost: the receipt records seq {acknowledged} as acknowledged, but the "
            f"log ends at seq {durable}: {acknowledged - durable} acknowledged events are missing (a "
            "damaged or deleted -wal, or an older copy of the file)"
        )
    elif arena_id != receipt.arena_id:
        reason = (
            f"acknowledged events lost: the receipt is of arena {receipt.arena_id!r} at seq {acknowledged}, "
            f"but the log is of arena {arena_id!r}: all {acknowledged} acknowledged events are missing (the "
            "file was replaced)"
        )
    elif hash_at != receipt.hash:
        reason = (
            f"acknowledged events lost: the hash at seq {acknowledged} is {str(hash_at)[:16]}..., but the "
            f"receipt records {receipt.hash[:16]}...: the log was rewritten at or before seq "
            f"{acknowledged}, so up to {acknowledged} acknowledged events are not the ones acknowledged"
        )
    else:
        return None
    return Loss(acknowledged, durable, reason)
