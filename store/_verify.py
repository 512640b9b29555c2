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

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from events import (
    EXTERNAL,
    FEES,
    GENESIS_HASH,
    MONEY_SCALE,
    PNL,
    TREASURY,
    CapitalConservationCheck,
    EventSourcingError,
    Fold,
    ValidationError,
    agent_account,
    canonical_json,
    chain_hash,
    format_timestamp,
    is_mirror,
    market_account,
    parse_event,
    position_account,
    postings,
    to_minor,
    units_account,
)

from ._head import Head
from ._readonly import open_reader
from ._receipt import Receipt, UnreadableReceiptError, find_loss
from ._report import VerificationReport
from ._rows import parse_snapshot, snapshot_digest, snapshot_row
from ._schema import audit_format

if TYPE_CHECKING:
    import os
    from decimal import Decimal

    from events import AnyEvent, ArenaState, Posting

__all__ = ["verify"]

_EVENTS: Final = """
    SELECT e.seq, e.event_id, e.event_type, e.agent_id, e.timestamp, e.data, e.caused_by, e.hash, c.seq
    FROM events AS e LEFT JOIN events AS c ON c.event_id = e.caused_by
    ORDER BY e.seq
"""
_LEDGER: Final = (
    "SELECT entry_id, seq, event_id, timestamp, account, agent_id, symbol, unit, operation, amount, "
    "balance_after FROM capital_ledger ORDER BY entry_id"
)
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
    path: str | os.PathLike[str], *, expected_head: tuple[int, str] | None = None
) -> VerificationReport:
    """Audit the store at ``path`` and report; never raises on a damaged or foreign file.

    Args:
        path: The store file. It is opened read-only (``mode=ro``) and never changed; its receipt
            (``<path>.receipt``), when there is one, is compared with the log.
        expected_head: A ``(seq, hash)`` recorded elsewhere (e.g. ``store.head()`` after a run). The log
            must reach that seq with that hash: a shorter log was truncated, another hash means the log
            was rewritten at or before that seq. A longer log is fine (it grew since).

    Raises:
        ValidationError: ``expected_head`` is not a ``(seq, hash)`` pair (an argument error, not damage).

    """
    expected = None if expected_head is None else _expected(expected_head)
    return _Audit(Path(path), expected).run()


class _Failure(Exception):  # noqa: N818  (internal control flow, never escapes verify)
    def __init__(self, seq: int | None, reason: str) -> None:
        super().__init__(reason)
        self.seq = seq
        self.reason = reason


