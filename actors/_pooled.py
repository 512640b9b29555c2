"""Pooled pykka actors: many actors, each with its own mailbox, sharing a few worker threads.

A ``pykka.ThreadingActor`` owns an OS thread for its whole life: 5,000 agents took 16 s to spawn and
163 MB, and 100,000 were out of reach. A ``PooledActor`` is a pykka actor like any other (an ``ActorRef``
with a mailbox; ``tell``, ``ask``, ``proxy``, ``stop`` and the ``ActorRegistry`` work unchanged), but it
runs on an ``ActorPool``: a fixed set of worker threads that take turns at the actors with mail.

The rules:

* **Scheduling.** An actor is *scheduled* (in the pool's ready queue or on a worker) or *idle*, never
  both, and never on two workers at once: its mailbox flips the flag under one lock, so a message for an
  idle actor schedules it exactly once and a message for a scheduled one only queues. Per actor,
  messages are handled one at a time in the order they arrived (FIFO), as in any pykka actor.
* **Batches.** ``ActorPool.deliver`` puts many envelopes into many mailboxes first and then schedules
  every actor it woke as one run list that each worker draws from: a step's thousands of messages
  cost one wake-up per worker, and an actor that blocks holds only the worker it is on.
* **Fairness.** A worker handles at most ``throughput`` messages of one actor per turn, then puts the
  actor back at the end of the ready queue if more mail waits; an actor flooded with messages costs the
  others one turn of waiting, not its whole backlog.
* **Life cycle as pykka's.** The first turn runs ``on_start``. An exception escaping ``on_receive`` of an
  ``ask`` goes to the asker; of a ``tell``, pykka's ``_handle_failure`` and ``on_failure`` run and that
  actor alone stops. A ``BaseException`` stops the actor and then every actor (pykka's rule), without
  the worker waiting for them. ``stop()`` handles what was sent before it, runs ``on_stop``, and answers
  every message still queued (or sent later) with ``ActorDeadError``.
* **No waiting on workers.** A worker never blocks on a future: asks are pykka's ``ThreadingFuture``,
  waited on by the asker's thread. An actor that blocks in a handler (a stuck strategy) holds one worker;
  the others carry on, which is why the default is never fewer than two workers.
* **Shutdown.** ``ActorPool.shutdown(timeout=...)`` lets the workers finish the turns already queued,
  then joins them within one deadline. Stop the pool's actors first: an actor still scheduled once the
  pool has closed is abandoned (stopped without ``on_stop``, its queued asks answered ``ActorDeadError``)
  rather than left with mail nobody will read. Workers are daemon threads, so a forgotten pool never
  keeps the process alive.

An actor started without a pool gets one of its own (one worker, closed when the actor stops): it then
behaves exactly as a ``ThreadingActor``, which keeps code and tests that start actors directly working.

What an idle actor costs. 100,000 agents must fit in a few hundred MB, so an actor holds nothing it
does not use (measured with tracemalloc per actor, pykka 4.5 on CPython 3.11):

* ``actor_stopped`` is a ``_StopFlag``, a ``threading.Event`` that is a plain flag until someone waits
  on it (then it makes a real Event): pykka's Event and its Condition cost 1,128 B per actor, and only
  tests and shutdown ever wait;
* the mailbox has no deque while it is empty (an empty deque costs 760 B) and shares its lock with
  other mailboxes (``_LOCKS``; a mailbox method holds one lock and never takes another);
* ``actor_urn`` is a process-wide random UUID prefix plus a counter (a valid, unique UUID URN, without
  a ``uuid4`` draw and an ``os.urandom`` call per actor);
* the actor's attributes are ``__slots__``, so no instance ``__dict__`` is made (328 B); a subclass
  without ``__slots__`` gets one as usual. pykka's proxies see a slot as a plain attribute (neither
  callable nor traversable), which is what each of these is.

pykka extension points used: ``_envelope.Envelope`` (the step protocol builds envelopes for
``deliver``), ``Actor._create_actor_inbox``, ``_create_future``, ``_start_actor_loop``,
``_actor_loop_setup``, ``_handle_receive``, ``_handle_failure``, ``_stop`` and ``messages._ActorStop``;
``PooledActor.__init__`` sets what ``pykka.Actor.__init__`` sets (``actor_urn``, ``actor_inbox``,
``actor_stopped``, ``_actor_ref``) instead of calling it, so that no Event is built only to be
replaced (private, so pyproject.toml pins pykka to the 4.x minor versions this is tested with;
``tests/actors/test_pooled_footprint.py`` checks the attributes match).
"""

