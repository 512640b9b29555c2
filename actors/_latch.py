"""A lighter future and inbox for the actors every command crosses: the supervisor and the writer.

Every command is one ``ask`` of the supervisor: pykka's ``ThreadingFuture`` builds a ``Condition`` (an
``RLock`` and a waiter list in Python) per ask, and ``get`` allocates another lock per wait; its
``queue.Queue`` inbox takes a Python-level condition on every put and get. Measured under eight client
threads, that machinery was the supervisor's top frame (``Condition.notify``) and a good part of every
client's time. Both are pykka extension points (``_create_future``, ``_create_actor_inbox``; pykka is pinned
for them in ``pyproject.toml``):

* ``LatchFuture`` is a one-shot latch: a plain lock, taken at creation and released once by ``set``;
  ``get`` waits by acquiring it with the timeout (in C) and releases it again at once, so the latch
  stays open for every later ``get``. Pykka's future protocol is kept whole: the value or exception is
  kept and re-raised on every ``get``, a second ``set`` raises ``queue.Full``, ``Timeout`` on expiry, and
  the get hooks behind ``map``, ``filter``, ``join`` and ``reduce`` (setting a hook opens the latch, so a
  waiting ``get`` wakes to run it); ``tests/actors/test_latch.py`` runs pykka's behaviours against it.
* the inbox is a ``queue.SimpleQueue``: the only calls pykka makes on an inbox (``put``, blocking ``get``,
  ``empty``) are C there.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import pykka

if TYPE_CHECKING:
    from types import TracebackType

    from pykka._actor import ActorInbox
    from pykka._future import GetHookFunc

__all__ = ["LatchFuture", "LeanActor"]

_ExcInfo = tuple[type[BaseException] | None, BaseException | None, "TracebackType | None"]


@dataclass(frozen=True, slots=True)
class _Result:
    value: Any = None
    exc_info: _ExcInfo | None = None


class LatchFuture(pykka.Future[Any]):
    """Pykka's ``Future`` on a one-shot lock instead of a condition (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self._latch = threading.Lock()
        self._latch.acquire()
        self._result: _Result | None = None
        self._opened = False
        self._hook_lock: threading.Lock

    def get(self, *, timeout: float | None = None) -> Any:  # noqa: ANN401  (pykka's signature)
        """Return the value (or raise the exception) once set; ``pykka.Timeout`` after ``timeout`` s."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._result is None and self._get_hook is None:
            remaining = -1.0 if deadline is None else max(0.0, deadline - time.monotonic())
            if not self._latch.acquire(timeout=remaining):
                msg = f"{timeout} seconds"
                raise pykka.Timeout(msg)
            self._latch.release()  # open for good: every later get passes straight through
        if self._get_hook is not None:
            with self._hook_lock:  # pykka computes a hook's value once; concurrent gets wait for it
                return super().get(timeout=timeout)
        result = self._result
        assert result is not None  # noqa: S101  (the loop above waits for it)
        if result.exc_info is None:
            return result.value
        exc_type, exc_value, exc_traceback = result.exc_info
        if exc_value is None:
            exc_value = cast("type[BaseException]", exc_type)()
        if exc_value.__traceback__ is not exc_traceback:
            raise exc_value.with_traceback(exc_traceback)
        raise exc_value

    def set(self, value: Any | None = None) -> None:  # noqa: ANN401  (pykka's signature)
        """Set the value and wake every waiter; ``queue.Full`` if it was set already."""
        self._settle(_Result(value=value))

    def set_exception(self, exc_info: _ExcInfo | None = None) -> None:
        """Set the exception (the one being handled if None) and wake every waiter."""
        self._settle(_Result(exc_info=exc_info if exc_info is not None else sys.exc_info()))

    def set_get_hook(self, func: GetHookFunc[Any]) -> None:
        """Have ``get`` return ``func(timeout)`` instead (``map``, ``filter``, ``join``, ``reduce``)."""
        if self._result is not None:
            raise queue.Full
        self._hook_lock = threading.Lock()  # before the hook: a getter that sees the hook finds the lock
        super().set_get_hook(func)
        self._open()

    def _settle(self, result: _Result) -> None:
        if self._result is not None or self._get_hook is not None:
            raise queue.Full
        self._result = result
        self._open()

    def _open(self) -> None:
        if not self._opened:  # one setter per future (pykka's contract); a second hook finds it open
            self._opened = True
            self._latch.release()


class LeanActor(pykka.ThreadingActor):
    """A ``ThreadingActor`` whose asks wait on ``LatchFuture`` and whose inbox is a ``SimpleQueue``."""

    @staticmethod
    def _create_actor_inbox() -> ActorInbox:
        return cast("ActorInbox", queue.SimpleQueue())

    @staticmethod
    def _create_future() -> pykka.Future[Any]:
        return LatchFuture()
