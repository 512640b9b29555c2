"""The step protocol: one command tells every agent, answers come back as messages, in canonical order.

``ActorPool.deliver`` puts many envelopes in at once and wakes each worker once; ``StepCollector`` takes the
answers as pooled actors set them (as they would set a future) and returns them sorted by agent, whatever
order they arrived in; ``TradingFloor.open_step``/``step_agents``/``close_step`` are the driver's three
commands per step, each refused whole when it cannot run.
"""

from __future__ import annotations

import random
import sys
import threading
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pykka
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pykka._envelope import Envelope

from actors import STOP_TIMEOUT, ActorPool, PooledActor
from actors._step import StepCollector
from events import ArenaError, ValidationError
from tests.actors.support import T0, bar, open_arena
from trading import Order

if TYPE_CHECKING:
    from collections.abc import Iterator

TIMEOUT = 30.0


class Answerer(PooledActor):
    """Answers each message with the orders it names, or blocks on a gate, or raises."""

    def __init__(self, pool: ActorPool, name: str, gate: threading.Event | None = None) -> None:
        super().__init__(pool=pool)
        self.name = name
        self.gate = gate
        self.seen: list[Any] = []

    def on_receive(self, message: Any) -> Any:
        self.seen.append(message)
        if message == "block":
            assert self.gate is not None
            assert self.gate.wait(timeout=TIMEOUT)
            return ()
        if message == "raise":
            msg = "handler bug"
            raise RuntimeError(msg)
        return tuple(Order("X", "buy", Decimal(n)) for n in message)


@pytest.fixture
def pool() -> Iterator[ActorPool]:
    pool = ActorPool(2, name="StepPool")
    yield pool
    pykka.ActorRegistry.stop_all(timeout=STOP_TIMEOUT)
    assert pool.shutdown(timeout=STOP_TIMEOUT) == 0


def tell_all(
    pool: ActorPool, refs: dict[str, pykka.ActorRef[Any]], messages: dict[str, Any]
) -> StepCollector:
    collector = StepCollector()
    asked = collector.expect(messages)
    pool.deliver([(refs[name], Envelope(messages[name], collector.reply(name))) for name in asked])
    return collector


@settings(max_examples=30, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=0, max_value=3), min_size=1, max_size=30),
    order_seed=st.integers(min_value=0, max_value=2**32),
)
def test_answers_come_back_by_agent_then_in_each_agents_order_whatever_the_arrival(
    sizes: list[int], order_seed: int
) -> None:
    pool = ActorPool(3, name="StepProp")
    try:
        names = [f"a-{i:03d}" for i in range(len(sizes))]
        random.Random(order_seed).shuffle(names)  # told (and so answered) in a shuffled order
        refs = {name: Answerer.start(pool, name) for name in names}
        messages = {name: tuple(range(1, sizes[i] + 1)) for i, name in enumerate(names)}
        answers = tell_all(pool, refs, messages).wait(TIMEOUT)

        expected = tuple(
            (name, Order("X", "buy", Decimal(n))) for name in sorted(names) for n in messages[name]
        )
        assert answers.orders == expected
        assert answers.asked == tuple(sorted(names))
        assert answers.answered == len(names)
        assert answers.stuck == answers.gone == ()
    finally:
        pykka.ActorRegistry.stop_all(timeout=STOP_TIMEOUT)
        assert pool.shutdown(timeout=STOP_TIMEOUT) == 0


def test_a_stuck_agent_holds_one_worker_and_the_rest_of_the_step_still_answers(pool: ActorPool) -> None:
    gate = threading.Event()
    refs = {name: Answerer.start(pool, name, gate) for name in ("a", "b", "c", "d", "e")}
    messages: dict[str, Any] = dict.fromkeys(refs, (1,))
    messages["a"] = "block"  # first in the run list: the other worker draws every other agent
    collector = tell_all(pool, refs, messages)
    try:
        answers = collector.wait(0.5)
    finally:
        gate.set()
    assert answers.stuck == ("a",)
    assert answers.answered == 4
    assert [agent for agent, _ in answers.orders] == ["b", "c", "d", "e"]


