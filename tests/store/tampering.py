"""Damage a store file the way an attacker (or a bad disk, or a careless script) would."""

from __future__ import annotations

import json
import sqlite3
from typing import TYPE_CHECKING

from events import GENESIS_HASH, chain_hash
from store import verify

if TYPE_CHECKING:
    from pathlib import Path

APPEND_ONLY_TRIGGERS = (
    "events_no_update",
    "events_no_delete",
    "accounts_no_update",
    "accounts_no_delete",
    "capital_ledger_no_update",
    "capital_ledger_no_delete",
    "arena_state_no_update",
    "arena_state_no_delete",
)
"""The trigger names docs/FORMAT.md documents."""


def tamper(path: Path, *statements: str | tuple[str, tuple[object, ...]]) -> None:
    """Drop the append-only triggers of a closed store, then run ``statements`` (SQL, or SQL and params)."""
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        for trigger in APPEND_ONLY_TRIGGERS:
            connection.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        for statement in statements:
            sql, params = (statement, ()) if isinstance(statement, str) else statement
            connection.execute(sql, params)
    finally:
        connection.close()


def account_id(path: Path, account: str) -> int:
    """Return the ``account_id`` of ``account`` in the file."""
    found = column(path, "SELECT account_id FROM accounts WHERE account = ?", account)
    assert isinstance(found, int)
    return found


def column(path: Path, sql: str, *params: object) -> object:
    """Return the first column of the first row of ``sql`` run on the file."""
    connection = sqlite3.connect(path)
    try:
        return connection.execute(sql, params).fetchone()[0]
    finally:
        connection.close()


def rechain(path: Path) -> None:
    """Recompute every hash from the data, as a forger who knows the recipe would after an edit."""
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        for trigger in APPEND_ONLY_TRIGGERS:
            connection.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        digest = GENESIS_HASH
        for seq, data in connection.execute("SELECT seq, data FROM events ORDER BY seq").fetchall():
            digest = chain_hash(digest, data)
            connection.execute("UPDATE events SET hash = ? WHERE seq = ?", (bytes.fromhex(digest), seq))
    finally:
        connection.close()


def edit_data(path: Path, seq: int, **changes: object) -> None:
    """Change fields in the data of the event at ``seq``, keeping it canonical (the columns follow data)."""
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        for trigger in APPEND_ONLY_TRIGGERS:
            connection.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        data = json.loads(connection.execute("SELECT data FROM events WHERE seq = ?", (seq,)).fetchone()[0])
        data.update(changes)
        text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        connection.execute("UPDATE events SET data = ? WHERE seq = ?", (text, seq))
    finally:
        connection.close()


def corrupt_pages(path: Path) -> None:
    """Overwrite the b-tree header of every page but the first, as a failing disk might."""
    page = column(path, "PRAGMA page_size")
    assert isinstance(page, int)
    with path.open("r+b") as file:
        for offset in range(page, path.stat().st_size, page):
            file.seek(offset)
            file.write(b"\x0d\xff\xff\xff\xff\xff\xff\xff")


def failing(path: Path, **kwargs: object) -> tuple[int | None, str]:
    """Return where and why ``verify`` fails the file, asserting that it does."""
    report = verify(path, **kwargs)  # type: ignore[arg-type]  (tests pass expected_head through)
    assert not report.ok
    assert report.reason is not None
    return report.first_failing_seq, report.reason