class _Audit:
    """One pass over one file; each check raises ``_Failure`` and ``run`` turns it into the report."""

    def __init__(self, path: Path, expected: Head | None) -> None:
        self.path = path
        self.expected = expected
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
        problems = [row[0] for row in connection.execute("PRAGMA integrity_check(5)")]
        if problems != ["ok"]:
            raise _Failure(None, f"SQLite integrity_check fails: {'; '.join(problems)}")
        audit = audit_format(connection)
        self.warnings.extend(audit.warnings)
        if audit.problem is not None:
            raise _Failure(None, audit.problem)
        meta = audit.meta
        ledger = connection.execute(_LEDGER)
        snapshots = connection.execute(_SNAPSHOTS)
        pending = ledger.fetchone()
        snapshot = snapshots.fetchone()
        watched = {head.seq for head in (self.expected, self.receipt) if head is not None}
        for row in connection.execute(_EVENTS):
            event = self._check_event(row)
            if event.seq == 1 and meta.get("arena_id") != getattr(event, "arena_id", None):
                raise _Failure(
                    1, f"meta.arena_id is {meta.get('arena_id')!r}, but ArenaOpened says otherwise"
                )
            pending, legs = self._check_postings(event, row[4], pending, ledger)
            self._apply(event, row[5], legs)
            while snapshot is not None and snapshot[1] <= event.seq:
                self._check_snapshot(snapshot, event.seq, (row[4], row[7]))
                snapshot = snapshots.fetchone()
            self.head = Head(event.seq, row[7])
            if event.seq in watched:
                self.hash_at[event.seq] = row[7]
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
        if self.events_checked == 0 and "arena_id" in meta:
            raise _Failure(None, f"meta.arena_id is {meta['arena_id']!r} but the log is empty")
        self._check_heads(meta.get("arena_id"))

    def _check_event(self, row: tuple[Any, ...]) -> AnyEvent:
        seq, event_id, event_type, agent_id, timestamp, data, caused_by, digest, cause_seq = row
        expected_seq = self.head.seq + 1
        self.at = expected_seq
        if seq != expected_seq:
            raise _Failure(
                expected_seq, f"seq {expected_seq} is missing (the next stored seq is {seq}): a deleted row"
            )
        recomputed = chain_hash(self.head.hash, data)
        if recomputed != digest:
            raise _Failure(
                seq,
                f"hash chain breaks: stored {digest[:16]}..., recomputed {recomputed[:16]}... from the "
                "previous hash and this row's data: the data or hash was edited, or rows were reordered "
                "or inserted",
            )
        try:
            event = parse_event(data)
        except EventSourcingError as e:
            raise _Failure(seq, f"data does not decode: {e}") from None
        if canonical_json(event) != data:
            raise _Failure(seq, "data is not the canonical JSON of the event it decodes to")
        cause = None if event.caused_by is None else str(event.caused_by)
        columns = {
            "seq": (seq, event.seq),
            "event_id": (event_id, str(event.event_id)),
            "event_type": (event_type, event.event_type),
            "agent_id": (agent_id, event.agent_id),
            "timestamp": (timestamp, format_timestamp(event.timestamp)),
            "caused_by": (caused_by, cause),
        }
        for name, (stored, decoded) in columns.items():
            if stored != decoded:
                raise _Failure(seq, f"column {name} is {stored!r} but data says {decoded!r}")
        if cause is not None and (cause_seq is None or cause_seq >= seq):
            where = "no stored event" if cause_seq is None else f"the later event at seq {cause_seq}"
            raise _Failure(seq, f"caused_by {cause} names {where}; a cause must be an earlier event")
        return event

    def _check_postings(
        self, event: AnyEvent, timestamp: str, pending: tuple[Any, ...] | None, ledger: sqlite3.Cursor
    ) -> tuple[tuple[Any, ...] | None, list[Posting]]:
        seq = event.seq
        rows: list[tuple[Any, ...]] = []
        while pending is not None and pending[1] == seq:
            rows.append(pending)
            pending = ledger.fetchone()
        if pending is not None and pending[1] < seq:
            raise _Failure(
                pending[1],
                f"ledger row entry_id {pending[0]} of seq {pending[1]} comes after the rows of seq {seq}: "
                "an inserted or reordered row",
            )
        legs = postings(event)
        amounts = [to_minor(leg.amount) for leg in legs]
        _check_balanced(seq, legs, amounts)
        if len(rows) != len(legs):
            raise _Failure(
                seq,
                f"{len(rows)} ledger rows, but the event posts {len(legs)}: a ledger row was deleted, "
                "inserted or moved",
            )
        identity = (str(event.event_id), timestamp, event.event_type)
        for row, leg, posted in zip(rows, legs, amounts, strict=True):
            self._check_entry(seq, row, (leg, posted), identity)
        return pending, legs

    def _check_entry(
        self, seq: int, row: tuple[Any, ...], posting: tuple[Posting, int], identity: tuple[str, ...]
    ) -> None:
        entry_id, _, event_id, timestamp, account, agent_id, symbol, unit, operation, amount, after = row
        leg, posted = posting
        if (account, amount) != (leg.account, posted):
            raise _Failure(
                seq,
                f"ledger row entry_id {entry_id} posts {amount} to {account!r}, but the event posts "
                f"{posted} to {leg.account!r} (minor units of 1e-{MONEY_SCALE})",
            )
        if (agent_id, symbol, unit) != (leg.agent_id, leg.symbol, leg.unit):
            raise _Failure(
                seq,
                f"ledger row entry_id {entry_id}: agent_id, symbol and unit are {(agent_id, symbol, unit)}, "
                f"the posting's are {(leg.agent_id, leg.symbol, leg.unit)}",
            )
        if (event_id, timestamp, operation) != identity:
            raise _Failure(
                seq, f"ledger row entry_id {entry_id}: event_id, timestamp or operation differ from the event"
            )
        balance = self.balances.get(account, 0) + amount
        if after != balance:
            raise _Failure(
                seq,
                f"ledger row entry_id {entry_id}: balance_after is {after}, the running balance {balance}",
            )
        if balance < 0 and not is_mirror(account):
            raise _Failure(seq, f"account {account!r} goes negative ({balance} minor units)")
        self.balances[account] = balance
        if leg.agent_id is not None:
            self.accounts_of.setdefault(leg.agent_id, set()).add(account)
        if unit == "money":
            kind = account if leg.agent_id is None else (_CASH if leg.symbol is None else _POSITIONS)
            self.money[kind] += amount
        elif leg.agent_id is not None:
            self.held[symbol] = self.held.get(symbol, 0) + amount
        self.ledger_checked += 1

    def _apply(self, event: AnyEvent, data: str, legs: list[Posting]) -> None:
        fold = self.fold
        try:
            fold.apply(event, data=data)
        except EventSourcingError as e:
            raise _Failure(event.seq, f"the event contradicts the log before it: {e}") from None
        named = {leg.agent_id for leg in legs if leg.agent_id is not None}
        if event.agent_id is not None:
            named.add(event.agent_id)
        for agent_id in sorted(named):
            self._check_agent(event.seq, agent_id)
        for symbol in sorted({leg.symbol for leg in legs if leg.unit == "quantity" and leg.symbol}):
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
        folded: dict[str, Decimal] = {}
        if record is not None:
            folded[agent_account(agent_id)] = record.allocation
            for symbol, cost in record.cost_basis.items():
                folded[position_account(agent_id, symbol)] = cost
            for symbol, quantity in record.positions.items():
                folded[units_account(agent_id, symbol)] = quantity
        expected = {account: to_minor(amount) for account, amount in folded.items()}
        for account in sorted(self.accounts_of.get(agent_id, set()) | set(expected)):
            found, wanted = self.balances.get(account, 0), expected.get(account, 0)
            if found != wanted:
                raise _Failure(
                    seq, f"ledger balance of {account!r} is {found}, the fold says {wanted} (minor units)"
                )

    def _check_value(self, event: AnyEvent) -> None:
        """Check the identities that make the ledger the books of value (see the module docstring)."""
        # The whole ledger sums to zero by induction: each event's legs balance (``_check_balanced``) and
        # its rows are exactly those legs, so capital at cost is -(external + pnl + fees) without a check.
        seq, fold, money = event.seq, self.fold, self.money
        funding, realized, fees = (
            to_minor(fold.funding),
            to_minor(fold.realized_pnl),
            to_minor(fold.fees_paid),
        )
        for account, found, wanted, what in (
            (TREASURY, money[TREASURY], to_minor(fold.treasury), "the fold's treasury"),
            (EXTERNAL, money[EXTERNAL], -funding, "minus the funding"),
            (PNL, money[PNL], -realized, "minus the realized P&L"),
            (FEES, money[FEES], fees, "the fees paid"),
        ):
            if found != wanted:
                raise _Failure(
                    seq, f"ledger balance of {account!r} is {found}, {what} is {wanted} (minor units)"
                )
        at_cost = money[TREASURY] + money[_CASH] + money[_POSITIONS]
        total_capital = to_minor(fold.total_capital)
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
        if digest != snapshot_digest(head_hash, data):
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


