from __future__ import annotations

import os
import threading
from decimal import Decimal

import pytest

from events import (
    GENESIS_HASH,
    AgentSpawned,
    ArenaOpened,
    CapitalAllocated,
    CapitalReleased,
    EventSourcingError,
    StoreError,
    Tier,
    TradeExecuted,
    canonical_json,
)
from store import Head, SQLiteEventStore
from tests.store.tampering import column


def snapshot_of_store(store):
    return (
        store._connection.execute("SELECT count(*) FROM events").fetchone()[0],
        store.head(),
        store.balances(),
    )


NO_BALANCES = {"external": Decimal(0), "fees": Decimal(0), "pnl": Decimal(0), "treasury": Decimal(0)}
"""What ``balances()`` says before anything is posted: the arena's own accounts, at zero."""


def test_an_empty_store_has_the_genesis_head(store):
    assert store.head() == Head(0, GENESIS_HASH)
    assert store.balances() == NO_BALANCES


def test_append_returns_the_head_that_the_shared_fold_computes(store, log):
    log.scenario()

    head = store.append(log.take())

    assert head == Head(log.fold.seq, log.fold.head_hash)
    assert store.head() == head


def test_batches_continue_the_chain_of_the_previous_batch(store, log):
    log.scenario()
    events = log.take()

    for start in range(0, len(events), 4):
        store.append(events[start : start + 4])

    assert store.head() == Head(log.fold.seq, log.fold.head_hash)


def test_encoded_texts_are_stored_verbatim_as_data(store, log, path):
    log.scenario()

    store.append(log.take(), encoded=log.encoded)

    assert column(
        path, "SELECT group_concat(data, '|') FROM (SELECT data FROM events ORDER BY seq)"
    ) == "|".join(log.encoded)


def test_without_encoded_the_store_writes_canonical_json(store, log, path):
    event = log.open()

    store.append([event])

    assert column(path, "SELECT data FROM events WHERE seq = 1") == canonical_json(event)


def test_columns_repeat_the_fields_of_data(filled, raw, log):
    rows = raw.execute(
        "SELECT seq, event_id, event_type, agent_id, caused_by FROM events ORDER BY seq"
    ).fetchall()

    assert rows == [
        (e.seq, str(e.event_id), e.event_type, e.agent_id, None if e.caused_by is None else str(e.caused_by))
        for e in log.events
    ]


def test_each_posting_is_one_ledger_row_with_its_account_unit_and_running_balance(store, log, raw):
    log.open(capital="1000")
    log.spawn("a1")
    log.allocate("a1", "300")
    log.trade("a1", "buy", quantity="2", price="10", fee="0.5")
    sale = log.trade("a1", "sell", quantity="1", price="12", fee="0.25")

    store.append(log.take())

    rows = raw.execute(
        "SELECT seq, account, agent_id, symbol, unit, operation, amount, balance_after FROM ledger "
        "ORDER BY entry_id"
    ).fetchall()
    minor = 10**8
    assert rows[2:] == [
        (3, "treasury", None, None, "money", "CapitalAllocated", -300 * minor, 700 * minor),
        (3, "agent:a1", "a1", None, "money", "CapitalAllocated", 300 * minor, 300 * minor),
        (4, "agent:a1", "a1", None, "money", "TradeExecuted", -2050000000, 27950000000),
        (4, "position:a1:XYZ", "a1", "XYZ", "money", "TradeExecuted", 20 * minor, 20 * minor),
        (4, "fees", None, None, "money", "TradeExecuted", 50000000, 50000000),
        (4, "units:a1:XYZ", "a1", "XYZ", "quantity", "TradeExecuted", 2 * minor, 2 * minor),
        (4, "market:XYZ", None, "XYZ", "quantity", "TradeExecuted", -2 * minor, -2 * minor),
        (5, "agent:a1", "a1", None, "money", "TradeExecuted", 1175000000, 29125000000),
        (5, "position:a1:XYZ", "a1", "XYZ", "money", "TradeExecuted", -10 * minor, 10 * minor),
        (5, "fees", None, None, "money", "TradeExecuted", 25000000, 75000000),
        (5, "pnl", None, None, "money", "TradeExecuted", -2 * minor, -2 * minor),
        (5, "units:a1:XYZ", "a1", "XYZ", "quantity", "TradeExecuted", -minor, minor),
        (5, "market:XYZ", None, "XYZ", "quantity", "TradeExecuted", minor, -minor),
    ]
    assert (sale.cost, sale.realized_pnl) == (Decimal(10), Decimal(2))


