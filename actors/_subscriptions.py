"""Subscriptions: durable events handed to an embedder's callback, in seq order, off the arena's threads.

Delivery after durability. The event writer calls ``SubscriptionHub.publish`` after each commit with the
events it committed (the event objects the supervisor built: nothing is decoded again). An event is thus
never delivered before it is in the store, and every committed event is published once, in seq order,
by the one thread that commits. In-memory arenas and null sinks publish after their commit too.

Never blocking the arena. ``publish`` runs on the writer's thread and only appends to each subscription's
bounded queue under a short lock; each subscription has its own daemon thread that calls its callback.
A slow or stuck callback delays nobody but itself: not the writer, not the supervisor, not another
subscription.

Overflow: cancel, never skip. A subscription holds at most ``max_pending`` undelivered events. When a
commit brings more than fit, the events that fit are queued and the rest refused; the subscription
delivers what it queued, then ends in state ``overflowed``, logs a warning and calls ``on_overflow``.
Nothing is dropped in the middle: ``last_seq`` is where it stopped, and subscribing again with
``from_seq=last_seq + 1`` resumes with no gap and no duplicate.

Resuming: replay, then live. With ``from_seq``, a subscription is registered first (so it queues every
commit from then on) and remembers the head published at that moment; its thread then reads the durable
log from ``from_seq`` up to that head through the arena's replay path (a reader connection of its own),
and only then drains the live queue. The two ranges meet at that head: exactly once, in order.

A callback that raises fails its own subscription only (state ``failed``, ``error`` holds the
exception, logged with its traceback); ``cancel()`` stops one; the arena's ``close()`` stops all of them
after they have delivered everything committed before it (within ``STOP_TIMEOUT``; a callback stuck past
it is abandoned on its daemon thread, as a stuck agent is).
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import deque
from typing import TYPE_CHECKING, Final, Literal

from events import EventSourcingError, ValidationError, is_known_event_type, known_event_types

from . import _timeouts
from ._checks import agent_id_arg, event_types_arg, int_arg

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from events import AnyEvent, Event

__all__ = ["DEFAULT_MAX_PENDING", "Subscription", "SubscriptionHub", "SubscriptionState", "new_subscription"]

logger = logging.getLogger(__name__)

DEFAULT_MAX_PENDING: Final = 10_000
"""Undelivered events a subscription may hold before it is cancelled as overflowed."""

SubscriptionState = Literal["active", "cancelled", "overflowed", "failed", "closed"]
"""``active`` while delivering; then why it ended: ``cancel()``, a full queue, a raising callback (or an
unreadable log while replaying), or the arena's ``close()``."""

_numbers = itertools.count(1)


