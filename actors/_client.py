"""The ``Arena`` facade's hold on its supervisor: asking it, reading the log, stopping the arena.

The supervisor is the facade's only actor: it owns the event writer and the agents, so every command,
every flush and the stop go through its mailbox, and the facade never touches the writer. Reads do not
go through an actor at all: a replay opens a reader connection of its own on the store (a file, or the
shared in-memory database of an in-memory arena) and reads it a page at a time, so a replay of any
length holds at most ``PAGE_SIZE`` events and never holds a read transaction across pages (an in-memory
database, unlike a WAL file, makes its writer wait while a reader is inside one).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING, Any

import pykka

from events import ArenaError, EventSourcingError

from . import _timeouts
from ._messages import FlushLog, GetMetrics, Shutdown
from ._supervisor import CLOSED_MESSAGE
from ._timeouts import ASK_TIMEOUT, FLUSH_TIMEOUT, ask, stop_and_wait

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from events import AnyEvent
    from store import Head, SQLiteEventStore
    from trading import AgentMetrics

    from ._backlog import Discarded

__all__ = ["PAGE_SIZE", "ArenaClient", "LogFilter"]

logger = logging.getLogger(__name__)

PAGE_SIZE = 1000
"""Events a replay reads per query: the most it holds in memory at once."""


@dataclass(frozen=True, slots=True)
class LogFilter:
    """Which stored events a replay streams: those matching every given field."""

    agent_id: str | None = None
    event_types: tuple[str, ...] | None = None
    from_seq: int | None = None
    to_seq: int | None = None


class ArenaClient:
    """The supervisor of one arena, as the facade reaches it from any thread.

    Args:
        supervisor: The arena's supervisor.
        open_reader: Opens a read-only connection to the arena's store, or None when the arena has no
            store to read.
        sink_name: What the arena writes to instead of a store, when ``open_reader`` is None.

    """

    def __init__(
        self,
        supervisor: pykka.ActorRef[Any],
        *,
        open_reader: Callable[[], SQLiteEventStore] | None,
        sink_name: str = "sink",
    ) -> None:
        self.supervisor = supervisor
        self._open_reader = open_reader
        self._sink_name = sink_name
        self.closed = False
        """Set by ``Arena.close``; every later ask raises the closed error."""
        self.discarded: Discarded | None = None
        """The open atomic block the supervisor discarded at close, if any; the closed error names it."""

    def closed_error(self) -> ArenaError:
        """Return the error of an ask after close, naming the atomic block discarded at close, if any."""
        return ArenaError(CLOSED_MESSAGE if self.discarded is None else self.discarded.message)

    def ask(self, message: object, *, timeout: float = ASK_TIMEOUT) -> Any:  # noqa: ANN401  (callers narrow it)
        """Send ``message`` to the supervisor and return its answer (or raise its ``ArenaError``)."""
        if self.closed:
            raise self.closed_error()

        def dead() -> ArenaError:
            if self.closed:
                return self.closed_error()
            msg = (
                "arena: the supervisor has stopped (after an unexpected error, logged); no command can run; "
                "close the arena and reopen it from its store"
            )
            return ArenaError(msg)

        def slow() -> ArenaError:
            msg = (
                f"arena: the supervisor did not answer {type(message).__name__} within {timeout} s; it is "
                "overloaded or stuck; see the thread dump, then close and reopen the arena"
            )
            return ArenaError(msg)

        return ask(self.supervisor, message, timeout=timeout, dead=dead, slow=slow)

    def flush(self) -> Head:
        """Wait until every event the supervisor emitted so far is durable; return the durable head.

        Asked in the supervisor's mailbox, so it covers whatever the supervisor handled before (commands,
        and agents' crash reports), not only the commands that have answered. Inside an atomic block it
        covers what came before the block and answers that head: a block is durable whole or not at all.
        """

        def slow() -> EventSourcingError:
            msg = (
                f"arena: the log was not made durable within {FLUSH_TIMEOUT} s; the disk is too slow or "
                "stuck; check the disk, then close and reopen the arena"
            )
            return EventSourcingError(msg)

        if self.closed:
            raise self.closed_error()
        head: Head = ask(self.supervisor, FlushLog(), timeout=FLUSH_TIMEOUT, dead=_stopped, slow=slow)
        return head

    def gather_metrics(self, *, lifetime: bool = False) -> dict[str, AgentMetrics]:
        """Return every live agent's metrics from the supervisor's performance book (one round trip)."""
        metrics: dict[str, AgentMetrics] = self.ask(GetMetrics(lifetime=lifetime))
        return metrics

    @property
    def readable(self) -> bool:
        """Whether the arena has a store to read (a file or an in-memory one), not a null sink."""
        return self._open_reader is not None

    def read(self, selection: LogFilter) -> Iterator[AnyEvent]:
        """Return the stored events matching ``selection`` (checked now, not at the first ``next``).

        Raises:
            EventSourcingError: the arena has no store to read (a null sink).
            ValidationError: a filter is malformed.

        """
        if self._open_reader is None:
            msg = (
                f"replay: the event writer writes to a {self._sink_name}, so there are no events to read; "
                "replay an arena that stores its events (Arena.open with a path, or None for an in-memory "
                "store)"
            )
            raise EventSourcingError(msg)
        store = self._open_reader()
        try:
            first = _page(store, selection, selection.from_seq)
        except BaseException:
            store.close()
            raise
        return _pages(store, selection, first)

    def stop(self) -> None:
        """Refuse every later command, then stop the supervisor, which stops the agents and the writer."""
        try:
            self.discarded = self.supervisor.ask(Shutdown(), block=True, timeout=ASK_TIMEOUT)
        except (pykka.ActorDeadError, pykka.Timeout):
            logger.debug("arena: the supervisor was gone or stuck at shutdown; stopping it anyway")
        # it waits for its agents, then its writer, then its subscriptions, each group within STOP_TIMEOUT
        stop_and_wait([self.supervisor], timeout=3 * _timeouts.STOP_TIMEOUT + ASK_TIMEOUT)


def _stopped() -> ArenaError:
    msg = (
        "arena: the supervisor has stopped (after an unexpected error, logged), and with it the event "
        "writer, which made durable what it held; close the arena and reopen it from its store"
    )
    return EventSourcingError(msg)


def _page(store: SQLiteEventStore, selection: LogFilter, from_seq: int | None) -> tuple[AnyEvent, ...]:
    """Read one page: a query run to the end of its page and closed, so no read stays open between."""
    events = store.read(
        agent_id=selection.agent_id,
        event_types=selection.event_types,
        from_seq=from_seq,
        to_seq=selection.to_seq,
    )
    try:
        return tuple(islice(events, PAGE_SIZE))
    finally:
        events.close()


def _pages(store: SQLiteEventStore, selection: LogFilter, first: tuple[AnyEvent, ...]) -> Iterator[AnyEvent]:
    page = first
    try:
        while True:
            yield from page
            if len(page) < PAGE_SIZE:
                return
            page = _page(store, selection, page[-1].seq + 1)
    finally:
        store.close()
