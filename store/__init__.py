"""SQLite event store, ledger projection, snapshots and verification."""

from ._head import Head as Head

__all__ = ["Head"]
