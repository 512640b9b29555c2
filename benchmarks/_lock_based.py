"""The design the arena replaces, rebuilt as a baseline: one lock around every call, one commit per event.

``ArenaManager`` of the seed guarded its state with a ``threading.Lock`` and wrote each event to SQLite
and committed it inside that lock. This keeps that shape (with exact amounts instead of floats, and the
same WAL journal and ``synchronous`` setting as our store, so durability is equal) and nothing more. It
lives here, in the benchmarks, and never in the runtime.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["LockBasedManager"]

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS events (
        event_id TEXT PRIMARY KEY, event_type TEXT NOT NULL, agent_id TEXT, timestamp TEXT NOT NULL,
        data TEXT NOT NULL, caused_by TEXT)""",
    """CREATE TABLE IF NOT EXISTS capital_ledger (
        entry_id INTEGER PRIMARY KEY AUTOINCREMENT, timestamp TEXT NOT NULL, agent_id TEXT,
        operation TEXT NOT NULL, amount TEXT NOT NULL, balance_after TEXT NOT NULL, event_id TEXT)""",
)

_INSERT_POSTING = (
    "INSERT INTO capital_ledger (timestamp, agent_id, operation, amount, balance_after, event_id) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)


class LockBasedManager:
    """Capital allocation under one lock, each call's event written and committed before it returns."""

    def __init__(self, path: Path, *, synchronous: str, total_capital: Decimal) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute(f"PRAGMA synchronous = {'FULL' if synchronous == 'full' else 'NORMAL'}")
        for statement in _SCHEMA:
            self._db.execute(statement)
        self._free = total_capital
        self._allocations: dict[str, Decimal] = {}

    def spawn_agent(self) -> str:
        """Add an agent holding nothing; return its id."""
        with self._lock:
            agent_id = f"a-{len(self._allocations) + 1:06d}"
            self._allocations[agent_id] = Decimal(0)
            self._write("AgentSpawned", agent_id, {"tier": "simulation"}, None)
            return agent_id

    def allocate_capital(self, agent_id: str, amount: Decimal) -> None:
        """Move ``amount`` from the free capital to the agent, durably, before returning."""
        with self._lock:
            if amount > self._free:
                msg = f"cannot allocate {amount} from {self._free}"
                raise ValueError(msg)
            self._free -= amount
            self._allocations[agent_id] += amount
            self._write("CapitalAllocated", agent_id, {"amount": str(amount)}, (amount, self._free))

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def _write(
        self,
        event_type: str,
        agent_id: str,
        payload: dict[str, str],
        movement: tuple[Decimal, Decimal] | None,
    ) -> None:
        event_id = str(uuid.uuid4())
        now = datetime.now(UTC).isoformat()
        data = json.dumps({"event_id": event_id, "event_type": event_type, "agent_id": agent_id, **payload})
        self._db.execute("BEGIN IMMEDIATE")
        self._db.execute(
            "INSERT INTO events (event_id, event_type, agent_id, timestamp, data) VALUES (?, ?, ?, ?, ?)",
            (event_id, event_type, agent_id, now, data),
        )
        if movement is not None:
            amount, free = movement
            self._db.execute(_INSERT_POSTING, (now, agent_id, "allocate", str(amount), str(free), event_id))
        self._db.execute("COMMIT")
