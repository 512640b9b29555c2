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

SCHEMA_VERSION: Final = 5
"""Version of the file format; a file with a larger one was written by a newer release and is refused.

3: the ledger counts value, not only cash: fills carry their market price, cost basis and realized P&L,
holdings are accounts (at cost, and in units), and every posting row names its ``symbol`` and ``unit``.
4: snapshots are checked, not trusted: each ``arena_state`` row carries a ``digest`` bound to the chain,
and the table is append-only like the log.
5: every move between tiers says why: ``AgentGraduated`` carries a ``reason`` and its ``evidence``,
``AgentDemoted`` moves an agent down, ``AgentKilled`` carries ``evidence`` and comes before the liquidation
fills it causes (and the ``CapitalReleased`` of their proceeds), and snapshots record each agent's
``tier_since_seq``.

Earlier versions are refused by writers and readers alike. Versions 1 and 2: their fills record neither
cost basis nor market price, and their kills dropped holdings without selling them; filling that in
would rewrite the events, and so the hash chain, which makes it another log rather than this one read
exactly. Version 3: its log is version 4's, but its snapshots carry no digest and could be edited
unseen; reading it would take a second way of loading snapshots for readers and ``verify``, and writing
to it a migration that rewrites the file, for files that a re-run recreates. Version 4: its promotions
carry no reason (a required field now) and its events would not re-encode to their stored bytes (every
kill gained ``evidence``), so verifying it would fail on canonical form; reading it would need a second
set of event classes, for files that a re-run recreates.
"""

_EARLIER: Final = {
    1: "whose fills record no cost basis",
    2: "whose fills record no cost basis",
    3: "whose snapshots carry no digest",
    4: "whose promotions record no reason",
}
"""Versions that earlier releases wrote, and what they lack; refused with the reason ``_earlier`` gives."""

FORMAT_NAME: Final = "arena-event-store"
"""``meta.format``: tells an Arena store apart from any other SQLite file."""

HASH_ALGORITHM: Final = "sha256-chain-v1"
"""``meta.hash_algorithm``: hash_n = sha256(hash_{n-1} + "\\n" + data_n), lowercase hex, hash_0 = 64 zeros."""

APPLICATION_ID: Final = 0x4152_4E41
"""``PRAGMA application_id`` ("ARNA"): lets ``file(1)`` and other tools recognise the format."""

TABLES: Final = ("meta", "events", "capital_ledger", "arena_state")
"""Every table of the format, in creation order."""

APPEND_ONLY_TRIGGERS: Final = (
    "events_no_update",
    "events_no_delete",
    "capital_ledger_no_update",
    "capital_ledger_no_delete",
    "arena_state_no_update",
    "arena_state_no_delete",
)
"""Triggers that abort any UPDATE or DELETE of the log, its ledger and its snapshots."""

_DDL: Final = (
    """
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) STRICT
    """,
    """
    CREATE TABLE events (
        seq INTEGER PRIMARY KEY CHECK (seq >= 1),
        event_id TEXT NOT NULL UNIQUE,
        event_type TEXT NOT NULL,
        agent_id TEXT,
        timestamp TEXT NOT NULL,
        data TEXT NOT NULL,
        caused_by TEXT REFERENCES events (event_id),
        hash TEXT NOT NULL
    ) STRICT
    """,
    """
    CREATE TABLE capital_ledger (
        entry_id INTEGER PRIMARY KEY AUTOINCREMENT,
        seq INTEGER NOT NULL REFERENCES events (seq),
        event_id TEXT NOT NULL,
        timestamp TEXT NOT NULL,
        account TEXT NOT NULL,
        agent_id TEXT,
        symbol TEXT,
        unit TEXT NOT NULL CHECK (unit IN ('money', 'quantity')),
        operation TEXT NOT NULL,
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
        digest TEXT NOT NULL
    ) STRICT
    """,
    # seq is the rowid, so each of these indexes is ordered by seq within a key: per-agent and per-type
    # reads stream in log order without a sort.
    "CREATE INDEX events_by_agent ON events (agent_id) WHERE agent_id IS NOT NULL",
    "CREATE INDEX events_by_type ON events (event_type)",
    # Walks causality forwards (descendants); ancestors use the UNIQUE index on event_id.
    "CREATE INDEX events_by_cause ON events (caused_by) WHERE caused_by IS NOT NULL",
    # Balance of any account as of any seq is one probe: the last row at or before that seq.
    "CREATE INDEX capital_ledger_by_account ON capital_ledger (account, seq)",
    "CREATE INDEX arena_state_by_seq ON arena_state (seq)",
    *(
        f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} BEGIN SELECT RAISE(ABORT, "
        f"'{table} is append-only: a stored row cannot be {done}; append a correcting event instead'); END"
        for table in ("events", "capital_ledger")
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
    'hash of seq n = sha256(hash of seq n-1 + "\\n" + data of seq n) as lowercase hex over UTF-8; '
    "hash of seq 0 = 64 zeros"
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
