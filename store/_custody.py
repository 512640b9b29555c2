"""``Custody``: what a writer holds on its store file besides the connection: the lock and the receipt.

A writer of a file takes custody before it opens the connection and gives it back when it closes:

1. ``Custody.take`` takes the writer lock (``store/_lock.py``), or adopts the one handed over to it, so
   a second writer is refused before anything is read or written; then it reads the receipt
   (``store/_receipt.py``). A receipt beside a missing file means the whole log was lost: refused
   here, before the connection would create a new, empty file.
2. Once the store has rebuilt its state, ``check`` compares the log with the receipt. A loss (the log
   ends before the receipt, has another hash at its seq, or is of another arena) or an unreadable
   receipt is refused with the counts and the explicit way to accept it; with ``accept_loss`` it is
   logged as a warning and the log's head becomes the receipt, so the loss is reported once, not on
   every later open.
3. ``acknowledge`` records a head in the receipt when the writer answers a flush.
4. ``release`` (the store's ``close``) releases the lock after the connection has closed, so the WAL
   is checkpointed before the next writer can come in; ``hand_over`` instead detaches the lock, still
   held, for the next writer of this process.

Readers and in-memory stores have no custody: they take no lock and have no receipt.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, NoReturn

from events import GENESIS_HASH, StoreError, ValidationError

from ._head import Head
from ._lock import WriterLock
from ._receipt import Loss, Receipt, UnreadableReceiptError, find_loss, receipt_path
from ._translate import describe

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

__all__ = ["Custody", "check_adoptable"]

logger = logging.getLogger(__name__)


class Custody:
    """A writer's lock on its file and the receipt of what it acknowledged (module docstring)."""

    def __init__(self, path: Path, lock: WriterLock, receipt: Receipt | None, unreadable: str | None) -> None:
        """Hold ``lock`` on ``path``; call ``take`` instead."""
        self._path = path
        self._lock: WriterLock | None = lock
        self._receipt = receipt
        self._unreadable = unreadable
        self._acknowledged: Head | None = None

    @classmethod
    def take(cls, path: Path, lock: WriterLock | None, *, accept_loss: bool) -> Custody:
        """Take the writer lock on ``path`` (or adopt ``lock``) and read the receipt.

        Raises:
            StoreError: another writer holds the file, or a receipt records acknowledged events of a file
                that no longer exists (and ``accept_loss`` is False). The lock is released again.

        """
        held = WriterLock.acquire(path) if lock is None else lock
        try:
            try:
                receipt, unreadable = Receipt.read(path), None
            except UnreadableReceiptError as e:
                receipt, unreadable = None, e.reason
            if receipt is not None and not path.exists() and not accept_loss:
                loss = find_loss(receipt, Head(0, GENESIS_HASH), None, None)
                if loss is not None:
                    _refuse_loss(path, loss)
        except BaseException:
            held.release()
            raise
        return cls(path, held, receipt, unreadable)

    def check(
        self, head: Head, hash_at: Callable[[int], str | None], arena_id: str | None, *, accept_loss: bool
    ) -> None:
        """Refuse a log that lost acknowledged events (``hash_at(seq)`` reads the log's hash at a seq).

        Raises:
            StoreError: the log lost acknowledged events, or the receipt is unreadable, and
                ``accept_loss`` is False.

        """
        receipt = self._receipt
        if self._unreadable is not None:
            problem = f"{self._unreadable}, so the log cannot be checked against what was acknowledged"
            if not accept_loss:
                msg = (
                    f"store {describe(self._path)}: {problem}; restore {receipt_path(self._path).name!r} "
                    "from where the store came from, or accept the risk explicitly: "
                    "SQLiteEventStore.open(path, accept_loss=True) (arena simulate --resume --accept-loss) "
                    "records the log's head as a new receipt"
                )
                raise StoreError(msg, path=self._path)
        else:
            seq = 0 if receipt is None else receipt.seq
            loss = find_loss(receipt, head, hash_at(seq) if 0 < seq <= head.seq else None, arena_id)
            if loss is None:
                if receipt is None or (receipt.seq, receipt.hash) == tuple(head):
                    self._acknowledged = head  # the receipt says the head already (or nothing at all)
                return
            if not accept_loss:
                _refuse_loss(self._path, loss)
            problem = loss.reason
        logger.warning(
            "store %s: %s; accepted (accept_loss=True): continuing from seq %d, now the receipt's head",
            describe(self._path),
            problem,
            head.seq,
        )
        self.acknowledge(head, arena_id)

    def acknowledge(self, head: Head, arena_id: str | None) -> None:
        """Record ``head`` in the receipt, unless it is recorded already.

        Raises:
            StoreError: the receipt cannot be written; the old one stands.

        """
        if head == self._acknowledged:
            return
        try:
            Receipt(head.seq, head.hash, arena_id).write(self._path)
        except OSError as e:
            msg = (
                f"store {describe(self._path)}: recording seq {head.seq} in the receipt "
                f"{receipt_path(self._path).name!r} failed ({type(e).__name__}: {e}); the flush is not "
                "acknowledged, though its events are committed; free space or fix the directory's "
                "permissions, then reopen the store"
            )
            raise StoreError(msg, path=self._path, seq=head.seq) from e
        self._acknowledged = head

    def hand_over(self) -> WriterLock:
        """Detach the lock, still held, for the next writer of this process; ``release`` then keeps it.

        Raises:
            StoreError: the lock was released or handed over already.

        """
        lock, self._lock = self._lock, None
        if lock is None or not lock.held:
            msg = (
                f"store {describe(self._path)}: its writer lock was released or handed over already; "
                "open the store again to take it"
            )
            raise StoreError(msg, path=self._path)
        return lock

    def release(self) -> None:
        """Release the lock (unless handed over); idempotent."""
        lock, self._lock = self._lock, None
        if lock is not None:
            lock.release()


def check_adoptable(lock: WriterLock | None, path: Path | None, *, readonly: bool) -> None:
    """Refuse a ``lock=`` argument that a store opened at ``path`` cannot adopt.

    Raises:
        ValidationError: the store is a reader or in memory, or ``lock`` is released or of another file.

    """
    if lock is None:
        return
    problem = None
    if path is None or readonly:
        problem = "only a writer of a file adopts a lock (readers and in-memory stores take none)"
    elif not lock.held:
        problem = "it was released already; open without lock= to take the lock again"
    elif lock.path.absolute() != path.absolute():
        problem = f"it is the lock of {str(lock.path)!r}, not of this store"
    if problem is not None:
        msg = f"lock: {lock!r} cannot be adopted by store {describe(path)}: {problem}"
        raise ValidationError(msg, field="lock", value=lock)


def _refuse_loss(path: Path, loss: Loss) -> NoReturn:
    msg = (
        f"store {describe(path)}: {loss.reason}; restore the store with its -wal from a backup, or accept "
        "the loss explicitly: SQLiteEventStore.open(path, accept_loss=True) (arena simulate --resume "
        f"--accept-loss) continues from seq {loss.durable} and records it in a new receipt"
    )
    raise StoreError(msg, path=path, seq=loss.acknowledged)
