"""Pooled actors behave as pykka's own actors: tell, ask, proxy, stop, hooks, failures, the registry.

Plus what only a pool has: per-actor FIFO across shared workers, one turn of ``throughput`` messages per
actor (fairness, asserted on the order of processing, never on time), many actors on few threads, and a
shutdown that leaves no thread behind.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import pykka
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors import STEP_TIMEOUT, STOP_TIMEOUT, ActorPool, PooledActor, default_workers, run_simulation
from actors._pooled import MAX_WORKERS
from events import ArenaError, ValidationError
from tests.actors.support import open_arena
from trading import SyntheticFeed

if TYPE_CHECKING:
    from collections.abc import Iterator

TIMEOUT = STEP_TIMEOUT


class Recorder(PooledActor):
    """Appends every message to a shared list (a list's append is atomic under the GIL)."""

    def __init__(self, pool: ActorPool | None, seen: list[Any], name: str = "") -> None:
        super().__init__(pool=pool)
        self.seen = seen
        self.name = name

    def on_receive(self, message: Any) -> Any:
        match message:
            case "fail":
                msg = "told to fail"
                raise RuntimeError(msg)
            case "exit":
                raise SystemExit(3)
            case ("echo", value):
                return value
            case "thread":
                return threading.current_thread().name
            case _:
                self.seen.append((self.name, message))
                return None

    def double(self, value: int) -> int:
        return value * 2


class Hooked(PooledActor):
    """Records its life cycle: on_start, each message, on_stop or on_failure."""

    def __init__(self, pool: ActorPool | None, log: list[str], *, fail_start: bool = False) -> None:
        super().__init__(pool=pool)
        self.log = log
        self.fail_start = fail_start

    def on_start(self) -> None:
        self.log.append("start")
        if self.fail_start:
            msg = "cannot start"
            raise RuntimeError(msg)

    def on_receive(self, message: Any) -> Any:
        self.log.append(f"receive {message}")
        if message == "fail":
            msg = "told to fail"
            raise RuntimeError(msg)
        return message

    def on_stop(self) -> None:
        self.log.append("stop")

    def on_failure(self, exception_type: Any, exception_value: Any, traceback: Any) -> None:
        self.log.append(f"failure {exception_value}")


class Gate(PooledActor):
    """Holds its worker until the test opens the gate: the only way a test may fill a queue first."""

    def __init__(self, pool: ActorPool, gate: threading.Event) -> None:
        super().__init__(pool=pool)
        self.gate = gate

    def on_receive(self, message: Any) -> Any:
        assert self.gate.wait(timeout=TIMEOUT)
        return message


@pytest.fixture
def pool() -> Iterator[ActorPool]:
    pool = ActorPool(2, name="TestPool")
    yield pool
    pykka.ActorRegistry.stop_all(timeout=STOP_TIMEOUT)
    assert pool.shutdown(timeout=STOP_TIMEOUT) == 0


def one_worker_pool() -> ActorPool:
    return ActorPool(1, name="OneWorker")


# --- pykka's behaviour ------------------------------------------------------------------------------


def test_a_told_message_is_handled_and_an_ask_answers_its_value(pool: ActorPool) -> None:
    seen: list[Any] = []
    ref = Recorder.start(pool, seen)

    ref.tell("hello")
    answer = ref.ask(("echo", 42), timeout=TIMEOUT)

    assert answer == 42
    assert seen == [("", "hello")]


def test_an_exception_raised_for_an_ask_reaches_the_asker_and_the_actor_lives_on(pool: ActorPool) -> None:
    ref = Recorder.start(pool, [])

    with pytest.raises(RuntimeError, match=r"^told to fail$"):
        ref.ask("fail", timeout=TIMEOUT)

    assert ref.is_alive()
    assert ref.ask(("echo", "still here"), timeout=TIMEOUT) == "still here"


def test_an_ask_without_blocking_returns_a_future_of_the_answer(pool: ActorPool) -> None:
    ref = Recorder.start(pool, [])

    future = ref.ask(("echo", "later"), block=False)

    assert isinstance(future, pykka.ThreadingFuture)
    assert future.get(timeout=TIMEOUT) == "later"


def test_a_proxy_calls_methods_on_the_pooled_actor(pool: ActorPool) -> None:
    ref = Recorder.start(pool, [], "proxied")

    proxy = ref.proxy()

    assert proxy.double(21).get(timeout=TIMEOUT) == 42
    assert proxy.name.get(timeout=TIMEOUT) == "proxied"


def test_the_handlers_run_on_a_worker_of_the_pool_not_on_the_callers_thread(pool: ActorPool) -> None:
    ref = Recorder.start(pool, [])

    name = str(ref.ask("thread", timeout=TIMEOUT))

    assert name.startswith("TestPool-")
    assert name != threading.current_thread().name


def test_stop_returns_true_then_the_actor_is_dead_and_a_second_stop_returns_false(pool: ActorPool) -> None:
    ref = Recorder.start(pool, [])

    first = ref.stop(timeout=TIMEOUT)
    second = ref.stop(timeout=TIMEOUT)

    assert first is True
    assert second is False
    assert not ref.is_alive()


def test_stop_without_blocking_returns_a_future_that_resolves_to_true(pool: ActorPool) -> None:
    ref = Recorder.start(pool, [])

    future = ref.stop(block=False)

    assert future.get(timeout=TIMEOUT) is True
    assert not ref.is_alive()


def test_messages_to_a_stopped_actor_raise_actor_dead_error(pool: ActorPool) -> None:
    ref = Recorder.start(pool, [])
    ref.stop(timeout=TIMEOUT)

    with pytest.raises(pykka.ActorDeadError):
        ref.tell("late")
    with pytest.raises(pykka.ActorDeadError):
        ref.ask(("echo", 1), timeout=TIMEOUT)


def test_messages_sent_before_a_stop_are_handled_and_those_after_it_answered_dead() -> None:
    pool = one_worker_pool()
    gate = threading.Event()
    seen: list[Any] = []
    blocker = Gate.start(pool, gate)
    ref = Recorder.start(pool, seen)
    ref.ask(("echo", "started"), timeout=TIMEOUT)
    blocker.tell("hold")  # the only worker waits at the gate; what follows only queues

    ref.tell("before")
    stopping = ref.stop(block=False)
    after = ref.ask(("echo", "after"), block=False)
    twice = ref.stop(block=False)
    gate.set()

    assert stopping.get(timeout=TIMEOUT) is True
    with pytest.raises(pykka.ActorDeadError, match="stopped before handling the message"):
        after.get(timeout=TIMEOUT)
    assert twice.get(timeout=TIMEOUT) is True  # pykka: "was being stopped at the time of the call"
    assert seen == [("", "before")]
    blocker.stop(timeout=TIMEOUT)
    assert pool.shutdown(timeout=STOP_TIMEOUT) == 0


def test_hooks_run_in_order_start_messages_stop(pool: ActorPool) -> None:
    log: list[str] = []
    ref = Hooked.start(pool, log)

    ref.tell("one")
    ref.ask("two", timeout=TIMEOUT)
    ref.stop(timeout=TIMEOUT)

    assert log == ["start", "receive one", "receive two", "stop"]


def test_an_exception_escaping_a_told_message_calls_on_failure_and_stops_that_actor_only(
    pool: ActorPool,
) -> None:
    log: list[str] = []
    failing = Hooked.start(pool, log)
    bystander = Recorder.start(pool, [])

    failing.tell("fail")
    failing.actor_stopped.wait(timeout=TIMEOUT)

    assert log == ["start", "receive fail", "failure told to fail"]  # no on_stop: pykka's rule
    assert not failing.is_alive()
    assert pykka.ActorRegistry.get_by_urn(failing.actor_urn) is None
    assert bystander.ask(("echo", "fine"), timeout=TIMEOUT) == "fine"


def test_an_on_start_that_raises_stops_the_actor_before_any_message() -> None:
    log: list[str] = []
    ref = Hooked.start(None, log, fail_start=True)

    ref.actor_stopped.wait(timeout=TIMEOUT)

    assert log == ["start"]
    with pytest.raises(pykka.ActorDeadError):
        ref.ask("anything", timeout=TIMEOUT)


def test_a_base_exception_in_a_told_message_stops_every_actor_as_pykka_does(pool: ActorPool) -> None:
    exiting = Recorder.start(pool, [])
    other = Recorder.start(pool, [])

    exiting.tell("exit")
    exiting.actor_stopped.wait(timeout=TIMEOUT)
    other.actor_stopped.wait(timeout=TIMEOUT)

    assert not exiting.is_alive()
    assert not other.is_alive()


def test_the_registry_holds_a_pooled_actor_while_it_runs(pool: ActorPool) -> None:
    ref = Recorder.start(pool, [])

    assert pykka.ActorRegistry.get_by_class(Recorder) == [ref]
    assert pykka.ActorRegistry.get_by_urn(ref.actor_urn) == ref
    ref.stop(timeout=TIMEOUT)
    assert pykka.ActorRegistry.get_by_class(Recorder) == []


def test_an_actor_without_a_pool_runs_on_a_thread_of_its_own_that_ends_with_it() -> None:
    before = set(threading.enumerate())
    ref = Recorder.start(None, [])

    name = ref.ask("thread", timeout=TIMEOUT)
    (own,) = [t for t in threading.enumerate() if t not in before]
    ref.stop(timeout=TIMEOUT)
    own.join(timeout=TIMEOUT)

    assert name == own.name
    assert own.daemon
    assert not own.is_alive()


# --- what the pool adds -----------------------------------------------------------------------------


def test_each_actor_handles_its_messages_in_the_order_they_were_sent(pool: ActorPool) -> None:
    seen_a: list[Any] = []
    seen_b: list[Any] = []
    a = Recorder.start(pool, seen_a)
    b = Recorder.start(pool, seen_b)

    for i in range(2000):
        a.tell(i)
        b.tell(i)
    a.ask(("echo", None), timeout=TIMEOUT)
    b.ask(("echo", None), timeout=TIMEOUT)

    assert [m for _, m in seen_a] == list(range(2000))
    assert [m for _, m in seen_b] == list(range(2000))


@settings(max_examples=25, deadline=None)
@given(
    workers=st.integers(min_value=1, max_value=3),
    throughput=st.integers(min_value=1, max_value=5),
    sends=st.lists(st.tuples(st.integers(min_value=0, max_value=3), st.integers()), max_size=200),
)
def test_every_message_is_handled_once_in_its_actors_order_whatever_the_workers_and_throughput(
    workers: int, throughput: int, sends: list[tuple[int, int]]
) -> None:
    pool = ActorPool(workers, throughput=throughput, name="PropertyPool")
    seen: list[list[Any]] = [[] for _ in range(4)]
    refs = [Recorder.start(pool, seen[i]) for i in range(4)]

    for index, value in sends:
        refs[index].tell(value)
    for ref in refs:
        ref.stop(timeout=TIMEOUT)

    assert pool.shutdown(timeout=STOP_TIMEOUT) == 0
    for index in range(4):
        assert [m for _, m in seen[index]] == [v for i, v in sends if i == index]


def test_a_flooded_actor_does_not_starve_another_it_yields_after_one_turn_of_throughput() -> None:
    pool = one_worker_pool()
    gate = threading.Event()
    order: list[Any] = []
    blocker = Gate.start(pool, gate)
    blocker.tell("hold")  # the one worker waits here until both queues are full
    flood = Recorder.start(pool, order, "flood")
    single = Recorder.start(pool, order, "single")

    for i in range(10_000):
        flood.tell(i)
    single.tell("mine")
    gate.set()
    flood.ask(("echo", None), timeout=TIMEOUT)
    single.ask(("echo", None), timeout=TIMEOUT)

    assert order.index(("single", "mine")) == pool.throughput  # one turn of the flood, then its turn
    assert [m for name, m in order if name == "flood"] == list(range(10_000))
    pykka.ActorRegistry.stop_all(timeout=STOP_TIMEOUT)
    assert pool.shutdown(timeout=STOP_TIMEOUT) == 0


def test_twenty_thousand_actors_answer_on_only_the_pools_worker_threads() -> None:
    before = threading.active_count()
    pool = ActorPool(2, name="ManyPool")
    refs = [Recorder.start(pool, []) for _ in range(20_000)]

    futures = [ref.ask(("echo", i), block=False) for i, ref in enumerate(refs)]
    answers = [f.get(timeout=TIMEOUT) for f in futures]
    alive = threading.active_count()

    assert answers == list(range(20_000))
    assert alive == before + 2
    for future in [ref.stop(block=False) for ref in refs]:
        assert future.get(timeout=TIMEOUT) is True
    assert pool.shutdown(timeout=STOP_TIMEOUT) == 0


def test_shutdown_joins_every_worker_and_a_second_shutdown_is_harmless() -> None:
    pool = ActorPool(3, name="ShutPool")
    ref = Recorder.start(pool, [])
    ref.ask(("echo", 1), timeout=TIMEOUT)
    workers = [t for t in threading.enumerate() if t.name.startswith("ShutPool-")]
    ref.stop(timeout=TIMEOUT)

    hung = pool.shutdown(timeout=STOP_TIMEOUT)

    assert len(workers) == 3
    assert hung == 0
    assert not any(t.is_alive() for t in workers)
    assert pool.closed
    assert pool.shutdown(timeout=STOP_TIMEOUT) == 0


def test_an_actor_left_on_a_shut_down_pool_is_abandoned_and_its_asks_answered_dead() -> None:
    pool = one_worker_pool()
    ref = Recorder.start(pool, [])
    ref.ask(("echo", 1), timeout=TIMEOUT)
    assert pool.shutdown(timeout=STOP_TIMEOUT) == 0

    with pytest.raises(pykka.ActorDeadError, match="stopped before handling the message"):
        ref.ask(("echo", 2), timeout=TIMEOUT)
    assert not ref.is_alive()
    assert pykka.ActorRegistry.get_by_urn(ref.actor_urn) is None


def test_starting_an_actor_on_a_shut_down_pool_is_refused_and_registers_nothing() -> None:
    pool = one_worker_pool()
    pool.shutdown(timeout=STOP_TIMEOUT)

    with pytest.raises(
        ArenaError, match=r"^Recorder \(urn:uuid:.*\): cannot start on an actor pool that is shut"
    ):
        Recorder.start(pool, [])
    assert pykka.ActorRegistry.get_all() == []


def test_the_default_worker_count_is_the_cores_from_two_to_four() -> None:
    pool = ActorPool()

    assert 2 <= pool.workers == default_workers() <= 4
    assert pool.shutdown(timeout=STOP_TIMEOUT) == 0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"workers": 0}, r"^workers: 0 is not an int from 1 to 1024; pass one in that range$"),
        ({"workers": MAX_WORKERS + 1}, r"^workers: 1025 is not an int from 1 to 1024"),
        ({"workers": True}, r"^workers: True is not an int"),
        ({"workers": "2"}, r"^workers: '2' is not an int"),
        ({"throughput": 0}, r"^throughput: 0 is not an int from 1 to"),
        ({"throughput": 1.5}, r"^throughput: 1.5 is not an int"),
    ],
)
def test_a_malformed_pool_option_is_refused_by_name(options: dict[str, Any], message: str) -> None:
    before = threading.active_count()

    with pytest.raises(ValidationError, match=message) as caught:
        ActorPool(**options)

    assert caught.value.field == next(iter(options))
    assert threading.active_count() == before


