from __future__ import annotations

import itertools
import json
import logging
import queue
import threading
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

import pykka
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors import ASK_TIMEOUT, FLUSH_TIMEOUT, STOP_TIMEOUT, NullSink
from actors._writer import EventWriter
from actors._writer_messages import Committed, Flush, Submit, WriterCounters, WriterFailed, WriterStats
from events import (
    AgentSpawned,
    ArenaOpened,
    ArenaState,
    Event,
    EventSourcingError,
    StoreError,
    Tier,
    ValidationError,
    canonical_json,
    fold,
)
from store import Head, SQLiteEventStore

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

T0 = datetime(2024, 1, 1, tzinfo=UTC)
T = TypeVar("T")


def make_events(count: int, *, first_seq: int = 1) -> list[Event]:
    """A valid, gapless log segment: ``ArenaOpened`` at seq 1, then agents spawned."""
    events: list[Event] = []
    for seq in range(first_seq, first_seq + count):
        if seq == 1:
            events.append(
                ArenaOpened(
                    seq=1, event_id=uuid.uuid4(), timestamp=T0, arena_id="arena", total_capital=Decimal(1000)
                )
            )
        else:
            events.append(
                AgentSpawned(
                    seq=seq,
                    event_id=uuid.uuid4(),
                    timestamp=T0,
                    agent_id=f"agent-{seq}",
                    tier=Tier.SIMULATION,
                )
            )
    return events


def submit_of(events: Sequence[Event], snapshot: ArenaState | None = None) -> Submit:
    return Submit(tuple(events), tuple(canonical_json(e) for e in events), snapshot)


class RecordingSink:
    """Shares ``EventSink``'s interface; records each append and can hold the first one or fail.

    ``hold_first`` blocks the first ``append`` until the test opens ``gate``: the writer is then busy, as
    it is on a slow disk, and everything submitted meanwhile waits in its inbox. That makes batching
    deterministic without sleeping.
    """

    def __init__(self, *, hold_first: bool = False) -> None:
        self.appends: list[tuple[list[Event], ArenaState | None]] = []
        self.acknowledged: list[Head] = []
        self.closed = False
        self.fail_next = False
        self.fail_acknowledge = False
        self.entered = threading.Event()
        self.gate = threading.Event()
        self._hold = hold_first
        self._chain = NullSink()

    @property
    def events(self) -> list[Event]:
        return [e for events, _ in self.appends for e in events]

    @property
    def batch_sizes(self) -> list[int]:
        return [len(events) for events, _ in self.appends]

    def append(
        self,
        events: Sequence[Event],
        snapshot: ArenaState | None = None,
        *,
        encoded: Sequence[str] | None = None,
        hashes: Sequence[str] | None = None,
    ) -> Head:
        self.entered.set()
        if self._hold:
            self._hold = False
            assert self.gate.wait(timeout=FLUSH_TIMEOUT), "the test never opened the gate"
        if self.fail_next:
            msg = "disk full"
            raise StoreError(msg, path="arena.db")
        head = self._chain.append(events, snapshot, encoded=encoded, hashes=hashes)
        self.appends.append((list(events), snapshot))
        return head

    def head(self) -> Head:
        return self._chain.head()

    def acknowledge(self, head: Head) -> None:
        if self.fail_acknowledge:
            msg = "receipt: disk full"
            raise StoreError(msg, path="arena.db")
        self.acknowledged.append(head)

    def close(self) -> None:
        self.closed = True


class Recorder(pykka.ThreadingActor):
    """A listener that puts every message it is told into a queue the test reads with a timeout."""

    def __init__(self, received: queue.Queue[object]) -> None:
        super().__init__()
        self._received = received

    def on_receive(self, message: Any) -> None:
        self._received.put(message)


class Listener:
    def __init__(self) -> None:
        self.received: queue.Queue[object] = queue.Queue()
        self.ref = Recorder.start(self.received)

    def next_of(self, kind: type[T]) -> T:
        while True:
            message = self.received.get(timeout=FLUSH_TIMEOUT)
            if isinstance(message, kind):
                return message

    def drain(self) -> list[object]:
        """Everything told so far: an ask queues behind earlier tells, so its answer means they arrived."""
        self.ref.ask("sync", timeout=ASK_TIMEOUT)
        messages: list[object] = []
        while not self.received.empty():
            message = self.received.get_nowait()
            if message != "sync":
                messages.append(message)
        return messages