def test_balances_hold_every_account_of_both_units(store, log):
    log.open(capital="1000")
    log.spawn("a1")
    log.allocate("a1", "300")
    log.trade("a1", "buy", quantity="2", price="10", fee="0.5")
    log.trade("a1", "sell", quantity="1", price="12", fee="0.25")

    store.append(log.take())

    assert store.balances() == {
        "agent:a1": Decimal("291.25"),
        "external": Decimal(-1000),
        "fees": Decimal("0.75"),
        "market:XYZ": Decimal(-1),
        "pnl": Decimal(-2),
        "position:a1:XYZ": Decimal(10),
        "treasury": Decimal(700),
        "units:a1:XYZ": Decimal(1),
    }


def test_the_ledger_sums_to_zero_in_money_and_in_each_symbols_units(filled, raw):
    sums = raw.execute(
        "SELECT unit, CASE unit WHEN 'quantity' THEN symbol END, sum(amount) FROM ledger "
        "GROUP BY 1, 2 ORDER BY 1, 2"
    ).fetchall()

    assert sums == [("money", None, 0), ("quantity", "XYZ", 0)]


def test_a_batch_that_does_not_start_at_head_plus_one_is_refused_and_nothing_is_written(store, log):
    log.scenario()
    events = log.take()
    store.append(events[:3])
    before = snapshot_of_store(store)

    with pytest.raises(
        EventSourcingError,
        match=(
            r"^append: event seq 5 \(\w+\): the store's head is seq 3, so a batch must start at seq "
            r"4, not 5"
        ),
    ) as caught:
        store.append(events[4:6])

    assert snapshot_of_store(store) == before
    assert (caught.value.seq, caught.value.field, caught.value.last_durable_seq) == (5, "seq", 3)


def test_a_batch_with_a_gap_is_refused_and_nothing_is_written(store, log):
    log.scenario()
    events = log.take()
    before = snapshot_of_store(store)

    with pytest.raises(
        EventSourcingError,
        match=r"^append: event seq 4 \(\w+\): follows seq 2 of the batch, so its seq must be 3",
    ):
        store.append([*events[:2], events[3]])

    assert snapshot_of_store(store) == before


def test_a_cause_named_earlier_in_the_batch_or_already_stored_is_accepted(store, log):
    opened = log.open()
    store.append(log.take())
    spawned = log.spawn("a1", caused_by=opened)
    log.allocate("a1", "5", caused_by=spawned)

    head = store.append(log.take())

    assert head.seq == 3


def test_a_cause_that_names_no_stored_or_earlier_event_is_refused(store, log):
    log.open()
    store.append(log.take())
    orphan = log.make(AgentSpawned, agent_id="a1", tier=Tier.SIMULATION, caused_by=log.new_id())
    before = snapshot_of_store(store)

    with pytest.raises(
        EventSourcingError,
        match=rf"^append: event seq 2 \(AgentSpawned\): caused_by {orphan.caused_by} names no stored event",
    ) as caught:
        store.append([orphan])

    assert snapshot_of_store(store) == before
    assert caught.value.field == "caused_by"


def test_a_cause_later_in_the_batch_is_refused(store, log):
    log.open()
    later = log.make(AgentSpawned, seq=3, agent_id="a2", tier=Tier.SIMULATION)
    first = log.make(AgentSpawned, seq=2, agent_id="a1", tier=Tier.SIMULATION, caused_by=later.event_id)

    with pytest.raises(EventSourcingError, match=r"^append: event seq 2 \(AgentSpawned\): caused_by"):
        store.append([*log.take(), first, later])

    assert store.head().seq == 0


def test_an_event_cannot_cause_itself(store, log):
    log.open()
    store.append(log.take())
    event = log.make(AgentSpawned, agent_id="a1", tier=Tier.SIMULATION)
    selfish = event.model_copy(update={"caused_by": event.event_id})

    with pytest.raises(EventSourcingError, match="names no stored event and no earlier event"):
        store.append([selfish])


