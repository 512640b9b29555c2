"""``VerificationReport``: what ``verify`` found in a store file, as one immutable value."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._head import Head

__all__ = ["VerificationReport"]


@dataclass(frozen=True, slots=True)
class VerificationReport:
    """What ``verify`` found: ``ok``, or the first failing seq and why.

    ``str(report)`` is one line, fit for a log or a CLI.
    """

    path: str
    ok: bool
    events_checked: int
    """Events that passed every check (all of them when ``ok``)."""
    head: Head
    """Seq and hash of the last event that passed every check: the file's head when ``ok``."""
    first_failing_seq: int | None = None
    """Seq of the first event (or snapshot) that fails; None when ``ok`` or when the file as a whole
    fails (not SQLite, damaged pages, bad meta)."""
    reason: str | None = None
    """What failed there, and what that usually means."""
    ledger_entries_checked: int = 0
    snapshots_checked: int = 0
    warnings: tuple[str, ...] = ()
    """Findings that break no invariant, e.g. missing append-only triggers."""

    def __str__(self) -> str:
        if self.ok:
            return (
                f"{self.path}: ok: {self.events_checked} events, {self.ledger_entries_checked} ledger "
                f"entries and {self.snapshots_checked} snapshots check out; head seq {self.head.seq} "
                f"{self.head.hash}"
            )
        where = "" if self.first_failing_seq is None else f" at seq {self.first_failing_seq}"
        return f"{self.path}: FAILED{where}: {self.reason} ({self.events_checked} events checked before it)"
