"""``verify``: audit a store file from the file alone, and report the first seq where it stops adding up.

It trusts nothing the writer kept in memory and nothing but the file: SQLite's own integrity check, the
meta table, then one pass over the log in seq order that re-derives everything derivable (the hash
chain, the decoded events, the postings, the running balances, the fold and every snapshot) and compares
it with what is stored. A damaged file is the expected input here, so every failure is reported, never
raised. A log cut at its end is caught by comparing it with the receipt beside the file (the head of
the last acknowledged flush, ``store/_receipt.py``), read before the file so that a writer appending
meanwhile cannot put the receipt ahead of the log verify reads. What a rewrite of the whole chain and the
receipt cannot reveal is caught by comparing with a head recorded elsewhere: ``verify(path,
expected_head=(seq, hash))``.

The file is read as the next writer would find it, and never changed: a leftover rollback journal is
rolled back in a temporary copy, and a store on read-only media is read with ``immutable=1`` or, with a
``-wal`` beside it, through a temporary copy (``store/_readonly.py``); either is reported as a warning.

After every event the books must say what the fold says (``docs/FORMAT.md``, "Auditing"):

* the event's postings balance, money to zero and each symbol's quantities to zero, and its ledger rows
  are exactly those postings, each with its running balance; no account but a mirror goes below zero;
* so the whole ledger sums to zero, and the treasury, cash and positions at cost (capital at cost)
  equal ``-(external + pnl + fees)``; that equals the fold's ``funding + realized_pnl - fees_paid`` and its
  ``total_capital``; ``external == -funding``, ``pnl == -realized_pnl``, ``fees == fees_paid``, the
  treasury is the fold's, and every ``market:S`` is minus the units of ``S`` that agents hold;
* each agent the event names has, in the ledger, exactly the fold's cash, cost basis and units;
* a ``CapitalConservationCheck`` records the fold's figures at its seq.

Sums are kept as running totals per kind of account, so the pass stays linear in the log: only the
accounts an event touches, and the agents it names, are compared one by one.
"""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from events import (
    EXTERNAL,
    FEES,
    GENESIS_HASH,
    PNL,
    TREASURY,
    CapitalConservationCheck,
    EventSourcingError,
    Fold,
    ValidationError,
    agent_account,
    format_timestamp,
    is_mirror,
    market_account,
    position_account,
    units_account,
)

from ._head import Head
from ._links import Failure as _Failure
from ._links import (
    check_integrity,
    check_legs,
    check_range,
    decode_checked,
    integrity_problems,
    ledger_rows,
    minor,
)
from ._readonly import open_reader
from ._receipt import Receipt, UnreadableReceiptError, find_loss
from ._report import VerificationReport
from ._rows import parse_snapshot, snapshot_digest, snapshot_row
from ._schema import audit_format

if TYPE_CHECKING:
    from collections.abc import Iterator
    from concurrent.futures import Future
    from decimal import Decimal

    from events import AnyEvent, ArenaState

__all__ = ["default_workers", "verify"]

_EVENTS: Final = """
    SELECT e.seq, e.data, e.hash, c.seq
    FROM events AS e LEFT JOIN events AS c ON c.event_id = e.caused_by
    ORDER BY e.seq
"""
_ACCOUNTS: Final = "SELECT count(*) FROM accounts"
_LAST: Final = "SELECT coalesce(max(seq), 0) FROM events"
_PARALLEL_FROM: Final = 10_000
"""Logs shorter than this are checked in one process: starting workers costs more than it saves."""
_MAX_WORKERS: Final = 4
"""Most processes ``default_workers`` picks (see there)."""
_RANGES_PER_WORKER: Final = 4
"""Ranges each worker gets, so that the first failing range returns before the last range is done."""
_RANGE_TIMEOUT: Final = 3600.0
"""Seconds to wait for one range's worker: far beyond any range's work, so only a hung worker hits it."""
_CASH: Final = "cash"
_POSITIONS: Final = "positions"
"""The two kinds of money account an agent owns, as keys of ``_Audit.money`` (the others are named)."""
_SNAPSHOTS: Final = (
    "SELECT snapshot_id, seq, timestamp, total_capital, allocated_capital, free_capital, active_agents, "
    "proving_agents, simulation_agents, data, digest FROM arena_state ORDER BY seq, snapshot_id"
)
_SNAPSHOT_COLUMNS: Final = (
    "seq",
    "timestamp",
    "total_capital",
    "allocated_capital",
    "free_capital",
    "active_agents",
    "proving_agents",
    "simulation_agents",
)


