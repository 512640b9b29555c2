r"""Rebuilding the arena's state: the latest snapshot that checks out, then a fold of the events after it.

The fold is the one in ``events`` that the supervisor and the verifier also use. Replaying recomputes the
hash chain as it goes, so a store whose tail was altered refuses to open rather than serve a wrong state.

Snapshots are checked, not trusted. Before one is used it must pass, in order (each a test in
``tests/store/test_snapshots.py``):

1. its ``digest`` is ``sha256(hash of the log at its seq + "\n" + data)``: the row was not edited, nor
   copied from another seq or another log;
2. its data decodes to a state of exactly that seq and hash;
3. the balances that state implies (treasury, funding, fees, realized P&L, every agent's cash, holdings
   at cost and units, every market) are the ledger's balances at its seq: a consistently edited snapshot
   (digest recomputed) that moves money is caught here, because the ledger is the books.

A snapshot that fails is skipped with a warning naming it and why, and the next older one is tried; with
none left, the state is a fold of the whole log. Loading thus costs one ledger probe per snapshot tried
(``balances_at``: two index probes per account). What the ledger does not hold (tiers, genomes, marks,
the cycle) is checked only by ``verify``, which compares every snapshot with a full fold.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import TYPE_CHECKING, Final

from events import (
    EXTERNAL,
    FEES,
    PNL,
    TREASURY,
    ArenaState,
    EventSourcingError,
    StoreError,
    agent_account,
    market_account,
    parse_event,
    position_account,
    to_minor,
    units_account,
)

from ._reads import balances_at
from ._rows import parse_snapshot, snapshot_digest
from ._translate import describe, store_error

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

__all__ = ["books_of", "fold_tail", "trusted_snapshot"]

logger = logging.getLogger(__name__)

_TAIL: Final = "SELECT seq, data, hash FROM events WHERE seq > ? AND seq <= ? ORDER BY seq"
_SNAPSHOTS: Final = (
    "SELECT snapshot_id, seq, data, digest FROM arena_state WHERE seq <= ? AND seq > ? "
    "ORDER BY seq DESC, snapshot_id DESC"
)
_HASH_AT: Final = "SELECT hash FROM events WHERE seq = ?"


def trusted_snapshot(
    connection: sqlite3.Connection, path: Path | None, *, at_or_before: int, after: int = 0
) -> ArenaState | None:
    """Return the latest snapshot in ``(after, at_or_before]`` that checks out, or None.

    Every newer one that does not check out is logged as a warning and skipped (module docstring).

    Raises:
        StoreError: the file cannot be read.

    """
    try:
        rows = connection.execute(_SNAPSHOTS, (at_or_before, after)).fetchall()
        for snapshot_id, seq, data, digest in rows:
            state, problem = _check(connection, seq, data, digest)
            if state is not None:
                return state
            logger.warning(
                "store %s: snapshot #%d at seq %d is not trusted (%s); using an earlier snapshot or a full "
                "fold instead; run store.verify(path) to find what was altered",
                describe(path),
                snapshot_id,
                seq,
                problem,
            )
    except sqlite3.Error as e:
        raise store_error(e, path, "reading snapshots") from e
    return None


def books_of(state: ArenaState) -> dict[str, int]:
    """Return the ledger balances ``state`` implies, in minor units, leaving out accounts at zero."""
    books = {
        TREASURY: to_minor(state.treasury),
        EXTERNAL: -to_minor(state.funding),
        PNL: -to_minor(state.realized_pnl),
        FEES: to_minor(state.fees_paid),
    }
    markets: dict[str, int] = {}
    for agent_id, record in state.agents.items():
        books[agent_account(agent_id)] = to_minor(record.allocation)
        for symbol, cost in record.cost_basis.items():
            books[position_account(agent_id, symbol)] = to_minor(cost)
        for symbol, units in record.positions.items():
            books[units_account(agent_id, symbol)] = to_minor(units)
            markets[symbol] = markets.get(symbol, 0) - to_minor(units)
    books.update({market_account(symbol): units for symbol, units in markets.items()})
    return _nonzero(books)


def fold_tail(connection: sqlite3.Connection, path: Path | None, base: ArenaState, to_seq: int) -> ArenaState:
    """Return ``base`` with the stored events after it, up to ``to_seq``, folded in.

    Raises:
        StoreError: ``base`` does not match the log's hash at its seq, an event cannot be replayed, or the
            recomputed chain differs from the stored one (the file was altered).

    """
    where = describe(path)
    try:
        if base.seq:
            row = connection.execute(_HASH_AT, (base.seq,)).fetchone()
            if row is None or row[0].hex() != base.head_hash:
                msg = (
                    f"store {where}: the state at seq {base.seq} does not match the log's hash there; the "
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
            if working.head_hash != (stored := digest.hex()):
                msg = (
                    f"store {where}: the hash chain breaks at seq {seq} (stored {stored[:12]}..., recomputed "
                    f"{working.head_hash[:12]}...); the file was altered; run store.verify(path) for details"
                )
                raise StoreError(msg, path=path, seq=seq)
    except sqlite3.Error as e:
        raise store_error(e, path, "replaying the log") from e
    return working.freeze()


def _check(
    connection: sqlite3.Connection, seq: int, data: str, digest: bytes
) -> tuple[ArenaState | None, str | None]:
    row = connection.execute(_HASH_AT, (seq,)).fetchone()
    if row is None:
        return None, f"the log has no event at seq {seq}"
    head_hash = row[0].hex()
    if digest.hex() != snapshot_digest(head_hash, data):
        return None, f"its digest does not match its data and the log's hash at seq {seq}"
    try:
        state = parse_snapshot(data, seq=seq)
    except EventSourcingError as e:
        return None, str(e)
    if (state.seq, state.head_hash) != (seq, head_hash):
        return None, f"its data is the state at seq {state.seq}, not of the log at seq {seq}"
    differ = _differing(books_of(state), _nonzero(balances_at(connection, seq)))
    if differ:
        return None, f"its balances differ from the ledger at seq {seq} in {differ[:5]}"
    return state, None


def _nonzero(balances: Mapping[str, int]) -> dict[str, int]:
    return {account: balance for account, balance in balances.items() if balance}


def _differing(books: Mapping[str, int], ledger: Mapping[str, int]) -> list[str]:
    accounts = books.keys() | ledger.keys()
    return sorted(account for account in accounts if books.get(account) != ledger.get(account))
