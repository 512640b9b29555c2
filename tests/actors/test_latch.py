"""The supervisor's and writer's lighter future and inbox keep pykka's behaviour whole."""

from __future__ import annotations

import queue
import threading
import time

import pykka
import pytest

from actors._latch import LatchFuture, LeanActor

TIMEOUT = 10.0


def test_get_returns_the_value_every_time() -> None:
    future = LatchFuture()
    future.set(42)
    assert future.get(timeout=TIMEOUT) == 42
    assert future.get() == 42


def test_get_waits_for_a_value_set_from_another_thread() -> None:
    future = LatchFuture()
    setter = threading.Timer(0.05, future.set, args=("late",))
    setter.start()
    try:
        assert future.get(timeout=TIMEOUT) == "late"
    finally:
        setter.join()


def test_every_waiting_thread_wakes_with_the_value() -> None:
    future = LatchFuture()
    seen: list[object] = []
    waiters = [threading.Thread(target=lambda: seen.append(future.get(timeout=TIMEOUT))) for _ in range(8)]
    for waiter in waiters:
        waiter.start()
    future.set("all")
    for waiter in waiters:
        waiter.join(TIMEOUT)
    assert seen == ["all"] * 8


@pytest.mark.parametrize("timeout", [0, 0.01])
def test_get_times_out_with_pykkas_timeout_naming_the_seconds(timeout: float) -> None:
    future = LatchFuture()
    started = time.monotonic()
    with pytest.raises(pykka.Timeout, match=f"{timeout} seconds"):
        future.get(timeout=timeout)
    assert time.monotonic() - started >= timeout
    future.set(1)  # still settable after a timed-out wait
    assert future.get(timeout=0) == 1


def test_a_second_set_is_refused_and_the_first_value_kept() -> None:
    future = LatchFuture()
    future.set(1)
    with pytest.raises(queue.Full):
        future.set(2)
    with pytest.raises(queue.Full):
        future.set_exception((ValueError, ValueError("x"), None))
    assert future.get(timeout=0) == 1


def test_an_exception_is_raised_on_every_get_with_its_traceback() -> None:
    future = LatchFuture()
    try:
        raise KeyError("boom")  # noqa: TRY301  (raised to be caught: the future takes sys.exc_info())
    except KeyError:
        future.set_exception()
    for _ in range(2):
        with pytest.raises(KeyError, match="boom") as caught:
            future.get(timeout=0)
        assert caught.traceback  # the original traceback travels with it


def test_an_exception_type_without_a_value_is_instantiated() -> None:
    future = LatchFuture()
    future.set_exception((RuntimeError, None, None))
    with pytest.raises(RuntimeError):
        future.get(timeout=0)


def test_map_filter_reduce_and_join_work_through_get_hooks() -> None:
    numbers = LatchFuture()
    doubled = numbers.map(lambda values: [v * 2 for v in values])
    evens = numbers.filter(lambda v: v % 2 == 0)
    total = numbers.reduce(lambda a, b: a + b)
    threading.Timer(0.02, numbers.set, args=([1, 2, 3, 4],)).start()
    assert doubled.get(timeout=TIMEOUT) == [2, 4, 6, 8]
    assert evens.get(timeout=TIMEOUT) == [2, 4]
    assert total.get(timeout=TIMEOUT) == 10
    other = LatchFuture()
    other.set("b")
    assert numbers.join(other).get(timeout=TIMEOUT) == [[1, 2, 3, 4], "b"]
    assert pykka.get_all([numbers, other], timeout=TIMEOUT) == [[1, 2, 3, 4], "b"]


def test_a_waiting_get_wakes_when_a_hook_is_set() -> None:
    future = LatchFuture()
    threading.Timer(0.02, future.set_get_hook, args=(lambda timeout: f"hooked {timeout}",)).start()
    assert future.get(timeout=TIMEOUT) == f"hooked {TIMEOUT}"
    with pytest.raises(queue.Full):
        future.set(1)


class _Echo(LeanActor):
    def on_receive(self, message: object) -> object:
        if message == "fail":
            msg = "asked to fail"
            raise ValueError(msg)
        if message == "slow":
            time.sleep(0.2)
        return message


def test_a_lean_actor_answers_asks_raises_their_errors_and_times_out() -> None:
    ref = _Echo.start()
    try:
        assert isinstance(ref.actor_inbox, queue.SimpleQueue)
        assert ref.ask("hi", timeout=TIMEOUT) == "hi"
        future = ref.ask("hi", block=False)
        assert isinstance(future, LatchFuture)
        assert future.get(timeout=TIMEOUT) == "hi"
        with pytest.raises(ValueError, match="asked to fail"):
            ref.ask("fail", timeout=TIMEOUT)
        with pytest.raises(pykka.Timeout):
            ref.ask("slow", timeout=0.01)
        ref.tell("told")
        assert ref.ask("after", timeout=TIMEOUT) == "after"  # the actor survived its handler's error
    finally:
        ref.stop(timeout=TIMEOUT)
    with pytest.raises(pykka.ActorDeadError):
        ref.ask("hi", timeout=TIMEOUT)


def test_asks_queued_before_a_stop_are_answered_and_the_actor_then_stops() -> None:
    ref = _Echo.start()
    slow = ref.ask("slow", block=False)
    queued = [ref.ask(i, block=False) for i in range(3)]
    stopped = ref.stop(block=False)
    assert slow.get(timeout=TIMEOUT) == "slow"
    assert [future.get(timeout=TIMEOUT) for future in queued] == [0, 1, 2]
    assert stopped.get(timeout=TIMEOUT) is True
    assert not ref.is_alive()


def test_a_hook_runs_once_however_many_threads_get() -> None:
    source = LatchFuture()
    calls: list[int] = []

    def double(values: list[int]) -> list[int]:
        calls.append(1)
        time.sleep(0.02)  # long enough for every getter to arrive while it runs
        return [v * 2 for v in values]

    doubled = source.map(double)
    seen: list[object] = []
    getters = [threading.Thread(target=lambda: seen.append(doubled.get(timeout=TIMEOUT))) for _ in range(6)]
    for getter in getters:
        getter.start()
    source.set([1, 2])
    for getter in getters:
        getter.join(TIMEOUT)
    assert seen == [[2, 4]] * 6
    assert calls == [1]