def verify(
    path: str | os.PathLike[str],
    *,
    expected_head: tuple[int, str] | None = None,
    workers: int | None = None,
) -> VerificationReport:
    """Audit the store at ``path`` and report; never raises on a damaged or foreign file.

    Args:
        path: The store file. It is opened read-only (``mode=ro``) and never changed; its receipt
            (``<path>.receipt``), when there is one, is compared with the log.
        expected_head: A ``(seq, hash)`` recorded elsewhere (e.g. ``store.head()`` after a run). The log
            must reach that seq with that hash: a shorter log was truncated, another hash means the log
            was rewritten at or before that seq. A longer log is fine (it grew since).
        workers: Processes to check with; None (the default) for ``default_workers()``, the machine's
            cores up to 4. With more than one, ``workers - 1`` other processes check each event's link
            in the chain, its decoding, canonical form and postings against its ledger rows, range by
            range (``store/_links.py``), and SQLite's integrity check, while this one checks everything
            that depends on what came before (gaps, causes, running balances, the fold, the identities,
            the snapshots, the heads); the earliest failure of either is reported, so the verdict is a
            single pass's. A log of fewer than 10,000 events, or a file read through a temporary copy
            (read-only media, a leftover journal), is checked in one process.

    Raises:
        ValidationError: ``expected_head`` is not a ``(seq, hash)`` pair, or ``workers`` is not an int
            of at least 1 (argument errors, not damage).

    """
    expected = None if expected_head is None else _expected(expected_head)
    if workers is None:
        workers = default_workers()
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        msg = f"workers: {workers!r} is not a number of processes; pass an int of at least 1 (or None)"
        raise ValidationError(msg, field="workers", value=workers)
    return _Audit(Path(path), expected, workers).run()


def default_workers() -> int:
    """Return the processes ``verify`` checks with by default: the machine's cores, from 1 up to 4.

    The pass that folds the log is one process however many help it, so helpers beyond the cores only
    compete with it for them, and a few helpers already keep up with it (``benchmarks/bench_store.py``
    prints the rates with 1 process and with this default).
    """
    return max(1, min(os.cpu_count() or 1, _MAX_WORKERS))