class Subscription:
    """One callback's view of the log: every matching durable event from ``from_seq`` on, once, in order.

    Made by ``Arena.subscribe``; safe to use from any thread. See the module docstring for delivery,
    overflow and resuming.
    """

    def __init__(
        self,
        callback: Callable[[AnyEvent], object],
        *,
        event_types: frozenset[str] | None,
        agent_id: str | None,
        from_seq: int | None,
        max_pending: int,
        on_overflow: Callable[[Subscription], object] | None,
        replay: Callable[[int, int], Iterable[AnyEvent]] | None,
    ) -> None:
        self.number = next(_numbers)
        self._callback = callback
        self._types = event_types
        self._agent_id = agent_id
        self._requested = from_seq
        self._max_pending = max_pending
        self._on_overflow = on_overflow
        self._replay = replay
        self._cond = threading.Condition()
        self._items: deque[tuple[tuple[Event, ...], int]] = deque()
        self._pending = 0
        self._state: SubscriptionState = "active"
        self._refusing = False  # overflowed: deliver what is queued, then end
        self._stopping = False  # the arena closes: deliver what is queued, then end
        self._error: BaseException | None = None
        self._from = 1
        self._live_after = 0
        self._last = 0
        self._thread = threading.Thread(
            target=self._run, name=f"arena-subscription-{self.number}", daemon=True
        )

    def __repr__(self) -> str:
        return f"<Subscription #{self.number} {self.state} from_seq={self._from} last_seq={self.last_seq}>"

    # --- the caller's side ----------------------------------------------------------------------------

    @property
    def state(self) -> SubscriptionState:
        """``active``, or why it ended (``SubscriptionState``)."""
        return self._state

    @property
    def closed(self) -> bool:
        """Whether it has ended, for whatever reason (``state`` says which)."""
        return self._state != "active"

    @property
    def from_seq(self) -> int:
        """The first seq it covers: the ``from_seq`` asked for, else the first committed after subscribing."""
        return self._from

    @property
    def last_seq(self) -> int:
        """Every matching event up to this seq has been delivered (the callback returned); resume after it."""
        with self._cond:
            return self._last

    @property
    def error(self) -> BaseException | None:
        """What the callback (or the replay) raised, for a ``failed`` subscription; else None."""
        return self._error

    def cancel(self) -> None:
        """Stop delivering; idempotent. A callback call already running finishes, no later one starts."""
        self._end("cancelled")

    def wait(self, seq: int, timeout: float) -> bool:
        """Block until every matching event up to ``seq`` is delivered; return whether it was in time.

        Returns False at once if the subscription ends before reaching ``seq``. Never call it from the
        callback itself: the callback's own thread is the one that would have to deliver.
        """
        with self._cond:
            self._cond.wait_for(lambda: self._last >= seq or self._state != "active", timeout)
            return self._last >= seq

    # --- the hub's side -------------------------------------------------------------------------------

    def start(self, head: int) -> None:
        """Begin after the published ``head``: replay ``[from_seq, head]`` if asked, then deliver live."""
        self._live_after = head
        self._from = head + 1 if self._requested is None else self._requested
        self._last = self._from - 1
        self._thread.start()

    def offer(self, events: Sequence[Event]) -> None:
        """Queue the matching events of one commit, without ever waiting (called on the writer's thread)."""
        with self._cond:
            if self._state != "active" or self._refusing or self._stopping:
                return
            matching = tuple(e for e in events if self._matches(e))
            room = self._max_pending - self._pending
            if len(matching) > room:
                refused = matching[room]
                matching, up_to = matching[:room], refused.seq - 1
                self._refusing = True
                logger.warning(
                    "subscription #%d: more than max_pending=%d events undelivered at seq %d; it is "
                    "cancelled after the queued ones; subscribe again with from_seq=last_seq + 1 to resume "
                    "without a gap",
                    self.number,
                    self._max_pending,
                    refused.seq,
                )
            else:
                up_to = events[-1].seq
            if matching or not self._items:
                self._items.append((matching, up_to))
            else:  # nothing to deliver: move the last item's mark on, so marks never pile up
                queued, _ = self._items[-1]
                self._items[-1] = (queued, up_to)
            self._pending += len(matching)
            self._cond.notify_all()

    def stop(self) -> None:
        """Deliver what is queued, then end as ``closed`` (the arena is closing: nothing more will come)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()

    def join(self, timeout: float) -> bool:
        """Wait for the delivery thread to end; return whether it did (never waits on the current thread)."""
        if self._thread is threading.current_thread() or not self._thread.is_alive():
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    # --- the delivery thread --------------------------------------------------------------------------

    def _matches(self, event: Event) -> bool:
        return (
            event.seq >= self._from
            and (self._types is None or event.event_type in self._types)
            and (self._agent_id is None or event.agent_id == self._agent_id)
        )

    def _run(self) -> None:
        if self._from <= self._live_after and not self._replayed():
            return
        while True:
            with self._cond:
                self._cond.wait_for(
                    lambda: self._items or self._state != "active" or self._refusing or self._stopping
                )
                if self._state != "active":
                    return
                if not self._items:
                    break  # refusing or stopping, and everything accepted is delivered
                batch, up_to = self._items.popleft()
                self._pending -= len(batch)
            if not all(self._deliver(event) for event in batch):
                return
            with self._cond:
                self._last = max(self._last, up_to)
                self._cond.notify_all()
        if self._refusing:
            self._end("overflowed")
            self._tell_overflow()
        else:
            self._end("closed")

    def _replayed(self) -> bool:
        """Deliver the durable log from ``from_seq`` up to where live delivery starts; False if it ended."""
        if self._replay is None:  # Arena.subscribe refuses from_seq without a store
            return True
        events = None
        try:
            events = self._replay(self._from, self._live_after)
            for event in events:
                if not self._deliver(event):
                    return False
        except Exception as e:
            logger.exception(
                "subscription #%d: replaying the log from seq %d failed", self.number, self._from
            )
            self._end("failed", e)
            return False
        finally:
            close = getattr(events, "close", None)  # a replay is a generator holding a reader: release it now
            if close is not None:
                close()
        with self._cond:
            self._last = max(self._last, self._live_after)
            self._cond.notify_all()
        return True

    def _deliver(self, event: AnyEvent | Event) -> bool:
        if self._state != "active":
            return False
        try:
            self._callback(event)  # type: ignore[arg-type]  # every stored event is an AnyEvent
        except Exception as e:
            logger.exception(
                "subscription #%d: the callback raised at seq %d; it is cancelled", self.number, event.seq
            )
            self._end("failed", e)
            return False
        with self._cond:
            self._last = event.seq
            self._cond.notify_all()
        return True

    def _end(self, state: SubscriptionState, error: BaseException | None = None) -> None:
        with self._cond:
            if self._state != "active":
                return
            self._state, self._error = state, error
            self._items.clear()
            self._pending = 0
            self._cond.notify_all()

    def _tell_overflow(self) -> None:
        if self._on_overflow is None:
            return
        try:
            self._on_overflow(self)
        except Exception:
            logger.exception("subscription #%d: on_overflow raised", self.number)


class SubscriptionHub:
    """Every subscription of one arena, and the head published to them.

    Owned by the supervisor; ``publish`` is called by the writer's thread only, ``add`` by the
    supervisor's, ``close`` as the supervisor stops.

    Args:
        head: The seq the store holds when the arena starts: subscriptions made now begin after it.

    """

    def __init__(self, head: int) -> None:
        self._lock = threading.Lock()
        self._head = head
        self._subscriptions: list[Subscription] = []
        self._closed = False

    def add(self, subscription: Subscription) -> None:
        """Register ``subscription`` and start it after the head published so far."""
        with self._lock:
            self._subscriptions = [s for s in self._subscriptions if not s.closed]
            self._subscriptions.append(subscription)
            subscription.start(self._head)
            if self._closed:
                subscription.stop()

    def publish(self, events: Sequence[Event]) -> None:
        """Hand a commit's events to every subscription; never blocks, never raises to the writer."""
        if not events:
            return
        with self._lock:
            self._head = events[-1].seq
            subscriptions = tuple(self._subscriptions)
        for subscription in subscriptions:
            try:
                subscription.offer(events)
            except Exception:  # a bug here must never fail the log
                logger.exception("subscription #%d: queueing events failed", subscription.number)

    def close(self) -> None:
        """Let every subscription deliver what it holds, then end it; wait up to ``STOP_TIMEOUT`` in all."""
        with self._lock:
            self._closed = True
            subscriptions = tuple(self._subscriptions)
        for subscription in subscriptions:
            subscription.stop()
        deadline = time.monotonic() + _timeouts.STOP_TIMEOUT
        hung = [s.number for s in subscriptions if not s.join(max(0.0, deadline - time.monotonic()))]
        if hung:
            logger.warning(
                "arena: subscription(s) %s did not finish within %s s; abandoned (daemon threads)",
                hung,
                _timeouts.STOP_TIMEOUT,
            )


