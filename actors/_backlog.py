"""The supervisor's backlog of events not yet durable: submitting, snapshots, back-pressure, failure.

The writer never waits on the supervisor, so the supervisor may wait on it: when more than
``high_water`` submitted events are not yet durable, ``submit`` asks the writer to ``Flush`` and waits,
which bounds memory however fast callers go. Once the writer reports a failure, the log cannot grow and
every later command is refused with the cause and the last durable seq.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import pykka

from events import EventSourcingError

from ._timeouts import FLUSH_TIMEOUT, ask
from ._writer_messages import Flush, Submit

if TYPE_CHECKING:
    from store import Head

    from ._emitter import Emitter

__all__ = ["Backlog"]

logger = logging.getLogger(__name__)


class Backlog:
    """Hand an emitter's events to the writer, with a snapshot every ``snapshot_every`` events.

    Used only on the supervisor's thread.

    Args:
        writer: The event writer.
        durable_seq: The head of the log as the store holds it when the link is made.
        high_water: Most events submitted but not durable before ``submit`` waits for the writer.
        snapshot_every: Events between snapshots, or None for none.

    """

    def __init__(
        self, writer: pykka.ActorRef[Any], *, durable_seq: int, high_water: int, snapshot_every: int | None
    ) -> None:
        self._writer = writer
        self._submitted = self._durable = durable_seq
        self._high_water = high_water
        self._snapshot_every = snapshot_every
        self._since_snapshot = 0
        self.failure: tuple[str, int] | None = None
        """``(cause, last durable seq)`` once the writer failed."""

    def committed(self, head: Head) -> None:
        """Note the writer's report that everything up to ``head`` is durable."""
        self._durable = max(self._durable, head.seq)

    def failed(self, cause: str, last_durable_seq: int) -> None:
        """Note the writer's report that it failed: the log ends at ``last_durable_seq``."""
        logger.error("arena: the event writer failed at seq %d: %s", last_durable_seq, cause)
        self.failure = (cause, last_durable_seq)

    def check_writable(self) -> None:
        """Refuse a command once the writer has failed.

        Raises:
            EventSourcingError: the writer failed; names the cause and the last durable seq.

        """
        if self.failure is None:
            return
        cause, seq = self.failure
        msg = (
            f"arena: the event log cannot grow since the event writer failed ({cause}); it ends at seq {seq} "
            "and this command was refused; close the arena, fix the cause and reopen it from its store, "
            "which holds everything flushed"
        )
        raise EventSourcingError(msg, last_durable_seq=seq)

    def submit(self, em: Emitter) -> None:
        """Tell the writer every event ``em`` holds; wait for it if the backlog passed the high-water mark.

        A failure while waiting is recorded (every later command is refused and ``flush`` raises the
        cause), not raised: the events are already in the live state.
        """
        events, encoded = em.drain()
        if not events:
            return
        snapshot = None
        if self._snapshot_every is not None:
            self._since_snapshot += len(events)
            if self._since_snapshot >= self._snapshot_every:
                snapshot = em.fold.freeze()  # the state at the last of these events
                self._since_snapshot = 0
        try:
            self._writer.tell(Submit(events, encoded, snapshot))
        except pykka.ActorDeadError:
            logger.error("arena: the event writer has stopped; %d events were not written", len(events))  # noqa: TRY400  (no exception worth a traceback)
            self.failure = ("the event writer has stopped", self._durable)
            return
        self._submitted = events[-1].seq
        if self._submitted - self._durable > self._high_water:
            try:
                self.flush(em)
            except EventSourcingError:
                logger.exception("arena: waiting for the writer to catch up failed")

    def flush(self, em: Emitter) -> Head:
        """Submit what ``em`` holds, then wait until the writer has made everything durable.

        Raises:
            EventSourcingError: the writer failed (recorded, with its own message) or did not answer in
                ``FLUSH_TIMEOUT``.

        """
        if em.pending:
            self.submit(em)

        def dead() -> EventSourcingError:
            msg = "arena: the event writer has stopped; close the arena and reopen it from its store"
            return EventSourcingError(msg, last_durable_seq=self._durable)

        timed_out = False  # a slow disk may recover: only a failed or stopped writer ends the log

        def slow() -> EventSourcingError:
            nonlocal timed_out
            timed_out = True
            msg = (
                f"arena: the event writer did not make the backlog durable within {FLUSH_TIMEOUT} s; "
                "the disk is too slow for this load; lower the load or raise FLUSH_TIMEOUT"
            )
            return EventSourcingError(msg, last_durable_seq=self._durable)

        try:
            head: Head = ask(self._writer, Flush(), timeout=FLUSH_TIMEOUT, dead=dead, slow=slow)
        except EventSourcingError as e:
            if not timed_out:
                durable = e.last_durable_seq if e.last_durable_seq is not None else self._durable
                self.failure = (e.msg, durable)
            raise
        self.committed(head)
        return head
