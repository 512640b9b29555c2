"""The supervisor's one way to change state: build an event, number it, stamp it, fold it in, queue it.

Every event a command produces goes through ``Emitter.emit``, which gives it the next gapless seq, a fresh
id and the clock's time, folds it into the live state with the same ``Fold.apply`` the store and the
verifier use, and queues it with the canonical JSON that ``apply`` computed (so each event is encoded once).
The queue is exactly what was applied: if ``apply`` ever refused an event (a bug, since commands validate
first), the events before it are still queued, so the log and the live state can never disagree.

Causes are explicit: a command passes ``caused_by=`` the id of the event that made this one happen (an
evolution cycle's start, a kill, a spawn), so the log is a causal tree whose edges are the real causes,
not a chain of whatever happened to come before.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC
from typing import TYPE_CHECKING, Any, TypeVar

from events import AgentNotAliveError, Event, UnknownAgentError, trusted

if TYPE_CHECKING:
    from collections.abc import Callable

    from events import AgentEntry, Fold

    from ._clock import Clock
    from ._ids import IdGenerator

__all__ = ["Emitter"]

E = TypeVar("E", bound=Event)


class Emitter:
    """Build and fold events for the supervisor, and hold them until it submits them to the writer.

    Owned by the supervisor and used only on its thread, so it needs no lock.

    Args:
        fold: The live state; the emitter is its only writer.
        clock: Stamps each event.
        ids: Gives each event its id.
        observer: Told every event with the state just after it (the supervisor's performance book).

    """

    def __init__(
        self,
        fold: Fold,
        *,
        clock: Clock,
        ids: IdGenerator,
        observer: Callable[[Event, Fold], None] | None = None,
    ) -> None:
        self.fold = fold
        self.clock = clock
        self.ids = ids
        self._observer = observer  # told each event right after the fold took it (the performance book)
        self.counts: Counter[str] = Counter()
        """Events emitted since the arena opened, by type: a driver's report reads it, not the log."""
        self._events: list[Event] = []
        self._encoded: list[str] = []
        self._hashes: list[str] = []  # the fold's head_hash after each queued event: the store reuses it

    def emit(self, cls: type[E], /, **fields: Any) -> E:  # noqa: ANN401  (event fields of any type; the event model checks them)
        """Build a ``cls`` event from ``fields`` (its ``caused_by`` among them), fold it in and queue it.

        Raises:
            EventSourcingError: the fold refused the event (a bug: commands validate before emitting);
                the state and the queue are as they were before this call.

        """
        seq = self.fold.seq + 1
        moment = self.clock.now()
        fields.update(seq=seq, event_id=self.ids.event_id(seq), timestamp=moment)
        # commands checked every value (the test suite checks that they did); a custom clock's naive or
        # zoned time is validated: refused if naive, normalised to UTC if zoned
        event = trusted(cls, fields) if moment.tzinfo is UTC else cls(**fields)
        self._encoded.append(self.fold.apply(event))
        self._hashes.append(self.fold.head_hash)
        self._events.append(event)
        self.counts[event.event_type] += 1
        if self._observer is not None:
            self._observer(event, self.fold)
        return event

    @property
    def pending(self) -> int:
        """Events emitted since the last ``drain``."""
        return len(self._events)

    def drain(self) -> tuple[tuple[Event, ...], tuple[str, ...]]:
        """Return the queued events and their canonical JSON, and empty the queue."""
        events, encoded, _ = self.drain_hashed()
        return events, encoded

    def drain_hashed(self) -> tuple[tuple[Event, ...], tuple[str, ...], tuple[str, ...] | None]:
        """Return the queued events, their canonical JSON and their chain hashes, and empty the queue.

        Each hash is the fold's ``head_hash`` right after it applied the event (computed once, by the
        fold), handed through the writer to ``SQLiteEventStore.append(hashes=...)``, which then only
        checks that the batch links onto its head instead of hashing every event again. None if any
        queued event came without its hash: the store then hashes them all.
        """
        events, encoded, hashes = tuple(self._events), tuple(self._encoded), tuple(self._hashes)
        self._events.clear()
        self._encoded.clear()
        self._hashes.clear()
        return events, encoded, hashes if len(hashes) == len(events) else None

    def alive_ids(self) -> set[str]:
        """Return the ids of every live agent."""
        return set(self.fold.live)

    def existing(self, agent_id: str) -> AgentEntry:
        """Return ``agent_id``'s entry in the live state, dead or alive.

        Raises:
            UnknownAgentError: no agent with that id was ever spawned here.

        """
        agent = self.fold.agent(agent_id)
        if agent is None:
            msg = f"agent {agent_id!r}: no such agent in this arena; spawn it first or check the id"
            raise UnknownAgentError(msg, agent_id=agent_id)
        return agent

    def alive(self, agent_id: str) -> AgentEntry:
        """Return ``agent_id``'s entry in the live state; it must be alive.

        Raises:
            UnknownAgentError: no agent with that id was ever spawned here.
            AgentNotAliveError: the agent was killed.

        """
        agent = self.existing(agent_id)
        if not agent.alive:
            msg = (
                f"agent {agent_id!r} was killed at seq {agent.killed_seq}: dead agents take no commands; "
                "spawn or mutate a new agent instead"
            )
            raise AgentNotAliveError(msg, agent_id=agent_id)
        return agent
