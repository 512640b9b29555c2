"""The SQL rows of the format: how events, postings and snapshots are written, and how snapshots are read.

The store, the verifier and the benchmark's raw baseline all build rows here, so they cannot drift apart.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Final

from events import ArenaState, EventSourcingError, Tier, chain_hash, to_minor

if TYPE_CHECKING:
    from events import Leg

__all__ = [
    "INSERT_ACCOUNT",
    "INSERT_EVENT",
    "INSERT_POSTING",
    "INSERT_SNAPSHOT",
    "AccountRow",
    "EventRow",
    "PostingRow",
    "SnapshotRow",
    "account_row",
    "event_row",
    "parse_snapshot",
    "snapshot_digest",
    "snapshot_json",
    "snapshot_row",
]

INSERT_EVENT: Final = "INSERT INTO events (seq, data, hash) VALUES (?, ?, ?)"
"""Only what is stored: the other columns of ``events`` are generated from ``data``."""
INSERT_ACCOUNT: Final = (
    "INSERT INTO accounts (account_id, account, agent_id, symbol, unit) VALUES (?, ?, ?, ?, ?)"
)
INSERT_POSTING: Final = (
    "INSERT INTO capital_ledger (seq, account_id, amount, balance_after) VALUES (?, ?, ?, ?)"
)
INSERT_SNAPSHOT: Final = (
    "INSERT INTO arena_state (seq, timestamp, total_capital, allocated_capital, free_capital, "
    "active_agents, proving_agents, simulation_agents, data, digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)

EventRow = tuple[int, str, bytes]
"""``(seq, data, hash)``: the canonical JSON and the chain hash after it, as 32 bytes."""
AccountRow = tuple[int, str, str | None, str | None, str]
"""``(account_id, account, agent_id, symbol, unit)``: an account, numbered in order of its first posting."""
PostingRow = tuple[int, int, int, int]
"""``(seq, account_id, amount, balance_after)``: amounts in minor units of money or of quantity, as the
account's ``unit`` says; ``entry_id`` numbers the rows."""
SnapshotRow = tuple[int, str, int, int, int, int, int, int, str, bytes]
"""``(seq, timestamp, total, allocated, free, active, proving, simulation, data, digest)``."""


def event_row(seq: int, data: str, digest: str) -> EventRow:
    """Return the ``events`` row of the event at ``seq``: ``data`` its canonical JSON, ``digest`` its hash."""
    return (seq, data, bytes.fromhex(digest))


def account_row(account_id: int, leg: Leg) -> AccountRow:
    """Return the ``accounts`` row of the account that ``leg`` (of ``events.ledger_legs``) first posts to."""
    account, _, agent_id, symbol, unit = leg
    return (account_id, account, agent_id, symbol, unit)


def snapshot_json(state: ArenaState) -> str:
    """Return the canonical JSON of a state: sorted keys, no whitespace, amounts as fixed-scale strings.

    Canonical so that two stores with the same log hold byte-identical snapshots.
    """
    return json.dumps(
        state.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


def snapshot_digest(head_hash: str, data: str) -> str:
    r"""Return a snapshot's ``digest``: one step of the hash chain, from the head it follows over its data.

    ``sha256(head_hash + "\n" + data)`` in lowercase hex (the file stores its 32 bytes), the recipe of
    the chain itself, so the digest binds the state to the exact log position it claims: a row whose
    data was edited, or copied from another seq, no longer matches. Anyone can recompute it; what a
    consistent forgery of data and digest cannot also fake is the ledger the store cross-checks the
    snapshot against.
    """
    return chain_hash(head_hash, data)


def snapshot_row(state: ArenaState, timestamp: str) -> SnapshotRow:
    """Return the ``arena_state`` row of ``state``; ``timestamp`` is that of the event at ``state.seq``.

    The event's time rather than the wall clock keeps the file a pure function of the log.
    """
    tiers = state.tier_counts()
    data = snapshot_json(state)
    return (
        state.seq,
        timestamp,
        to_minor(state.total_capital),
        to_minor(state.allocated_capital),
        to_minor(state.free_capital),
        tiers[Tier.ARENA],
        tiers[Tier.PROVING],
        tiers[Tier.SIMULATION],
        data,
        bytes.fromhex(snapshot_digest(state.head_hash, data)),
    )


def parse_snapshot(text: str, *, seq: int | None = None) -> ArenaState:
    """Decode a snapshot's ``data``, or raise ``EventSourcingError`` naming its seq and the bad field."""
    try:
        return ArenaState.model_validate_json(text)
    except ValueError as e:  # pydantic's ValidationError; store imports only events and the stdlib
        errors = getattr(e, "errors", None)
        first = errors()[0] if callable(errors) else {"loc": (), "msg": str(e)}
        field = ".".join(str(part) for part in first["loc"]) or "(state)"
        msg = (
            f"snapshot at seq {seq}: field {field!r}: {first['msg']}; the stored snapshot is malformed, "
            "delete it (snapshots are derived) or restore the file from a backup"
        )
        raise EventSourcingError(msg, seq=seq, field=field) from None