def new_subscription(
    callback: object,
    *,
    event_types: object,
    agent_id: object,
    from_seq: object,
    max_pending: object,
    on_overflow: object,
    replay: Callable[[int, int], Iterable[AnyEvent]] | None,
) -> Subscription:
    """Check ``Arena.subscribe``'s arguments in the caller's thread and return the (unstarted) subscription.

    ``replay`` reads the stored log between two seqs with the filters applied, or is None when the arena
    has no store to read (a null sink).

    Raises:
        ValidationError: an argument is malformed; an event type is neither built in nor registered.
        EventSourcingError: ``from_seq`` is given but the arena has no store to replay from.

    """
    if not callable(callback):
        msg = f"subscribe: callback {callback!r} is not callable; pass a function of one event"
        raise ValidationError(msg, field="callback", value=callback)
    if on_overflow is not None and not callable(on_overflow):
        msg = f"subscribe: on_overflow {on_overflow!r} is not callable; pass a function of the subscription"
        raise ValidationError(msg, field="on_overflow", value=on_overflow)
    tags = event_types_arg(event_types)
    if tags is not None:
        unknown = [tag for tag in tags if not is_known_event_type(tag)]
        if unknown:
            msg = (
                f"subscribe: event_types {unknown!r} are not event types; expected some of: "
                f"{', '.join(known_event_types())} (register a user event first)"
            )
            raise ValidationError(msg, field="event_types", value=unknown)
    agent = None if agent_id is None else agent_id_arg(agent_id)
    first = int_arg(from_seq, "from_seq", minimum=1, optional=True)
    pending = int_arg(max_pending, "max_pending", minimum=1)
    if first is not None and replay is None:
        msg = (
            "subscribe: from_seq needs the stored log, but this arena writes to a null sink; subscribe "
            "without from_seq, or open the arena with a path (or None for an in-memory store)"
        )
        raise EventSourcingError(msg)
    return Subscription(
        callback,
        event_types=None if tags is None else frozenset(tags),
        agent_id=agent,
        from_seq=first,
        max_pending=pending or DEFAULT_MAX_PENDING,
        on_overflow=on_overflow,
        replay=replay,
    )
