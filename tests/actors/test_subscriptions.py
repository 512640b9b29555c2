"""Subscriptions: every durable event matching a filter, once, in seq order, never blocking the arena."""

import threading
import uuid
from decimal import Decimal
from typing import Literal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actors import Arena, NullSink, Subscription
from actors._writer import EventWriter
from actors._writer_messages import Flush, Submit, WriterStats
from events import (
    ArenaError,
    ArenaOpened,
    CapitalAllocated,
    EventSourcingError,
    UnknownAgentError,
    UserEvent,
    ValidationError,
    canonical_json,
    register_event_type,
)
from tests.actors.support import T0, open_arena

WAIT = 60.0  # a bound on waits that succeed at once unless the code is broken, not a timing assumption


@register_event_type
class Ping(UserEvent):
    """The embedder's own event in these tests."""

    event_type: Literal["tests.actors.Ping"] = "tests.actors.Ping"
    text: str


class Collector:
    """A callback that keeps what it is given."""

    def __init__(self) -> None:
        self.events: list[object] = []

    def __call__(self, event: object) -> None:
        self.events.append(event)


def seqs(events: list[object]) -> list[int]:
    return [e.seq for e in events]  # type: ignore[attr-defined]


def spawn_and_fund(arena: Arena, count: int = 1) -> list[str]:
    agents = [arena.spawn_agent() for _ in range(count)]
    arena.allocate_capital(dict.fromkeys(agents, "10"))
    return agents


# --- delivery --------------------------------------------------------------------------------------


def test_a_subscriber_sees_every_event_committed_after_it_subscribed_in_seq_order():
    with open_arena() as arena:
        got = Collector()
        sub = arena.subscribe(got)
        spawn_and_fund(arena, 3)

        head = arena.flush()

        assert sub.wait(head.seq, WAIT)
        assert sub.from_seq == 2  # ArenaOpened was committed before it subscribed
        assert got.events == list(arena.replay_events(from_seq=2))


def test_filters_select_by_event_type_and_agent():
    with open_arena() as arena:
        by_type, by_agent = Collector(), Collector()
        arena.subscribe(by_type, event_types=["CapitalAllocated"])
        first, _ = spawn_and_fund(arena, 2)
        agent_sub = arena.subscribe(by_agent, agent_id=first, from_seq=1)

        head = arena.flush()

        assert agent_sub.wait(head.seq, WAIT)
        assert by_agent.events == list(arena.replay_events(agent_id=first))
        assert all(isinstance(e, CapitalAllocated) for e in by_type.events)


def test_from_seq_replays_the_log_then_goes_live_without_gap_or_duplicate():
    with open_arena() as arena:
        spawn_and_fund(arena, 3)
        got = Collector()

        sub = arena.subscribe(got, from_seq=2)
        spawn_and_fund(arena, 2)
        head = arena.flush()

        assert sub.wait(head.seq, WAIT)
        assert seqs(got.events) == list(range(2, head.seq + 1))
        assert got.events == list(arena.replay_events(from_seq=2))


def test_user_events_are_delivered_like_built_in_ones():
    with open_arena() as arena:
        (agent,) = spawn_and_fund(arena)
        got = Collector()
        sub = arena.subscribe(got, event_types=["tests.actors.Ping"])

        recorded = arena.record(Ping, text="hello", agent_id=agent)
        head = arena.flush()

        assert sub.wait(head.seq, WAIT)
        assert got.events == [recorded]
        assert recorded.seq == head.seq


def test_an_in_memory_null_sink_delivers_after_its_commit_too():
    with Arena.open(None, total_capital="100", sink_factory=NullSink) as arena:
        got = Collector()
        sub = arena.subscribe(got)
        arena.spawn_agent()

        head = arena.flush()

        assert sub.wait(head.seq, WAIT)
        assert seqs(got.events) == [head.seq]


def test_close_delivers_everything_committed_then_closes_every_subscription():
    arena = open_arena()
    got = Collector()
    sub = arena.subscribe(got)
    spawn_and_fund(arena, 2)
    head = arena.head()

    arena.close()

    assert sub.state == "closed"
    assert sub.closed
    assert sub.last_seq == head.seq
    assert seqs(got.events) == list(range(2, head.seq + 1))


def test_cancel_stops_delivery_and_is_idempotent():
    with open_arena() as arena:
        got = Collector()
        sub = arena.subscribe(got)

        sub.cancel()
        sub.cancel()
        spawn_and_fund(arena)
        arena.flush()

        assert sub.state == "cancelled"
        assert got.events == []
        assert not sub.wait(arena.head().seq, WAIT)