def start_writer(
    sink: RecordingSink,
    *,
    listener: Listener | None = None,
    **options: Any,
) -> pykka.ActorRef[EventWriter]:
    return EventWriter.start(lambda: sink, listener=listener.ref if listener else None, **options)


def flush(writer: pykka.ActorRef[EventWriter]) -> Head:
    head: Head = writer.ask(Flush(), block=True, timeout=FLUSH_TIMEOUT)
    return head


def stats(writer: pykka.ActorRef[EventWriter]) -> WriterCounters:
    counters: WriterCounters = writer.ask(WriterStats(), block=True, timeout=ASK_TIMEOUT)
    return counters


def hold_writer_busy(writer: pykka.ActorRef[EventWriter], sink: RecordingSink, first: Event) -> None:
    """Submit one event and wait until its commit is blocked in the sink, so later Submits queue up."""
    writer.tell(submit_of([first]))
    assert sink.entered.wait(timeout=FLUSH_TIMEOUT)


def chain_head(events: Sequence[Event]) -> Head:
    return NullSink().append(events)


def test_events_submitted_in_a_tight_loop_are_committed_in_far_fewer_batches_and_in_order() -> None:
    events = make_events(10_000)
    sink = RecordingSink(hold_first=True)
    writer = start_writer(sink, clock=lambda: 0.0)
    hold_writer_busy(writer, sink, events[0])

    for event in events[1:]:
        writer.tell(submit_of([event]))
    sink.gate.set()
    head = flush(writer)

    assert head == chain_head(events)
    assert sink.events == events
    assert len(sink.appends) <= 12  # the held one, then 9,999 events in batches of up to 1,000
    assert stats(writer).largest_batch == 1000


def test_a_full_buffer_is_committed_at_max_batch_while_more_submits_wait() -> None:
    events = make_events(26)
    sink = RecordingSink(hold_first=True)
    writer = start_writer(sink, max_batch=10, clock=lambda: 0.0)
    hold_writer_busy(writer, sink, events[0])

    for event in events[1:]:
        writer.tell(submit_of([event]))
    sink.gate.set()
    flush(writer)

    assert sink.batch_sizes == [1, 10, 10, 5]


def test_a_submit_is_never_split_even_when_it_overfills_the_batch() -> None:
    events = make_events(8)
    sink = RecordingSink(hold_first=True)
    writer = start_writer(sink, max_batch=3, clock=lambda: 0.0)
    hold_writer_busy(writer, sink, events[0])

    writer.tell(submit_of(events[1:3]))
    writer.tell(submit_of(events[3:8]))
    sink.gate.set()
    flush(writer)

    assert sink.batch_sizes == [1, 7]


def test_the_oldest_event_waiting_max_delay_forces_a_commit() -> None:
    """The clock ticks one second per reading, and the writer reads it once per Submit."""
    events = make_events(11)
    ticks = itertools.count()
    sink = RecordingSink(hold_first=True)
    writer = start_writer(sink, max_delay=5.0, clock=lambda: float(next(ticks)))
    hold_writer_busy(writer, sink, events[0])

    for event in events[1:]:
        writer.tell(submit_of([event]))
    sink.gate.set()
    flush(writer)

    # seq 2 is buffered at t=1, seq 7 arrives at t=6: five seconds waited, so 2..7 go; 8..11 at the flush.
    assert sink.batch_sizes == [1, 6, 4]


def test_an_idle_writer_commits_as_soon_as_its_inbox_is_empty_and_tells_the_listener() -> None:
    events = make_events(3)
    sink = RecordingSink()
    listener = Listener()
    writer = start_writer(sink, listener=listener)

    writer.tell(submit_of(events))
    committed = listener.next_of(Committed)

    assert committed == Committed(chain_head(events))
    assert sink.events == events
    assert writer.is_alive()


def test_flush_returns_the_durable_head_once_every_submitted_event_is_in_the_sink() -> None:
    events = make_events(10)
    sink = RecordingSink()
    writer = start_writer(sink)

    for start in range(0, 10, 4):
        writer.tell(submit_of(events[start : start + 4]))
    head = flush(writer)

    assert head == chain_head(events)
    assert sink.events == events


def test_flush_with_nothing_buffered_returns_the_head_the_sink_started_with() -> None:
    existing = chain_head(make_events(4))
    sink = RecordingSink()
    sink._chain = NullSink(existing)
    writer = start_writer(sink)

    head = flush(writer)

    assert head == existing
    assert sink.appends == []


