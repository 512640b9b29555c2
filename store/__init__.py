"""SQLite event store, ledger projection, snapshots and verification."""
