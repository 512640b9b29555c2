"""Damage a store file the way an attacker (or a bad disk, or a careless script) would."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from store._schema import APPEND_ONLY_TRIGGERS

if TYPE_CHECKING:
    from pathlib import Path


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


def column(path: Path, sql: str, *params: object) -> object:
    """Return the first column of the first row of ``sql`` run on the file."""
    connection = sqlite3.connect(path)
    try:
        return connection.execute(sql, params).fetchone()[0]
    finally:
        connection.close()
