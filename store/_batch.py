"""Turning a batch of events into rows, and refusing a batch that would break the log, before any I/O.

This is the writer's hot path (batches of up to 1000 events), so it runs on what the store keeps in
memory: the head and every account's balance. Only the ``caused_by`` ids that point outside the batch
need the database, and the store checks them with one query per batch.

Balances are kept in one dict keyed by account, money and quantity alike: account names are unique across
units (``units:`` and ``market:`` accounts count quantities, every other account money), and a posting
row says its unit. An account may go below zero only if it is a mirror (``events.is_mirror``: ``external``,
``pnl``, ``market:<symbol>``), which holds the other side of the books; the question is asked only of a
balance that went negative, so the common case costs one comparison.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Never

from events import (
    EventSourcingError,
    canonical_json,
    chain_hash,
    format_money,
    format_timestamp,
    from_minor,
    is_mirror,
    ledger_legs,
)

from ._head import Head
from ._rows import account_row, event_row, snapshot_row

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from events import ArenaState, Event

    from ._rows import AccountRow, EventRow, PostingRow, SnapshotRow

__all__ = ["Batch", "encode_batch", "encode_snapshot"]


@dataclass(frozen=True, slots=True)
class Batch:
    """The rows of one append and what the store's memory becomes once they are committed."""

    event_rows: list[EventRow]
    ledger_rows: list[PostingRow]
    account_rows: list[AccountRow]
    """Accounts first posted to by this batch, numbered after the store's last one."""
    balances: dict[str, int]
    """Balance after the batch of every account it touched, in minor units of the account's unit."""
    causes: dict[str, int]
    """``caused_by`` ids not earlier in the batch -> the first seq naming each; the store must hold them."""
    events: Sequence[Event]
    """The batch's events, in seq order (to word a refusal: their ids and types)."""
    head: Head
    timestamp: str | None
    """Timestamp text of the batch's last event (None for an empty batch)."""
    arena_id: str | None
    """The arena id when the batch opens the arena (its first event is ``ArenaOpened``)."""


def encode_batch(  # noqa: C901, PLR0912, PLR0915  (one pass that checks and builds everything, for speed)
    events: Sequence[Event],
    encoded: Sequence[str] | None,
    head: Head,
    balances: Mapping[str, int],
    accounts: Mapping[str, int],
    *,
    hashes: Sequence[str] | None = None,
) -> Batch:
    """Return the rows for appending ``events`` after ``head``, or raise and leave everything untouched.

    ``encoded`` is each event's canonical JSON when the caller already has it (the supervisor's fold
    returns it), which saves the most expensive step here. ``hashes`` (only with ``encoded``) is each
    event's chain hash as the caller's fold computed it: then only the link to ``head`` is recomputed
    (the first event's hash from the head and its data), not the chain through the batch. ``accounts``
    maps every stored account to its ``account_id``.

    Raises:
        EventSourcingError: a seq is not the next one, an event id repeats, ``ArenaOpened`` is not the
            event at seq 1, a posting would take an account that is not a mirror below zero (cash,
            the treasury, a position at cost, a holding of units, the fees), or the first of ``hashes``
            does not follow ``head``.

    """
    count = len(events)
    for name, given in (("encoded texts", encoded), ("hashes", hashes)):
        if given is not None and len(given) != count:
            msg = (
                f"append: {len(given)} {name} for {count} events; pass one per event, in the same order, "
                "or omit them"
            )
            raise EventSourcingError(msg, last_durable_seq=head.seq)
    if hashes is not None and encoded is None:
        msg = "append: hashes without encoded texts; pass the canonical JSON the hashes cover, or omit hashes"
        raise EventSourcingError(msg, last_durable_seq=head.seq)
    if (
        hashes is not None
        and encoded is not None
        and count
        and chain_hash(head.hash, encoded[0]) != hashes[0]
    ):
        _refuse(
            events[0],
            head,
            "hash",
            f"its hash {hashes[0][:12]}... does not follow the store's head {head.hash[:12]}... at seq "
            f"{head.seq}: the caller's fold is of another log",
        )
    seq, digest = head
    ids: set[int] = set()
    causes: dict[str, int] = {}
    touched: dict[str, int] = {}
    new_accounts: dict[str, int] = {}
    next_account = len(accounts) + 1
    event_rows: list[EventRow] = []
    ledger_rows: list[PostingRow] = []
    account_rows: list[AccountRow] = []
    arena_id: str | None = None
    timestamp: str | None = None
    # Bound once: four legs an event on average, each looked up in three dicts and appended to a list.
    touched_balance, stored_balance, stored_account = touched.get, balances.get, accounts.get
    add_row = ledger_rows.append
    for index, event in enumerate(events):
        seq += 1
        if event.seq != seq:
            _refuse_seq(event, index, seq, head)
        data = canonical_json(event) if encoded is None else encoded[index]
        digest = chain_hash(digest, data) if hashes is None else hashes[index]
        event_rows.append(event_row(seq, data, digest))
        event_id = event.event_id.int  # the UUID's number: UUID.__hash__ is Python code, this is a slot
        cause = event.caused_by
        if event_id in ids:
            _refuse(
                event, head, "event_id", f"repeats event_id {event.event_id} of an earlier event of the batch"
            )
        if cause is not None and cause.int not in ids:
            causes.setdefault(str(cause), seq)
        ids.add(event_id)
        event_type = event.event_type
        if (event_type == "ArenaOpened") != (seq == 1):
            _refuse(event, head, "event_type", "a log starts with ArenaOpened at seq 1 and has no other")
        if seq == 1:
            arena_id = getattr(event, "arena_id", None)
        for leg in ledger_legs(event):
            account, amount = leg[0], leg[1]
            balance = touched_balance(account)
            balance = (stored_balance(account, 0) if balance is None else balance) + amount
            if balance < 0 and not is_mirror(account):
                _refuse_overdraft(event, head, account, balance - amount, amount)
            touched[account] = balance
            account_id = stored_account(account) or new_accounts.get(account)
            if account_id is None:
                account_id = new_accounts[account] = next_account
                account_rows.append(account_row(account_id, leg))
                next_account += 1
            add_row((seq, account_id, amount, balance))
    if count:
        timestamp = format_timestamp(events[-1].timestamp)
    return Batch(
        event_rows,
        ledger_rows,
        account_rows,
        touched,
        causes,
        events,
        Head(seq, digest),
        timestamp,
        arena_id,
    )


