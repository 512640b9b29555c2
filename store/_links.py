r"""The checks of ``verify`` that each event passes on its own, and a worker that runs them over a range.

Each link of the chain is independent once the stored hashes are read: ``sha256(stored hash of n-1 + "\n"
+ data of n) == stored hash of n`` needs nothing but the two rows. So are decoding an event, checking its
canonical form, its postings against its ledger rows and their accounts. ``verify(path, workers=N)``
hands these checks, range by range, to other processes (``check_range``), while its own process does what
depends on everything before (running balances, the fold, the identities, the snapshots). Both report
their first failure, and the earlier seq wins: the file fails where a single pass would have failed.
"""

from __future__ import annotations

import decimal
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from events import (
    MONEY_SCALE,
    EventSourcingError,
    canonical_json,
    chain_hash,
    ledger_legs,
    parse_event,
)

from ._readonly import open_reader

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from decimal import Decimal

    from events import AnyEvent, Leg

__all__ = [
    "Failure",
    "check_integrity",
    "check_legs",
    "check_range",
    "decode_checked",
    "integrity_problems",
    "ledger_rows",
    "minor",
]

_RANGE_EVENTS: Final = "SELECT seq, data, hash FROM events WHERE seq BETWEEN ? AND ? ORDER BY seq"
_LEDGER: Final = "SELECT entry_id, seq, account_id, amount, balance_after FROM capital_ledger"
_ACCOUNT_ROWS: Final = "SELECT account_id, account, agent_id, symbol, unit FROM accounts"
_NO_ACCOUNT: Final = (None, None, None, None)
"""What a ledger row's account columns read as when its ``account_id`` names no account (a LEFT JOIN's)."""
_HASH_AT: Final = "SELECT hash FROM events WHERE seq = ?"
_MINOR: dict[int, tuple[Decimal, int]] = {}
_MINOR_KEPT: Final = 1 << 16
"""Amounts converted by ``minor``, by identity: an entry holds its Decimal, so the id stays its own."""
_MINOR_CONTEXT: Final = decimal.Context(prec=40, rounding=decimal.ROUND_HALF_EVEN)
"""``to_minor``'s context, passed positionally: ``scaleb(n, context=c)`` costs several times more."""


def minor(amount: Decimal) -> int:
    """Return ``to_minor(amount)``, remembered for this very object.

    The audit converts every figure of the fold it compares, about a dozen an event, and most are the
    same objects as at the event before (a treasury a fill does not touch, the funding). An identity
    probe costs a tenth of ``to_minor``; hashing a Decimal by value would cost half of it.
    """
    entry = _MINOR.get(id(amount))
    if entry is not None and entry[0] is amount:
        return entry[1]
    if len(_MINOR) >= _MINOR_KEPT:
        _MINOR.clear()
    units = int(amount.scaleb(MONEY_SCALE, _MINOR_CONTEXT))  # exactly to_minor(amount)
    _MINOR[id(amount)] = (amount, units)
    return units


class Failure(Exception):  # noqa: N818  (internal control flow, never escapes verify)
    """The first check a file fails: where (a seq, or None for the file as a whole) and why."""

    def __init__(self, seq: int | None, reason: str) -> None:
        super().__init__(reason)
        self.seq = seq
        self.reason = reason


def decode_checked(seq: int, data: str, stored_hash: bytes, previous: str | None) -> AnyEvent:
    """Return the event a row holds, checking its link to ``previous`` and its canonical form.

    With ``previous=None`` only decoding and the seq are checked (another process checks the link and
    the form).

    Raises:
        Failure: the chain breaks here, ``data`` does not decode or is not canonical, or says another seq.

    """
    if previous is not None:
        recomputed = chain_hash(previous, data)
        digest = stored_hash.hex()
        if recomputed != digest:
            raise Failure(
                seq,
                f"hash chain breaks: stored {digest[:16]}..., recomputed {recomputed[:16]}... from the "
                "previous hash and this row's data: the data or hash was edited, or rows were reordered "
                "or inserted",
            )
    try:
        event = parse_event(data)
    except EventSourcingError as e:
        raise Failure(seq, f"data does not decode: {e}") from None
    if previous is not None and canonical_json(event) != data:
        raise Failure(seq, "data is not the canonical JSON of the event it decodes to")
    # The other columns are generated from data, so only seq can disagree with it.
    if event.seq != seq:
        raise Failure(seq, f"column seq is {seq!r} but data says {event.seq!r}")
    return event


