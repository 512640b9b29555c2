from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from events import (
    EventSourcingError,
    EvolutionCycleComplete,
    EvolutionCycleStarted,
    StoreError,
    ValidationError,
    known_event_types,
)
from store import Head, SQLiteEventStore
from tests.store.books import differences

MANY = 1100
"""More events than two of the store's fetches (512 rows each)."""


def test_read_streams_every_event_in_seq_order(filled, log):
    assert list(filled.read()) == log.events


def test_read_filters_by_agent(filled, log):
    expected = [e for e in log.events if e.agent_id == "a1"]

    assert list(filled.read(agent_id="a1")) == expected
    assert expected


def test_read_filters_by_one_event_type(filled, log):
    assert list(filled.read(event_types=["TradeExecuted"])) == [
        e for e in log.events if e.event_type == "TradeExecuted"
    ]


def test_read_merges_several_event_types_in_seq_order(filled, log):
    types = {"CapitalAllocated", "TradeExecuted", "AgentKilled"}

    events = list(filled.read(event_types=types))

    assert events == [e for e in log.events if e.event_type in types]


def test_read_filters_by_seq_range_inclusive(filled, log):
    assert [e.seq for e in filled.read(from_seq=5, to_seq=9)] == [5, 6, 7, 8, 9]


def test_read_filters_by_time_since_inclusive_until_exclusive(filled, log):
    since = log.events[3].timestamp
    until = log.events[7].timestamp

    assert [e.seq for e in filled.read(since=since, until=until)] == [4, 5, 6, 7]


def test_read_combines_filters(filled, log):
    events = list(filled.read(agent_id="a2", event_types=["TradeExecuted", "AgentFailed"], from_seq=10))

    assert events == [
        e
        for e in log.events
        if e.agent_id == "a2" and e.seq >= 10 and e.event_type in {"TradeExecuted", "AgentFailed"}
    ]
    assert events


def test_read_of_no_event_types_yields_nothing(filled):
    assert list(filled.read(event_types=[])) == []


def test_read_streams_more_events_than_one_fetch(store, log):
    log.open()
    for i in range(MANY * 2 + 3):
        log.spawn(f"a{i}")
    store.append(log.take())

    assert sum(1 for _ in store.read()) == MANY * 2 + 4


def test_an_unfinished_read_can_be_abandoned_and_the_store_keeps_working(filled, log):
    stream = filled.read()
    next(stream)
    stream.close()

    assert filled.get(log.events[0].event_id) == log.events[0]


def test_a_read_dropped_after_its_store_closed_is_released_quietly(path, log):
    log.open()
    with SQLiteEventStore.open(path) as store:
        store.append(log.take())
        stream = store.read()
        next(stream)

    stream.close()  # raised "Cannot operate on a closed database" (an unraisable error when left to gc)

    assert list(stream) == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"event_types": "TradeExecuted"},
            r"^event_types 'TradeExecuted' is one string; pass a collection of tags",
        ),
        (
            {"event_types": ["Traded"]},
            r"^event_types: unknown tags \['Traded'\]; expected some of: {known}$",
        ),
        ({"from_seq": -1}, r"^from_seq: -1 is not a seq; pass an int from 0 to 2\*\*63 - 1$"),
        ({"to_seq": "5"}, r"^to_seq: '5' is not a seq"),
        ({"since": datetime(2024, 1, 1)}, r"^since: .* is not a timezone-aware datetime"),  # noqa: DTZ001  (a naive time is the bad input under test)
    ],
)
def test_malformed_filters_are_refused_at_the_call(filled, kwargs, message):
    known = re.escape(", ".join(known_event_types()))  # at the call: other tests register user events
    with pytest.raises(ValidationError, match=message.replace("{known}", known)):
        filled.read(**kwargs)


SEQ_RANGE = r"is not a seq; pass an int from 0 to 2\*\*63 - 1$"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: s.read(from_seq=2**63), rf"^from_seq: 9223372036854775808 {SEQ_RANGE}"),
        (lambda s: s.read(to_seq=2**64), rf"^to_seq: 18446744073709551616 {SEQ_RANGE}"),
        (lambda s: s.read(from_seq=10**5000), rf"^from_seq: an int of 16610 bits {SEQ_RANGE}"),
        (lambda s: s.snapshot(at_or_before=2**63), rf"^at_or_before: 9223372036854775808 {SEQ_RANGE}"),
        (lambda s: s.balances(at_seq=2**63), rf"^at_seq: 9223372036854775808 {SEQ_RANGE}"),
    ],
)
def test_a_seq_beyond_sqlites_largest_integer_is_refused_not_an_overflow(filled, call, message):
    with pytest.raises(ValidationError, match=message):
        call(filled)


def test_the_largest_seq_reads_nothing_and_changes_nothing(filled, log):
    assert list(filled.read(from_seq=2**63 - 1)) == []
    assert list(filled.read(to_seq=2**63 - 1)) == log.events


def test_get_finds_an_event_by_uuid_or_text(filled, log):
    event = log.events[4]

    assert filled.get(event.event_id) == event
    assert filled.get(str(event.event_id).upper()) == event


