"""SQLite event store, ledger projection, snapshots, verification, the writer lock and the receipt."""

from ._connection import Synchronous as Synchronous
from ._head import Head as Head
from ._lock import WriterLock as WriterLock
from ._remove import remove_store as remove_store
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
    "WriterLock",
    "remove_store",
    "verify",
]