def _check_balanced(seq: int, legs: list[Posting], amounts: list[int]) -> None:
    """Money legs sum to zero, and so do the quantity legs of each symbol (else ``events`` has a bug)."""
    sums: dict[str | None, int] = {}
    for leg, amount in zip(legs, amounts, strict=True):
        key = leg.symbol if leg.unit == "quantity" else None
        sums[key] = sums.get(key, 0) + amount
    unbalanced = {key: total for key, total in sums.items() if total}
    if unbalanced:
        what = ", ".join(
            f"money by {total}" if key is None else f"{key!r} by {total} units"
            for key, total in unbalanced.items()
        )
        raise _Failure(seq, f"postings(event) do not balance ({what}, minor units): a bug in events.postings")


def _differences(stored: ArenaState, state: ArenaState) -> list[str]:
    names = [name for name in type(state).model_fields if getattr(stored, name) != getattr(state, name)]
    if "agents" in names:
        agents = sorted(set(stored.agents) ^ set(state.agents)) or [
            key for key in state.agents if stored.agents[key] != state.agents[key]
        ]
        names[names.index("agents")] = f"agents {agents[:5]}"
    return names


def _expected(head: tuple[int, str]) -> Head:
    try:
        seq, digest = head
    except (TypeError, ValueError):
        seq, digest = None, None
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0 or not isinstance(digest, str):
        msg = f"expected_head: {head!r} is not a (seq, hash) pair; pass store.head() or (int >= 0, hex str)"
        raise ValidationError(msg, field="expected_head", value=head)
    return Head(seq, digest)
