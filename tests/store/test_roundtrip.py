"""Property tests: any log a real arena could write survives the store exactly."""

from __future__ import annotations

import itertools
import sqlite3
import tempfile
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events import ArenaState, EventSourcingError, canonical_json, fold
from store import SQLiteEventStore, verify
from tests.store.books import differences
from tests.strategies import valid_event_logs

PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def unique_ids(log):
    """Give each event its own id, re-pointing causes at the latest earlier event that had the old one.

    ``valid_event_logs`` draws ids independently, and hypothesis shrinks them to one value; the store
    (rightly) refuses a repeated event id, which is not what these properties are about.
    """
    latest: dict[uuid.UUID, uuid.UUID] = {}
    fresh = []
    for event in log:
        update: dict[str, object] = {"event_id": uuid.UUID(int=event.seq, version=4)}
        if event.caused_by is not None:
            update["caused_by"] = latest[event.caused_by]
        fresh.append(event.model_copy(update=update))
        latest[event.event_id] = update["event_id"]
    return fresh


def units_and_symbols(path):
    """Each account's unit, and for quantities its symbol, as the ledger rows of the file say."""
    connection = sqlite3.connect(path)
    try:
        rows = connection.execute("SELECT DISTINCT account, unit, symbol FROM ledger").fetchall()
    finally:
        connection.close()
    return {
        account: "money" if unit == "money" else f"quantity of {symbol}" for account, unit, symbol in rows
    }


def sums_by_unit(balances, units):
    sums: dict[str, Decimal] = {}
    for account, amount in balances.items():
        unit = units.get(account, "money")  # the arena's own accounts are listed before they are posted to
        sums[unit] = sums.get(unit, Decimal(0)) + amount
    return sums


def batches_of(log, cuts):
    bounds = [0, *sorted(cuts), len(log)]
    return [log[start:end] for start, end in itertools.pairwise(bounds) if end > start]


@PROPERTY
@given(log=valid_event_logs(), data=st.data())
def test_random_valid_logs_append_read_back_balance_fold_from_any_snapshot_and_verify(log, data):
    """After every event the books are the fold's, and money and each symbol's units sum to zero."""
    log = unique_ids(log)
    cuts = data.draw(st.sets(st.integers(1, max(1, len(log) - 1)), max_size=6), label="cuts")
    batches = batches_of(log, cuts)
    snapshotted = data.draw(st.sets(st.integers(0, len(batches) - 1)), label="batches with a snapshot")
    pre_encoded = data.draw(st.booleans(), label="encoded")
    expected = fold(log)

    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "arena.db"
        with SQLiteEventStore.open(path) as store:
            for index, batch in enumerate(batches):
                snapshot = fold(log[: batch[-1].seq]) if index in snapshotted else None
                encoded = [canonical_json(e) for e in batch] if pre_encoded else None
                store.append(batch, snapshot, encoded=encoded)

            assert list(store.read()) == log
            assert store.load_state() == expected
            units = units_and_symbols(path)
            for seq in range(len(log) + 1):
                base = store.snapshot(at_or_before=seq) or ArenaState()
                assert fold(log[base.seq :], base) == expected
                state = fold(log[:seq])
                balances = store.balances(at_seq=seq)
                assert differences(balances, state) == {}
                assert all(total == 0 for total in sums_by_unit(balances, units).values())
            head = store.head()

        with SQLiteEventStore.open(path, readonly=True) as reopened:
            assert reopened.load_state() == expected
            assert reopened.head() == head
        report = verify(path, expected_head=head)

    assert report.ok, str(report)
    assert report.events_checked == len(log)
    assert report.snapshots_checked == len(snapshotted)


@PROPERTY
@given(log=valid_event_logs(), data=st.data())
def test_a_batch_that_skips_an_event_is_refused_and_changes_nothing(log, data):
    log = unique_ids(log)
    if len(log) < 3:
        return
    stored = data.draw(st.integers(1, len(log) - 2), label="events stored first")
    skipped = data.draw(st.integers(stored, len(log) - 2), label="index of the skipped event")

    with SQLiteEventStore.open(None) as store:
        head = store.append(log[:stored])
        with pytest.raises(EventSourcingError, match=r"^append: event seq \d+ \(\w+\): "):
            store.append([*log[stored:skipped], *log[skipped + 1 :]])

        assert store.head() == head
        assert list(store.read()) == log[:stored]