from __future__ import annotations

import logging
import os
import queue
import sys
import threading
import time
import uuid
from collections import deque
from contextlib import contextmanager
from itertools import count
from typing import TYPE_CHECKING, Any, Final

import pykka
from pykka import messages
from pykka._envelope import Envelope

from events import ArenaError, ValidationError

from ._checks import int_arg
from ._step import StepCollector

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

__all__ = ["DEFAULT_THROUGHPUT", "MAX_WORKERS", "ActorPool", "PooledActor", "default_workers"]

logger = logging.getLogger(__name__)

DEFAULT_THROUGHPUT: Final = 32
"""Messages of one actor a worker handles per turn before the next actor with mail gets its turn."""

MAX_WORKERS: Final = 1024
"""Most worker threads a pool starts: more would only contend for the GIL (and the OS's thread limit)."""

_SHUTDOWN: Final = object()
"""Put once per worker by ``ActorPool.close``: the worker that takes it exits."""

_own_pool_counter = count()


class _Urns:
    """Actor URNs: one random UUID's first 20 hex digits per process, then a 12-digit counter.

    Every URN is a well-formed UUID URN, unique in the process (the counter) and, with 74 random bits of
    prefix, across processes; a forked child draws a prefix of its own.
    """

    __slots__ = ("_counter", "_prefix")

    def __init__(self) -> None:
        self._prefix = ""
        self._counter = count()
        self.reseed()

    def reseed(self) -> None:
        """Draw a new prefix (at import and in a forked child)."""
        self._prefix = uuid.uuid4().urn[:-12]  # "urn:uuid:xxxxxxxx-xxxx-4xxx-yxxx-"

    def next(self) -> str:
        """Return a URN no actor of this process had."""
        return f"{self._prefix}{next(self._counter):012x}"  # next() on a count is atomic under the GIL


_urns = _Urns()
if hasattr(os, "register_at_fork"):  # not on Windows
    os.register_at_fork(after_in_child=_urns.reseed)

_LOCKS: Final = tuple(threading.Lock() for _ in range(64))
"""Mailbox locks, shared round robin: a lock is held for a few bytecodes, never while taking another,
so 64 make contention between a handful of workers negligible and save 80 B per mailbox."""

_lock_counter = count()

_flag_lock = threading.Lock()
"""Guards each ``_StopFlag``'s lazily made Event: taken at a stop and at a wait, never per message."""


def default_workers() -> int:
    """Return the default worker count: the cores, at least 2 (one stuck actor never halts all) and at most 4.

    Agents are CPU-bound Python, so more workers than cores buy nothing under the GIL; beyond 4 the
    measured step rate did not grow (benchmarks/bench_agents.py).
    """
    return max(2, min(4, os.cpu_count() or 1))


