"""``verify``: audit a store file from the file alone, and report the first seq where it stops adding up.

It trusts nothing the writer kept in memory and nothing but the file: SQLite's own integrity check, the
meta table, then one pass over the log in seq order that re-derives everything derivable (the hash
chain, the decoded events, the postings, the running balances, the fold and every snapshot) and compares
it with what is stored. A damaged file is the expected input here, so every failure is reported, never
raised. What a self-consistent rewrite cannot reveal (a log cut at its end, or rebuilt wholesale) is
caught by comparing with a head recorded elsewhere: ``verify(path, expected_head=(seq, hash))``.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from events import (
    EXTERNAL,
    GENESIS_HASH,
    MONEY_SCALE,
    TREASURY,
    EventSourcingError,
    Fold,
    ValidationError,
    account_agent,
    canonical_json,
    chain_hash,
    format_timestamp,
    parse_event,
    postings,
    to_minor,
)

from ._head import Head
from ._report import VerificationReport
from ._rows import parse_snapshot, snapshot_row
from ._schema import audit_format

if TYPE_CHECKING:
    import os
    from decimal import Decimal

    from events import AnyEvent, ArenaState

__all__ = ["verify"]

_EVENTS: Final = """
    SELECT e.seq, e.event_id, e.event_type, e.agent_id, e.timestamp, e.data, e.caused_by, e.hash, c.seq
    FROM events AS e LEFT JOIN events AS c ON c.event_id = e.caused_by
    ORDER BY e.seq
"""
_LEDGER: Final = (
    "SELECT entry_id, seq, event_id, timestamp, account, agent_id, operation, amount, balance_after "
    "FROM capital_ledger ORDER BY entry_id"
)
_SNAPSHOTS: Final = (
    "SELECT snapshot_id, seq, timestamp, total_capital, allocated_capital, free_capital, active_agents, "
    "proving_agents, simulation_agents, data FROM arena_state ORDER BY seq, snapshot_id"
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
        path: The store file. It is opened read-only (``mode=ro``) and never changed.
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
        self.hash_at_expected: str | None = None
        self.fold = Fold()
        self.balances: dict[str, int] = {}
        self.internal_total = 0

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
        connection = sqlite3.connect(
            f"{self.path.absolute().as_uri()}?mode=ro", uri=True, isolation_level=None
        )
        try:
            connection.execute("BEGIN")  # one read snapshot, even while a writer appends
            self._audit(connection)
        finally:
            connection.close()

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
        for row in connection.execute(_EVENTS):
            event = self._check_event(row)
            if event.seq == 1 and meta.get("arena_id") != getattr(event, "arena_id", None):
                raise _Failure(
                    1, f"meta.arena_id is {meta.get('arena_id')!r}, but ArenaOpened says otherwise"
                )
            pending = self._check_postings(event, row[4], pending, ledger)
            self._apply(event, row[5])
            while snapshot is not None and snapshot[1] <= event.seq:
                self._check_snapshot(snapshot, event.seq, row[4])
                snapshot = snapshots.fetchone()
            self.head = Head(event.seq, row[7])
            if self.expected is not None and event.seq == self.expected.seq:
                self.hash_at_expected = row[7]
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
        self._check_expected_head()

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
    ) -> tuple[Any, ...] | None:
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
        expected = [(posting.account, to_minor(posting.amount)) for posting in postings(event)]
        if sum(amount for _, amount in expected) != 0:
            raise _Failure(seq, f"postings(event) {expected} do not sum to zero: a bug in events.postings")
        if len(rows) != len(expected):
            raise _Failure(
                seq,
                f"{len(rows)} ledger rows, but the event posts {len(expected)}: a ledger row was deleted, "
                "inserted or moved",
            )
        identity = (str(event.event_id), timestamp, event.agent_id, event.event_type)
        for row, posting in zip(rows, expected, strict=True):
            self._check_entry(seq, row, posting, identity)
        return pending

    def _check_entry(
        self, seq: int, row: tuple[Any, ...], posting: tuple[str, int], identity: tuple[object, ...]
    ) -> None:
        entry_id, _, event_id, timestamp, account, agent_id, operation, amount, after = row
        if (account, amount) != posting:
            raise _Failure(
                seq,
                f"ledger row entry_id {entry_id} posts {amount} to {account!r}, but the event posts "
                f"{posting[1]} to {posting[0]!r} (minor units of 1e-{MONEY_SCALE})",
            )
        if (event_id, timestamp, agent_id, operation) != identity:
            raise _Failure(
                seq,
                f"ledger row entry_id {entry_id}: event_id, timestamp, agent_id or operation differ from "
                "the event",
            )
        balance = self.balances.get(account, 0) + amount
        if after != balance:
            raise _Failure(
                seq,
                f"ledger row entry_id {entry_id}: balance_after is {after}, the running balance {balance}",
            )
        if balance < 0 and account != EXTERNAL:
            raise _Failure(seq, f"account {account!r} goes negative ({balance} minor units)")
        self.balances[account] = balance
        if account != EXTERNAL:
            self.internal_total += amount
        self.ledger_checked += 1

    def _apply(self, event: AnyEvent, data: str) -> None:
        fold = self.fold
        try:
            fold.apply(event, data=data)
        except EventSourcingError as e:
            raise _Failure(event.seq, f"the event contradicts the log before it: {e}") from None
        for posting in postings(event):
            account = posting.account
            agent_id = account_agent(account)
            folded: Decimal | None
            if account == TREASURY:
                folded = fold.treasury
            elif account == EXTERNAL:
                folded = -fold.total_capital
            else:
                record = fold.agent(agent_id or "")
                folded = record.allocation if record is not None else None
            if folded is None or to_minor(folded) != self.balances[account]:
                raise _Failure(
                    event.seq,
                    f"ledger balance of {account!r} is {self.balances[account]}, the fold says "
                    f"{folded if folded is None else to_minor(folded)} (minor units)",
                )
        total = to_minor(fold.total_capital)
        if self.internal_total != total or self.balances.get(EXTERNAL, 0) != -total:
            raise _Failure(
                event.seq,
                f"conservation fails: treasury + agent accounts = {self.internal_total}, external = "
                f"{self.balances.get(EXTERNAL, 0)}, total capital = {total} (minor units)",
            )

    def _check_snapshot(self, row: tuple[Any, ...], seq: int, timestamp: str) -> None:
        snapshot_id, snapshot_seq, data = row[0], row[1], row[9]
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
        self.snapshots_checked += 1

    def _check_expected_head(self) -> None:
        expected = self.expected
        if expected is None or expected.seq == 0:
            return
        if self.head.seq < expected.seq:
            raise _Failure(
                self.head.seq + 1,
                f"truncated: the log ends at seq {self.head.seq}, but the recorded head is seq "
                f"{expected.seq}; {expected.seq - self.head.seq} events were cut off the end",
            )
        if self.hash_at_expected != expected.hash:
            raise _Failure(
                expected.seq,
                f"diverged: the hash at seq {expected.seq} is {self.hash_at_expected}, but the recorded head "
                f"says {expected.hash}; the log was rewritten at or before seq {expected.seq}",
            )


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