def test_an_allocation_beyond_the_treasury_is_refused(store, log):
    log.open(capital="100")
    log.spawn("a1")
    store.append(log.take())
    greedy = log.make(CapitalAllocated, agent_id="a1", amount=Decimal("100.00000001"))

    with pytest.raises(
        EventSourcingError,
        match=(
            r"^append: event seq 3 \(CapitalAllocated\): would take account 'treasury' to -0.00000001 "
            r"\(balance 100.00000000, posting -100.00000001\)"
        ),
    ) as caught:
        store.append([greedy])

    assert store.balances()["treasury"] == Decimal(100)
    assert (caught.value.field, caught.value.last_durable_seq) == ("amount", 2)


def test_a_release_beyond_an_agents_capital_is_refused(store, log):
    log.open(capital="100")
    log.spawn("a1")
    log.allocate("a1", "10")
    store.append(log.take())

    with pytest.raises(EventSourcingError, match=r"would take account 'agent:a1' to -1\.00000000"):
        store.append([log.make(CapitalReleased, agent_id="a1", amount=Decimal(11))])


def test_an_overdraft_later_in_a_batch_refuses_the_whole_batch(store, log):
    log.open(capital="100")
    log.spawn("a1")
    log.allocate("a1", "60")
    good = log.take()
    greedy = log.make(CapitalAllocated, agent_id="a1", amount=Decimal(50))

    with pytest.raises(
        EventSourcingError, match=r"event seq 4 \(CapitalAllocated\): would take account 'treasury' to -10"
    ):
        store.append([*good, greedy])

    assert store.head().seq == 0
    assert store.balances() == NO_BALANCES


def test_a_sale_of_more_than_the_holding_is_refused(store, log):
    log.open(capital="100")
    log.spawn("a1")
    log.allocate("a1", "60")
    log.trade("a1", "buy", quantity="2", price="10", fee="0")
    store.append(log.take())
    oversold = log.make(
        TradeExecuted,
        agent_id="a1",
        symbol="XYZ",
        side="sell",
        quantity=Decimal(3),
        price=Decimal(10),
        market_price=Decimal(10),
        fee=Decimal(0),
        cash_delta=Decimal(30),
        cost=Decimal(20),
        realized_pnl=Decimal(10),
    )

    with pytest.raises(
        EventSourcingError,
        match=(
            r"^append: event seq 5 \(TradeExecuted\): would take account 'units:a1:XYZ' to -1\.00000000 "
            r"\(balance 2\.00000000, posting -3\.00000000\); only the mirror accounts \(external, pnl, "
            r"market:<symbol>\) may go below zero"
        ),
    ):
        store.append([oversold])

    assert store.balances()["units:a1:XYZ"] == Decimal(2)


def test_the_mirror_accounts_go_negative_by_design(store, log):
    log.open(capital="100")
    log.spawn("a1")
    log.allocate("a1", "60")
    log.trade("a1", "buy", quantity="2", price="10", fee="0")
    log.trade("a1", "sell", quantity="1", price="15", fee="0")

    store.append(log.take())

    balances = store.balances()
    assert (balances["external"], balances["pnl"], balances["market:XYZ"]) == (-100, -5, -1)


def test_the_log_must_start_with_arena_opened(store, log):
    spawned = log.make(AgentSpawned, seq=1, agent_id="a1", tier=Tier.SIMULATION)

    with pytest.raises(EventSourcingError, match="a log starts with ArenaOpened at seq 1 and has no other"):
        store.append([spawned])


def test_a_second_arena_opened_is_refused(store, log):
    log.open()
    store.append(log.take())

    with pytest.raises(
        EventSourcingError, match=r"event seq 2 \(ArenaOpened\): a log starts with ArenaOpened"
    ):
        store.append([log.make(ArenaOpened, arena_id="other", total_capital=Decimal(1))])


def test_an_event_id_repeated_within_a_batch_is_refused(store, log):
    opened = log.open()
    twin = log.make(AgentSpawned, agent_id="a1", tier=Tier.SIMULATION).model_copy(
        update={"event_id": opened.event_id}
    )

    with pytest.raises(
        EventSourcingError, match=rf"event seq 2 \(AgentSpawned\): repeats event_id {opened.event_id}"
    ):
        store.append([opened, twin])