class ActorPool:
    """A fixed set of daemon worker threads that run ``PooledActor`` turns, first come first served.

    Args:
        workers: How many threads; ``default_workers()`` if None.
        throughput: Messages of one actor handled per turn (fairness between actors).
        name: Prefix of the worker threads' names (``name-0``, ``name-1``, ...).

    Raises:
        ValidationError: ``workers`` is not an int from 1 to ``MAX_WORKERS``, or ``throughput`` not one
            of at least 1.

    """

    def __init__(
        self, workers: int | None = None, *, throughput: int = DEFAULT_THROUGHPUT, name: str = "ActorPool"
    ) -> None:
        self._workers = (
            int_arg(workers, "workers", minimum=1, maximum=MAX_WORKERS, optional=True) or default_workers()
        )
        self._throughput = int_arg(throughput, "throughput", minimum=1) or DEFAULT_THROUGHPUT
        self._ready: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._closed = False
        self._held: dict[int, list[PooledActor]] = {}
        """Per thread inside ``batched``: the turns it scheduled, held back until the batch ends."""
        self._threads = [
            threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True) for i in range(self._workers)
        ]
        for thread in self._threads:
            thread.start()

    @property
    def workers(self) -> int:
        """How many worker threads the pool started."""
        return self._workers

    @property
    def throughput(self) -> int:
        """Messages of one actor handled per turn."""
        return self._throughput

    @property
    def closed(self) -> bool:
        """Whether ``close`` or ``shutdown`` was called: the pool schedules no more turns."""
        return self._closed

    def submit(self, actor: PooledActor) -> None:
        """Queue a turn of ``actor``; an actor submitted to a closed pool is abandoned (module docstring)."""
        with self._lock:
            held = self._held.get(threading.get_ident()) if self._held else None
            if held is not None:  # inside batched() on this thread
                held.append(actor)
                return
            if not self._closed:
                self._ready.put(actor)
                return
        actor._abandon()  # noqa: SLF001  (the pool and its actors are one mechanism)

    def deliver(self, deliveries: Sequence[tuple[pykka.ActorRef[Any], Envelope[Any]]]) -> None:
        """Put each envelope in its actor's mailbox, then schedule every actor it woke in one batch.

        A step tells thousands of agents at once: scheduling each as its mail arrives would wake a worker
        per message while the sender is still sending (a GIL hand-off each). Here the mail goes in first;
        then the woken actors become one shared run list that every worker draws from (one ready-queue
        item per worker, not per actor), so the workers wake once each and a stuck actor holds only the
        worker it is on: the others keep drawing from the list. An actor on another pool (or none) gets
        its envelope as any ``tell`` would.
        """
        woken: list[PooledActor] = []
        for ref, envelope in deliveries:
            inbox = ref.actor_inbox
            if isinstance(inbox, _Mailbox) and inbox.pool is self:
                actor = inbox.put_quietly(envelope)
                if actor is not None:
                    woken.append(actor)
            else:
                inbox.put(envelope)
        self._schedule(woken)

    def _schedule(self, actors: list[PooledActor]) -> None:
        """Queue one turn of each of ``actors`` as a run list every worker draws from (a batch's turns)."""
        if not actors:
            return
        run_list = deque(actors)
        with self._lock:
            held = self._held.get(threading.get_ident())
            if held is not None:  # inside batched(): the batch's end schedules them
                held.extend(actors)
                return
            if not self._closed:
                for _ in range(min(self._workers, len(actors))):
                    self._ready.put(run_list)
                return
        for actor in actors:
            actor._abandon()  # noqa: SLF001  (the pool and its actors are one mechanism)

    @contextmanager
    def batched(self) -> Iterator[None]:
        """Hold back the turns the calling thread schedules in the body; schedule them as one run list after.

        Starting 100,000 actors schedules 100,000 first turns: one at a time, each wakes a worker that
        then contends with the starting thread for the GIL. Inside ``batched`` the starts (and any mail
        the same thread sends) only queue; at the end every held actor goes out at once, as ``deliver``
        sends a step. Other threads' turns (workers requeueing, other callers) are not held.
        """
        ident = threading.get_ident()
        held: list[PooledActor] = []
        with self._lock:
            if ident in self._held:
                msg = "actor pool: batched() does not nest; end the open batch first"
                raise ArenaError(msg)
            self._held[ident] = held
        try:
            yield
        finally:
            with self._lock:
                del self._held[ident]
            self._schedule(held)

    def stop_actors(self, refs: Sequence[pykka.ActorRef[Any]], *, timeout: float) -> int:
        """Stop many actors of this pool at once, wait for all within ``timeout`` s; return how many hung.

        One pass takes them out of pykka's registry (its ``unregister`` scans a list, so stopping N actors
        one by one costs N^2 with N actors registered), then the stop messages go out as one batch and
        the wait is one deadline for all. Each actor still handles what was sent before its stop and runs
        its ``on_stop``; an actor stuck in a handler is abandoned with a logged warning.
        """
        if not refs:
            return 0
        _unregister_all(refs)
        collector = StepCollector()
        names = [str(index) for index in range(len(refs))]
        collector.expect(names)
        self.deliver(
            [
                (ref, Envelope(messages._ActorStop(), collector.reply(name)))  # noqa: SLF001  (pykka's stop)
                for name, ref in zip(names, refs, strict=True)
            ]
        )
        hung = len(collector.wait(timeout).stuck)
        if hung:
            logger.warning("actor pool: %d actor(s) did not stop within %s s; abandoned", hung, timeout)
        return hung

    def close(self) -> None:
        """Schedule no more turns; each worker exits after the turns queued before this call. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        for _ in self._threads:
            self._ready.put(_SHUTDOWN)

    def shutdown(self, *, timeout: float) -> int:
        """Close the pool and join its workers within one deadline of ``timeout`` s; return how many hung.

        A worker still inside a turn then (an actor stuck in a handler) is abandoned with a logged
        warning: it is a daemon thread and exits once the handler returns.
        """
        self.close()
        deadline = time.monotonic() + timeout
        current = threading.current_thread()
        for thread in self._threads:
            if thread is not current:
                thread.join(timeout=max(0.0, deadline - time.monotonic()))
        hung = sum(1 for t in self._threads if t.is_alive() and t is not current)
        if hung:
            logger.warning(
                "actor pool: %d worker(s) still busy after %s s; abandoned (daemon threads)", hung, timeout
            )
        return hung

    def _work(self) -> None:
        while True:
            item = self._ready.get()
            if item is _SHUTDOWN:
                return
            if isinstance(item, deque):  # a run list of deliver(): draw from it until it is empty
                while True:
                    try:
                        actor = item.popleft()  # atomic: every worker holding the list draws from it
                    except IndexError:
                        break
                    self._turn(actor)
                continue
            assert isinstance(item, PooledActor)  # noqa: S101  (only submit and deliver put here)
            self._turn(item)

    def _turn(self, actor: PooledActor) -> None:
        try:
            more = actor._run_turn(self._throughput)  # noqa: SLF001
        except BaseException:  # a bug in this module, not in an actor: keep the worker for the others
            logger.exception("actor pool: a turn of %s failed outside its handlers", actor)
            more = False
        if more:
            self.submit(actor)


class _Mailbox:
    """An actor's FIFO of envelopes and its scheduled flag, under one lock (pykka's ``ActorInbox``).

    The deque exists only while mail waits: ``end_turn`` drops an empty one, so an idle actor's mailbox
    is a few slots (module docstring).
    """

    __slots__ = ("_actor", "_closed", "_envelopes", "_lock", "_scheduled", "pool")

    def __init__(self) -> None:
        self._lock = _LOCKS[next(_lock_counter) % len(_LOCKS)]
        self._envelopes: deque[Envelope[Any]] | None = None
        self._scheduled = True  # until open(): mail sent before the actor starts waits for its first turn
        self._closed = False
        self._actor: PooledActor | None = None
        self.pool: ActorPool | None = None
        """The pool the owner runs on, once it started."""

    def open(self, actor: PooledActor, pool: ActorPool) -> None:
        """Name the owner and the pool that schedules it; the caller schedules the first turn itself."""
        self._actor = actor
        self.pool = pool

    @property
    def _owner(self) -> str:
        """The owner as pykka names it in errors (built only when a message is refused)."""
        return "an actor" if self._actor is None else str(self._actor.actor_ref)

    def put(self, envelope: Envelope[Any], /) -> None:
        """Queue ``envelope``, scheduling the actor if it was idle; refuse it once the actor has stopped."""
        actor = self.put_quietly(envelope)
        if actor is not None and self.pool is not None:
            self.pool.submit(actor)

    def put_quietly(self, envelope: Envelope[Any], /) -> PooledActor | None:
        """Queue ``envelope`` as ``put`` does, but return the actor to schedule (if it was idle) instead."""
        with self._lock:
            refused = self._closed
            wake = not refused and not self._scheduled
            if not refused:
                envelopes = self._envelopes
                if envelopes is None:
                    envelopes = self._envelopes = deque()
                envelopes.append(envelope)
                self._scheduled = True
        if refused:
            _refuse(envelope, self._owner)
            return None
        return self._actor if wake else None

    def get(self) -> Envelope[Any]:
        """Return the oldest envelope (``queue.Empty`` if none): pykka's inbox protocol."""
        with self._lock:
            if not self._envelopes:
                raise queue.Empty
            return self._envelopes.popleft()

    def empty(self) -> bool:
        """Whether no envelope waits."""
        with self._lock:
            return not self._envelopes

    def next(self) -> Envelope[Any] | None:
        """Return the oldest envelope, or None if none waits."""
        with self._lock:
            return self._envelopes.popleft() if self._envelopes else None

    def end_turn(self) -> bool:
        """End a turn: True if mail waits (stay scheduled, requeue), else become idle and return False."""
        with self._lock:
            if self._envelopes:
                return True
            self._envelopes = None  # an idle mailbox holds no deque
            self._scheduled = False
            return False

    def close(self) -> list[Envelope[Any]]:
        """Refuse all later mail and return what is still queued."""
        with self._lock:
            self._closed = True
            left = list(self._envelopes or ())
            self._envelopes = None
            return left