def test_a_snapshot_is_committed_in_the_same_append_as_the_events_it_follows() -> None:
    events = make_events(5)
    snapshot = ArenaState(seq=4)
    sink = RecordingSink(hold_first=True)
    writer = start_writer(sink, clock=lambda: 0.0)
    hold_writer_busy(writer, sink, events[0])

    writer.tell(submit_of(events[1:3]))
    writer.tell(submit_of(events[3:4], snapshot))
    writer.tell(submit_of(events[4:5]))
    sink.gate.set()
    flush(writer)

    assert sink.appends == [([events[0]], None), (events[1:4], snapshot), ([events[4]], None)]


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=0, max_value=7), min_size=1, max_size=30),
    snapshot_flags=st.lists(st.booleans(), min_size=30, max_size=30),
    max_batch=st.integers(min_value=1, max_value=12),
)
def test_every_event_is_written_once_in_order_and_every_snapshot_ends_its_batch(
    sizes: list[int], snapshot_flags: list[bool], max_batch: int
) -> None:
    events = make_events(sum(sizes))
    sink = RecordingSink()
    writer = start_writer(sink, max_batch=max_batch)
    try:
        start = 0
        for size, with_snapshot in zip(sizes, snapshot_flags, strict=False):
            chunk = events[start : start + size]
            start += size
            last_seq = chunk[-1].seq if chunk else 0
            writer.tell(submit_of(chunk, ArenaState(seq=last_seq) if with_snapshot and chunk else None))
        head = flush(writer)
    finally:
        writer.stop(timeout=STOP_TIMEOUT)

    assert head == chain_head(events)
    assert sink.events == events
    for batch, snapshot in sink.appends:
        assert snapshot is None or snapshot.seq == batch[-1].seq


def test_a_failed_write_tells_the_listener_once_with_the_last_durable_seq() -> None:
    events = make_events(4)
    sink = RecordingSink()
    listener = Listener()
    writer = start_writer(sink, listener=listener)
    writer.tell(submit_of(events[:2]))
    flush(writer)

    sink.fail_next = True
    writer.tell(submit_of(events[2:3]))
    failed = listener.next_of(WriterFailed)
    writer.tell(submit_of(events[3:4]))
    with pytest.raises(EventSourcingError):
        flush(writer)
    writer.stop(timeout=STOP_TIMEOUT)

    assert failed == WriterFailed("StoreError: disk full", last_durable_seq=2)
    assert not [m for m in listener.drain() if isinstance(m, WriterFailed)]


def test_flush_after_a_failed_write_raises_naming_the_cause_and_the_last_durable_seq() -> None:
    events = make_events(5)
    sink = RecordingSink()
    writer = start_writer(sink)
    writer.tell(submit_of(events[:2]))
    flush(writer)
    sink.fail_next = True

    writer.tell(submit_of(events[2:4]))
    writer.tell(submit_of(events[4:5]))
    with pytest.raises(
        EventSourcingError,
        match=(
            r"^event writer: a store write failed \(StoreError: disk full\); the log ends at seq 2 and "
            r"3 submitted events after it were not written; fix the cause \(free space, the store file\) "
            r"and reopen the arena from its store, which holds everything flushed$"
        ),
    ) as caught:
        flush(writer)

    assert caught.value.last_durable_seq == 2
    assert isinstance(caught.value.__cause__, StoreError)


def test_events_acknowledged_by_a_flush_survive_a_later_failed_write() -> None:
    events = make_events(6)
    sink = RecordingSink()
    writer = start_writer(sink)
    writer.tell(submit_of(events[:3]))
    acknowledged = flush(writer)
    sink.fail_next = True

    writer.tell(submit_of(events[3:]))
    with pytest.raises(EventSourcingError):
        flush(writer)
    writer.stop(timeout=STOP_TIMEOUT)

    assert acknowledged.seq == 3
    assert sink.events == events[:3]
    assert sink.closed


def test_every_submit_after_a_failure_is_dropped_counted_and_warned_about_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    events = make_events(7)
    sink = RecordingSink()
    writer = start_writer(sink)
    sink.fail_next = True
    writer.tell(submit_of(events[:2]))
    with pytest.raises(EventSourcingError):
        flush(writer)
    sink.fail_next = False

    with caplog.at_level(logging.WARNING, logger="actors._writer"):
        for event in events[2:7]:
            writer.tell(submit_of([event]))
        with pytest.raises(EventSourcingError, match=r"^event writer: a store write failed"):
            flush(writer)

    assert sink.appends == []
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        "event writer failed (StoreError: disk full): dropping this and every later Submit"
    ]
    assert stats(writer) == WriterCounters(
        commits=0,
        events_written=0,
        largest_batch=0,
        head=Head(0, NullSink().head().hash),
        failure="StoreError: disk full",
        events_not_written=7,
    )