def check_legs(event: AnyEvent, rows: Sequence[tuple[Any, ...]]) -> list[Leg]:
    """Check that ``rows`` (ledger rows joined with their accounts) are exactly the event's postings.

    The postings come as ``events.ledger_legs`` (amounts in minor units), so a row that matches is one
    tuple comparison; only a mismatch is taken apart to say what differs.

    Raises:
        Failure: the postings do not balance (a bug in ``events``), or a row is missing, extra, or posts
            another amount, to another account, agent, symbol or unit.

    """
    seq = event.seq
    legs = ledger_legs(event)
    if legs:
        _check_balanced(seq, legs)
    if len(rows) != len(legs):
        raise Failure(
            seq,
            f"{len(rows)} ledger rows, but the event posts {len(legs)}: a ledger row was deleted, "
            "inserted or moved",
        )
    for row, leg in zip(rows, legs, strict=True):
        entry_id, _, account, agent_id, symbol, unit, amount, _ = row
        if (account, amount, agent_id, symbol, unit) == leg:
            continue
        leg_account, posted, leg_agent, leg_symbol, leg_unit = leg
        if (account, amount) != (leg_account, posted):
            raise Failure(
                seq,
                f"ledger row entry_id {entry_id} posts {amount} to {account!r}, but the event posts "
                f"{posted} to {leg_account!r} (minor units of 1e-{MONEY_SCALE})",
            )
        raise Failure(
            seq,
            f"ledger row entry_id {entry_id}: agent_id, symbol and unit are {(agent_id, symbol, unit)}, "
            f"the posting's are {(leg_agent, leg_symbol, leg_unit)}",
        )
    return legs


def check_range(path: str, first: int, last: int) -> tuple[int, str] | None:
    """Check the links, forms and postings of the events ``first..last``; return the first failure.

    The worker of ``verify(path, workers=N)``: it opens its own reader, so it runs in another process.
    Gaps are reported too (as the single pass words them), so a range never checks across one.
    """
    opened = open_reader(Path(path))
    try:
        connection = opened.connection
        connection.execute("BEGIN")
        previous = "0" * 64
        if first > 1:
            row = connection.execute(_HASH_AT, (first - 1,)).fetchone()
            if row is None:
                return None  # the main pass reports the gap before this range
            previous = bytes(row[0]).hex()
        ledger = ledger_rows(connection, first, last)
        pending = next(ledger, None)
        expected = first
        for seq, data, stored_hash in connection.execute(_RANGE_EVENTS, (first, last)):
            if seq != expected:
                return expected, f"seq {expected} is missing (the next stored seq is {seq}): a deleted row"
            event = decode_checked(seq, data, stored_hash, previous)
            rows = []
            while pending is not None and pending[1] == seq:
                rows.append(pending)
                pending = next(ledger, None)
            if pending is not None and pending[1] < seq:
                return None  # a reordered row: the main pass, which reads the ledger in order, reports it
            check_legs(event, rows)
            previous = stored_hash.hex()
            expected += 1
    except Failure as failure:
        return (first if failure.seq is None else failure.seq), failure.reason
    except sqlite3.Error as e:
        name = getattr(e, "sqlite_errorname", None) or type(e).__name__
        return first, f"SQLite cannot read the file ({name}: {e})"
    finally:
        opened.close()
    return None


def ledger_rows(
    connection: sqlite3.Connection, first: int | None = None, last: int | None = None
) -> Iterator[tuple[Any, ...]]:
    """Yield the ledger rows (of seqs ``first..last``, or all) in entry order, joined with their accounts.

    ``(entry_id, seq, account, agent_id, symbol, unit, amount, balance_after)``, the account's columns
    None when its ``account_id`` names no account. The join is made here from the accounts read once,
    not by SQLite, so every row of an account shares one name object: the audit looks balances up by it,
    and its hash is computed once.
    """
    accounts = {row[0]: row[1:] for row in connection.execute(_ACCOUNT_ROWS)}
    account = accounts.get
    if first is None or last is None:
        rows = connection.execute(_LEDGER + " ORDER BY entry_id")
    else:
        rows = connection.execute(_LEDGER + " WHERE seq BETWEEN ? AND ? ORDER BY entry_id", (first, last))
    for entry_id, seq, account_id, amount, after in rows:
        yield (entry_id, seq, *account(account_id, _NO_ACCOUNT), amount, after)


def integrity_problems(connection: sqlite3.Connection) -> list[str]:
    """Return SQLite's ``integrity_check`` of the file (its first 5 problems), ``["ok"]`` when sound."""
    return [row[0] for row in connection.execute("PRAGMA integrity_check(5)")]


def check_integrity(path: str) -> list[str]:
    """Return ``integrity_problems`` of the file at ``path`` through a reader of its own (a worker's job).

    A file SQLite cannot read at all fails the check with SQLite's words.
    """
    try:
        opened = open_reader(Path(path))
    except sqlite3.Error as e:
        return [f"{type(e).__name__}: {e}"]
    try:
        opened.connection.execute("BEGIN")
        return integrity_problems(opened.connection)
    except sqlite3.Error as e:
        return [f"{type(e).__name__}: {e}"]
    finally:
        opened.close()


def _check_balanced(seq: int, legs: list[Leg]) -> None:
    """Money legs sum to zero, and so do the quantity legs of each symbol (else ``events`` has a bug)."""
    sums: dict[str | None, int] = {}
    for _, amount, _, symbol, unit in legs:
        key = symbol if unit == "quantity" else None
        sums[key] = sums.get(key, 0) + amount
    if not any(sums.values()):
        return
    unbalanced = {key: total for key, total in sums.items() if total}
    what = ", ".join(
        f"money by {total}" if key is None else f"{key!r} by {total} units"
        for key, total in unbalanced.items()
    )
    raise Failure(seq, f"postings(event) do not balance ({what}, minor units): a bug in events.postings")
