"""Version 6: hashes as 32 bytes, accounts by id, hashes handed over by the fold, a parallel verify."""

from __future__ import annotations

import hashlib
import sqlite3
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events import GENESIS_HASH, EventSourcingError, ValidationError, canonical_json, chain_hash, postings
from store import Head, SQLiteEventStore, verify
from tests.store.arena_log import LAST
from tests.store.tampering import edit_data, failing, rechain, tamper
from tests.store.test_roundtrip import batches_of, unique_ids
from tests.strategies import valid_event_logs

PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def hashes_of(texts, previous=GENESIS_HASH):
    """The chain hash after each text, as the supervisor's fold computes them."""
    hashes = []
    for text in texts:
        previous = chain_hash(previous, text)
        hashes.append(previous)
    return hashes


def file_rows(path):
    connection = sqlite3.connect(path)
    try:
        return (
            connection.execute("SELECT seq, data, hash FROM events ORDER BY seq").fetchall(),
            connection.execute("SELECT * FROM accounts ORDER BY account_id").fetchall(),
            connection.execute("SELECT * FROM capital_ledger ORDER BY entry_id").fetchall(),
        )
    finally:
        connection.close()


@PROPERTY
@given(log=valid_event_logs(), data=st.data())
def test_hashes_are_the_32_bytes_of_the_chain_and_accounts_are_numbered_by_first_posting(log, data):
    log = unique_ids(log)
    batches = batches_of(log, data.draw(st.sets(st.integers(1, max(1, len(log) - 1)), max_size=5)))
    first_posted = list(dict.fromkeys(leg.account for event in log for leg in postings(event)))

    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "arena.db"
        with SQLiteEventStore.open(path) as store:
            for batch in batches:
                store.append(batch)
        events, accounts, ledger = file_rows(path)

    texts = [canonical_json(event) for event in log]
    assert [
        (seq, data_, bytes.fromhex(digest))
        for seq, data_, digest in zip(range(1, len(log) + 1), texts, hashes_of(texts), strict=True)
    ] == events
    assert [row[1] for row in accounts] == first_posted
    assert [row[0] for row in accounts] == list(range(1, len(first_posted) + 1))
    assert [row[0] for row in ledger] == list(range(1, len(ledger) + 1))


@PROPERTY
@given(log=valid_event_logs(), data=st.data())
def test_an_append_with_the_folds_hashes_writes_the_same_file_as_one_that_hashes_everything(log, data):
    log = unique_ids(log)
    batches = batches_of(log, data.draw(st.sets(st.integers(1, max(1, len(log) - 1)), max_size=5)))
    rows = []

    with tempfile.TemporaryDirectory() as directory:
        for handed in (False, True):
            path = Path(directory) / f"{handed}.db"
            previous = GENESIS_HASH
            with SQLiteEventStore.open(path) as store:
                for batch in batches:
                    texts = [canonical_json(event) for event in batch]
                    hashes = hashes_of(texts, previous)
                    previous = hashes[-1]
                    store.append(batch, encoded=texts, hashes=hashes if handed else None)
            rows.append(file_rows(path))
            assert verify(path).ok

    assert rows[0] == rows[1]


def test_hashes_that_do_not_follow_the_head_are_refused_and_change_nothing(store, log):
    log.scenario()
    events = log.take()
    store.append(events[:3])
    texts = [canonical_json(event) for event in events[3:]]
    other = hashes_of(texts, previous="e" * 64)

    with pytest.raises(EventSourcingError, match=r"^append: event seq 4 \(.*\): its hash .* does not follow"):
        store.append(events[3:], encoded=texts, hashes=other)

    assert store.head() == Head(3, log.state_at(3).head_hash)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"encoded": None, "hashes": ["0" * 64] * 2}, r"^append: hashes without encoded texts"),
        ({"encoded": ["{}"], "hashes": ["0" * 64]}, r"^append: 1 encoded texts for 2 events"),
        ({"encoded": ["{}", "{}"], "hashes": ["0" * 64]}, r"^append: 1 hashes for 2 events"),
    ],
)
def test_malformed_hashes_are_refused_and_change_nothing(store, log, kwargs, message):
    log.open()
    log.spawn("a1")
    events = log.take()

    with pytest.raises(EventSourcingError, match=message):
        store.append(events, **kwargs)

    assert store.head() == Head(0, GENESIS_HASH)


def test_the_snapshot_digest_is_the_32_bytes_of_its_chain_step(closed):
    connection = sqlite3.connect(closed)
    seq, data, digest = connection.execute("SELECT seq, data, digest FROM arena_state").fetchone()
    (head_hash,) = connection.execute("SELECT hash FROM events WHERE seq = ?", (seq,)).fetchone()
    connection.close()

    assert digest == hashlib.sha256(f"{head_hash.hex()}\n{data}".encode()).digest()


@pytest.mark.parametrize("workers", [0, -1, 1.5, True, "2"])
def test_a_malformed_number_of_workers_is_refused(closed, workers):
    with pytest.raises(ValidationError, match=r"^workers: .* is not a number of processes; pass an int of"):
        verify(closed, workers=workers)


@pytest.fixture
def parallel(monkeypatch):
    """Let ``verify`` split even a short log across processes."""
    monkeypatch.setattr("store._verify._PARALLEL_FROM", 0)


def test_a_parallel_verify_of_a_good_file_reports_what_one_process_reports(closed, parallel):
    assert verify(closed, workers=3) == verify(closed, workers=1)


@pytest.mark.parametrize(
    "damage",
    [
        "data",  # a link breaks: the workers find it
        "overdraft",  # a running balance breaks: this process finds it
        "gap",
    ],
)
def test_a_parallel_verify_of_a_damaged_file_fails_where_one_process_fails(closed, parallel, damage):
    if damage == "data":
        tamper(
            closed, "UPDATE events SET data = replace(data, '1000.00000000', '999.00000000') WHERE seq = 7"
        )
    elif damage == "overdraft":
        tamper(closed, "UPDATE capital_ledger SET balance_after = balance_after - 1 WHERE entry_id = 12")
    else:
        tamper(closed, ("DELETE FROM events WHERE seq = ?", (LAST - 2,)))

    single = failing(closed, workers=1)

    assert failing(closed, workers=3) == single
    assert verify(closed, workers=3) == verify(closed, workers=1)


def test_a_rechained_edit_found_by_the_workers_is_reported_before_a_later_failure(closed, parallel):
    edit_data(closed, 3, agent_id="ghost")
    rechain(closed)

    assert verify(closed, workers=2) == verify(closed, workers=1)