def test_a_late_answer_after_the_deadline_is_dropped(pool: ActorPool) -> None:
    gate = threading.Event()
    refs = {"a": Answerer.start(pool, "a", gate)}
    collector = tell_all(pool, refs, {"a": "block"})
    answers = collector.wait(0.2)
    gate.set()
    refs["a"].ask((), timeout=TIMEOUT)  # handled after the blocked step: its late answer is in by now
    assert answers.stuck == ("a",)
    assert collector.wait(0.0).answered == 0  # the collector closed at the deadline


def test_an_agent_stopped_before_it_read_the_step_sits_it_out(pool: ActorPool) -> None:
    refs = {name: Answerer.start(pool, name) for name in ("a", "b")}
    refs["a"].stop(timeout=STOP_TIMEOUT)
    answers = tell_all(pool, refs, {"a": (1,), "b": (2,)}).wait(TIMEOUT)
    assert answers.gone == ("a",)
    assert answers.stuck == ()
    assert answers.orders == (("b", Order("X", "buy", Decimal(2))),)


def test_an_error_escaping_a_handler_is_raised_to_the_driver_naming_the_agent(pool: ActorPool) -> None:
    refs = {name: Answerer.start(pool, name) for name in ("a", "b")}
    collector = tell_all(pool, refs, {"a": (1,), "b": "raise"})
    with pytest.raises(ArenaError, match=r"agent b's actor raised RuntimeError \(handler bug\)"):
        collector.wait(TIMEOUT)
    assert refs["b"].is_alive()  # an ask's error goes to the asker; the actor lives on


def test_a_collector_is_used_once_and_its_reply_is_not_waited_on() -> None:
    collector = StepCollector()
    assert collector.expect([]) == ()
    assert collector.wait(0.0).asked == ()
    with pytest.raises(ArenaError, match="expect\\(\\) was called twice"):
        collector.expect(["a"])
    with pytest.raises(ArenaError, match="wait on the StepCollector"):
        collector.reply("a").get(timeout=0)


def test_a_reply_set_as_an_exception_without_exc_info_takes_the_one_being_handled() -> None:
    collector = StepCollector()
    collector.expect(["a"])
    try:
        raise pykka.ActorDeadError("gone")  # noqa: TRY301  (the handler's situation: inside an except)
    except pykka.ActorDeadError:
        assert sys.exc_info()[1] is not None
        collector.reply("a").set_exception()
    assert collector.wait(0.0).gone == ("a",)


def test_delivered_mail_keeps_each_actors_order_behind_its_earlier_tells(pool: ActorPool) -> None:
    refs = {name: Answerer.start(pool, name) for name in ("a", "b")}
    for ref in refs.values():
        ref.tell((7,))
        ref.tell((8,))
    answers = tell_all(pool, refs, {"a": (1,), "b": (2,)}).wait(TIMEOUT)
    assert answers.answered == 2
    seen = {name: refs[name].proxy().seen.get(timeout=TIMEOUT) for name in refs}
    assert seen == {"a": [(7,), (8,), (1,)], "b": [(7,), (8,), (2,)]}


def test_deliver_on_a_shut_down_pool_answers_every_envelope_dead() -> None:
    pool = ActorPool(1, name="Closing")
    ref = Answerer.start(pool, "a")
    ref.ask((), timeout=TIMEOUT)  # started and idle
    pool.shutdown(timeout=STOP_TIMEOUT)
    collector = StepCollector()
    collector.expect(["a"])
    pool.deliver([(ref, Envelope((1,), collector.reply("a")))])
    assert collector.wait(TIMEOUT).gone == ("a",)
    assert not ref.is_alive()


# --- the floor's three step commands -----------------------------------------------------------------


def test_step_agents_tells_every_live_agent_once_and_returns_their_orders() -> None:
    with open_arena() as arena:
        agents = [arena.spawn_agent() for _ in range(3)]
        arena.allocate_capital(dict.fromkeys(agents, Decimal(100)))
        answers = arena.floor.step_agents((bar("BTC", "10"),))
        assert answers.asked == tuple(sorted(agents))
        assert answers.answered == 3
        assert answers.stuck == answers.gone == ()


@pytest.mark.parametrize("bars", [("not a bar",), "BTC", 7, [bar("BTC", "1"), None]])
def test_step_agents_refuses_what_is_not_a_sequence_of_bars_and_tells_nobody(bars: object) -> None:
    with open_arena() as arena:
        arena.spawn_agent()
        head = arena.head()
        with pytest.raises(ValidationError, match="bars: "):
            arena.floor.step_agents(bars)  # type: ignore[arg-type]  # the wrong type on purpose
        assert arena.head() == head


