"""Crash boundaries: an atomic block becomes durable in one commit or not at all, and a close discards it."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

import pykka
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actors import Arena, NullSink, SequentialIds, SimClock, run_simulation
from actors._backlog import Backlog, Discarded
from actors._commands import open_arena as emit_opened
from actors._emitter import Emitter
from actors._writer import EventWriter
from events import ArenaError, EventSourcingError, Fold, MarksRecorded, money
from store import SQLiteEventStore, verify
from tests.actors.support import FUNDING, T0, open_arena
from tests.reliability.trials import Plan, assert_nothing_acknowledged_lost, kill_trial
from trading import BUILTIN_STRATEGIES, EvolutionPolicy, SyntheticFeed

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from events import ArenaState, Event
    from store import Head

GENOME = BUILTIN_STRATEGIES["ma_crossover"].genome()


class RecordingSink(NullSink):
    """A null sink that records every commit: its events (first and last seq, types) and its snapshot."""

    def __init__(self) -> None:
        super().__init__()
        self.commits: list[tuple[tuple[Event, ...], int | None]] = []
        self._lock = threading.Lock()

    def append(
        self,
        events: Sequence[Event],
        snapshot: ArenaState | None = None,
        *,
        encoded: Any = None,
        hashes: Any = None,
    ) -> Head:
        with self._lock:
            self.commits.append((tuple(events), None if snapshot is None else snapshot.seq))
        return super().append(events, snapshot, encoded=encoded, hashes=hashes)

    def boundaries(self) -> list[int]:
        """The seq each commit ended at: the durable prefixes the log could have been cut at."""
        with self._lock:
            return [events[-1].seq for events, _ in self.commits if events]

    def snapshots(self) -> list[int]:
        with self._lock:
            return [seq for _, seq in self.commits if seq is not None]


def head_of(path: Path) -> Head:
    with SQLiteEventStore.open(path, readonly=True) as store:
        return store.head()


def spawn_and_fund(arena: Arena, amount: str = "10") -> str:
    agent = arena.spawn_agent(GENOME)
    arena.allocate_capital({agent: amount})
    return agent


# --- one block, one commit -----------------------------------------------------------------------------


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=st.lists(st.tuples(st.booleans(), st.integers(1, 4)), min_size=1, max_size=6))
def test_no_commit_ends_inside_a_block_however_small_the_batches_and_frequent_the_snapshots(
    plan: list[tuple[bool, int]],
) -> None:
    """``plan``: groups of commands, each ``(in a block, how many agents to spawn and fund)``."""
    sink = RecordingSink()
    blocks: list[range] = []
    with open_arena(sink_factory=lambda: sink, max_batch=1, snapshot_every=2) as arena:
        for atomic, agents in plan:
            start = arena.head().seq + 1
            if atomic:
                with arena.floor.atomic():
                    for _ in range(agents):
                        spawn_and_fund(arena)
                blocks.append(range(start, arena.head().seq))  # every seq but the block's last
            else:
                for _ in range(agents):
                    spawn_and_fund(arena)
        arena.flush()

    boundaries = sink.boundaries()
    assert boundaries[-1] == arena_head_seq(plan)
    assert not [seq for seq in boundaries if any(seq in block for block in blocks)]
    assert set(sink.snapshots()) <= set(boundaries)  # a snapshot is the state at a commit's end


def arena_head_seq(plan: list[tuple[bool, int]]) -> int:
    return 1 + sum(2 * agents for _, agents in plan)  # ArenaOpened, then a spawn and a grant per agent


def test_a_block_past_the_high_water_mark_is_still_one_commit() -> None:
    sink = RecordingSink()
    with open_arena(sink_factory=lambda: sink, high_water=3, max_batch=1) as arena:
        arena.flush()

        with arena.floor.atomic():
            for _ in range(10):
                spawn_and_fund(arena)
        arena.flush()

    events, _ = sink.commits[-1]
    assert [e.seq for e in events] == list(range(2, 22))


def test_every_step_of_a_simulation_is_one_commit_ending_at_its_marks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The driver needs a store it can read back, so the real store's appends are recorded instead."""
    commits: list[tuple[Event, ...]] = []
    append = SQLiteEventStore.append

    def recording(self: SQLiteEventStore, events: Sequence[Event], *args: Any, **kwargs: Any) -> Head:
        commits.append(tuple(events))
        return append(self, events, *args, **kwargs)

    monkeypatch.setattr(SQLiteEventStore, "append", recording)
    feed = SyntheticFeed(seed=3, start=T0, days=2)
    with open_arena(tmp_path / "arena.db", total_capital=100_000, max_batch=1, snapshot_every=7) as arena:
        arena.flush()
        report = run_simulation(arena, feed, seed=3, agents=6, policy=EvolutionPolicy(cycle_days=1))

    ends = [events[-1] for events in commits[1:] if events]
    assert report.steps == 48
    assert report.cycles  # a cycle's kills, births and reallocations are inside a step's block
    assert {type(e) for e in ends} == {MarksRecorded}
    assert len(ends) <= report.steps


