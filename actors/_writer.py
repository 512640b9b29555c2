"""The event writer: the one owner of the store connection, appending the log in group commits.

Group commit. The supervisor tells ``Submit`` and never waits for the disk. The writer buffers what it
receives and makes it durable with one ``append`` (one transaction) when the first of these happens:

* a ``Submit`` carries a snapshot (the snapshot goes into the same transaction as the events it follows);
* the buffer holds ``max_batch`` events (a threshold, not a cap: a ``Submit`` is never split, so the
  events of one command become durable together);
* the oldest buffered event has waited ``max_delay`` seconds (read on each ``Submit``: while the inbox is
  non-empty another message always follows, so no timer is needed);
* the inbox is empty after a message: nothing more is coming, so waiting would only add latency.

Under load the disk is the bottleneck and Submits pile up in the inbox while a transaction runs, so each
commit takes all of them; when idle, every Submit is committed at once.

Back-pressure. ``tell`` cannot block, so the writer cannot slow a submitter by itself. After every commit
it tells the listener ``Committed(head)``. The listener (the supervisor) counts the events it submitted
past ``head.seq``; when that backlog passes its high-water mark it asks ``Flush`` (with
``FLUSH_TIMEOUT``), which answers once the backlog is durable. Memory then stays under the high-water
mark plus one command's events. The writer never asks its listener anything, so that wait cannot
deadlock.

Publication. After each commit (and never before) the writer hands the committed events to
``on_commit``, the subscription hub's ``publish`` (``actors/_subscriptions.py``), which only queues them
for the subscribers' own threads: a subscriber can never block or fail the writer.

Acknowledgement. Answering a ``Flush`` is what acknowledges events as durable, so before it answers, the
writer asks the sink to ``acknowledge`` the head it answers with (the store records it in its receipt,
``store/_receipt.py``): whatever a flush acknowledged is then findable, and a log that later lost it is
reported as loss instead of being read as shorter. Only ``Flush`` acknowledges (and the stop, after the
last commit), never a plain commit: a receipt costs two fsyncs, and flushes are rare (a caller's, or
back-pressure past the high-water mark). A sink that cannot acknowledge fails the writer like a failed
append: the events are committed, but the flush raises instead of answering.

Fail-stop. Any exception from ``append`` or ``acknowledge`` (disk full, file gone, a broken chain)
leaves nothing half written (the store rolls the transaction back) and puts the writer in a failed
state: it closes the sink (a store releases its writer lock then: it will write nothing more), tells the
listener ``WriterFailed`` once, drops every later ``Submit`` and answers every ``Flush`` with an
``EventSourcingError`` naming the cause and the last durable seq. Whatever an earlier ``Flush``
acknowledged is in the store; nothing after it will be, so the run cannot go on without its audit trail.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import pykka

from events import GENESIS_HASH, EventSourcingError, ValidationError
from store import Head

from ._latch import LeanActor
from ._writer_messages import Committed, Flush, Submit, WriterCounters, WriterFailed, WriterStats

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from types import TracebackType

    from events import ArenaState, Event

    from ._sink import EventSink

__all__ = ["EventWriter"]

logger = logging.getLogger(__name__)


class EventWriter(LeanActor):
    """Own the event sink and append submitted events in batches, one transaction per batch.

    Messages: ``Submit`` (told), ``Flush`` (asked, answers the durable ``Head``), ``WriterStats`` (asked,
    answers ``WriterCounters``). Told to ``listener``: ``Committed`` after each commit, ``WriterFailed``
    once if a write fails. See the module docstring for when a batch is committed and how the listener
    applies back-pressure.

    Args:
        sink_factory: Opens the sink. Called in the writer's own thread, because SQLite connections are
            bound to the thread that opened them. If it raises, the writer stays alive in the failed
            state so that the first ``Flush`` gets the error instead of a dead actor.
        listener: The actor told ``Committed`` and ``WriterFailed``, usually the supervisor.
        max_batch: Commit as soon as this many events are buffered.
        max_delay: Commit as soon as the oldest buffered event has waited this many seconds.
        clock: Seconds on a monotonic scale, read once per ``Submit``; injected so tests control time.
        on_commit: Called on the writer's thread with each batch's events once they are committed, in
            seq order (the subscription hub's ``publish``); it must return at once and never raise.

    Raises:
        ValidationError: ``max_batch`` is below 1 or ``max_delay`` is negative (raised by ``start()`` in
            the caller's thread).

    """

    use_daemon_thread = True  # an unclosed arena must not keep the process alive; the exit hook flushes

    def __init__(
        self,
        sink_factory: Callable[[], EventSink],
        *,
        listener: pykka.ActorRef[Any] | None = None,
        max_batch: int = 1000,
        max_delay: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
        on_commit: Callable[[Sequence[Event]], None] | None = None,
    ) -> None:
        super().__init__()
        if max_batch < 1:
            msg = f"EventWriter: max_batch must be at least 1, got {max_batch}; pass a positive batch size"
            raise ValidationError(msg, field="max_batch", value=max_batch)
        if max_delay < 0:
            msg = f"EventWriter: max_delay must be 0 or more seconds, got {max_delay}; pass 0 to never wait"
            raise ValidationError(msg, field="max_delay", value=max_delay)
        # Configuration only: __init__ runs in the caller's thread, the sink is opened in on_start.
        self._sink_factory = sink_factory
        self._listener = listener
        self._max_batch = max_batch
        self._max_delay = max_delay
        self._clock = clock
        self._on_commit = on_commit
        self._sink: EventSink | None = None
        self._head = Head(0, GENESIS_HASH)
        self._events: list[Event] = []
        self._encoded: list[str] = []
        self._hashes: list[str] | None = []
        """The buffered events' hashes from the supervisor's fold; None once a Submit came without them."""
        self._oldest = 0.0
        self._commits = 0
        self._written = 0
        self._largest = 0
        self._failure: str | None = None
        self._failure_exc: Exception | None = None
        self._failed_opening = False
        self._not_written = 0
        self._warned_refusing = False

    def on_start(self) -> None:
        """Open the sink in the writer's thread and learn where the log ends."""
        try:
            self._sink = self._sink_factory()
            self._head = self._sink.head()
        except Exception as e:  # noqa: BLE001  (whatever opening raises must reach the first Flush)
            self._fail(e, opening=True)

    def on_receive(self, message: Any) -> Any:  # noqa: ANN401  (pykka's signature: replies are any value)
        """Handle one message, then commit if nothing else is waiting (see the module docstring)."""
        match message:
            case Submit():
                self._submit(message)
                return None
            case Flush():
                return self._flush()
            case WriterStats():
                reply: object = self._counters()
            case _:
                reply = super().on_receive(message)
        if self._events and self.actor_inbox.empty():
            self._commit()
        return reply

    def on_stop(self) -> None:
        """Commit what is buffered (unless failed), acknowledge the head and close the sink."""
        if self._sink is not None:
            self._commit()
            self._acknowledge()
        self._close_sink()

    def on_failure(
        self,
        exception_type: type[BaseException] | None,  # noqa: ARG002  (pykka's hook signature)
        exception_value: BaseException | None,
        traceback: TracebackType | None,  # noqa: ARG002  (pykka already logged it)
    ) -> None:
        """Report an unexpected error as a writer failure: pykka would otherwise stop the actor silently."""
        if self._failure is None and isinstance(exception_value, Exception):
            self._not_written += len(self._events)
            self._events, self._encoded, self._hashes = [], [], []
            self._fail(exception_value)
        self._close_sink()

    def _submit(self, message: Submit) -> None:
        if self._sink is None:
            self._refuse(message)
            return
        now = self._clock()
        if not self._events:
            self._oldest = now
        self._events.extend(message.events)
        self._encoded.extend(message.encoded)
        if message.hashes is None:
            self._hashes = None  # one Submit without hashes: the store hashes the whole batch
        elif self._hashes is not None:
            self._hashes.extend(message.hashes)
        if (
            message.snapshot is not None
            or len(self._events) >= self._max_batch
            or now - self._oldest >= self._max_delay
            or self.actor_inbox.empty()
        ):
            self._commit(message.snapshot)

    def _flush(self) -> Head:
        self._raise_if_failed()
        self._commit()
        self._acknowledge()
        self._raise_if_failed()
        return self._head

    def _acknowledge(self) -> None:
        sink = self._sink
        if sink is None:
            return  # failed already: the flush is answered with the failure
        try:
            sink.acknowledge(self._head)
        except Exception as e:  # noqa: BLE001  (fail-stop: whatever stops the receipt ends the log)
            self._fail(e)

    def _commit(self, snapshot: ArenaState | None = None) -> None:
        sink = self._sink
        if sink is None or not self._events:
            return  # a snapshot always comes with its events (Submit checks), so none is lost here
        events, encoded, hashes = self._events, self._encoded, self._hashes
        self._events, self._encoded, self._hashes = [], [], []  # handed over: the sink may keep the lists
        try:
            head = sink.append(events, snapshot, encoded=encoded, hashes=hashes)
        except Exception as e:  # noqa: BLE001  (fail-stop: any append failure, whatever its type, ends the log)
            self._not_written += len(events)
            self._fail(e)
            return
        self._head = head
        self._commits += 1
        self._written += len(events)
        self._largest = max(self._largest, len(events))
        logger.debug("committed %d events up to seq %d", len(events), head.seq)
        self._tell(Committed(head))
        self._publish(events)

    def _publish(self, events: Sequence[Event]) -> None:
        if self._on_commit is None:
            return
        try:
            self._on_commit(tuple(events))
        except Exception:  # a subscriber's trouble never fails the log: the events are committed
            logger.exception("event writer: publishing committed events to subscribers failed")

    def _fail(self, error: Exception, *, opening: bool = False) -> None:
        self._failure = f"{type(error).__name__}: {error}"
        self._failure_exc = error
        self._failed_opening = opening
        logger.error(
            "event writer failed after seq %d, the log cannot grow: %s",
            self._head.seq,
            self._failure,
            exc_info=error,
        )
        self._close_sink()
        self._tell(WriterFailed(self._failure, self._head.seq))

    def _refuse(self, message: Submit) -> None:
        if not self._warned_refusing:
            logger.warning("event writer failed (%s): dropping this and every later Submit", self._failure)
            self._warned_refusing = True
        self._not_written += len(message.events)

    def _raise_if_failed(self) -> None:
        if self._failure is None:
            return
        seq = self._head.seq
        if self._failed_opening:
            msg = (
                f"event writer: cannot open the event sink ({self._failure}); no event can be made "
                "durable; fix the cause (path, permissions, free space) and open the arena again"
            )
        else:
            msg = (
                f"event writer: a store write failed ({self._failure}); the log ends at seq {seq} and "
                f"{self._not_written} submitted events after it were not written; fix the cause "
                "(free space, the store file) and reopen the arena from its store, which holds "
                "everything flushed"
            )
        raise EventSourcingError(msg, last_durable_seq=seq) from self._failure_exc

    def _counters(self) -> WriterCounters:
        return WriterCounters(
            commits=self._commits,
            events_written=self._written,
            largest_batch=self._largest,
            head=self._head,
            failure=self._failure,
            events_not_written=self._not_written,
        )

    def _tell(self, message: Committed | WriterFailed) -> None:
        if self._listener is None:
            return
        try:
            self._listener.tell(message)
        except pykka.ActorDeadError:
            # The listener stopped first (an unordered shutdown); the store is still the record.
            logger.debug("event writer: listener is gone, no longer reporting commits")
            self._listener = None

    def _close_sink(self) -> None:
        sink, self._sink = self._sink, None
        if sink is None:
            return
        try:
            sink.close()
        except Exception:
            # Everything committed is already durable; a failing close loses nothing, so report and go on.
            logger.exception("event writer: closing the sink failed")
