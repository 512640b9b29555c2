"""The event writer, plus reads for a store that only the writer's thread can touch.

A file store has any number of readers, each on its own connection, so ``Arena.replay_events`` opens one
in the caller's thread. An in-memory store is one private connection, bound to the writer's thread, so
its events can only be read there: ``ReadPage`` asks the writer for one page at a time, which keeps a
replay of any length in bounded memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING, Any

from events import EventSourcingError
from store import SQLiteEventStore

from ._writer import EventWriter

if TYPE_CHECKING:
    from events import AnyEvent

__all__ = ["PAGE_SIZE", "ReadPage", "ReadingWriter"]

PAGE_SIZE = 1000
"""Events per ``ReadPage``: a replay holds at most this many in memory at once."""


@dataclass(frozen=True, slots=True)
class ReadPage:
    """Asked: answer up to ``limit`` stored events matching the filters, in seq order, from ``from_seq``."""

    agent_id: str | None = None
    event_types: tuple[str, ...] | None = None
    from_seq: int | None = None
    to_seq: int | None = None
    limit: int = PAGE_SIZE


class ReadingWriter(EventWriter):
    """An ``EventWriter`` that also answers ``ReadPage`` from its own store (see the module docstring)."""

    def on_receive(self, message: Any) -> Any:  # noqa: ANN401  (pykka's signature: replies are any value)
        """Answer ``ReadPage``; hand everything else to the writer."""
        match message:
            case ReadPage():
                return self._read_page(message)
            case _:
                return super().on_receive(message)

    def _read_page(self, request: ReadPage) -> tuple[AnyEvent, ...]:
        sink = self._sink
        if not isinstance(sink, SQLiteEventStore):
            what = "failed and closed its store" if sink is None else f"writes to a {type(sink).__name__}"
            msg = (
                f"replay: the event writer {what}, so there are no events to read; replay an arena "
                "that stores its events (Arena.open with a path, or None for an in-memory store)"
            )
            raise EventSourcingError(msg)
        events = sink.read(
            agent_id=request.agent_id,
            event_types=request.event_types,
            from_seq=request.from_seq,
            to_seq=request.to_seq,
        )
        try:
            return tuple(islice(events, request.limit))
        finally:
            close = getattr(events, "close", None)  # a generator holding a cursor: release it now
            if close is not None:
                close()