def test_a_process_killed_at_any_moment_leaves_a_log_ending_at_a_step_boundary(tmp_path: Path) -> None:
    """Kill -9 trials (``tests/reliability``): whatever survives ends at ``ArenaOpened`` or a step's marks."""
    for seed in range(8):
        path = tmp_path / f"killed-{seed}.db"
        outcome = kill_trial(path, Plan.draw(seed))
        head = assert_nothing_acknowledged_lost(path, outcome.acknowledged)
        if head.seq <= 1:
            continue  # nothing, or only the ArenaOpened written before the run

        with SQLiteEventStore.open(path, readonly=True) as store:
            (last,) = store.read(from_seq=head.seq)

        assert isinstance(last, MarksRecorded), (seed, last)


# --- flush, nesting ------------------------------------------------------------------------------------


def test_a_flush_inside_a_block_makes_durable_what_came_before_it_and_answers_that_head(
    tmp_path: Path,
) -> None:
    path = tmp_path / "arena.db"
    with open_arena(path) as arena:
        spawn_and_fund(arena)
        before = arena.head()

        with arena.floor.atomic():
            spawn_and_fund(arena)
            inside = arena.flush()
            replayed = [e.seq for e in arena.replay_events()]
            on_disk = head_of(path)
        after = arena.flush()

    assert inside == before == on_disk
    assert replayed == list(range(1, before.seq + 1))
    assert after.seq == before.seq + 2


def test_a_flush_from_another_thread_during_a_block_answers_without_waiting_for_it() -> None:
    with open_arena() as arena:
        before = arena.flush()
        answers: list[Head] = []

        with arena.floor.atomic():
            spawn_and_fund(arena)
            other = threading.Thread(target=lambda: answers.append(arena.flush()))
            other.start()
            other.join(timeout=30)

        assert answers == [before]


def test_a_block_inside_a_block_is_refused_and_the_outer_block_goes_on() -> None:
    sink = RecordingSink()
    nested = r"^atomic block: one is already open since seq 2 \(2 events so far\); blocks do not nest; end"
    with open_arena(sink_factory=lambda: sink, max_batch=1) as arena:
        arena.flush()

        with arena.floor.atomic():
            spawn_and_fund(arena)
            with pytest.raises(ArenaError, match=nested):
                arena.floor.begin_atomic()
            spawn_and_fund(arena)
        arena.flush()

    events, _ = sink.commits[-1]
    assert [e.seq for e in events] == [2, 3, 4, 5]


def test_ending_a_block_that_was_never_begun_is_refused() -> None:
    with (
        open_arena() as arena,
        pytest.raises(ArenaError, match=r"^atomic block: none is open at seq 1, so there is none to end"),
    ):
        arena.floor.end_atomic()


# --- discard at close ----------------------------------------------------------------------------------


