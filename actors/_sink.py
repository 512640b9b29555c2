"""What the event writer writes to: the SQLite store, or a null sink that measures the runtime without it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from events import GENESIS_HASH, canonical_json, chain_hash
from store import Head

if TYPE_CHECKING:
    from collections.abc import Sequence

    from events import ArenaState, Event

__all__ = ["EventSink", "NullSink"]


class EventSink(Protocol):
    """The part of ``SQLiteEventStore`` the writer uses; a fake must share it exactly."""

    def append(
        self,
        events: Sequence[Event],
        snapshot: ArenaState | None = None,
        *,
        encoded: Sequence[str] | None = None,
        hashes: Sequence[str] | None = None,
    ) -> Head:
        """Make ``events`` (and ``snapshot``) durable in one transaction, or raise and write nothing.

        ``hashes`` are the supervisor's fold's chain hashes of ``events`` (see ``SQLiteEventStore.append``).
        """
        ...

    def head(self) -> Head:
        """Return the seq and hash of the last durable event."""
        ...

    def acknowledge(self, head: Head) -> None:
        """Record that ``head`` (the last ``append``'s) was acknowledged to a flush; raise if it cannot be."""
        ...

    def close(self) -> None:
        """Release the sink; idempotent."""
        ...


class NullSink:
    """Keeps only the head: the same chain arithmetic as the store, no I/O.

    The allocation benchmark runs the arena on it to measure what persistence costs.
    """

    def __init__(self, head: Head | None = None) -> None:
        self._head = head or Head(0, GENESIS_HASH)

    def append(
        self,
        events: Sequence[Event],
        snapshot: ArenaState | None = None,  # noqa: ARG002  (same signature as the store)
        *,
        encoded: Sequence[str] | None = None,
        hashes: Sequence[str] | None = None,
    ) -> Head:
        """Advance the head over ``events`` without storing them (to the last of ``hashes``, if given)."""
        if hashes and events:
            self._head = Head(events[-1].seq, hashes[-1])
            return self._head
        texts = encoded if encoded is not None else [canonical_json(e) for e in events]
        digest = self._head.hash
        for text in texts:
            digest = chain_hash(digest, text)
        if events:
            self._head = Head(events[-1].seq, digest)
        return self._head

    def head(self) -> Head:
        """Return the head after the last append."""
        return self._head

    def acknowledge(self, head: Head) -> None:
        """Nothing to record: a null sink keeps no receipt."""

    def close(self) -> None:
        """Nothing to release."""