class _StopFlag(threading.Event):
    """``Actor.actor_stopped`` as a flag: a ``threading.Event`` whose Condition is made only for a wait.

    pykka only sets and reads it; waiting (tests, shutdown helpers) is rare, so the first ``wait`` makes
    a real Event under ``_flag_lock`` and ``set`` sets it too. Both look at the flag under that lock, so
    a wait that starts as the flag is set cannot miss it.
    """

    __slots__ = ("_flag", "_waiter")

    def __init__(self) -> None:  # no super().__init__(): its Condition is what this saves
        self._flag = False
        self._waiter: threading.Event | None = None

    def is_set(self) -> bool:
        """Whether the actor has stopped."""
        return self._flag

    def set(self) -> None:
        """Mark the actor stopped and wake anyone waiting."""
        with _flag_lock:
            self._flag = True
            waiter = self._waiter
        if waiter is not None:
            waiter.set()

    def clear(self) -> None:
        """Reset the flag (``threading.Event``'s API; pykka never restarts an actor)."""
        with _flag_lock:
            self._flag = False
            if self._waiter is not None:
                self._waiter.clear()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the flag is set or ``timeout`` s passed; return the flag."""
        with _flag_lock:
            if self._flag:
                return True
            waiter = self._waiter
            if waiter is None:
                waiter = self._waiter = threading.Event()
        return waiter.wait(timeout)


def _unregister_all(refs: Sequence[pykka.ActorRef[Any]]) -> None:
    """Take ``refs`` out of pykka's registry in one pass (its own ``unregister`` is a list scan each)."""
    gone = {id(ref) for ref in refs}
    registry = pykka.ActorRegistry
    with registry._actor_refs_lock:  # noqa: SLF001  (pykka's registry: a list under a lock)
        registry._actor_refs[:] = [ref for ref in registry._actor_refs if id(ref) not in gone]  # noqa: SLF001


