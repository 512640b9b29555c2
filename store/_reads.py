"""The read side of the store: filtered event streams, causality walks and balances as of any seq.

Plain functions over a connection, so the store stays a thin owner of that connection and every query
lives next to the reason it is shaped the way it is.
"""

from __future__ import annotations

import contextlib
import heapq
import sqlite3
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Final, NamedTuple
from uuid import UUID

from events import (
    EXTERNAL,
    FEES,
    PNL,
    TREASURY,
    ValidationError,
    format_timestamp,
    from_minor,
    is_known_event_type,
    known_event_types,
    parse_event,
)

if TYPE_CHECKING:
    from collections.abc import Generator, Iterable, Mapping
    from decimal import Decimal

    from events import AnyEvent

__all__ = [
    "FETCH_SIZE",
    "FIXED_ACCOUNTS",
    "Query",
    "account_ids",
    "ancestor_texts",
    "balances_at",
    "check_seq",
    "decode",
    "descendant_texts",
    "event_key",
    "event_queries",
    "exact_balances",
    "stream_events",
]


class Query(NamedTuple):
    """One parameterised SELECT of ``(seq, data)`` rows in seq order."""

    sql: str
    params: tuple[object, ...]


FETCH_SIZE: Final = 512
"""Rows per fetch while streaming: memory stays bounded by this many events whatever the log's size."""

FIXED_ACCOUNTS: Final[Mapping[str, int]] = MappingProxyType({EXTERNAL: 0, FEES: 0, PNL: 0, TREASURY: 0})
"""The arena's own money accounts, in every answer of ``balances`` (zero until first posted to), so a
caller can read them without asking whether anything was posted yet."""

_MAX_SEQ: Final = 2**63 - 1
_SHOWN_BITS: Final = 128  # a longer int is named by its size: repr() refuses ints past 4300 digits

# Nearest first. `e.seq < chain.seq` bounds the walk even in a damaged file with a caused_by cycle.
_ANCESTORS: Final = """
    WITH RECURSIVE chain(data, caused_by, seq, depth) AS (
        SELECT data, caused_by, seq, 0 FROM events WHERE event_id = ?1
        UNION ALL
        SELECT e.data, e.caused_by, e.seq, chain.depth + 1
        FROM events AS e JOIN chain ON e.event_id = chain.caused_by
        WHERE e.seq < chain.seq
    )
    SELECT data FROM chain WHERE depth > 0 ORDER BY depth
"""

# A tree (each event has one cause), so UNION ALL never repeats a row; uses events_by_cause.
_DESCENDANTS: Final = """
    WITH RECURSIVE tree(event_id, seq) AS (
        SELECT event_id, seq FROM events WHERE event_id = ?1
        UNION ALL
        SELECT e.event_id, e.seq FROM events AS e JOIN tree ON e.caused_by = tree.event_id
        WHERE e.seq > tree.seq
    )
    SELECT e.data FROM tree JOIN events AS e ON e.seq = tree.seq WHERE tree.event_id != ?1 ORDER BY e.seq
"""

# One probe of capital_ledger_by_account per account for its last row at or before the seq, instead of a
# scan of the whole ledger (O(accounts * log n), not O(n)); the accounts table lists them.
_BALANCES: Final = """
    SELECT a.account, (
        SELECT l.balance_after FROM capital_ledger AS l
        WHERE l.account_id = a.account_id AND l.seq <= ?1
        ORDER BY l.seq DESC, l.entry_id DESC LIMIT 1
    ) AS balance
    FROM accounts AS a
"""
_ACCOUNT_IDS: Final = "SELECT account, account_id FROM accounts"


def event_key(event_id: UUID | str) -> str:
    """Return the stored form of an event id (lowercase, hyphenated), refusing text that is no UUID."""
    if isinstance(event_id, UUID):
        return str(event_id)
    try:
        return str(UUID(event_id))
    except (ValueError, TypeError, AttributeError):
        msg = f"event_id {event_id!r} is not a UUID; pass a UUID or its text such as str(event.event_id)"
        raise ValidationError(msg, field="event_id", value=event_id) from None


def event_queries(
    *,
    agent_id: str | None,
    event_types: Iterable[str] | None,
    from_seq: int | None,
    to_seq: int | None,
    since: datetime | None,
    until: datetime | None,
) -> list[Query]:
    """Return the queries of a filtered read (one per event type), checking every argument first.

    One query per type rather than ``event_type IN (...)``: each then walks ``events_by_type`` in seq
    order and ``stream_events`` merges them, where one ``IN`` query makes SQLite sort every match
    before returning the first. ``since`` is inclusive and ``until`` exclusive, so windows tile.

    Raises:
        ValidationError: an argument has the wrong type, names an unknown event type, or is a naive time.

    """
    clauses: list[str] = []
    params: list[object] = []
    if agent_id is not None:
        clauses.append("agent_id = ?")
        params.append(agent_id)
    for name, value, clause in (("from_seq", from_seq, "seq >= ?"), ("to_seq", to_seq, "seq <= ?")):
        if value is not None:
            clauses.append(clause)
            params.append(check_seq(name, value))
    for name, moment, clause in (("since", since, "timestamp >= ?"), ("until", until, "timestamp < ?")):
        if moment is not None:
            clauses.append(clause)
            params.append(_time(name, moment))
    if event_types is None:
        return [_query(clauses, params)]
    return [_query(["event_type = ?", *clauses], [tag, *params]) for tag in _event_types(event_types)]