def test_a_sink_factory_that_raises_fails_the_first_flush_with_a_clear_error() -> None:
    def cannot_open() -> RecordingSink:
        msg = "no such directory"
        raise OSError(msg)

    listener = Listener()
    writer = EventWriter.start(cannot_open, listener=listener.ref)

    with pytest.raises(
        EventSourcingError,
        match=(
            r"^event writer: cannot open the event sink \(OSError: no such directory\); no event can be "
            r"made durable; fix the cause \(path, permissions, free space\) and open the arena again$"
        ),
    ) as caught:
        flush(writer)

    assert isinstance(caught.value.__cause__, OSError)
    assert listener.next_of(WriterFailed) == WriterFailed("OSError: no such directory", 0)


def test_an_unexpected_error_inside_the_writer_is_reported_as_a_failure_not_a_silent_death() -> None:
    def broken_clock() -> float:
        msg = "clock broke"
        raise RuntimeError(msg)

    sink = RecordingSink()
    listener = Listener()
    writer = start_writer(sink, listener=listener, clock=broken_clock)

    writer.tell(submit_of(make_events(1)))
    failed = listener.next_of(WriterFailed)

    assert failed == WriterFailed("RuntimeError: clock broke", 0)
    assert sink.closed


def test_stopping_the_writer_commits_the_buffer_closes_the_sink_and_ends_its_thread() -> None:
    events = make_events(3)
    threads_before = set(threading.enumerate())
    sink = RecordingSink(hold_first=True)
    writer = start_writer(sink, clock=lambda: 0.0)
    hold_writer_busy(writer, sink, events[0])
    writer.tell(submit_of(events[1:]))

    stopped = writer.stop(block=False)
    sink.gate.set()
    stopped.get(timeout=STOP_TIMEOUT)
    new_threads = set(threading.enumerate()) - threads_before
    for thread in new_threads:
        thread.join(timeout=STOP_TIMEOUT)

    assert sink.events == events
    assert sink.closed
    assert not [t.name for t in new_threads if t.is_alive()]


@pytest.mark.parametrize(
    ("option", "value", "pattern"),
    [
        ("max_batch", 0, r"^EventWriter: max_batch must be at least 1, got 0; pass a positive batch size$"),
        ("max_delay", -1.0, r"^EventWriter: max_delay must be 0 or more seconds, got -1.0; pass 0"),
    ],
)
def test_a_bad_option_is_rejected_in_the_callers_thread(option: str, value: float, pattern: str) -> None:
    factory: Callable[[], RecordingSink] = RecordingSink

    with pytest.raises(ValidationError, match=pattern) as caught:
        EventWriter.start(factory, **{option: value})

    assert caught.value.field == option
    assert pykka.ActorRegistry.get_all() == []


def test_a_submit_whose_encoded_texts_do_not_match_its_events_is_rejected_by_the_sender() -> None:
    events = tuple(make_events(2))

    with pytest.raises(ValidationError, match=r"^Submit: 2 events but 1 encoded texts; pass one canonical"):
        Submit(events, (canonical_json(events[0]),))


@pytest.mark.parametrize(
    ("count", "snapshot_seq", "pattern"),
    [
        (2, 1, r"^Submit: snapshot at seq 1 does not follow the last event \(seq 2\); attach a snapshot"),
        (0, 0, r"^Submit: snapshot at seq 0 does not follow the last event \(seq None\); attach a snapshot"),
    ],
)
def test_a_snapshot_that_does_not_follow_the_submits_last_event_is_rejected_by_the_sender(
    count: int, snapshot_seq: int, pattern: str
) -> None:
    events = make_events(count)

    with pytest.raises(ValidationError, match=pattern) as caught:
        submit_of(events, ArenaState(seq=snapshot_seq))

    assert caught.value.field == "snapshot"