def test_a_reopened_arena_replays_its_old_log_then_delivers_live(tmp_path):
    path = tmp_path / "arena.db"
    with open_arena(path) as arena:
        spawn_and_fund(arena, 2)
    got = Collector()

    with Arena.open(path) as reopened:
        sub = reopened.subscribe(got, from_seq=1)
        reopened.spawn_agent()
        head = reopened.flush()

        assert sub.wait(head.seq, WAIT)
        assert got.events == list(reopened.replay_events())


# --- never blocking, overflow, failure --------------------------------------------------------------


def test_a_publisher_that_raises_never_fails_the_writer():
    def broken(events: object) -> None:
        msg = "hub bug"
        raise RuntimeError(msg)

    writer = EventWriter.start(NullSink, on_commit=broken)
    try:
        event = ArenaOpened(seq=1, event_id=uuid.uuid4(), timestamp=T0, arena_id="a", total_capital=1)
        writer.tell(Submit((event,), (canonical_json(event),)))

        head = writer.ask(Flush(), timeout=WAIT)
        counters = writer.ask(WriterStats(), timeout=WAIT)
    finally:
        writer.stop()

    assert head.seq == 1
    assert counters.failure is None


def test_a_blocked_subscriber_never_blocks_the_arena():
    entered, release = threading.Event(), threading.Event()
    got = Collector()

    def blocking(event: object) -> None:
        got(event)
        entered.set()
        assert release.wait(WAIT)

    with open_arena() as arena:
        sub = arena.subscribe(blocking)
        arena.spawn_agent()
        assert entered.wait(WAIT)

        for _ in range(50):  # the arena works and commits on while the callback is stuck
            arena.spawn_agent()
            arena.flush()
        head = arena.flush()
        release.set()

        assert sub.wait(head.seq, WAIT)
        assert got.events == list(arena.replay_events(from_seq=2))


def test_a_slow_subscriber_overflows_and_resumes_from_last_seq_without_gap_or_duplicate():
    entered, release, overflowed = threading.Event(), threading.Event(), threading.Event()
    got = Collector()
    told: list[Subscription] = []

    def slow(event: object) -> None:
        got(event)
        entered.set()
        assert release.wait(WAIT)

    def on_overflow(sub: Subscription) -> None:
        told.append(sub)
        overflowed.set()

    with open_arena() as arena:
        sub = arena.subscribe(slow, max_pending=5, on_overflow=on_overflow)
        arena.spawn_agent()
        assert entered.wait(WAIT)
        for _ in range(20):
            arena.spawn_agent()
            arena.flush()

        release.set()
        assert overflowed.wait(WAIT)
        assert sub.state == "overflowed"
        assert told == [sub]
        resumed = arena.subscribe(got, from_seq=sub.last_seq + 1)
        arena.spawn_agent()
        head = arena.flush()

        assert resumed.wait(head.seq, WAIT)
        assert seqs(got.events) == list(range(2, head.seq + 1))
        assert got.events == list(arena.replay_events(from_seq=2))


def test_a_raising_callback_cancels_only_its_own_subscription():
    good = Collector()

    def bad(event: object) -> None:
        if event.seq == 3:  # type: ignore[attr-defined]
            msg = "subscriber bug"
            raise RuntimeError(msg)

    with open_arena() as arena:
        failing = arena.subscribe(bad)
        healthy = arena.subscribe(good)
        spawn_and_fund(arena, 2)
        head = arena.flush()

        assert healthy.wait(head.seq, WAIT)
        assert not failing.wait(head.seq, WAIT)
        assert failing.state == "failed"
        assert isinstance(failing.error, RuntimeError)
        assert failing.last_seq == 2
        assert seqs(good.events) == list(range(2, head.seq + 1))
        assert arena.spawn_agent()  # the arena goes on


def test_a_callback_may_cancel_its_own_subscription():
    got: list[object] = []
    holder: list[Subscription] = []

    def once(event: object) -> None:
        got.append(event)
        holder[0].cancel()

    with open_arena() as arena:
        holder.append(arena.subscribe(once))
        spawn_and_fund(arena, 2)
        arena.flush()

    assert len(got) == 1
    assert holder[0].state == "cancelled"


# --- the property ------------------------------------------------------------------------------------