def test_get_of_an_unknown_id_returns_none(filled, log):
    assert filled.get(log.new_id()) is None


def test_get_of_text_that_is_no_uuid_is_refused(filled):
    with pytest.raises(ValidationError, match=r"^event_id 'nope' is not a UUID"):
        filled.get("nope")


def test_ancestors_walk_the_causes_nearest_first(filled, log):
    complete = next(e for e in log.events if isinstance(e, EvolutionCycleComplete))

    chain = filled.ancestors(complete.event_id)

    assert [e.event_type for e in chain] == ["EvolutionCycleStarted"]  # a cycle's events hang off its start
    assert chain[0].event_id == complete.caused_by


def test_ancestors_of_a_mutation_walk_up_through_the_childs_spawn_to_the_cycle(filled, log):
    mutated = next(e for e in log.events if e.event_type == "AgentMutated")

    chain = filled.ancestors(mutated.event_id)

    assert [e.event_type for e in chain] == ["AgentSpawned", "EvolutionCycleStarted"]


def test_an_event_without_a_cause_has_no_ancestors(filled, log):
    assert filled.ancestors(log.events[0].event_id) == []


def test_descendants_are_every_effect_transitively_in_seq_order(filled, log):
    started = next(e for e in log.events if isinstance(e, EvolutionCycleStarted))

    effects = filled.descendants(started.event_id)

    assert [e.event_type for e in effects] == [
        "AgentSpawned",
        "AgentMutated",
        "CapitalAllocated",
        "EvolutionCycleComplete",
    ]


def test_descendants_of_the_opening_reach_its_whole_causal_tree(filled, log):
    caused = {log.events[0].event_id}
    for event in log.events:
        if event.caused_by in caused:
            caused.add(event.event_id)

    effects = filled.descendants(log.events[0].event_id)

    assert [e.seq for e in effects] == [
        e.seq for e in log.events if e.event_id in caused - {log.events[0].event_id}
    ]


def test_walking_causality_of_an_unknown_event_is_refused(filled, log):
    unknown = log.new_id()

    with pytest.raises(EventSourcingError, match=rf"^event {unknown}: not in store '.*arena.db'"):
        filled.ancestors(unknown)
    with pytest.raises(EventSourcingError, match=rf"^event {unknown}: not in store"):
        filled.descendants(unknown)


def test_balances_as_of_every_seq_are_the_books_the_fold_implies(filled, log):
    for seq in range(len(log.events) + 1):
        state = log.state_at(seq)

        balances = filled.balances(at_seq=seq)

        assert differences(balances, state) == {}
        assert {"treasury", "external", "fees", "pnl"} <= set(balances)


def test_the_writers_balances_in_memory_equal_the_ledgers(filled, path, log):
    with SQLiteEventStore.open(path, readonly=True) as reader:
        from_ledger = reader.balances()

    assert filled.balances() == from_ledger
    assert filled.balances() == filled.balances(at_seq=len(log.events))


def test_balances_beyond_the_head_are_refused(filled, log):
    with pytest.raises(
        ValidationError, match=rf"^at_seq: {len(log.events) + 1} is beyond the head of the log"
    ):
        filled.balances(at_seq=len(log.events) + 1)


def test_snapshot_returns_the_latest_at_or_before_a_seq(filled, log):
    third = len(log.events) // 3

    assert filled.snapshot() == log.state_at(2 * third)
    assert filled.snapshot(at_or_before=2 * third) == log.state_at(2 * third)
    assert filled.snapshot(at_or_before=2 * third - 1) is None


def test_a_reader_sees_the_writers_commits(store, path, log):
    log.scenario()
    events = log.take()
    store.append(events[:5])

    with SQLiteEventStore.open(path, readonly=True) as reader:
        before = reader.head()
        store.append(events[5:])

        assert before.seq == 5
        assert reader.head() == store.head()
        assert reader.load_state() == log.state
        assert reader.arena_id() == "arena-1"


def test_a_reader_can_stream_while_the_writer_appends(store, path, log):
    log.open()
    for i in range(MANY + 10):
        log.spawn(f"a{i}")
    store.append(log.take())

    with SQLiteEventStore.open(path, readonly=True) as reader:
        stream = reader.read()
        first = next(stream)
        log.spawn("late")
        store.append(log.take())
        rest = list(stream)

    assert first.seq == 1
    assert [e.seq for e in rest] == list(range(2, MANY + 12))  # one statement: one read snapshot


def test_reading_a_closed_store_raises_a_store_error(filled):
    stream = filled.read()
    filled.close()

    with pytest.raises(StoreError, match="it is closed"):
        filled.read()
    with pytest.raises(StoreError, match="it is closed"):
        next(stream)


def test_head_of_a_reader_of_an_empty_store_is_the_genesis(path):
    SQLiteEventStore.open(path).close()

    with SQLiteEventStore.open(path, readonly=True) as reader:
        assert reader.head() == Head(0, "0" * 64)
        assert reader.arena_id() is None


def test_time_filters_accept_any_timezone(filled, log):
    since = log.events[3].timestamp.astimezone(timezone(timedelta(hours=-5)))

    assert [e.seq for e in filled.read(since=since, to_seq=6)] == [4, 5, 6]