class _Audit:
    """One pass over one file; each check raises ``_Failure`` and ``run`` turns it into the report."""

    def __init__(self, path: Path, expected: Head | None, workers: int = 1) -> None:
        self.path = path
        self.expected = expected
        self.workers = workers
        self.links = True
        """Whether this process checks the links, forms and postings itself (else worker processes do)."""
        self.head = Head(0, GENESIS_HASH)
        self.at: int | None = None
        self.events_checked = 0
        self.ledger_checked = 0
        self.snapshots_checked = 0
        self.warnings: list[str] = []
        self.receipt: Receipt | None = None
        self.hash_at: dict[int, str] = {}
        """The log's hash at the seqs of ``expected`` and of the receipt, once the pass reaches them."""
        self.fold = Fold()
        self.balances: dict[str, int] = {}
        """Running balance of every account posted to, in minor units of its unit."""
        self.money = dict.fromkeys((TREASURY, _CASH, _POSITIONS, FEES, PNL, EXTERNAL), 0)
        """Running sum of the money balances by kind: every agent's cash together, every position."""
        self.held: dict[str, int] = {}
        """Running sum of the ``units:*:<symbol>`` balances, per symbol."""
        self.accounts_of: dict[str, set[str]] = {}
        """The accounts posted to on behalf of each agent (from each posting's ``agent_id``)."""
        self.names: dict[str, str] = {}
        """Each agent's cash account name, built once (the audit compares an agent's books at every event)."""
        self.held_names: dict[tuple[str, str], tuple[str, str]] = {}
        """Each agent's position and units account names of a symbol, built once."""
        self.checked_value: tuple[tuple[Decimal, ...], tuple[int, ...]] | None = None
        """The fold's figures (the objects) and the money sums ``_check_value`` last passed."""

    def run(self) -> VerificationReport:
        try:
            self._open_and_audit()
        except _Failure as failure:
            return self._report(failure.seq, failure.reason)
        except sqlite3.Error as e:
            name = getattr(e, "sqlite_errorname", None) or type(e).__name__
            return self._report(self.at, f"SQLite cannot read the file ({name}: {e})")
        except Exception as e:  # noqa: BLE001  (a damaged file may fail in any way; verify reports, never raises)
            return self._report(self.at, f"unexpected {type(e).__name__} while checking: {e}")
        return self._report(None, None)

    def _open_and_audit(self) -> None:
        if not self.path.is_file():
            raise _Failure(None, "no such file; pass the path of a store file")
        try:
            self.receipt = Receipt.read(self.path)  # before the log: a receipt only ever follows its log
        except UnreadableReceiptError as e:
            raise _Failure(
                None, f"{e.reason}; restore it with the store, or remove it to verify without"
            ) from e
        opened = open_reader(self.path)
        try:
            if opened.note is not None:
                self.warnings.append(opened.note)
            connection = opened.connection
            connection.execute("BEGIN")  # one read snapshot, even while a writer appends
            if opened.rolled_back and not connection.execute("SELECT 1 FROM sqlite_schema").fetchone():
                raise _Failure(
                    None,
                    "the store's creation was interrupted: rolling back its leftover journal leaves an "
                    "empty database, which holds no arena; open it for writing to create the store again, "
                    "or delete the file and its -journal",
                )
            self._audit(connection)
        finally:
            opened.close()

    def _report(self, seq: int | None, reason: str | None) -> VerificationReport:
        return VerificationReport(
            path=str(self.path),
            ok=reason is None,
            events_checked=self.events_checked,
            head=self.head,
            first_failing_seq=seq,
            reason=None if reason is None else reason.replace("\n", " "),  # a report is one line
            ledger_entries_checked=self.ledger_checked,
            snapshots_checked=self.snapshots_checked,
            warnings=tuple(self.warnings),
        )

    def _audit(self, connection: sqlite3.Connection) -> None:
        """Check the file as SQLite sees it, then its format, then the log, in that order of verdicts.

        With workers, SQLite's integrity check (a tenth of the whole audit) runs in a worker beside the
        pass instead of before it; whatever the pass finds, a failed integrity check is still the verdict,
        as when it ran first.
        """
        parallel = self.workers > 1 and not self.warnings
        if not parallel:
            self._check_integrity(integrity_problems(connection))
        try:
            audit = audit_format(connection)
            last = 0 if audit.problem is not None else connection.execute(_LAST).fetchone()[0]
        except sqlite3.Error:
            if parallel:
                self._check_integrity(integrity_problems(connection))
            raise
        self.warnings.extend(audit.warnings)
        if parallel and (audit.problem is not None or self.warnings or last < _PARALLEL_FROM):
            self._check_integrity(integrity_problems(connection))
            parallel = False
        if audit.problem is not None:
            raise _Failure(None, audit.problem)
        if not parallel:
            self._pass(connection, audit.meta)
            return
        with _links_pool(self.workers - 1) as pool:
            self.links = False
            integrity = pool.submit(check_integrity, str(self.path))
            ranges = _ranges(last, self.workers - 1)
            futures = [pool.submit(check_range, str(self.path), first, end) for first, end in ranges]
            try:
                self._pass(connection, audit.meta)
            except _Failure as failure:
                self._check_integrity(integrity.result(timeout=_RANGE_TIMEOUT))
                self._earliest(connection, futures, failure.seq, failure)
                raise
            except Exception:
                self._check_integrity(integrity.result(timeout=_RANGE_TIMEOUT))
                raise
            self._check_integrity(integrity.result(timeout=_RANGE_TIMEOUT))
            self._earliest(connection, futures, None, None)

    def _check_integrity(self, problems: list[str]) -> None:
        """Raise SQLite's verdict if it is not ``ok``, as a file whose audit stopped before the log."""
        if problems != ["ok"]:
            self.head = Head(0, GENESIS_HASH)
            self.events_checked = self.ledger_checked = self.snapshots_checked = 0
            raise _Failure(None, f"SQLite integrity_check fails: {'; '.join(problems)}")

    def _earliest(
        self,
        connection: sqlite3.Connection,
        futures: list[Future[tuple[int, str] | None]],
        seq: int | None,
        failure: _Failure | None,
    ) -> None:
        """Raise the workers' earliest failure if it comes before (or at) ``seq``, the main pass's."""
        found = None
        for future in futures:
            result = future.result(timeout=_RANGE_TIMEOUT)
            if result is not None:
                found = result
                break  # ranges are in seq order: the first failing range holds the earliest failure
        if found is None or (failure is not None and (seq is None or seq < found[0])):
            return
        at, reason = found
        # What the single pass would have checked before it stopped there.
        row = connection.execute("SELECT hash FROM events WHERE seq = ?", (at - 1,)).fetchone()
        self.head = Head(at - 1, row[0].hex()) if row is not None else Head(0, GENESIS_HASH)
        self.events_checked = at - 1
        self.ledger_checked = connection.execute(
            "SELECT count(*) FROM capital_ledger WHERE seq < ?", (at,)
        ).fetchone()[0]
        self.snapshots_checked = connection.execute(
            "SELECT count(*) FROM arena_state WHERE seq < ?", (at,)
        ).fetchone()[0]
        raise _Failure(at, reason)

    def _pass(self, connection: sqlite3.Connection, meta: dict[str, str]) -> None:
        ledger = ledger_rows(connection)
        snapshots = connection.execute(_SNAPSHOTS)
        pending = next(ledger, None)
        snapshot = snapshots.fetchone()
        watched = {head.seq for head in (self.expected, self.receipt) if head is not None}
        for row in connection.execute(_EVENTS):
            event = self._check_event(row)
            if event.seq == 1 and meta.get("arena_id") != getattr(event, "arena_id", None):
                raise _Failure(
                    1, f"meta.arena_id is {meta.get('arena_id')!r}, but ArenaOpened says otherwise"
                )
            pending, legs = self._check_postings(event, pending, ledger)
            self._apply(event, row[1], legs)
            head = Head(event.seq, row[2].hex())
            while snapshot is not None and snapshot[1] <= event.seq:
                self._check_snapshot(snapshot, event.seq, (format_timestamp(event.timestamp), head.hash))
                snapshot = snapshots.fetchone()
            self.head = head
            if event.seq in watched:
                self.hash_at[event.seq] = head.hash
            self.events_checked += 1
        self.at = None
        if pending is not None:
            raise _Failure(
                pending[1], f"ledger row entry_id {pending[0]} names seq {pending[1]}, which has no event"
            )
        if snapshot is not None:
            raise _Failure(
                snapshot[1], f"snapshot #{snapshot[0]} is at seq {snapshot[1]}, past the last event"
            )
        accounts = connection.execute(_ACCOUNTS).fetchone()[0]
        if accounts != len(self.balances):
            raise _Failure(
                None,
                f"the accounts table has {accounts} accounts, but the ledger posts to {len(self.balances)}: "
                "an account row was inserted or deleted",
            )
        if self.events_checked == 0 and "arena_id" in meta:
            raise _Failure(None, f"meta.arena_id is {meta['arena_id']!r} but the log is empty")
        self._check_heads(meta.get("arena_id"))

    def _check_event(self, row: tuple[Any, ...]) -> AnyEvent:
        seq, data, stored_hash, cause_seq = row
        expected_seq = self.head.seq + 1
        self.at = expected_seq
        if seq != expected_seq:
            raise _Failure(
                expected_seq, f"seq {expected_seq} is missing (the next stored seq is {seq}): a deleted row"
            )
        event = decode_checked(seq, data, stored_hash, self.head.hash if self.links else None)
        if event.caused_by is not None and (cause_seq is None or cause_seq >= seq):
            where = "no stored event" if cause_seq is None else f"the later event at seq {cause_seq}"
            raise _Failure(
                seq, f"caused_by {event.caused_by} names {where}; a cause must be an earlier event"
            )
        return event

    def _check_postings(
        self, event: AnyEvent, pending: tuple[Any, ...] | None, ledger: Iterator[tuple[Any, ...]]
    ) -> tuple[tuple[Any, ...] | None, list[tuple[Any, ...]]]:
        seq = event.seq
        rows: list[tuple[Any, ...]] = []
        while pending is not None and pending[1] == seq:
            rows.append(pending)
            pending = next(ledger, None)
        if pending is not None and pending[1] < seq:
            raise _Failure(
                pending[1],
                f"ledger row entry_id {pending[0]} of seq {pending[1]} comes after the rows of seq {seq}: "
                "an inserted or reordered row",
            )
        if self.links:
            check_legs(event, rows)  # else the worker process of this seq's range checks them
        if rows:
            self._check_entries(seq, rows)
        return pending, rows

    def _check_entries(self, seq: int, rows: list[tuple[Any, ...]]) -> None:
        """Check each row's running balance (its account, agent, symbol and unit are ``check_legs``'s).

        One loop over the event's rows with the running sums in locals: four rows an event on average,
        each once, so the per-row work is a few dict operations.
        """
        balances, money, held, accounts_of = self.balances, self.money, self.held, self.accounts_of
        for index, (entry_id, _, account, agent_id, symbol, unit, amount, after) in enumerate(rows):
            balance = balances.get(account, 0) + amount
            if after != balance or (balance < 0 and not is_mirror(account)):
                self.ledger_checked += index  # the rows before this one passed
            if after != balance:
                raise _Failure(
                    seq,
                    f"ledger row entry_id {entry_id}: balance_after is {after}, the running balance "
                    f"{balance}",
                )
            if balance < 0 and not is_mirror(account):
                raise _Failure(seq, f"account {account!r} goes negative ({balance} minor units)")
            balances[account] = balance
            if agent_id is not None:
                owned = accounts_of.get(agent_id)
                if owned is None:
                    owned = accounts_of[agent_id] = set()
                owned.add(account)
            if unit == "money":
                kind = account if agent_id is None else (_CASH if symbol is None else _POSITIONS)
                money[kind] += amount
            elif agent_id is not None:
                held[symbol] = held.get(symbol, 0) + amount
        self.ledger_checked += len(rows)

    def _apply(self, event: AnyEvent, data: str, rows: list[tuple[Any, ...]]) -> None:
        fold = self.fold
        try:
            fold.apply(event, data=data)
        except EventSourcingError as e:
            raise _Failure(event.seq, f"the event contradicts the log before it: {e}") from None
        named = {row[3] for row in rows if row[3] is not None}
        if event.agent_id is not None:
            named.add(event.agent_id)
        for agent_id in sorted(named):
            self._check_agent(event.seq, agent_id)
        for symbol in sorted({row[4] for row in rows if row[5] == "quantity" and row[4]}):
            market, held = self.balances.get(market_account(symbol), 0), self.held.get(symbol, 0)
            if market != -held:
                raise _Failure(
                    event.seq,
                    f"ledger balance of {market_account(symbol)!r} is {market}, but agents hold {held} of "
                    f"{symbol!r}: a market account is minus the units held (minor units)",
                )
        self._check_value(event)

    def _check_agent(self, seq: int, agent_id: str) -> None:
        """Check that the fold's cash, cost basis and units of ``agent_id`` are its accounts' balances."""
        record = self.fold.agent(agent_id)
        expected: dict[str, int] = {}
        if record is not None:
            expected[self._cash_account(agent_id)] = minor(record.allocation)
            for symbol, cost in record.cost_basis.items():
                expected[self._held_accounts(agent_id, symbol)[0]] = minor(cost)
            for symbol, quantity in record.positions.items():
                expected[self._held_accounts(agent_id, symbol)[1]] = minor(quantity)
        balances = self.balances
        owned = self.accounts_of.get(agent_id, set())
        if all(balances.get(account, 0) == wanted for account, wanted in expected.items()) and all(
            account in expected or not balances.get(account, 0) for account in owned
        ):
            return
        for account in sorted(owned | set(expected)):  # the first in name order, as the message has it
            found, wanted = balances.get(account, 0), expected.get(account, 0)
            if found != wanted:
                raise _Failure(
                    seq, f"ledger balance of {account!r} is {found}, the fold says {wanted} (minor units)"
                )

    def _cash_account(self, agent_id: str) -> str:
        name = self.names.get(agent_id)
        if name is None:
            name = self.names[agent_id] = agent_account(agent_id)
        return name

    def _held_accounts(self, agent_id: str, symbol: str) -> tuple[str, str]:
        """Return ``agent_id``'s position and units account names of ``symbol``."""
        pair = self.held_names.get((agent_id, symbol))
        if pair is None:
            pair = self.held_names[agent_id, symbol] = (
                position_account(agent_id, symbol),
                units_account(agent_id, symbol),
            )
        return pair

    def _check_value(self, event: AnyEvent) -> None:
        """Check the identities that make the ledger the books of value (see the module docstring)."""
        # The whole ledger sums to zero by induction: each event's legs balance (``_check_balanced``) and
        # its rows are exactly those legs, so capital at cost is -(external + pnl + fees) without a check.
        seq, fold, money = event.seq, self.fold, self.money
        figures = (fold.treasury, fold.funding, fold.realized_pnl, fold.fees_paid, fold.total_capital)
        sums = tuple(money.values())
        if self.checked_value == (figures, sums) and not isinstance(event, CapitalConservationCheck):
            return  # the very figures and sums that passed at the event before (a refusal, a spawn)
        self.checked_value = (figures, sums)
        funding, realized, fees = minor(fold.funding), minor(fold.realized_pnl), minor(fold.fees_paid)
        for account, found, wanted, what in (
            (TREASURY, money[TREASURY], minor(fold.treasury), "the fold's treasury"),
            (EXTERNAL, money[EXTERNAL], -funding, "minus the funding"),
            (PNL, money[PNL], -realized, "minus the realized P&L"),
            (FEES, money[FEES], fees, "the fees paid"),
        ):
            if found != wanted:
                raise _Failure(
                    seq, f"ledger balance of {account!r} is {found}, {what} is {wanted} (minor units)"
                )
        at_cost = money[TREASURY] + money[_CASH] + money[_POSITIONS]
        total_capital = minor(fold.total_capital)
        if not at_cost == funding + realized - fees == total_capital:
            raise _Failure(
                seq,
                f"conservation fails: treasury + cash + positions at cost = {at_cost}, funding + realized "
                f"P&L - fees = {funding + realized - fees}, total capital = {total_capital} (minor units)",
            )
        if isinstance(event, CapitalConservationCheck):
            self._check_recorded(event)

    def _check_recorded(self, check: CapitalConservationCheck) -> None:
        fold = self.fold
        allocated = fold.allocated_capital
        for name, recorded, folded in (
            ("total", check.total, fold.total_capital),
            ("free", check.free, fold.treasury),
            ("allocated", check.allocated, allocated),
            ("funding", check.funding, fold.funding),
            ("realized_pnl", check.realized_pnl, fold.realized_pnl),
            ("fees", check.fees, fold.fees_paid),
        ):
            if recorded != folded:
                raise _Failure(
                    check.seq,
                    f"CapitalConservationCheck records {name} {recorded}, but the books at its seq say "
                    f"{folded}",
                )

    def _check_snapshot(self, row: tuple[Any, ...], seq: int, event: tuple[str, str]) -> None:
        timestamp, head_hash = event
        snapshot_id, snapshot_seq, data, digest = row[0], row[1], row[9], row[10]
        if snapshot_seq != seq:
            raise _Failure(
                snapshot_seq, f"snapshot #{snapshot_id} is at seq {snapshot_seq}, where no event is"
            )
        try:
            stored = parse_snapshot(data, seq=seq)
        except EventSourcingError as e:
            raise _Failure(seq, f"snapshot #{snapshot_id}: {e}") from None
        state = self.fold.freeze()
        if stored != state:
            fields = _differences(stored, state)
            raise _Failure(seq, f"snapshot #{snapshot_id} differs from the fold of the log in {fields}")
        expected = snapshot_row(state, timestamp)
        for name, found, wanted in zip(_SNAPSHOT_COLUMNS, row[1:9], expected[:8], strict=True):
            if found != wanted:
                raise _Failure(
                    seq, f"snapshot #{snapshot_id}: column {name} is {found!r}, the fold gives {wanted!r}"
                )
        if digest.hex() != snapshot_digest(head_hash, data):
            raise _Failure(
                seq,
                f"snapshot #{snapshot_id}: its digest does not match its data and the log's hash at seq "
                f"{seq}: the row was edited",
            )
        self.snapshots_checked += 1

    def _check_heads(self, arena_id: str | None) -> None:
        """Check that the log reaches the recorded head if one was given, then the receipt's head.

        The recorded head first: the caller asked for it, and it is the stronger evidence (held elsewhere).
        """
        expected = self.expected
        if expected is not None and expected.seq > 0:
            found = self.hash_at.get(expected.seq)
            if self.head.seq < expected.seq:
                raise _Failure(
                    self.head.seq + 1,
                    f"truncated: the log ends at seq {self.head.seq}, but the recorded head is seq "
                    f"{expected.seq}; {expected.seq - self.head.seq} events were cut off the end",
                )
            if found != expected.hash:
                raise _Failure(
                    expected.seq,
                    f"diverged: the hash at seq {expected.seq} is {found}, but the recorded head says "
                    f"{expected.hash}; the log was rewritten at or before seq {expected.seq}",
                )
        receipt = self.receipt
        hash_at = None if receipt is None else self.hash_at.get(receipt.seq)
        loss = find_loss(receipt, self.head, hash_at, arena_id)
        if loss is not None:
            raise _Failure(min(loss.durable + 1, loss.acknowledged), loss.reason)


