"""``SQLiteEventStore``: the arena's event log, its capital ledger and state snapshots in one SQLite file.

One writer per store, owned by one thread (the event writer actor opens it in ``on_start``); readers
open their own stores with ``readonly=True``. The writer keeps the head and every account's balance in
memory, so an append checks a batch and builds its rows without a query, then writes them in one
transaction: everything or nothing.

Opening a file for writing, in this order, before anything is written:

1. take custody of the file (``store/_custody.py``): its writer lock, so that a second writer is
   refused at once, naming the holder's pid, and its receipt;
2. check the format (``store/_schema.py``), set the pragmas, rebuild the state from the latest snapshot
   that checks out (``store/_replay.py``);
3. compare the log with the receipt: a log that lost acknowledged events is refused, unless
   ``accept_loss=True``, which records the log's head in a new receipt and carries on with a warning.

If any step fails, everything taken so far is given back: the connection closed, the lock released.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, get_args

from events import (
    GENESIS_HASH,
    ArenaState,
    EventSourcingError,
    StoreError,
    ValidationError,
    parse_event,
)

from ._batch import encode_batch, encode_snapshot
from ._commit import commit
from ._connection import Synchronous, configure, connect
from ._custody import Custody, check_adoptable
from ._head import Head
from ._reads import (
    FIXED_ACCOUNTS,
    account_ids,
    ancestor_texts,
    balances_at,
    check_seq,
    decode,
    descendant_texts,
    event_key,
    event_queries,
    exact_balances,
    stream_events,
)
from ._replay import fold_tail, trusted_snapshot
from ._schema import ensure_schema, read_meta
from ._translate import describe, store_error

if TYPE_CHECKING:
    import os
    from collections.abc import Callable, Generator, Iterable, Sequence
    from datetime import datetime
    from decimal import Decimal
    from types import TracebackType
    from typing import Self
    from uuid import UUID

    from events import AnyEvent, Event

    from ._lock import WriterLock
    from ._readonly import Opened
    from ._reads import Query

__all__ = ["SQLiteEventStore"]

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

_HEAD = "SELECT seq, hash, timestamp FROM events ORDER BY seq DESC LIMIT 1"
_HASH_AT = "SELECT hash FROM events WHERE seq = ?"


class SQLiteEventStore:
    """An append-only, hash-chained event log with its double-entry ledger and state snapshots.

    Open one with ``SQLiteEventStore.open(path)``; use it as a context manager or ``close()`` it. The file
    format is documented in ``docs/FORMAT.md``. Every method raises ``StoreError`` (with the path and a
    remedy) when the file cannot be used, and ``EventSourcingError`` when a batch would break the log.
    """

    def __init__(
        self,
        opened: Opened,
        path: Path | None,
        *,
        readonly: bool,
        meta: dict[str, str],
        custody: Custody | None = None,
    ) -> None:
        """Wrap an open, configured connection; call ``open()`` instead, which also rebuilds the state."""
        self._opened = opened
        self._connection: sqlite3.Connection | None = opened.connection
        self._custody = custody
        self._path = path
        self._readonly = readonly
        self._arena_id = meta.get("arena_id")
        self._head = Head(0, GENESIS_HASH)
        self._timestamp: str | None = None
        self._balances: dict[str, int] = {}
        self._accounts: dict[str, int] = {}
        self._state = ArenaState()

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str] | None,
        *,
        synchronous: Synchronous = "normal",
        readonly: bool = False,
        create: bool = True,
        memory_name: str | None = None,
        lock: WriterLock | None = None,
        accept_loss: bool = False,
    ) -> SQLiteEventStore:
        """Open (or create) the store at ``path`` and rebuild its state from the latest snapshot.

        A writer (``readonly=False`` with a path) first takes the file's writer lock and, once open,
        checks the log against its receipt (module docstring); a reader does neither.

        Args:
            path: The store file; ``None`` for a private in-memory database (tests, embedded arenas).
            synchronous: ``"normal"`` survives a crash of the process; ``"full"`` also a power loss, at the
                cost of an fsync per commit.
            readonly: Open a reader's connection (``mode=ro``) that refuses to append. It takes no lock,
                and reads a store on read-only media or with a leftover journal (``store/_readonly.py``).
            create: When False, refuse a path where no file exists instead of creating a store there.
            memory_name: With ``path=None``, share the in-memory database under this name with every
                store of this process opened with the same name (a writer and its readers), instead of
                a private one; it lives until the last of them closes.
            lock: The writer lock on ``path``, held already (from ``hand_over()``): the store adopts it
                instead of taking one, and releases it when it closes, or at once if opening fails.
            accept_loss: Open a writer even when its log lost acknowledged events (it ends before the
                receipt, or differs from it), or its receipt is unreadable: log a warning, record the log's
                head as the new receipt and carry on from there. Never needed otherwise.

        Raises:
            StoreError: another writer holds the file (naming its pid); the log lost acknowledged events
                (with the counts) and ``accept_loss`` is False; the file is missing (with
                ``create=False`` or ``readonly``), not SQLite, another program's database, of an older or
                newer schema, unreadable or unwritable, or its log is damaged.
            ValidationError: an argument is malformed, or ``lock`` is not a held lock on ``path``.

        """
        if synchronous not in get_args(Synchronous):
            msg = f"synchronous: {synchronous!r} is not a mode; pass 'normal' or 'full'"
            raise ValidationError(msg, field="synchronous", value=synchronous)
        location = None if path is None else Path(path)
        check_adoptable(lock, location, readonly=readonly)
        custody = None
        if location is not None and not readonly:
            custody = Custody.take(location, lock, accept_loss=accept_loss)
        try:
            opened = connect(location, readonly=readonly, create=create, memory_name=memory_name)
            try:
                # The format check comes first: switching a foreign file to WAL would already change it.
                meta = ensure_schema(opened.connection, location, readonly=readonly)
                configure(opened.connection, location, synchronous=synchronous, readonly=readonly)
                store = cls(opened, location, readonly=readonly, meta=meta, custody=custody)
                store._load()
                if custody is not None:
                    custody.check(store._head, store._hash_at, store._arena_id, accept_loss=accept_loss)
            except BaseException:
                opened.close()
                raise
        except BaseException:
            if custody is not None:
                custody.release()
            raise
        logger.debug("opened store %s at seq %d", describe(location), store._head.seq)
        return store

    @property
    def path(self) -> Path | None:
        """The store file, or None for an in-memory store."""
        return self._path

    def append(
        self,
        events: Sequence[Event],
        snapshot: ArenaState | None = None,
        *,
        encoded: Sequence[str] | None = None,
        hashes: Sequence[str] | None = None,
    ) -> Head:
        """Write ``events``, their ledger postings and ``snapshot`` in one transaction; return the new head.

        Args:
            events: The next events of the log, gapless from ``head().seq + 1``.
            snapshot: The state folded through the last of ``events`` (or through the head, for an empty
                batch), stored so that reopening need not replay the whole log.
            encoded: ``canonical_json(event)`` of each event, when the caller has it already.
            hashes: With ``encoded``, each event's chain hash as the caller's ``Fold`` computed it (its
                ``head_hash`` after applying the event): the store then checks the chain's continuity
                (the first hash follows the store's head, seqs gapless, ids unique) and recomputes no
                other hash. Only a caller whose hashes come from the shared fold over this very log may
                pass them (the event writer does); a wrong one is not caught here but by ``verify``,
                which recomputes every hash from the file. Without them, every hash is computed here.

        Raises:
            EventSourcingError: the batch would break the log (seq not next, a gap, a repeated event id,
                a ``caused_by`` naming no earlier event, an account other than a mirror going below zero,
                a snapshot of another state). Nothing was written.
            StoreError: the write failed (disk full, read-only, another writer). Nothing was written, and
                the store's head and balances are as before the call.

        """
        connection = self._writable()
        batch = encode_batch(events, encoded, self._head, self._balances, self._accounts, hashes=hashes)
        snapshot_row = None
        if snapshot is not None:
            arena_id = batch.arena_id or self._arena_id
            snapshot_row = encode_snapshot(snapshot, batch.head, batch.timestamp or self._timestamp, arena_id)
        if not batch.event_rows and snapshot_row is None:
            return self._head
        commit(connection, self._path, batch, snapshot_row, self._head)
        self._head = batch.head
        self._balances.update(batch.balances)
        self._accounts.update((row[1], row[0]) for row in batch.account_rows)
        self._timestamp = batch.timestamp or self._timestamp
        self._arena_id = batch.arena_id or self._arena_id
        if snapshot is not None:
            # Not cached: the file has it, and a writer's store keeps no copy of the state (2 KB per agent,
            # 200 MB for 100,000); load_state reads the newest snapshot back and folds the tail after it.
            self._state = ArenaState()
        return self._head

    def head(self) -> Head:
        """Return the seq and hash of the last event; ``Head(0, GENESIS_HASH)`` for an empty log.

        A reader re-reads it from the file, so it sees the writer's commits.
        """
        if not self._readonly:
            self._live()
            return self._head
        row = self._one("reading the head", _HEAD)
        return Head(0, GENESIS_HASH) if row is None else Head(row[0], row[1].hex())

    def arena_id(self) -> str | None:
        """Return the arena's id, recorded by its ``ArenaOpened``; None before the arena is opened."""
        if self._readonly:
            return self.meta().get("arena_id")
        self._live()
        return self._arena_id

    def read(
        self,
        *,
        agent_id: str | None = None,
        event_types: Iterable[str] | None = None,
        from_seq: int | None = None,
        to_seq: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Generator[AnyEvent]:
        """Stream the events that match every given filter, in seq order, in bounded memory.

        ``close()`` the generator to release its read at once, before it is exhausted.

        Args:
            agent_id: Only events about this agent.
            event_types: Only events with one of these tags (e.g. ``["TradeExecuted"]``).
            from_seq: Only events at or after this seq.
            to_seq: Only events at or before this seq.
            since: Only events at or after this time (inclusive).
            until: Only events before this time (exclusive), so that windows tile.

        Raises:
            ValidationError: a filter is malformed (checked at the call, not at the first ``next``).
            StoreError: the file cannot be read.

        """
        queries = event_queries(
            agent_id=agent_id,
            event_types=event_types,
            from_seq=from_seq,
            to_seq=to_seq,
            since=since,
            until=until,
        )
        self._live()
        return self._stream(queries)

    def get(self, event_id: UUID | str) -> AnyEvent | None:
        """Return the event with ``event_id``, or None if the log has none."""
        found = self._one(
            "reading an event", "SELECT data FROM events WHERE event_id = ?", event_key(event_id)
        )
        return None if found is None else parse_event(found[0])

    def ancestors(self, event_id: UUID | str) -> list[AnyEvent]:
        """Return the chain of causes of an event (its ``caused_by``, that one's, ...), nearest first.

        Raises:
            EventSourcingError: no event has ``event_id``.

        """
        key = self._existing(event_id)
        return decode(self._run("walking causes", lambda c: ancestor_texts(c, key)))

    def descendants(self, event_id: UUID | str) -> list[AnyEvent]:
        """Return every event caused by an event, directly or transitively, in seq order.

        Raises:
            EventSourcingError: no event has ``event_id``.

        """
        key = self._existing(event_id)
        return decode(self._run("walking effects", lambda c: descendant_texts(c, key)))

    def snapshot(self, at_or_before: int | None = None) -> ArenaState | None:
        """Return the latest stored snapshot at or before a seq (default: the latest) that checks out.

        Checked, not trusted (``store/_replay.py``): its digest, its seq and hash against the log, its
        balances against the ledger. A newer snapshot that fails is skipped with a logged warning; None
        when no snapshot is left.

        Raises:
            StoreError: the file cannot be read.

        """
        limit = (2**63 - 1) if at_or_before is None else check_seq("at_or_before", at_or_before)
        return trusted_snapshot(self._live(), self._path, at_or_before=limit)

    def load_state(self) -> ArenaState:
        """Return the state at the head: the latest snapshot plus a fold of the events after it.

        Equal to ``fold`` of the whole log (``tests/store/test_snapshots.py``); the store caches it, so
        calling this after each append folds only the new events.

        Raises:
            StoreError: a stored event cannot be replayed or the chain does not match (the file was
                altered; ``verify`` locates the damage).

        """
        head = self.head()
        state = self._state
        if state.seq == head.seq and state.head_hash == head.hash:
            return state
        if state.seq > head.seq:
            state = ArenaState()
        connection = self._live()
        newer = trusted_snapshot(connection, self._path, at_or_before=head.seq, after=state.seq)
        self._state = fold_tail(connection, self._path, newer or state, head.seq)
        return self._state

    def balances(self, at_seq: int | None = None) -> dict[str, Decimal]:
        """Return every account's balance as of ``at_seq`` (default: the head), sorted by account.

        Every account posted to by then, in both units (``docs/FORMAT.md`` lists the kinds), plus
        ``treasury``, ``external``, ``fees`` and ``pnl``, which are always present (zero before they are
        first posted to):

        * money: ``treasury``, ``external`` (minus the funding), ``fees`` (every fee paid), ``pnl`` (minus
          the realized P&L), ``agent:<id>`` (an agent's cash) and ``position:<id>:<symbol>`` (a holding
          at cost);
        * quantity: ``units:<id>:<symbol>`` (the units an agent holds) and ``market:<symbol>`` (minus
          every agent's units of the symbol).

        Both are exact amounts at 8 places. The money balances sum to zero, and so do each symbol's
        quantities. An account emptied by a sale or a kill stays, at zero.

        Raises:
            ValidationError: ``at_seq`` is negative or beyond the head.

        """
        head = self.head()
        seq = head.seq if at_seq is None else check_seq("at_seq", at_seq)
        if seq > head.seq:
            msg = f"at_seq: {seq} is beyond the head of the log (seq {head.seq}); pass a seq <= {head.seq}"
            raise ValidationError(msg, field="at_seq", value=at_seq)
        if seq == head.seq and not self._readonly:
            return exact_balances({**FIXED_ACCOUNTS, **self._balances})
        return exact_balances(self._run("reading balances", lambda c: balances_at(c, seq)))

    def meta(self) -> dict[str, str]:
        """Return the ``meta`` table: format, schema_version, money_scale, hash_algorithm, arena_id, ..."""
        return self._run("reading meta", read_meta)

    def acknowledge(self, head: Head) -> None:
        """Record ``head`` in the receipt beside the store: these events were acknowledged as durable.

        The event writer calls it when it answers a flush, after the commit. From then on a log that no
        longer reaches ``head`` with its hash is reported as a loss by ``verify`` and refused by ``open``
        (``docs/FORMAT.md``, "The receipt"). Costs two fsyncs (the receipt, its directory); a head
        recorded already costs nothing; a no-op for an in-memory store.

        Raises:
            ValidationError: ``head`` is not the store's head.
            StoreError: the store is read-only or closed, or the receipt cannot be written (disk full,
                permissions): the flush is not acknowledged, and the old receipt stands.

        """
        self._writable()
        if head != self._head:
            msg = (
                f"acknowledge: head {tuple(head)!r} is not the store's head (seq {self._head.seq}); pass "
                "the head that append() returned"
            )
            raise ValidationError(msg, field="head", value=head)
        if self._custody is not None:
            self._custody.acknowledge(head, self._arena_id)

    def hand_over(self) -> WriterLock:
        """Close the store but keep its writer lock held, and return it for the next writer of this process.

        ``SQLiteEventStore.open(path, lock=...)`` adopts it, so no other writer can take the file in
        between: an arena recovers its state on one connection (in the caller's thread) and writes on
        another (in the writer's thread), holding the file throughout.

        Raises:
            StoreError: the store holds no writer lock (a reader, an in-memory store, or closed).

        """
        custody = self._custody
        if custody is None or self._connection is None:
            msg = (
                f"store {describe(self._path)}: hand_over() needs an open writer of a file, and this store "
                "holds no writer lock (it is a reader, in memory, or closed); open it without readonly"
            )
            raise StoreError(msg, path=self._path)
        lock = custody.hand_over()
        try:
            self.close()
        except BaseException:
            lock.release()
            raise
        return lock

    def close(self) -> None:
        """Close the connection and release the writer lock; idempotent.

        A writer's close checkpoints the WAL into the file, before the lock lets the next writer in.
        """
        if self._connection is None:
            return
        self._connection = None
        try:
            self._opened.close()
        except sqlite3.Error as e:
            raise store_error(e, self._path, "closing") from e
        finally:
            if self._custody is not None:
                self._custody.release()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._connection is None else f"head={self._head.seq}"
        mode = ", readonly" if self._readonly else ""
        return f"SQLiteEventStore({describe(self._path)}{mode}, {state})"

    def _load(self) -> None:
        connection = self._live()
        try:
            row = connection.execute(_HEAD).fetchone()
            if row is not None:
                self._head = Head(row[0], row[1].hex())
                self._timestamp = row[2]
            self._balances = balances_at(connection, self._head.seq)
            self._accounts = account_ids(connection)
        except sqlite3.Error as e:
            raise store_error(e, self._path, "opening") from e
        self.load_state()

    def _hash_at(self, seq: int) -> str | None:
        row = self._one("reading the log", _HASH_AT, seq)
        return None if row is None else bytes(row[0]).hex()

    def _existing(self, event_id: UUID | str) -> str:
        key = event_key(event_id)
        if self._one("reading an event", "SELECT 1 FROM events WHERE event_id = ?", key) is None:
            msg = (
                f"event {key}: not in store {describe(self._path)}; pass the id of a stored event "
                "(get() returns None for unknown ids)"
            )
            raise EventSourcingError(msg, field="event_id")
        return key

    def _stream(self, queries: list[Query]) -> Generator[AnyEvent]:
        texts = stream_events(self._live(), queries)  # a generator: closing it closes the cursors
        try:
            for text in texts:
                yield parse_event(text)
        except sqlite3.Error as e:
            raise store_error(e, self._path, "reading events") from e
        finally:
            texts.close()

    def _one(self, doing: str, sql: str, *params: object) -> Any:  # noqa: ANN401  (an SQL row, untyped)
        return self._run(doing, lambda c: c.execute(sql, params).fetchone())

    def _run(self, doing: str, work: Callable[[sqlite3.Connection], _T]) -> _T:
        connection = self._live()
        try:
            return work(connection)
        except sqlite3.Error as e:
            raise store_error(e, self._path, doing) from e

    def _live(self) -> sqlite3.Connection:
        if self._connection is None:
            msg = f"store {describe(self._path)}: it is closed; open it again with SQLiteEventStore.open()"
            raise StoreError(msg, path=self._path)
        return self._connection

    def _writable(self) -> sqlite3.Connection:
        connection = self._live()
        if self._readonly:
            msg = (
                f"store {describe(self._path)}: opened with readonly=True, so it cannot append; open it "
                "without readonly (one writer per store) to write"
            )
            raise StoreError(msg, path=self._path)
        return connection
