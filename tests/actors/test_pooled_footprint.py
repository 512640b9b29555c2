"""What an idle pooled actor holds: pykka's attributes, a flag for ``actor_stopped``, no deque, a cheap urn.

100,000 agents must fit in a few hundred MB (issue 14), so the pooled core keeps only what it uses; these
tests pin each saving to the behaviour pykka promises (``actors/_pooled.py``'s module docstring).
"""

from __future__ import annotations

import threading
import tracemalloc
import uuid
from typing import Any

import pykka
import pytest

from actors import STEP_TIMEOUT, STOP_TIMEOUT, ActorPool, PooledActor

TIMEOUT = STEP_TIMEOUT


class Echo(PooledActor):
    __slots__ = ()

    def on_receive(self, message: Any) -> Any:
        return message


class Plain(pykka.ThreadingActor):
    pass


@pytest.fixture
def pool() -> Any:
    pool = ActorPool(2, name="FootprintPool")
    yield pool
    pykka.ActorRegistry.stop_all(timeout=STOP_TIMEOUT)
    assert pool.shutdown(timeout=STOP_TIMEOUT) == 0


def test_a_pooled_actor_sets_every_attribute_pykka_actor_init_sets(pool: ActorPool) -> None:
    plain = Plain()  # not started: only pykka.Actor.__init__ ran
    actor = Echo(pool=pool)

    for name in vars(plain):
        assert hasattr(actor, name), name
    assert actor.actor_ref.actor_urn == actor.actor_urn
    assert actor.actor_ref.actor_inbox is actor.actor_inbox
    assert actor.actor_ref.actor_stopped is actor.actor_stopped


def test_actor_stopped_is_an_event_that_wakes_a_waiter_when_the_actor_stops(pool: ActorPool) -> None:
    ref = Echo.start(pool=pool)
    woke = threading.Event()

    def waiter() -> None:
        if ref.actor_stopped.wait(timeout=TIMEOUT):
            woke.set()

    thread = threading.Thread(target=waiter)
    thread.start()
    assert isinstance(ref.actor_stopped, threading.Event)
    assert not ref.actor_stopped.is_set()

    ref.stop(timeout=TIMEOUT)
    thread.join(timeout=TIMEOUT)

    assert woke.is_set()
    assert ref.actor_stopped.is_set()
    assert ref.actor_stopped.wait(timeout=0)


def test_waiting_on_a_running_actor_times_out_and_says_so(pool: ActorPool) -> None:
    ref = Echo.start(pool=pool)

    assert ref.actor_stopped.wait(timeout=0.01) is False

    assert ref.is_alive()


def test_urns_are_unique_well_formed_uuid_urns(pool: ActorPool) -> None:
    urns = [Echo(pool=pool).actor_urn for _ in range(1000)]

    assert len(set(urns)) == len(urns)
    for urn in urns[:10]:
        assert urn.startswith("urn:uuid:")
        assert uuid.UUID(urn.removeprefix("urn:uuid:")).version == 4


def test_an_idle_mailbox_holds_no_deque_and_a_busy_one_keeps_fifo(pool: ActorPool) -> None:
    ref = Echo.start(pool=pool)

    answers = [ref.ask(index, block=False) for index in range(50)]

    assert [answer.get(timeout=TIMEOUT) for answer in answers] == list(range(50))
    ref.ask(None, timeout=TIMEOUT)  # the turn that answered it has ended once the answer is read...
    ref.stop(timeout=TIMEOUT)
    assert ref.actor_inbox._envelopes is None  # type: ignore[attr-defined]


def test_a_message_to_a_stopped_actor_is_refused_naming_it(pool: ActorPool) -> None:
    ref = Echo.start(pool=pool)
    ref.stop(timeout=TIMEOUT)

    with pytest.raises(pykka.ActorDeadError, match=r"Echo \(urn:uuid:"):
        ref.ask("late", timeout=TIMEOUT)


def test_an_idle_pooled_actor_costs_a_fraction_of_a_threading_actors_core(pool: ActorPool) -> None:
    """Before the slimming an idle pooled actor held 2,900 B (an Event, a deque, a dict); now about 600."""
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        refs = [Echo.start(pool=pool) for _ in range(2000)]
        assert refs[-1].ask("ready", timeout=TIMEOUT) == "ready"
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()

    per_actor = sum(stat.size_diff for stat in after.compare_to(before, "filename")) / len(refs)

    assert per_actor < 1200
