"""The store's file format: DDL, pragmas, the schema version and the checks that a file is ours.

Everything an auditor needs to read a store without our code is written down in ``docs/FORMAT.md``; the
DDL here is the executable half of that document and ``tests/store/test_schema.py`` holds the two together.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from events import GENESIS_HASH, MONEY_SCALE, StoreError

from ._translate import describe, store_error

if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "APPEND_ONLY_TRIGGERS",
    "APPLICATION_ID",
    "FORMAT_NAME",
    "HASH_ALGORITHM",
    "SCHEMA_VERSION",
    "TABLES",
    "FormatAudit",
    "audit_format",
    "ensure_schema",
    "read_meta",
]

logger = logging.getLogger(__name__)

SCHEMA_VERSION: Final = 6
"""Version of the file format; a file with a larger one was written by a newer release and is refused.

3: the ledger counts value, not only cash: fills carry their market price, cost basis and realized P&L,
holdings are accounts (at cost, and in units), and every posting row names its ``symbol`` and ``unit``.
4: snapshots are checked, not trusted: each ``arena_state`` row carries a ``digest`` bound to the chain,
and the table is append-only like the log.
5: every move between tiers says why: ``AgentGraduated`` carries a ``reason`` and its ``evidence``,
``AgentDemoted`` moves an agent down, ``AgentKilled`` carries ``evidence`` and comes before the liquidation
fills it causes (and the ``CapitalReleased`` of their proceeds), and snapshots record each agent's
``tier_since_seq``.
6: the same log in a third of the bytes: hashes and digests are 32-byte BLOBs, the event columns other
than ``seq``, ``data`` and ``hash`` are generated from ``data`` (stored once, equal to it by construction),
and a ledger row names its account by an integer id into the append-only ``accounts`` table instead of
repeating the event's id, time and type and the account's name, agent, symbol and unit; the ``ledger``
view joins them back.

Earlier versions are refused by writers and readers alike. Versions 1 and 2: their fills record neither
cost basis nor market price, and their kills dropped holdings without selling them; filling that in
would rewrite the events, and so the hash chain, which makes it another log rather than this one read
exactly. Version 3: its log is version 4's, but its snapshots carry no digest and could be edited
unseen; reading it would take a second way of loading snapshots for readers and ``verify``, and writing
to it a migration that rewrites the file, for files that a re-run recreates. Version 4: its promotions
carry no reason (a required field now) and its events would not re-encode to their stored bytes (every
kill gained ``evidence``), so verifying it would fail on canonical form; reading it would need a second
set of event classes, for files that a re-run recreates. Version 5: its log is version 6's, but its
tables are laid out differently; reading it would take a second set of queries in every reader and in
``verify``, for files that a re-run recreates.
"""

_EARLIER: Final = {
    1: "whose fills record no cost basis",
    2: "whose fills record no cost basis",
    3: "whose snapshots carry no digest",
    4: "whose promotions record no reason",
    5: "whose hashes are hex text and whose ledger repeats every name",
}
"""Versions that earlier releases wrote, and what they lack; refused with the reason ``_earlier`` gives."""

FORMAT_NAME: Final = "arena-event-store"
"""``meta.format``: tells an Arena store apart from any other SQLite file."""

HASH_ALGORITHM: Final = "sha256-chain-v1"
"""``meta.hash_algorithm``: hash_n = sha256(hash_{n-1} + "\\n" + data_n), lowercase hex, hash_0 = 64 zeros.