def test_an_event_id_already_stored_is_refused_after_the_rollback(store, log):
    opened = log.open()
    store.append(log.take())
    twin = log.make(AgentSpawned, agent_id="a1", tier=Tier.SIMULATION).model_copy(
        update={"event_id": opened.event_id}
    )

    with pytest.raises(
        EventSourcingError,
        match=rf"^append: event seq 2: event_id {opened.event_id} is already stored at seq 1",
    ) as caught:
        store.append([twin])

    assert store.head().seq == 1
    assert caught.value.last_durable_seq == 1


def test_encoded_texts_must_match_the_events_one_to_one(store, log):
    log.open()

    with pytest.raises(EventSourcingError, match=r"^append: 0 encoded texts for 1 events"):
        store.append(log.take(), encoded=[])


def test_an_empty_batch_changes_nothing(store):
    assert store.append([]) == Head(0, GENESIS_HASH)


def test_a_snapshot_is_written_in_the_same_transaction(store, log, raw):
    log.scenario()

    store.append(log.take(), snapshot=log.state)

    assert raw.execute("SELECT seq FROM arena_state").fetchall() == [(log.fold.seq,)]


def test_a_snapshot_alone_snapshots_the_head(store, log):
    log.scenario()
    store.append(log.take())

    store.append([], snapshot=log.state)

    assert store.snapshot() == log.state


@pytest.mark.parametrize(
    ("which", "message"),
    [
        ("earlier", r"it is the state at seq \d+, expected the state at seq \d+"),
        ("other_log", r"its head_hash \w+\.\.\. differs from the log's"),
    ],
)
def test_a_snapshot_that_is_not_the_state_at_the_batch_end_is_refused(store, log, which, message):
    log.scenario()
    events = log.take()
    snapshot = log.state_at(len(events) - 1)
    if which == "other_log":
        snapshot = log.state.model_copy(update={"head_hash": "f" * 64})

    with pytest.raises(EventSourcingError, match=rf"^append: snapshot refused: {message}"):
        store.append(events, snapshot=snapshot)

    assert store.head().seq == 0


def test_a_snapshot_of_an_empty_store_is_refused(store, log):
    with pytest.raises(EventSourcingError, match="the store holds no events yet"):
        store.append([], snapshot=log.state)


def test_a_readonly_store_refuses_to_append(filled, path, log):
    with (
        SQLiteEventStore.open(path, readonly=True) as reader,
        pytest.raises(StoreError, match=r"opened with readonly=True, so it cannot append") as caught,
    ):
        reader.append([log.make(AgentSpawned, agent_id="z", tier=Tier.SIMULATION)])

    assert caught.value.path == path


def test_a_closed_store_raises_and_closing_twice_is_harmless(path):
    store = SQLiteEventStore.open(path)
    store.close()
    store.close()

    with pytest.raises(StoreError, match=r"^store '.*arena.db': it is closed; open it again"):
        store.head()


def test_a_store_used_from_another_thread_raises_a_store_error(store, log):
    log.open()
    errors: list[BaseException] = []

    def other() -> None:
        try:
            store.append(log.take())
        except StoreError as e:
            errors.append(e)

    thread = threading.Thread(target=other)
    thread.start()
    thread.join(timeout=10)

    assert len(errors) == 1
    assert "the store belongs to the thread that opened it" in str(errors[0])
    assert store.head().seq == 0


def test_a_second_writer_on_the_same_file_is_refused_at_open_naming_the_holder(store, path):
    with pytest.raises(
        StoreError,
        match=(
            rf"^store '.*arena.db': another writer has it open \(pid {os.getpid()}: this process, per "
            r"'arena.db.lock'\); a store has one writer: close that one first, or open with readonly=True"
        ),
    ) as caught:
        SQLiteEventStore.open(path)

    assert caught.value.path == path


def test_a_writer_that_took_no_lock_is_still_detected_at_its_commit(store, path, log):
    """A writer of another release takes no lock; the commit still sees the log grow under it."""
    log.scenario()
    events = log.take()
    store._custody.release()  # as if ``store`` were such a writer
    with SQLiteEventStore.open(path) as other:
        other.append(events[:2])

        with pytest.raises(
            StoreError,
            match=(
                r"another connection appended to this store \(the file's log ends at seq 2, this "
                r"writer's at seq 0\)"
            ),
        ):
            store.append(events[:1])


def test_an_in_memory_store_appends_and_reads_back(log):
    log.scenario()

    with SQLiteEventStore.open(None) as store:
        store.append(log.take())
        events = list(store.read())

    assert events == log.events
    assert store.path is None
