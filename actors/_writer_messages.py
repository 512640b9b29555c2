"""Messages to and from the event writer: frozen values, safe to pass between actor threads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from events import ValidationError

if TYPE_CHECKING:
    from events import ArenaState, Event
    from store import Head

__all__ = ["Committed", "Flush", "Submit", "WriterCounters", "WriterFailed", "WriterStats"]


@dataclass(frozen=True, slots=True)
class Submit:
    """Events to make durable, told (never asked) so the supervisor does not wait on the disk.

    ``encoded`` holds each event's canonical JSON, already computed by the supervisor's fold. A
    ``snapshot`` is the state at the last of ``events``: the writer commits it in the same transaction.
    ``hashes``, when given, holds each event's chain hash as the same fold computed it (its ``head_hash``
    after the event), so the store need not hash the events again; None makes the store compute them.
    """

    events: tuple[Event, ...]
    encoded: tuple[str, ...]
    snapshot: ArenaState | None = None
    hashes: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        """Refuse a malformed Submit here, in the sender's thread, where the error can reach a caller.

        Inside the writer it would be a failure of the whole log; here it is one caller's bug.
        """
        if len(self.encoded) != len(self.events):
            msg = (
                f"Submit: {len(self.events)} events but {len(self.encoded)} encoded texts; "
                "pass one canonical_json text per event, in the same order"
            )
            raise ValidationError(msg, field="encoded", value=len(self.encoded))
        if self.hashes is not None and len(self.hashes) != len(self.events):
            msg = (
                f"Submit: {len(self.events)} events but {len(self.hashes)} hashes; pass the fold's head_hash "
                "after each event, in the same order, or no hashes"
            )
            raise ValidationError(msg, field="hashes", value=len(self.hashes))
        if self.snapshot is not None and (not self.events or self.snapshot.seq != self.events[-1].seq):
            last = self.events[-1].seq if self.events else None
            msg = (
                f"Submit: snapshot at seq {self.snapshot.seq} does not follow the last event (seq {last}); "
                "attach a snapshot to the Submit whose last event it was folded up to"
            )
            raise ValidationError(msg, field="snapshot", value=self.snapshot.seq)


@dataclass(frozen=True, slots=True)
class Flush:
    """Asked: answer with the durable ``Head`` once everything submitted before it is committed."""


@dataclass(frozen=True, slots=True)
class Committed:
    """Told to the listener after each commit, so it can apply back-pressure on the backlog."""

    head: Head


@dataclass(frozen=True, slots=True)
class WriterFailed:
    """Told to the listener once, when a write fails: from then on the log cannot grow."""

    cause: str
    last_durable_seq: int


@dataclass(frozen=True, slots=True)
class WriterStats:
    """Asked: answer with the writer's ``WriterCounters``, so benchmarks and tests can see the batching."""


@dataclass(frozen=True, slots=True)
class WriterCounters:
    """What the writer has done so far; a value, so reading it never races the writer."""

    commits: int
    """Calls to ``append`` that succeeded: one transaction (and one fsync in ``full`` mode) each."""
    events_written: int
    """Events made durable by this writer."""
    largest_batch: int
    """Most events committed by one ``append``."""
    head: Head
    """The durable head: where the log ends."""
    failure: str | None
    """The cause of the failure that stopped the writer, or ``None`` while it is healthy."""
    events_not_written: int
    """Events lost with the failed batch plus every event submitted after the failure."""
