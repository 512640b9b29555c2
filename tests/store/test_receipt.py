"""Acknowledged means findable: the receipt beside a store, and what ``verify`` and ``open`` make of it.

The rules are those of ``store/_receipt.py``; the WAL test is the fault that made them necessary: a
flipped byte in a middle WAL frame makes SQLite drop that frame and every later one without a word.
"""

from __future__ import annotations

import json
import logging
import shutil
from typing import TYPE_CHECKING

import pytest

from events import StoreError, ValidationError
from store import Head, SQLiteEventStore, verify
from tests.store.arena_log import LAST
from tests.store.tampering import edit_data, failing, rechain, tamper

if TYPE_CHECKING:
    from pathlib import Path

    from tests.store.arena_log import ArenaLog

WAL_HEADER = 32
FRAME_HEADER = 24


def receipt_of(path: Path) -> dict[str, object]:
    return json.loads(path.with_name(f"{path.name}.receipt").read_text())


def acknowledged(store: SQLiteEventStore) -> Head:
    head = store.head()
    store.acknowledge(head)
    return head


def grow(store: SQLiteEventStore, log: ArenaLog, batches: int) -> None:
    """Append ``batches`` more transactions of marks (they post nothing, so any number is valid)."""
    for batch in range(batches):
        for step in range(5):
            log.mark({"XYZ": f"{10 + batch}.{step:02d}"})
        store.append(log.take())


@pytest.fixture
def acknowledged_store(filled: SQLiteEventStore, path: Path) -> Path:
    """The ``filled`` store, its head acknowledged, closed."""
    acknowledged(filled)
    filled.close()
    return path


def test_acknowledge_records_the_head_and_the_arena_in_the_receipt(filled, path, log):
    head = acknowledged(filled)

    assert receipt_of(path) == {
        "arena_id": log.events[0].arena_id,
        "format": "arena-receipt-v1",
        "hash": head.hash,
        "seq": head.seq,
    }
    assert not path.with_name("arena.db.receipt.tmp").exists()


def test_acknowledging_a_head_that_is_not_the_stores_is_an_argument_error(filled):
    with pytest.raises(
        ValidationError, match=r"^acknowledge: head \(3, '0+'\) is not the store's head \(seq 34\)"
    ):
        filled.acknowledge(Head(3, "0" * 64))


def test_a_head_recorded_already_is_not_written_again(filled, path):
    head = acknowledged(filled)
    path.with_name("arena.db.receipt").unlink()

    filled.acknowledge(head)

    assert not path.with_name("arena.db.receipt").exists()


def test_a_reader_cannot_acknowledge_and_an_in_memory_store_keeps_no_receipt(filled, path, log):
    with SQLiteEventStore.open(path, readonly=True) as reader, pytest.raises(StoreError, match=r"readonly"):
        reader.acknowledge(reader.head())
    with SQLiteEventStore.open(None) as memory:
        log.take()
        memory.acknowledge(memory.head())


def test_a_receipt_that_cannot_be_written_fails_the_acknowledgement_and_keeps_the_old_one(filled, path):
    first = acknowledged(filled)
    path.with_name("arena.db.receipt.tmp").mkdir()  # the temporary file cannot be created

    with pytest.raises(
        StoreError,
        match=(
            r"^store '.*arena.db': recording seq 34 in the receipt 'arena.db.receipt' failed "
            r"\(IsADirectoryError: .*\); the flush is not acknowledged, though its events are committed"
        ),
    ):
        rewrite_receipt(filled)

    assert receipt_of(path)["seq"] == first.seq


def rewrite_receipt(store: SQLiteEventStore) -> None:
    store._custody._acknowledged = None  # forget that the head is recorded, so it is written again
    store.acknowledge(store.head())


def test_a_flipped_byte_in_a_middle_wal_frame_is_reported_as_loss_without_an_expected_head(
    store, path, log, tmp_path
):
    log.scenario()
    store.append(log.take())
    grow(store, log, 300)  # ~600 WAL frames, far below the 10,000-page checkpoint
    head = acknowledged(store)
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    for name in ("arena.db", "arena.db-wal", "arena.db.receipt"):  # as a kill -9 would leave them
        shutil.copyfile(path.with_name(name), evidence / name)
    store.close()
    copy = evidence / "arena.db"
    assert verify(copy).ok  # the copy is whole before the flip
    shutil.copyfile(copy, tmp_path / "whole.db")
    flip_middle_frame(evidence / "arena.db-wal")

    report = verify(copy)

    assert not report.ok
    assert 0 < report.head.seq < head.seq
    assert report.first_failing_seq == report.head.seq + 1
    assert report.reason == (
        f"acknowledged events lost: the receipt records seq {head.seq} as acknowledged, but the log ends "
        f"at seq {report.head.seq}: {head.seq - report.head.seq} acknowledged events are missing (a damaged "
        "or deleted -wal, or an older copy of the file)"
    )


