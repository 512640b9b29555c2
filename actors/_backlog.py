"""The supervisor's backlog of events not yet durable: submitting, snapshots, back-pressure, failure.

The writer never waits on the supervisor, so the supervisor may wait on it: when more than
``high_water`` submitted events are not yet durable, ``submit`` asks the writer to ``Flush`` and waits,
which bounds memory however fast callers go. Once the writer reports a failure, the log cannot grow and
every later command is refused with the cause and the last durable seq.

Atomic blocks (crash boundaries). Between ``begin`` and ``end`` nothing is submitted: ``submit`` holds
the block's events, and ``end`` tells the writer the whole block as one ``Submit``, which the writer
never splits across transactions (``actors/_writer.py``) and which carries the snapshot, if one is due,
after its last event. So every durable prefix of the log ends at a block's end (or between two commands
outside blocks), never inside one: a driver that makes each step a block can continue from any durable
log. ``begin`` first submits what came before it, so those events stay out of the block.

* A block may hold more than ``high_water`` events (an evolution cycle can emit thousands): it is still
  one ``Submit``. The cost is memory, the block's events and their JSON held until ``end``, and the
  writer waiting on its disk for the whole block at once; back-pressure applies after ``end``.
* ``flush`` while a block is open makes durable everything before the block and answers that head: the
  block is not part of the log yet. It never waits on the block, so a flush from another thread (or the
  driver's own) cannot deadlock or split it.
* Blocks do not nest: ``begin`` while one is open is refused, as is ``end`` with none open.
* ``discard`` (at close, with a block still open: the driver raised or was interrupted) drops the
  block's events unwritten and logs how many at warning. The live state had already folded them, so from
  then on every command is refused, naming the discarded block: the arena cannot go on from a state its
  log does not have. Reopening the store continues from the end of the last complete block.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pykka

from events import ArenaError, EventSourcingError

from ._timeouts import FLUSH_TIMEOUT, ask
from ._writer_messages import Flush, Submit

if TYPE_CHECKING:
    from store import Head

    from ._emitter import Emitter

__all__ = ["Backlog", "Discarded", "snapshot_interval"]

logger = logging.getLogger(__name__)


def snapshot_interval(snapshot_every: int, agents: int) -> int:
    """Events between two snapshots: ``snapshot_every``, or twice the agents the state holds if more.

    A snapshot costs in proportion to the agents (every one frozen and encoded: about 50 us each, 5 s on
    the supervisor's thread for 100,000), an event in proportion to one. Spaced by at least twice the
    agents, a snapshot never costs more than half the events it follows, so a big arena is not paced by
    its snapshots; and a reopen still folds no more events after the snapshot than about twice what
    decoding the snapshot itself costs. Below ``snapshot_every / 2`` agents this is ``snapshot_every``.
    """
    return max(snapshot_every, 2 * agents)


@dataclass(frozen=True, slots=True)
class Discarded:
    """An unfinished atomic block dropped at close: its events were folded live but never written."""

    first_seq: int
    """The seq of the block's first event; the store ends just before it."""
    count: int
    """Events the block held (0 if it was opened and nothing was emitted in it)."""

    @property
    def message(self) -> str:
        """Why a command is refused after the discard, and what to do."""
        last = self.first_seq + self.count - 1
        held = f"{self.count} events, seqs {self.first_seq} to {last}" if self.count else "no events yet"
        return (
            f"arena is closed, and its unfinished atomic block ({held}) was "
            f"discarded at close: the live state had them but the store ends at seq {self.first_seq - 1}, "
            "the end of the last complete block; open it again with Arena.open(path) to continue from there"
        )


class Backlog:
    """Hand an emitter's events to the writer, with a snapshot every ``snapshot_interval`` events.

    Used only on the supervisor's thread.

    Args:
        writer: The event writer.
        durable_seq: The head of the log as the store holds it when the link is made.
        high_water: Most events submitted but not durable before ``submit`` waits for the writer.
        snapshot_every: Fewest events between snapshots (more in an arena of more than half as many
            agents: ``snapshot_interval``), or None for none.

    """

    def __init__(
        self, writer: pykka.ActorRef[Any], *, durable_seq: int, high_water: int, snapshot_every: int | None
    ) -> None:
        self._writer = writer
        self._submitted = self._durable = durable_seq
        self._high_water = high_water
        self._snapshot_every = snapshot_every
        self._since_snapshot = 0
        self._block: int | None = None  # the first seq of the open atomic block
        self.failure: tuple[str, int] | None = None
        """``(cause, last durable seq)`` once the writer failed."""
        self.discarded: Discarded | None = None
        """The unfinished atomic block dropped at close, if any; every later command is refused."""

    @property
    def holding(self) -> bool:
        """Whether an atomic block is open: its events are held back until ``end``."""
        return self._block is not None

    def begin(self, em: Emitter) -> None:
        """Submit what ``em`` holds, then open an atomic block at the next seq.

        Raises:
            ArenaError: a block is open already (blocks do not nest).

        """
        if self._block is not None:
            msg = (
                f"atomic block: one is already open since seq {self._block} "
                f"({em.fold.seq - self._block + 1} events so far); blocks do not nest; "
                "end the open block (leave its `with arena.floor.atomic()`) before beginning another"
            )
            raise ArenaError(msg)
        self._send(em)
        self._block = em.fold.seq + 1

    def end(self, em: Emitter) -> None:
        """Close the open atomic block: tell the writer its events as one ``Submit`` (one transaction).

        Raises:
            ArenaError: no block is open.

        """
        if self._block is None:
            msg = (
                f"atomic block: none is open at seq {em.fold.seq}, so there is none to end; "
                "pair every end with one begin, or use `with arena.floor.atomic():`"
            )
            raise ArenaError(msg)
        self._block = None
        self._send(em)

    def discard(self, em: Emitter) -> Discarded | None:
        """Drop the open block's events unwritten (at close); return what was dropped, or None if none was.

        Idempotent: a second call returns the same ``Discarded``.
        """
        first, self._block = self._block, None
        if first is None:
            return self.discarded
        events, _ = em.drain()  # begin submitted everything before the block: these are the block's
        self.discarded = Discarded(first, len(events))
        logger.warning(
            "arena: closed inside an unfinished atomic block: discarded its %d events (from seq %d); "
            "the log ends at seq %d, the end of the last complete block",
            len(events),
            first,
            first - 1,
        )
        return self.discarded

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
            EventSourcingError: the writer failed (names the cause and the last durable seq), or an
                unfinished atomic block was discarded (names it).

        """
        if self.discarded is not None:
            raise EventSourcingError(self.discarded.message, last_durable_seq=self.discarded.first_seq - 1)
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

        While an atomic block is open (or after one was discarded) this holds the events instead: ``end``
        submits the block whole. A failure while waiting is recorded (every later command is refused and
        ``flush`` raises the cause), not raised: the events are already in the live state.
        """
        if self._block is None and self.discarded is None:
            self._send(em)

    def _send(self, em: Emitter) -> None:
        events, encoded, hashes = em.drain_hashed()
        if not events:
            return
        snapshot = None
        if self._snapshot_every is not None:
            self._since_snapshot += len(events)
            if self._since_snapshot >= snapshot_interval(self._snapshot_every, len(em.fold.agents)):
                snapshot = em.fold.freeze()  # the state at the last of these events
                self._since_snapshot = 0
        try:
            self._writer.tell(Submit(events, encoded, snapshot, hashes))
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

        Inside an atomic block the block is held back (``submit``): the answer is the head before it.

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