TYPES = [None, ["AgentSpawned"], ["CapitalAllocated", "tests.actors.Ping"], ["tests.actors.Ping"]]
command = st.one_of(
    st.just(("spawn",)),
    st.tuples(st.just("allocate"), st.integers(1, 5)),
    st.tuples(st.just("ping"), st.booleans()),
    st.tuples(st.just("subscribe"), st.sampled_from(TYPES), st.booleans(), st.none() | st.integers(1, 12)),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(commands=st.lists(command, max_size=20))
def test_each_subscriber_sees_exactly_the_durable_events_matching_its_filter_once_in_order(commands):
    with open_arena(max_batch=3) as arena:
        agents: list[str] = []
        subs: list[tuple[Subscription, Collector, dict[str, object]]] = []
        for step in commands:
            match step:
                case ("spawn",):
                    agents.append(arena.spawn_agent())
                case ("allocate", amount) if agents:
                    arena.allocate_capital({agents[-1]: str(amount)})
                case ("ping", with_agent):
                    arena.record(Ping, text="p", agent_id=agents[0] if with_agent and agents else None)
                case ("subscribe", types, by_agent, from_seq):
                    filters: dict[str, object] = {"event_types": types}
                    filters["agent_id"] = agents[0] if by_agent and agents else None
                    got = Collector()
                    subs.append((arena.subscribe(got, from_seq=from_seq, **filters), got, filters))
        head = arena.flush()

        for sub, got, filters in subs:
            assert sub.wait(head.seq, WAIT)
            assert got.events == list(arena.replay_events(from_seq=sub.from_seq, **filters))


# --- bad input changes nothing -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "pattern"),
    [
        ({"callback": 5}, r"^subscribe: callback 5 is not callable"),
        ({"event_types": "AgentSpawned"}, r"^event_types: 'AgentSpawned' is not a collection"),
        (
            {"event_types": ["Bogus"]},
            r"^subscribe: event_types \['Bogus'\] are not event types; expected .*AgentSpawned",
        ),
        ({"event_types": ["other.Unregistered"]}, r"^subscribe: event_types \['other.Unregistered'\]"),
        ({"agent_id": 7}, r"^agent_id: "),
        ({"from_seq": 0}, r"^from_seq: 0 is not an int from 1"),
        ({"from_seq": True}, r"^from_seq: True is not an int"),
        ({"max_pending": 0}, r"^max_pending: 0 is not an int from 1"),
        ({"on_overflow": "x"}, r"^subscribe: on_overflow 'x' is not callable"),
    ],
)
def test_a_malformed_subscription_is_refused_and_starts_nothing(options, pattern):
    with open_arena() as arena:
        threads = threading.active_count()
        callback = options.pop("callback", Collector())

        with pytest.raises(ValidationError, match=pattern):
            arena.subscribe(callback, **options)

        assert threading.active_count() == threads


def test_from_seq_on_a_null_sink_is_refused():
    with (
        Arena.open(None, total_capital="100", sink_factory=NullSink) as arena,
        pytest.raises(EventSourcingError, match=r"^subscribe: from_seq needs the stored log"),
    ):
        arena.subscribe(Collector(), from_seq=1)


def test_subscribing_to_a_closed_arena_is_refused():
    arena = open_arena()
    arena.close()

    with pytest.raises(ArenaError, match=r"^arena is closed"):
        arena.subscribe(Collector())


# --- record -------------------------------------------------------------------------------------------


def test_record_numbers_stamps_and_chains_the_event_and_moves_no_capital():
    with open_arena() as arena:
        (agent,) = spawn_and_fund(arena)
        before = arena.state()

        recorded = arena.record(Ping, text="hi", agent_id=agent)

        after = arena.state()
        assert isinstance(recorded, Ping)
        assert recorded.seq == before.seq + 1
        assert after.head_hash != before.head_hash
        assert after.model_dump(exclude={"seq", "head_hash"}) == before.model_dump(
            exclude={"seq", "head_hash"}
        )
        assert list(arena.replay_events(event_types=["tests.actors.Ping"])) == [recorded]


@pytest.mark.parametrize(
    ("event_class", "fields", "error", "pattern"),
    [
        (
            CapitalAllocated,
            {"agent_id": "a-000001", "amount": Decimal(1)},
            ValidationError,
            r"^record: CapitalAllocated is a built-in",
        ),
        (UserEvent, {}, ValidationError, r"^record: UserEvent is not registered"),
        (Ping, {"text": "x", "seq": 9}, ValidationError, r"^record: \['seq'\] are set by the arena"),
        (Ping, {"text": 5}, ValidationError, r"^record: Ping field 'text'"),
        (Ping, {"text": "x", "agent_id": "a-999999"}, UnknownAgentError, r"^agent 'a-999999': no such agent"),
    ],
)
def test_a_refused_record_changes_nothing(event_class, fields, error, pattern):
    with open_arena() as arena:
        before = arena.head()

        with pytest.raises(error, match=pattern):
            arena.record(event_class, **fields)

        assert arena.head() == before
        assert arena.flush() == before
