"""Every wait the runtime makes on an actor: its timeout, and what a dead or silent actor becomes.

pykka's ``ask()`` and ``Future.get()`` without a timeout may block forever; a deadlock must surface as a
clear error instead, so every wait in the runtime names one of these timeouts, and every ask that can
meet a dead or stuck actor goes through ``ask`` here, which turns pykka's two failures into the caller's
own ``ArenaError``.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, Final

import pykka

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from events import ArenaError

__all__ = ["ASK_TIMEOUT", "FLUSH_TIMEOUT", "STEP_TIMEOUT", "STOP_TIMEOUT", "ask", "stop_and_wait"]

logger = logging.getLogger(__name__)

ASK_TIMEOUT: Final = 30.0
"""Seconds a caller waits for the supervisor to answer one command (it may be blocked by back-pressure)."""

FLUSH_TIMEOUT: Final = 120.0
"""Seconds a caller waits for every submitted event to become durable (a full backlog at fsync speed)."""

STEP_TIMEOUT: Final = 60.0
"""Seconds the simulation waits for every agent to answer one step."""

STOP_TIMEOUT = 30.0
"""Seconds ``close()`` waits for a group of actors (all the agents, then the writer) to stop; an actor
still running then is abandoned. Not ``Final``: tests shorten it."""


def ask(
    ref: pykka.ActorRef[Any],
    message: object,
    *,
    timeout: float,
    dead: Callable[[], ArenaError],
    slow: Callable[[], ArenaError],
) -> Any:  # noqa: ANN401  (an actor's answer; callers narrow it)
    """Ask ``ref`` and return its answer; raise ``dead()`` if it has stopped, ``slow()`` on timeout.

    An ``ArenaError`` the actor raised for the message reaches the caller unchanged.
    """
    try:
        return ref.ask(message, block=True, timeout=timeout)
    except pykka.ActorDeadError:
        raise dead() from None
    except pykka.Timeout:
        raise slow() from None


def stop_and_wait(refs: Iterable[pykka.ActorRef[Any]], *, timeout: float | None = None) -> int:
    """Stop every actor at once, then wait for them all within one deadline; return how many hung.

    ``timeout`` (``STOP_TIMEOUT`` by default, read at the call so tests can shorten it) bounds the
    whole wait, not each actor's: a hundred stuck agents cost one timeout, not a hundred. An actor that
    does not stop in time (a strategy stuck in a step) is abandoned with a logged warning; its thread is a
    daemon, so it never keeps the process alive.
    """
    budget = STOP_TIMEOUT if timeout is None else timeout
    deadline = time.monotonic() + budget
    hung = 0
    for future in [ref.stop(block=False) for ref in refs]:
        try:
            future.get(timeout=max(0.0, deadline - time.monotonic()))
        except pykka.Timeout:
            hung += 1
    if hung:
        logger.warning(
            "arena: %d actor(s) did not stop within %s s; abandoned (daemon threads)", hung, budget
        )
    return hung
