"""The ``Arena`` facade's hold on its actors: asking them with timeouts, reading the log, stopping them.

Kept apart from the API so that every wait the facade makes, and every way an actor can be gone or slow,
is translated into one ``ArenaError`` in one place.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import pykka

from events import ArenaError, EventSourcingError
from store import SQLiteEventStore

from ._messages import AgentRefs, FlushLog, GetMetrics, Shutdown
from ._reading_writer import PAGE_SIZE, ReadPage
from ._supervisor import CLOSED_MESSAGE
from ._timeouts import ASK_TIMEOUT, FLUSH_TIMEOUT, STEP_TIMEOUT, STOP_TIMEOUT
from ._writer_messages import Flush

if TYPE_CHECKING:
    import os
    from collections.abc import Iterator

    from events import AnyEvent
    from store import Head

    from .simulation import AgentMetrics

__all__ = ["ActorHandle"]

logger = logging.getLogger(__name__)


class ActorHandle:
    """The supervisor and writer of one arena, as the facade reaches them from any thread."""

    def __init__(self, supervisor: pykka.ActorRef[Any]) -> None:
        self.supervisor = supervisor
        self.writer: pykka.ActorRef[Any] | None = None
        self.closed = False
        """Set by ``Arena.close``; every later ask raises the closed error."""

    def ask(self, message: object, *, timeout: float = ASK_TIMEOUT) -> Any:  # noqa: ANN401  (callers narrow it)
        """Send ``message`` to the supervisor and return its answer (or raise its ``ArenaError``)."""
        if self.closed:
            raise ArenaError(CLOSED_MESSAGE)
        try:
            return self.supervisor.ask(message, block=True, timeout=timeout)
        except pykka.ActorDeadError:
            if self.closed:
                raise ArenaError(CLOSED_MESSAGE) from None
            msg = (
                "arena: the supervisor has stopped (after an unexpected error, logged); no command can run; "
                "close the arena and reopen it from its store"
            )
            raise ArenaError(msg) from None
        except pykka.Timeout:
            msg = (
                f"arena: the supervisor did not answer {type(message).__name__} within {timeout} s; it is "
                "overloaded or stuck; see the thread dump, then close and reopen the arena"
            )
            raise ArenaError(msg) from None

    def ask_writer(self, message: object, *, timeout: float = FLUSH_TIMEOUT) -> Any:  # noqa: ANN401
        """Send ``message`` to the event writer and return its answer (or raise its error)."""
        writer = self.writer
        if writer is None:
            raise ArenaError(CLOSED_MESSAGE)
        try:
            return writer.ask(message, block=True, timeout=timeout)
        except pykka.ActorDeadError:
            msg = "arena: the event writer has stopped; close the arena and reopen it from its store"
            raise EventSourcingError(msg) from None
        except pykka.Timeout:
            msg = (
                f"arena: the event writer did not answer within {timeout} s; the disk is too slow or stuck; "
                "check the disk, then close and reopen the arena"
            )
            raise EventSourcingError(msg) from None

    def flush(self) -> Head:
        """Wait until every event the supervisor emitted so far is durable; return the durable head.

        Asked of the supervisor, not the writer, so that it covers whatever the supervisor handled before
        (commands, and agents' crash reports), not only the commands that have answered.
        """
        if self.closed:
            raise ArenaError(CLOSED_MESSAGE)
        try:
            head: Head = self.supervisor.ask(FlushLog(), block=True, timeout=FLUSH_TIMEOUT)
        except pykka.ActorDeadError:
            # the supervisor died of a bug; what it submitted before is still the writer's to make durable
            head = self.ask_writer(Flush())
        except pykka.Timeout:
            msg = (
                f"arena: the log was not made durable within {FLUSH_TIMEOUT} s; the disk is too slow or "
                "stuck; check the disk, then close and reopen the arena"
            )
            raise EventSourcingError(msg) from None
        return head

    def gather_metrics(self) -> dict[str, AgentMetrics]:
        """Ask every live agent for its metrics, all at once; agents killed meanwhile are left out."""
        refs: dict[str, pykka.ActorRef[Any]] = self.ask(AgentRefs())
        futures = {agent_id: ref.ask(GetMetrics(), block=False) for agent_id, ref in refs.items()}
        gathered: dict[str, AgentMetrics] = {}
        for agent_id, future in futures.items():
            try:
                gathered[agent_id] = future.get(timeout=STEP_TIMEOUT)
            except pykka.ActorDeadError:
                continue
        return gathered

    def read(self, path: str | os.PathLike[str] | None, request: ReadPage) -> Iterator[AnyEvent]:
        """Return the stored events matching ``request``'s filters (checked now, not at the first ``next``).

        A file store is read on a reader connection of our own; an in-memory one, which only the writer's
        thread may touch, a page at a time through the writer.
        """
        if path is None:
            first: tuple[AnyEvent, ...] = self.ask_writer(request)
            return self._pages(request, first)
        store = SQLiteEventStore.open(path, readonly=True)
        try:
            events = store.read(
                agent_id=request.agent_id,
                event_types=request.event_types,
                from_seq=request.from_seq,
                to_seq=request.to_seq,
            )
        except BaseException:
            store.close()
            raise
        return _closing(store, events)

    def stop(self) -> None:
        """Stop the agents, then the supervisor, then the writer, each with a timeout; log any that hangs."""
        try:
            agents: tuple[pykka.ActorRef[Any], ...] = self.supervisor.ask(
                Shutdown(), block=True, timeout=ASK_TIMEOUT
            )
        except (pykka.ActorDeadError, pykka.Timeout):
            agents = ()
        for future in [ref.stop(block=False) for ref in agents]:  # all at once, then wait for each
            _wait_stopped(future)
        _wait_stopped(self.supervisor.stop(block=False))
        if self.writer is not None:
            _wait_stopped(self.writer.stop(block=False))  # it commits what it still holds as it stops

    def _pages(self, request: ReadPage, first: tuple[AnyEvent, ...]) -> Iterator[AnyEvent]:
        page = first
        while True:
            yield from page
            if len(page) < request.limit:
                return
            request = ReadPage(
                request.agent_id, request.event_types, page[-1].seq + 1, request.to_seq, PAGE_SIZE
            )
            page = self.ask_writer(request)


def _wait_stopped(future: pykka.Future[bool]) -> None:
    try:
        future.get(timeout=STOP_TIMEOUT)
    except pykka.Timeout:
        logger.error("arena: an actor did not stop within %s s; its thread is left running", STOP_TIMEOUT)  # noqa: TRY400  (a hang, not an exception to trace)


def _closing(store: SQLiteEventStore, events: Iterator[AnyEvent]) -> Iterator[AnyEvent]:
    try:
        yield from events
    finally:
        store.close()