def _refuse(envelope: Envelope[Any], owner: str) -> None:
    """Answer a message the actor will never handle as pykka does: a stop succeeds, an ask is dead."""
    reply_to = envelope.reply_to
    if reply_to is None:
        logger.debug("%s stopped; dropped %r", owner, envelope.message)
    elif isinstance(envelope.message, messages._ActorStop):  # noqa: SLF001  (pykka's stop message)
        reply_to.set(None)
    else:
        dead = pykka.ActorDeadError(f"{owner} stopped before handling the message")
        reply_to.set_exception(exc_info=(pykka.ActorDeadError, dead, None))


class PooledActor(pykka.Actor):
    """A pykka actor that runs on an ``ActorPool`` instead of a thread of its own (module docstring).

    Subclass it as ``pykka.ThreadingActor`` and pass the pool to ``__init__``:
    ``super().__init__(pool=pool)``. ``on_start``, ``on_receive``, ``on_stop`` and ``on_failure`` run on
    a worker thread, one message at a time.

    Args:
        pool: The pool to run on; None for a pool of its own (one worker, closed when the actor stops).

    """

    __slots__ = ("_actor_ref", "_owns_pool", "_pool", "_started", "actor_inbox", "actor_stopped", "actor_urn")

    def __init__(self, *, pool: ActorPool | None = None) -> None:
        if pool is not None and not isinstance(pool, ActorPool):
            msg = f"pool: {pool!r} is not an ActorPool; pass an ActorPool, or None for a thread of its own"
            raise ValidationError(msg, field="pool", value=pool)
        # pykka.Actor.__init__'s four attributes, without its Event and uuid4 (module docstring)
        self.actor_urn = _urns.next()
        self.actor_inbox = _Mailbox()
        self.actor_stopped = _StopFlag()
        self._actor_ref = pykka.ActorRef(self)
        self._pool = pool
        self._owns_pool = pool is None
        self._started = False

    @staticmethod
    def _create_actor_inbox() -> _Mailbox:
        return _Mailbox()

    @staticmethod
    def _create_future() -> pykka.Future[Any]:
        return pykka.ThreadingFuture()

    def _start_actor_loop(self) -> None:
        pool = self._pool
        if pool is None:
            pool = self._pool = ActorPool(1, name=f"{type(self).__name__}-{next(_own_pool_counter)}")
        elif pool.closed:
            pykka.ActorRegistry.unregister(self.actor_ref)
            self.actor_stopped.set()
            msg = f"{self}: cannot start on an actor pool that is shut down; start it on an open ActorPool"
            raise ArenaError(msg)
        inbox = self._mailbox
        inbox.open(self, pool)
        pool.submit(self)  # the first turn runs on_start, then any mail sent meanwhile

    @property
    def _mailbox(self) -> _Mailbox:
        inbox = self.actor_inbox
        assert isinstance(inbox, _Mailbox)  # noqa: S101  (created by _create_actor_inbox above)
        return inbox

    def _run_turn(self, budget: int) -> bool:
        """Handle up to ``budget`` messages on the calling worker; return whether to schedule another turn."""
        if not self._started:
            self._started = True
            self._actor_loop_setup()
        inbox = self._mailbox
        handled = 0
        while handled < budget and not self.actor_stopped.is_set():
            envelope = inbox.next()
            if envelope is None:
                break
            self._handle_envelope(envelope)
            handled += 1
        if self.actor_stopped.is_set():
            self._teardown()
            return False
        return inbox.end_turn()

    def _handle_envelope(self, envelope: Envelope[Any]) -> None:
        """Handle one message as pykka's ``Actor._actor_loop_running`` does, minus waiting on anyone."""
        reply_to = envelope.reply_to
        try:
            response = self._handle_receive(envelope.message)
            if reply_to is not None:
                reply_to.set(response)
        except Exception:
            if reply_to is not None:
                logger.info("Exception returned from %s to caller:", self, exc_info=sys.exc_info())
                reply_to.set_exception()
            else:
                self._handle_failure(*sys.exc_info())
                try:
                    self.on_failure(*sys.exc_info())
                except Exception:  # noqa: BLE001  (pykka's rule: a failing on_failure is logged, the actor stops)
                    self._handle_failure(*sys.exc_info())
        except BaseException:  # noqa: BLE001  (pykka's rule: stop this actor, then every actor)
            logger.debug("%r in %s. Stopping all actors.", sys.exc_info()[1], self)
            if reply_to is not None:
                reply_to.set_exception()  # pykka leaves the asker waiting; an answer is kinder
            self._stop()
            pykka.ActorRegistry.stop_all(block=False)  # a worker never waits for other actors

    def _teardown(self) -> None:
        for envelope in self._mailbox.close():
            _refuse(envelope, str(self.actor_ref))
        if self._owns_pool and self._pool is not None:
            self._pool.close()  # its one worker exits after this turn

    def _abandon(self) -> None:
        """Stop without a turn (the pool has shut down): no ``on_stop``, queued asks answered dead."""
        if not self.actor_stopped.is_set():
            logger.warning("%s: its actor pool is shut down; stopped without on_stop", self)
        pykka.ActorRegistry.unregister(self.actor_ref)
        self.actor_stopped.set()
        for envelope in self._mailbox.close():
            _refuse(envelope, str(self.actor_ref))