def test_committed_heads_rise_with_every_commit_and_end_at_the_flushed_head() -> None:
    """The supervisor's back-pressure counts its backlog from these heads, so they must be exact."""
    events = make_events(50)
    sink = RecordingSink()
    listener = Listener()
    writer = start_writer(sink, listener=listener, max_batch=7)

    for event in events:
        writer.tell(submit_of([event]))
    head = flush(writer)
    committed = [m for m in listener.drain() if isinstance(m, Committed)]

    seqs = [c.head.seq for c in committed]
    assert len(committed) == stats(writer).commits
    assert seqs == sorted(set(seqs))
    assert committed[-1].head == head
    assert seqs == list(itertools.accumulate(sink.batch_sizes))


def test_the_writer_makes_events_and_their_snapshot_durable_in_the_sqlite_store(tmp_path: Path) -> None:
    path = tmp_path / "arena.db"
    events = make_events(100)
    snapshot = fold(events[:50])
    writer = EventWriter.start(lambda: SQLiteEventStore.open(path), max_batch=16)

    for start in range(0, 100, 10):
        chunk = events[start : start + 10]
        writer.tell(submit_of(chunk, snapshot if chunk[-1].seq == 50 else None))
    head = flush(writer)
    writer.stop(timeout=STOP_TIMEOUT)

    with SQLiteEventStore.open(path, readonly=True) as store:
        assert store.head() == head == chain_head(events)
        assert list(store.read()) == events
        assert store.snapshot() == snapshot


def test_a_batch_the_sqlite_store_refuses_fails_the_writer_and_keeps_every_flushed_event(
    tmp_path: Path,
) -> None:
    path = tmp_path / "arena.db"
    events = make_events(10)
    writer = EventWriter.start(lambda: SQLiteEventStore.open(path))
    writer.tell(submit_of(events[:5]))
    acknowledged = flush(writer)

    writer.tell(submit_of(events[6:]))  # seq 6 is missing: the store refuses the gap
    with pytest.raises(EventSourcingError, match=r"^event writer: a store write failed \(") as caught:
        flush(writer)
    writer.stop(timeout=STOP_TIMEOUT)

    assert caught.value.last_durable_seq == 5
    with SQLiteEventStore.open(path, readonly=True) as store:
        assert store.head() == acknowledged
        assert list(store.read()) == events[:5]


def test_a_flush_acknowledges_its_head_and_a_plain_commit_does_not() -> None:
    events = make_events(6)
    sink = RecordingSink()
    writer = start_writer(sink)

    writer.tell(submit_of(events[:3]))
    stats(writer)  # the submit is committed by now: the inbox emptied after it
    committed_only = list(sink.acknowledged)
    head = flush(writer)

    assert committed_only == []
    assert sink.acknowledged == [head] == [chain_head(events[:3])]


def test_stopping_the_writer_acknowledges_its_last_commit() -> None:
    events = make_events(4)
    sink = RecordingSink()
    writer = start_writer(sink)
    writer.tell(submit_of(events[:2]))
    flush(writer)

    writer.tell(submit_of(events[2:]))
    writer.stop(timeout=STOP_TIMEOUT)

    assert sink.acknowledged[-1] == chain_head(events)


def test_a_sink_that_cannot_acknowledge_fails_the_flush_and_the_writer() -> None:
    events = make_events(3)
    sink = RecordingSink()
    listener = Listener()
    writer = start_writer(sink, listener=listener)
    sink.fail_acknowledge = True

    writer.tell(submit_of(events))
    with pytest.raises(
        EventSourcingError, match=r"^event writer: a store write failed \(StoreError: receipt: disk full\)"
    ) as caught:
        flush(writer)

    assert caught.value.last_durable_seq == 3  # committed, but not acknowledged
    assert listener.next_of(WriterFailed) == WriterFailed(
        "StoreError: receipt: disk full", last_durable_seq=3
    )
    assert sink.closed


def test_the_writer_records_each_flushed_head_in_the_stores_receipt(tmp_path: Path) -> None:
    path = tmp_path / "arena.db"
    events = make_events(20)
    writer = EventWriter.start(lambda: SQLiteEventStore.open(path))

    writer.tell(submit_of(events[:10]))
    first = flush(writer)
    receipt_after_first = json.loads(path.with_name("arena.db.receipt").read_text())
    writer.tell(submit_of(events[10:]))
    second = flush(writer)
    writer.stop(timeout=STOP_TIMEOUT)

    assert (receipt_after_first["seq"], receipt_after_first["hash"]) == first
    receipt = json.loads(path.with_name("arena.db.receipt").read_text())
    assert (receipt["seq"], receipt["hash"]) == second