def _differences(stored: ArenaState, state: ArenaState) -> list[str]:
    names = [name for name in type(state).model_fields if getattr(stored, name) != getattr(state, name)]
    if "agents" in names:
        agents = sorted(set(stored.agents) ^ set(state.agents)) or [
            key for key in state.agents if stored.agents[key] != state.agents[key]
        ]
        names[names.index("agents")] = f"agents {agents[:5]}"
    return names


def _ranges(last: int, workers: int) -> list[tuple[int, int]]:
    """Split seqs ``1..last`` into contiguous ranges, in order, ``_RANGES_PER_WORKER`` per worker."""
    count = workers * _RANGES_PER_WORKER
    size = -(-last // count)
    return [(first, min(first + size - 1, last)) for first in range(1, last + 1, size)]


def _links_pool(workers: int) -> ProcessPoolExecutor:
    """Return a pool of ``workers`` processes started by a fork server, not by forking this process.

    Forking a process that runs threads (an arena, pykka, a test runner) copies locks held by threads
    that do not exist in the child; the fork server is a clean single-threaded process that imports the
    store once and forks the workers from itself.
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["store"])
    return ProcessPoolExecutor(max_workers=workers, mp_context=context)


def _expected(head: tuple[int, str]) -> Head:
    try:
        seq, digest = head
    except (TypeError, ValueError):
        seq, digest = None, None
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0 or not isinstance(digest, str):
        msg = f"expected_head: {head!r} is not a (seq, hash) pair; pass store.head() or (int >= 0, hex str)"
        raise ValidationError(msg, field="expected_head", value=head)
    return Head(seq, digest)
