"""SQLite event store, ledger projection, snapshots and verification."""

from ._connection import Synchronous as Synchronous
from ._head import Head as Head
from ._report import VerificationReport as VerificationReport
from ._schema import FORMAT_NAME as FORMAT_NAME
from ._schema import SCHEMA_VERSION as SCHEMA_VERSION
from ._sqlite import SQLiteEventStore as SQLiteEventStore
from ._verify import verify as verify

__all__ = [
    "FORMAT_NAME",
    "SCHEMA_VERSION",
    "Head",
    "SQLiteEventStore",
    "Synchronous",
    "VerificationReport",
    "verify",
]
