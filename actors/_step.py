"""The step protocol's return path: every agent's answer to one step, collected without a future each.

A driver used to ask each agent for its orders (one pykka future per agent per step) and then wait on the
futures one by one: a lock, a condition and an allocation per agent-step, and a wake-up of the driver's
thread for every answer that came after it started waiting. Now the supervisor tells every agent the
step's bars in one command (``StepAgents``), each agent's answer arrives here as a message (a ``_Reply``
is the envelope's ``reply_to``: pooled actors set it as they would a future's), and the driver wakes once,
when the last expected answer is in or the step's deadline passes.

What each kind of answer becomes:

* orders (a tuple, possibly empty): the agent answered; its orders join the step's, in canonical order
  (agent id, then the agent's own order) however the answers arrived, so the log does not depend on
  scheduling;
* ``ActorDeadError``: the agent's actor stopped before it read the step (killed, or replaced after a
  crash in between): it sits the step out, as it did with futures;
* any other exception: the agent's handler let an error escape (the agent catches its strategy's own
  errors, so this is a bug); it is kept and raised to the driver;
* nothing by the deadline: the agent is *stuck* (its strategy does not return); the driver reports it and
  the failure policy applies. A late answer after the deadline is dropped: the step is over.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pykka

from events import ArenaError

if TYPE_CHECKING:
    from collections.abc import Iterable
    from types import TracebackType

    from trading import Order

__all__ = ["StepAnswers", "StepCollector"]

ExcInfo = tuple[type[BaseException] | None, BaseException | None, "TracebackType | None"]


@dataclass(frozen=True, slots=True)
class StepAnswers:
    """What one step's agents answered, in canonical order."""

    asked: tuple[str, ...]
    """Every agent told the step, sorted by id."""
    orders: tuple[tuple[str, Order], ...]
    """Every answering agent's orders: by agent id, then in the order the agent gave them."""
    answered: int
    """Agents that answered (orders or none)."""
    gone: tuple[str, ...]
    """Agents whose actor stopped before it read the step: they sit it out."""
    stuck: tuple[str, ...]
    """Agents that had not answered by the deadline."""


class StepCollector:
    """Collect one step's answers from many agents on many worker threads; wait for them once.

    Used once: the supervisor calls ``expect`` with the agents it tells and hands each agent's envelope a
    ``reply(agent_id)``; the driver calls ``wait``. Thread-safe: replies come from any worker.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._asked: tuple[str, ...] = ()
        self._answers: dict[str, tuple[Order, ...]] = {}
        self._gone: list[str] = []
        self._errors: list[tuple[str, BaseException]] = []
        self._waiting = 0
        self._closed = False

    def expect(self, agent_ids: Iterable[str]) -> tuple[str, ...]:
        """Name the agents told the step (sorted); return them. Call once, before any reply can arrive."""
        asked = tuple(sorted(agent_ids))
        with self._lock:
            if self._asked or self._closed:
                msg = "step collector: expect() was called twice; use one collector per step"
                raise ArenaError(msg)
            self._asked = asked
            self._waiting = len(asked)
        if not asked:
            self._done.set()
        return asked

    def reply(self, agent_id: str) -> pykka.Future[Any]:
        """Return the ``reply_to`` of the envelope telling ``agent_id`` the step."""
        return _Reply(self, agent_id)

    def wait(self, timeout: float) -> StepAnswers:
        """Wait until every agent answered or ``timeout`` s passed; return the answers, in canonical order.

        Raises:
            ArenaError: an agent's handler let an exception escape (a bug: agents catch their
                strategies' errors); the first such error, by agent id, is chained.

        """
        self._done.wait(timeout)
        with self._lock:
            self._closed = True  # a late answer is dropped: the step is over
            answers = dict(self._answers)
            gone = tuple(sorted(self._gone))
            errors = sorted(self._errors, key=lambda item: item[0])
        if errors:
            agent_id, error = errors[0]
            msg = (
                f"step: agent {agent_id}'s actor raised {type(error).__name__} ({error}) out of its handler; "
                "agents catch their strategies' errors, so this is a bug in the runtime: report it"
            )
            raise ArenaError(msg) from error
        orders = tuple((agent_id, order) for agent_id in sorted(answers) for order in answers[agent_id])
        left = frozenset(answers) | frozenset(gone)
        stuck = tuple(agent_id for agent_id in self._asked if agent_id not in left)
        return StepAnswers(self._asked, orders, len(answers), gone, stuck)

    def _settle(self, agent_id: str, orders: tuple[Order, ...] | None, error: BaseException | None) -> None:
        with self._lock:
            if self._closed or agent_id in self._answers or agent_id in self._gone:
                return
            if orders is not None:
                self._answers[agent_id] = orders
            elif isinstance(error, pykka.ActorDeadError):
                self._gone.append(agent_id)
            elif error is not None:
                self._errors.append((agent_id, error))
            self._waiting -= 1
            last = self._waiting == 0
        if last:
            self._done.set()


class _Reply(pykka.Future[Any]):
    """One agent's answer slot: what a pooled actor sets as it would set an ask's future."""

    _get_hook = None  # pykka's get hook, never set on a reply: class attributes save a step's worth of
    _get_hook_result = None  # pykka.Future.__init__ calls (one reply per agent per step)

    def __init__(self, collector: StepCollector, agent_id: str) -> None:  # no pykka.Future.__init__: above
        self._collector = collector
        self._agent_id = agent_id

    def get(self, *, timeout: float | None = None) -> Any:  # noqa: ANN401, ARG002  (pykka's signature)
        """Not for waiting on: the collector is (``StepCollector.wait``)."""
        msg = "step reply: wait on the StepCollector, not on one agent's reply"
        raise ArenaError(msg)

    def set(self, value: Any | None = None) -> None:  # noqa: ANN401  (pykka's signature)
        """Take the agent's orders."""
        orders = value if isinstance(value, tuple) else ()
        self._collector._settle(self._agent_id, orders, None)  # noqa: SLF001  (the collector's own slot)

    def set_exception(self, exc_info: ExcInfo | None = None) -> None:
        """Take the error the agent's handler raised, or the actor's death before it read the step."""
        error = (exc_info if exc_info is not None else sys.exc_info())[1]  # None: the one being handled
        if error is None:
            error = ArenaError(f"agent {self._agent_id}: failed without an exception")
        self._collector._settle(self._agent_id, None, error)  # noqa: SLF001  (the collector's own slot)