def flip_middle_frame(wal: Path) -> None:
    """Flip one byte in the page of the WAL's middle frame; SQLite drops it and every later frame."""
    data = bytearray(wal.read_bytes())
    page = int.from_bytes(data[8:12], "big")
    frames = (len(data) - WAL_HEADER) // (FRAME_HEADER + page)
    assert frames > 100
    offset = WAL_HEADER + (frames // 2) * (FRAME_HEADER + page) + FRAME_HEADER + page // 2
    data[offset] ^= 0xFF
    wal.write_bytes(bytes(data))


@pytest.fixture
def lost(acknowledged_store: Path) -> Path:
    """An acknowledged store whose last three events are gone, as after a WAL fault."""
    tamper(
        acknowledged_store,
        ("DELETE FROM capital_ledger WHERE seq > ?", (LAST - 3,)),
        ("DELETE FROM events WHERE seq > ?", (LAST - 3,)),
    )
    return acknowledged_store


def test_a_log_shorter_than_its_receipt_fails_verify_with_the_counts(lost):
    assert failing(lost) == (
        LAST - 2,
        (
            f"acknowledged events lost: the receipt records seq {LAST} as acknowledged, but the log ends at "
            f"seq {LAST - 3}: 3 acknowledged events are missing (a damaged or deleted -wal, or an older copy "
            "of the file)"
        ),
    )


def test_a_writer_refuses_to_continue_over_a_loss_naming_the_counts_and_the_way_to_accept_it(lost):
    before = lost.read_bytes()

    with pytest.raises(
        StoreError,
        match=(
            rf"^store '.*arena.db': acknowledged events lost: the receipt records seq {LAST} as "
            rf"acknowledged, but the log ends at seq {LAST - 3}: 3 acknowledged events are missing .*; "
            r"restore the store "
            r"with its -wal from a backup, or accept the loss explicitly: "
            r"SQLiteEventStore.open\(path, accept_loss=True\) \(arena simulate --resume --accept-loss\) "
            rf"continues from seq {LAST - 3} and records it in a new receipt$"
        ),
    ) as caught:
        SQLiteEventStore.open(lost)

    assert caught.value.seq == LAST
    assert lost.read_bytes() == before
    assert receipt_of(lost)["seq"] == LAST


def test_accepting_the_loss_continues_from_the_log_and_records_it_as_the_receipt(lost, caplog):
    with caplog.at_level(logging.WARNING), SQLiteEventStore.open(lost, accept_loss=True) as store:
        head = store.head()

    assert head.seq == LAST - 3
    assert (receipt_of(lost)["seq"], receipt_of(lost)["hash"]) == head
    accepted = f"accepted (accept_loss=True): continuing from seq {LAST - 3}, now the receipt's head"
    assert accepted in caplog.text
    assert verify(lost).ok
    SQLiteEventStore.open(lost).close()  # reported once, not on every later open


def test_a_log_rewritten_before_its_receipt_fails_verify_as_loss(acknowledged_store):
    edit_data(acknowledged_store, 20, marks={"XYZ": "12.00000000"})
    rechain(acknowledged_store)
    tamper(acknowledged_store, "DELETE FROM arena_state")

    seq, reason = failing(acknowledged_store)

    assert seq == LAST
    assert reason.startswith(f"acknowledged events lost: the hash at seq {LAST} is ")
    assert reason.endswith(
        f"the log was rewritten at or before seq {LAST}, so up to {LAST} acknowledged events are not the "
        "ones acknowledged"
    )


def test_a_receipt_beside_a_missing_store_refuses_before_creating_a_file(acknowledged_store):
    for file in acknowledged_store.parent.glob("arena.db*"):
        if file.suffix != ".receipt":
            file.unlink()

    with pytest.raises(StoreError, match=rf"the log ends at seq 0: {LAST} acknowledged events are missing"):
        SQLiteEventStore.open(acknowledged_store)

    assert sorted(f.name for f in acknowledged_store.parent.iterdir()) == ["arena.db.receipt"]


def test_a_receipt_of_another_arena_means_the_store_was_replaced(acknowledged_store, log):
    receipt = acknowledged_store.with_name("arena.db.receipt")
    receipt.write_text(receipt.read_text().replace(str(log.events[0].arena_id), "another-arena"))

    seq, reason = failing(acknowledged_store)

    assert seq == LAST
    assert reason.startswith(
        f"acknowledged events lost: the receipt is of arena 'another-arena' at seq {LAST}"
    )


@pytest.mark.parametrize("content", ["", "{}", '{"format":"arena-receipt-v1","seq":-1,"hash":"x"}', "\xff"])
def test_an_unreadable_receipt_fails_verify_and_refuses_a_writer_unless_accepted(acknowledged_store, content):
    acknowledged_store.with_name("arena.db.receipt").write_text(content, encoding="latin-1")

    report = verify(acknowledged_store)
    with pytest.raises(
        StoreError,
        match=(
            r"^store '.*arena.db': the receipt 'arena.db.receipt' (is not an arena-receipt-v1 receipt|holds "
            r"no valid seq, hash and arena_id), so the log cannot be checked against what was acknowledged; "
            r"restore 'arena.db.receipt'"
        ),
    ):
        SQLiteEventStore.open(acknowledged_store)
    SQLiteEventStore.open(acknowledged_store, accept_loss=True).close()

    assert not report.ok
    assert report.reason.endswith("; restore it with the store, or remove it to verify without")
    assert receipt_of(acknowledged_store)["seq"] == LAST
    assert verify(acknowledged_store).ok


def test_a_store_verifies_against_its_receipt_after_every_flush(store, path, log):
    log.scenario()
    events = log.take()
    for cut in range(5, len(events) + 1, 7):
        store.append(events[store.head().seq : cut])
        acknowledged(store)

        assert verify(path).ok