def test_open_step_inside_an_open_block_is_refused_and_the_clock_does_not_move() -> None:
    with open_arena() as arena:
        arena.floor.open_step(T0.replace(hour=1))
        with pytest.raises(ArenaError, match="already open"):
            arena.floor.open_step(T0.replace(hour=2))
        arena.floor.close_step({"BTC": Decimal(1)})
        (marks,) = arena.replay_events(event_types=["MarksRecorded"])
        assert marks.timestamp == T0.replace(hour=1)


def test_open_step_back_in_time_is_refused_and_opens_no_block() -> None:
    with open_arena() as arena:
        arena.floor.set_time(T0.replace(hour=5))
        with pytest.raises(ValidationError, match="cannot move simulated time back"):
            arena.floor.open_step(T0.replace(hour=4))
        with pytest.raises(ArenaError, match="none is open"):
            arena.floor.end_atomic()  # no block was opened


def test_close_step_without_an_open_block_is_refused_and_records_no_marks() -> None:
    with open_arena() as arena:
        head = arena.head()
        with pytest.raises(ArenaError, match="none is open"):
            arena.floor.close_step({"BTC": Decimal(1)})
        assert arena.head() == head


@pytest.mark.parametrize("marks", [{}, {"BTC": 1.5}, {"BTC": Decimal(-1)}])
def test_close_step_refuses_malformed_marks_and_leaves_the_block_open(marks: dict[str, Any]) -> None:
    with open_arena() as arena:
        arena.floor.open_step(T0.replace(hour=1))
        head = arena.head()
        with pytest.raises(ValidationError):
            arena.floor.close_step(marks)
        assert arena.head() == head
        arena.floor.close_step({"BTC": Decimal(1)})  # the block is still open, and closes normally


# --- batches of starts and stops ---------------------------------------------------------------------


class Life(PooledActor):
    """Logs its start and stop."""

    def __init__(self, pool: ActorPool, name: str, log: list[str]) -> None:
        super().__init__(pool=pool)
        self.name = name
        self.log = log

    def on_start(self) -> None:
        self.log.append(f"start {self.name}")

    def on_receive(self, message: Any) -> Any:
        return message

    def on_stop(self) -> None:
        self.log.append(f"stop {self.name}")


def test_actors_started_in_a_batch_take_their_first_turn_only_when_it_ends(pool: ActorPool) -> None:
    log: list[str] = []
    with pool.batched():
        refs = [Life.start(pool, str(i), log) for i in range(50)]
        refs[0].tell("mail")  # mail sent inside the batch is held too
        assert log == []  # no worker has been given a turn: nothing was scheduled yet
    assert [ref.ask("ok", timeout=TIMEOUT) for ref in refs] == ["ok"] * 50
    assert sorted(log) == sorted(f"start {i}" for i in range(50))


def test_batches_do_not_nest(pool: ActorPool) -> None:
    with pool.batched(), pytest.raises(ArenaError, match="does not nest"), pool.batched():
        pass


def test_stop_actors_stops_them_all_runs_on_stop_and_leaves_the_registry(pool: ActorPool) -> None:
    log: list[str] = []
    refs = [Life.start(pool, str(i), log) for i in range(40)]
    others = Life.start(pool, "other", log)
    assert pool.stop_actors(refs, timeout=TIMEOUT) == 0
    assert all(not ref.is_alive() for ref in refs)
    assert sorted(entry for entry in log if entry.startswith("stop")) == sorted(
        f"stop {i}" for i in range(40)
    )
    assert pykka.ActorRegistry.get_all() == [others]  # one pass took exactly those out
    assert pool.stop_actors([], timeout=TIMEOUT) == 0


def test_stop_actors_counts_a_stuck_actor_and_stops_the_others(pool: ActorPool) -> None:
    gate = threading.Event()
    stuck = Answerer.start(pool, "stuck", gate)
    stuck.tell("block")
    log: list[str] = []
    refs = [Life.start(pool, str(i), log) for i in range(5)]
    try:
        assert pool.stop_actors([stuck, *refs], timeout=0.3) == 1
        assert all(not ref.is_alive() for ref in refs)
    finally:
        gate.set()