def encode_snapshot(
    snapshot: ArenaState, head: Head, timestamp: str | None, arena_id: str | None
) -> SnapshotRow:
    """Return the ``arena_state`` row of ``snapshot``, refusing one that is not the state at ``head``.

    Only seq and hash are compared: the hash covers every event, so a state with the right ``head_hash``
    was folded from exactly this log (a full comparison would cost a fold, which ``verify`` does).

    Raises:
        EventSourcingError: the snapshot is for another seq, another chain or another arena.

    """
    if head.seq == 0 or timestamp is None:
        _refuse_snapshot(snapshot, "the store holds no events yet, so there is no state to snapshot")
    if snapshot.seq != head.seq:
        _refuse_snapshot(
            snapshot, f"it is the state at seq {snapshot.seq}, expected the state at seq {head.seq}"
        )
    if snapshot.head_hash != head.hash:
        _refuse_snapshot(
            snapshot,
            f"its head_hash {snapshot.head_hash[:12]}... differs from the log's {head.hash[:12]}... at seq "
            f"{head.seq}: it was folded from another log",
        )
    if snapshot.arena_id != arena_id:
        _refuse_snapshot(snapshot, f"it is a state of arena {snapshot.arena_id!r}, not of {arena_id!r}")
    return snapshot_row(snapshot, timestamp)


def _refuse_snapshot(snapshot: ArenaState, problem: str) -> Never:
    msg = (
        f"append: snapshot refused: {problem}; pass the state folded through the batch's last event, "
        "or no snapshot; nothing was written"
    )
    raise EventSourcingError(msg, seq=snapshot.seq, field="snapshot")


def _refuse_seq(event: Event, index: int, expected: int, head: Head) -> Never:
    if index == 0:
        problem = (
            f"the store's head is seq {head.seq}, so a batch must start at seq {expected}, not {event.seq}"
        )
    else:
        problem = f"follows seq {expected - 1} of the batch, so its seq must be {expected}: no gaps, in order"
    _refuse(event, head, "seq", problem)


def _refuse_overdraft(event: Event, head: Head, account: str, balance: int, amount: int) -> Never:
    problem = (
        f"would take account {account!r} to {format_money(from_minor(balance + amount))} (balance "
        f"{format_money(from_minor(balance))}, posting {format_money(from_minor(amount))}); only the "
        "mirror accounts (external, pnl, market:<symbol>) may go below zero"
    )
    _refuse(event, head, "amount", problem)


def _refuse(event: Event, head: Head, field: str, problem: str) -> Never:
    msg = (
        f"append: event seq {event.seq} ({event.event_type}): {problem}; nothing of the batch was written, "
        f"the log still ends at seq {head.seq}"
    )
    raise EventSourcingError(
        msg, seq=event.seq, event_type=event.event_type, field=field, last_durable_seq=head.seq
    )