def test_closing_inside_a_block_discards_it_and_the_store_reopens_where_the_block_began(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "arena.db"
    arena = open_arena(path)
    spawn_and_fund(arena)
    before = arena.head()
    arena.floor.begin_atomic()
    spawn_and_fund(arena)
    spawn_and_fund(arena)

    with caplog.at_level(logging.WARNING, logger="actors"):
        arena.close()

    assert head_of(path) == before
    assert verify(path).ok
    assert "discarded its 4 events (from seq 4); the log ends at seq 3" in caplog.text
    with Arena.open(path, seed=1, clock=SimClock(T0)) as reopened:
        assert reopened.head() == before
        spawn_and_fund(reopened)
        assert reopened.flush().seq == before.seq + 2
    assert verify(path).ok


def test_an_exception_inside_atomic_leaves_the_block_for_close_to_discard(tmp_path: Path) -> None:
    path = tmp_path / "arena.db"

    def failing_step(arena: Arena) -> None:
        with arena.floor.atomic():
            spawn_and_fund(arena)
            msg = "the step failed"
            raise RuntimeError(msg)

    with open_arena(path) as arena:
        before = arena.flush()
        with pytest.raises(RuntimeError, match="the step failed"):
            failing_step(arena)

    assert head_of(path) == before
    assert verify(path).ok


def test_every_call_after_a_discard_names_the_discarded_block() -> None:
    arena = open_arena()
    arena.floor.begin_atomic()
    spawn_and_fund(arena)
    arena.close()

    named = (
        r"^arena is closed, and its unfinished atomic block \(2 events, seqs 2 to 3\) was discarded at close"
    )
    with pytest.raises(ArenaError, match=named):
        arena.nav()
    with pytest.raises(ArenaError, match=named):
        arena.flush()
    with pytest.raises(ArenaError, match=named + r".*the store ends at seq 1"):
        arena.floor.begin_atomic()


def test_an_empty_block_left_open_is_discarded_with_nothing_lost(tmp_path: Path) -> None:
    path = tmp_path / "arena.db"
    arena = open_arena(path)
    before = arena.flush()
    arena.floor.begin_atomic()
    arena.close()

    with pytest.raises(
        ArenaError, match=r"^arena is closed, and its unfinished atomic block \(no events yet\)"
    ):
        arena.head()
    assert head_of(path) == before


def test_the_backlog_submits_nothing_and_refuses_commands_after_a_discard() -> None:
    sink = RecordingSink()
    writer = EventWriter.start(lambda: sink)
    try:
        em = Emitter(Fold(), clock=SimClock(T0), ids=SequentialIds(1))
        log = Backlog(writer, durable_seq=0, high_water=100, snapshot_every=None)
        log.begin(em)
        emit_opened(em, arena_id="arena", total_capital=money(FUNDING), config={})

        discarded = log.discard(em)
        log.submit(em)
        log.flush(em)

        assert discarded == Discarded(first_seq=1, count=1)
        assert log.discard(em) == discarded
        assert em.pending == 0
        with pytest.raises(
            EventSourcingError, match=r"^arena is closed, and its unfinished atomic block"
        ) as caught:
            log.check_writable()
        assert caught.value.last_durable_seq == 0
    finally:
        writer.stop()
    assert sink.commits == []


def test_a_discarded_block_reaches_no_subscriber() -> None:
    seen: list[int] = []
    arena = open_arena()
    subscription = arena.subscribe(lambda event: seen.append(event.seq))
    spawn_and_fund(arena)
    arena.flush()
    arena.floor.begin_atomic()
    spawn_and_fund(arena)
    arena.close()

    assert subscription.state == "closed"
    assert seen == [2, 3]


def test_a_supervisor_stopped_inside_a_block_without_a_close_never_commits_it(tmp_path: Path) -> None:
    path = tmp_path / "arena.db"
    arena = open_arena(path)
    before = arena.flush()
    arena.floor.begin_atomic()
    spawn_and_fund(arena)

    pykka.ActorRegistry.stop_all(timeout=30)  # no Shutdown: the supervisor's on_stop drops the block
    arena.close()

    assert head_of(path) == before
    assert verify(path).ok