def stream_events(connection: sqlite3.Connection, queries: Iterable[Query]) -> Generator[str]:
    """Yield the data of every row of ``queries`` in seq order, merging them lazily."""
    streams = [_stream_rows(connection, query) for query in queries]
    try:
        # Seqs are unique, so the merge never compares two data texts; one query needs no merge at all.
        for _, text in streams[0] if len(streams) == 1 else heapq.merge(*streams):
            yield text
    finally:
        for stream in streams:
            stream.close()


def _query(clauses: list[str], params: list[object]) -> Query:
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    sql = f"SELECT seq, data FROM events{where} ORDER BY seq"  # noqa: S608  (fixed clauses; values are ? params)
    return Query(sql, tuple(params))


def _stream_rows(connection: sqlite3.Connection, query: Query) -> Generator[tuple[int, str]]:
    cursor = connection.execute(query.sql, query.params)
    try:
        while rows := cursor.fetchmany(FETCH_SIZE):
            yield from rows
    finally:
        # A reader dropped after its store closed: closing the connection already released the cursor.
        with contextlib.suppress(sqlite3.ProgrammingError):
            cursor.close()


def decode(texts: Iterable[str]) -> list[AnyEvent]:
    """Decode stored event texts (small, bounded results: causality walks, single lookups)."""
    return [parse_event(text) for text in texts]


def ancestor_texts(connection: sqlite3.Connection, key: str) -> list[str]:
    """Return the data of the ``caused_by`` chain above event ``key``, nearest first."""
    return [text for (text,) in connection.execute(_ANCESTORS, (key,))]


def descendant_texts(connection: sqlite3.Connection, key: str) -> list[str]:
    """Return the data of every event caused, transitively, by event ``key``, in seq order."""
    return [text for (text,) in connection.execute(_DESCENDANTS, (key,))]


def balances_at(connection: sqlite3.Connection, seq: int) -> dict[str, int]:
    """Return every account's balance as of ``seq``, in minor units of its unit (money or quantity).

    The accounts are those posted to by then, plus the ``FIXED_ACCOUNTS``.
    """
    rows = connection.execute(_BALANCES, (seq,))
    return {**FIXED_ACCOUNTS, **{account: balance for account, balance in rows if balance is not None}}


def account_ids(connection: sqlite3.Connection) -> dict[str, int]:
    """Return every stored account's ``account_id``, by account name."""
    return dict(connection.execute(_ACCOUNT_IDS).fetchall())


def exact_balances(balances: Mapping[str, int]) -> dict[str, Decimal]:
    """Return balances in minor units as exact amounts at 8 places, sorted by account.

    Money and quantities share the scale, so one conversion serves both units.
    """
    return {account: from_minor(balances[account]) for account in sorted(balances)}


def _event_types(event_types: Iterable[str]) -> list[str]:
    if isinstance(event_types, str):
        msg = (
            f"event_types {event_types!r} is one string; pass a collection of tags such as [{event_types!r}]"
        )
        raise ValidationError(msg, field="event_types", value=event_types)
    tags = list(dict.fromkeys(event_types))
    unknown = [str(tag) for tag in tags if not is_known_event_type(tag)]
    if unknown:
        msg = f"event_types: unknown tags {unknown}; expected some of: {', '.join(known_event_types())}"
        raise ValidationError(msg, field="event_types", value=tags)
    return sorted(tags)


def check_seq(name: str, value: int) -> int:
    """Return ``value`` if it is a seq, else raise ``ValidationError`` naming ``name``.

    A seq is an int from 0 to ``2**63 - 1``: SQLite's largest INTEGER, past which a bound parameter
    raises ``OverflowError`` rather than matching nothing.
    """
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_SEQ:
        huge = isinstance(value, int) and value.bit_length() > _SHOWN_BITS
        text = f"an int of {value.bit_length()} bits" if huge else repr(value)
        msg = f"{name}: {text} is not a seq; pass an int from 0 to 2**63 - 1"
        raise ValidationError(msg, field=name, value=value)
    return value


def _time(name: str, moment: datetime) -> str:
    if not isinstance(moment, datetime) or moment.tzinfo is None or moment.utcoffset() is None:
        msg = f"{name}: {moment!r} is not a timezone-aware datetime; pass one in UTC, e.g. datetime.now(UTC)"
        raise ValidationError(msg, field=name, value=moment)
    return format_timestamp(moment)