The recipe hashes the hex text of the previous hash; the file stores each hash as its 32 raw bytes.
"""

APPLICATION_ID: Final = 0x4152_4E41
"""``PRAGMA application_id`` ("ARNA"): lets ``file(1)`` and other tools recognise the format."""

TABLES: Final = ("meta", "events", "accounts", "capital_ledger", "arena_state")
"""Every table of the format, in creation order."""

APPEND_ONLY_TRIGGERS: Final = (
    "events_no_update",
    "events_no_delete",
    "accounts_no_update",
    "accounts_no_delete",
    "capital_ledger_no_update",
    "capital_ledger_no_delete",
    "arena_state_no_update",
    "arena_state_no_delete",
)
"""Triggers that abort any UPDATE or DELETE of the log, its accounts, its ledger and its snapshots."""

_DDL: Final = (
    """
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) STRICT
    """,
    # Only seq, data and hash are stored; the other columns are computed from data when read (VIRTUAL),
    # so they cost no bytes in the table and cannot disagree with data. Their indexes store the values.
    """
    CREATE TABLE events (
        seq INTEGER PRIMARY KEY CHECK (seq >= 1),
        data TEXT NOT NULL,
        hash BLOB NOT NULL CHECK (length(hash) = 32),
        event_id TEXT GENERATED ALWAYS AS (json_extract(data, '$.event_id')) VIRTUAL,
        event_type TEXT GENERATED ALWAYS AS (json_extract(data, '$.event_type')) VIRTUAL,
        agent_id TEXT GENERATED ALWAYS AS (json_extract(data, '$.agent_id')) VIRTUAL,
        timestamp TEXT GENERATED ALWAYS AS (json_extract(data, '$.timestamp')) VIRTUAL,
        caused_by TEXT GENERATED ALWAYS AS (json_extract(data, '$.caused_by')) VIRTUAL
    ) STRICT
    """,
    """
    CREATE TABLE accounts (
        account_id INTEGER PRIMARY KEY CHECK (account_id >= 1),
        account TEXT NOT NULL UNIQUE,
        agent_id TEXT,
        symbol TEXT,
        unit TEXT NOT NULL CHECK (unit IN ('money', 'quantity'))
    ) STRICT
    """,
    """
    CREATE TABLE capital_ledger (
        entry_id INTEGER PRIMARY KEY CHECK (entry_id >= 1),
        seq INTEGER NOT NULL REFERENCES events (seq),
        account_id INTEGER NOT NULL REFERENCES accounts (account_id),
        amount INTEGER NOT NULL,
        balance_after INTEGER NOT NULL
    ) STRICT
    """,
    """
    CREATE TABLE arena_state (
        snapshot_id INTEGER PRIMARY KEY AUTOINCREMENT,
        seq INTEGER NOT NULL,
        timestamp TEXT NOT NULL,
        total_capital INTEGER NOT NULL,
        allocated_capital INTEGER NOT NULL,
        free_capital INTEGER NOT NULL,
        active_agents INTEGER NOT NULL,
        proving_agents INTEGER NOT NULL,
        simulation_agents INTEGER NOT NULL,
        data TEXT NOT NULL,
        digest BLOB NOT NULL CHECK (length(digest) = 32)
    ) STRICT
    """,
    # Every ledger row with the names it no longer repeats: what version 5 stored, for auditors' queries.
    """
    CREATE VIEW ledger AS
    SELECT l.entry_id, l.seq, e.event_id, e.timestamp, a.account, a.agent_id, a.symbol, a.unit,
        e.event_type AS operation, l.amount, l.balance_after
    FROM capital_ledger AS l JOIN accounts AS a USING (account_id) JOIN events AS e USING (seq)
    """,
    # Ids are unique; get(), causality walks and the store's cause check probe it.
    "CREATE UNIQUE INDEX events_by_id ON events (event_id)",
    # seq is the rowid, so each of these indexes is ordered by seq within a key: per-agent and per-type
    # reads stream in log order without a sort.
    "CREATE INDEX events_by_agent ON events (agent_id) WHERE agent_id IS NOT NULL",
    "CREATE INDEX events_by_type ON events (event_type)",
    # Walks causality forwards (descendants); ancestors use events_by_id.
    "CREATE INDEX events_by_cause ON events (caused_by) WHERE caused_by IS NOT NULL",
    # Balance of any account as of any seq is one probe: the last row at or before that seq.
    "CREATE INDEX capital_ledger_by_account ON capital_ledger (account_id, seq)",
    "CREATE INDEX arena_state_by_seq ON arena_state (seq)",
    *(
        f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} BEGIN SELECT RAISE(ABORT, "
        f"'{table} is append-only: a stored row cannot be {done}; append a correcting event instead'); END"
        for table in ("events", "accounts", "capital_ledger")
        for verb, done in (("UPDATE", "updated"), ("DELETE", "deleted"))
    ),
    *(
        f"CREATE TRIGGER arena_state_no_{verb.lower()} BEFORE {verb} ON arena_state BEGIN SELECT "
        f"RAISE(ABORT, 'arena_state is append-only: a stored snapshot cannot be {done}; a later snapshot "
        "supersedes it'); END"
        for verb, done in (("UPDATE", "updated"), ("DELETE", "deleted"))
    ),
)

_HASH_RECIPE: Final = (
    'hash of seq n = sha256(hash of seq n-1 + "\\n" + data of seq n) over UTF-8, the previous hash as '
    "lowercase hex; hash of seq 0 = 64 zeros; the hash column holds the 32 bytes"
)


def ensure_schema(connection: sqlite3.Connection, path: Path | None, *, readonly: bool) -> dict[str, str]:
    """Create the schema in an empty database, or check that an existing one is a store we can read.

    Returns:
        The ``meta`` table as a dict.

    Raises:
        StoreError: the file belongs to another program, or to an earlier or newer release, or is empty and
            read-only. Nothing is written to a file that is refused.

    """
    where = describe(path)
    try:
        tables = {
            name
            for (name,) in connection.execute(
                "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        }
        if not tables:
            if readonly:
                msg = (
                    f"store {where}: the file is empty, not an Arena store; "
                    "open it without readonly=True to create a store, or pass the path of an existing one"
                )
                raise StoreError(msg, path=path)
            _create(connection)
        elif "meta" not in tables:
            msg = (
                f"store {where}: an SQLite database of another program (tables {sorted(tables)}, no meta "
                "table); pass the path of an Arena store, or a new path to create one"
            )
            raise StoreError(msg, path=path)
        meta = read_meta(connection)
        _check_meta(meta, path)
    except sqlite3.Error as e:
        raise store_error(e, path, "opening") from e
    return meta


def read_meta(connection: sqlite3.Connection) -> dict[str, str]:
    """Return the ``meta`` table as a dict (sqlite3 errors propagate to the caller's translation)."""
    return dict(connection.execute("SELECT key, value FROM meta ORDER BY key").fetchall())


def _create(connection: sqlite3.Connection) -> None:
    connection.execute("BEGIN IMMEDIATE")
    try:
        # Another process may have created the schema between our check and the write lock.
        if connection.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0] == 0:
            for statement in _DDL:
                connection.execute(statement)
            connection.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?)",
                [
                    ("format", FORMAT_NAME),
                    ("schema_version", str(SCHEMA_VERSION)),
                    ("money_scale", str(MONEY_SCALE)),
                    ("hash_algorithm", HASH_ALGORITHM),
                    ("hash_recipe", _HASH_RECIPE),
                    ("genesis_hash", GENESIS_HASH),
                ],
            )
            connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise


def _check_meta(meta: dict[str, str], path: Path | None) -> None:
    where = describe(path)
    if meta.get("format") != FORMAT_NAME:
        msg = (
            f"store {where}: meta.format is {meta.get('format')!r}, expected {FORMAT_NAME!r}: the file is "
            "not an Arena store; pass the path of an Arena store, or a new path to create one"
        )
        raise StoreError(msg, path=path)
    version = meta.get("schema_version", "")
    if not version.isdigit():
        msg = f"store {where}: meta.schema_version is {version!r}, not a number; the file is damaged"
        raise StoreError(msg, path=path)
    if int(version) > SCHEMA_VERSION:
        msg = (
            f"store {where}: written with schema_version {version}, newer than the {SCHEMA_VERSION} this "
            "release reads; upgrade arena-runtime to open it"
        )
        raise StoreError(msg, path=path)
    if int(version) < SCHEMA_VERSION:
        msg = f"store {where}: {_earlier(version)}"
        raise StoreError(msg, path=path)
    if meta.get("money_scale") != str(MONEY_SCALE):
        msg = (
            f"store {where}: meta.money_scale is {meta.get('money_scale')!r}, expected '{MONEY_SCALE}'; "
            "amounts in this file would be misread, so it cannot be opened"
        )
        raise StoreError(msg, path=path)


def _earlier(version: str) -> str:
    """Return why a file of an older ``schema_version`` is refused, and what to do instead.

    One wording for the writer, the reader and ``verify``, so the three name the same fix.
    """
    lacking = _EARLIER.get(int(version))
    if lacking is None:
        return (
            f"meta.schema_version is {version}, which no release wrote; the file is damaged, restore it "
            "from a backup"
        )
    return (
        f"schema_version {version} was written by an earlier release {lacking}; it cannot be read as "
        f"version {SCHEMA_VERSION}; re-run the simulation with this release, or read it with "
        "arena-runtime 0.1"
    )


_EXPECTED_META: Final = {
    "format": FORMAT_NAME,
    "schema_version": str(SCHEMA_VERSION),
    "money_scale": str(MONEY_SCALE),
    "hash_algorithm": HASH_ALGORITHM,
    "genesis_hash": GENESIS_HASH,
}


@dataclass(frozen=True, slots=True)
class FormatAudit:
    """What ``audit_format`` found: the meta table, the problem that fails the file (if any), warnings."""

    meta: dict[str, str]
    problem: str | None
    warnings: tuple[str, ...]


def audit_format(connection: sqlite3.Connection) -> FormatAudit:
    """Check a file's tables, meta, triggers and application id, for ``verify`` (which never raises).

    Stricter than ``ensure_schema``: every meta value must be exactly this release's. Missing triggers or
    a foreign application id break no invariant of the log, so they are warnings.
    """
    names = connection.execute("SELECT type, name FROM sqlite_schema").fetchall()
    missing = [table for table in TABLES if ("table", table) not in names]
    if missing:
        return FormatAudit({}, f"not an Arena store: tables {missing} are missing", ())
    meta = read_meta(connection)
    problem = next(
        (
            f"meta.{key} is {meta.get(key)!r}, expected {value!r}"
            for key, value in _EXPECTED_META.items()
            if meta.get(key) != value
        ),
        None,
    )
    version = meta.get("schema_version", "")
    if version.isdigit() and int(version) < SCHEMA_VERSION:
        problem = _earlier(version)
    warnings = []
    if absent := [name for name in APPEND_ONLY_TRIGGERS if ("trigger", name) not in names]:
        warnings.append(f"append-only triggers {absent} are missing: rows may have been edited")
    if (found := connection.execute("PRAGMA application_id").fetchone()[0]) != APPLICATION_ID:
        warnings.append(f"application_id is {found:#x}, expected {APPLICATION_ID:#x}")
    return FormatAudit(meta, problem, tuple(warnings))