def test_a_pool_that_is_not_an_actor_pool_is_refused() -> None:
    with pytest.raises(
        ValidationError, match=r"^pool: 'four' is not an ActorPool; pass an ActorPool, or None"
    ):
        Recorder.start("four", [])

    assert pykka.ActorRegistry.get_all() == []


# --- the arena's agents on the pool -----------------------------------------------------------------


def test_an_arenas_agents_share_its_agent_workers_and_close_leaves_no_thread() -> None:
    before = set(threading.enumerate())

    with open_arena(agent_workers=1) as arena:
        for _ in range(20):
            arena.spawn_agent()
        started = [t for t in threading.enumerate() if t not in before]
        workers = [t for t in started if t.name.startswith("AgentWorker-")]

        assert len(pykka.ActorRegistry.get_all()) == 22  # supervisor, writer, 20 agents
        assert len(workers) == 1
        assert len(started) == 3  # supervisor, writer, the one agent worker

    assert not any(t.is_alive() for t in started)


@pytest.mark.parametrize("value", [0, -1, True, "4", 1.0, MAX_WORKERS + 1])
def test_arena_open_refuses_a_malformed_agent_workers(value: object) -> None:
    with pytest.raises(ValidationError, match=r"^agent_workers: .* is not an int from 1 to 1024") as caught:
        open_arena(agent_workers=value)

    assert caught.value.field == "agent_workers"


def test_the_log_is_the_same_whatever_the_number_of_agent_workers() -> None:
    heads = []
    for workers in (1, 3):
        with open_arena(agent_workers=workers) as arena:
            run_simulation(arena, SyntheticFeed(seed=3, days=2), seed=3, agents=12)
            heads.append(arena.flush())

    assert heads[0] == heads[1]
