"""A damaged WAL frame in a killed writer's file: the receipt reports the acknowledged events it cost.

SQLite checks each WAL frame's checksum as it recovers a WAL and silently drops the first bad frame and
every later one, so without the receipt (``<store>.receipt``, the head of the last acknowledged flush)
a flipped byte reads as a shorter, healthy log. The writer here holds after a number of acknowledged
flushes (so every frame in its WAL belongs to an acknowledged commit) and is killed with SIGKILL: its
WAL was never checkpointed. The damage is done to a copy of the store, its WAL and its receipt, as a
backup would hold them: without the ``-shm``, whose index SQLite rebuilds from the WAL, checking every
frame.
"""

from __future__ import annotations

import re
import shutil

import pytest

from actors import Arena
from events import StoreError
from store import verify
from tests.reliability.trials import killed_while_holding

HOLD_AFTER = 20
"""Acknowledged flushes before the writer holds: ~175 events in ~590 WAL frames of 4 KB."""
WAL_HEADER = 32
FRAME_HEADER = 24


def copy_without_index(path, target):
    """Copy the store, its WAL and its receipt (not its ``-shm`` or its lock) as ``target``."""
    target.parent.mkdir()
    for suffix in ("", "-wal", ".receipt"):
        shutil.copy(f"{path}{suffix}", f"{target}{suffix}")
    return target


def flip_a_byte_in_the_middle_frame(wal):
    data = bytearray(wal.read_bytes())
    page_size = int.from_bytes(data[8:12], "big")
    frames = (len(data) - WAL_HEADER) // (FRAME_HEADER + page_size)
    assert frames >= 10, frames
    middle = WAL_HEADER + (frames // 2) * (FRAME_HEADER + page_size) + FRAME_HEADER + page_size // 2
    data[middle] ^= 0x01
    wal.write_bytes(bytes(data))


@pytest.fixture
def damaged(tmp_path):
    """A killed writer's store, then a copy of it with one byte of its middle WAL frame flipped."""
    path = tmp_path / "writer" / "arena.db"
    path.parent.mkdir()
    acknowledged = killed_while_holding(path, HOLD_AFTER)
    copy = copy_without_index(path, tmp_path / "copy" / "arena.db")
    flip_a_byte_in_the_middle_frame(copy.with_name("arena.db-wal"))
    return path, copy, acknowledged


def test_the_killed_writers_own_file_holds_every_acknowledged_head(damaged):
    path, _, acknowledged = damaged

    report = verify(path, expected_head=acknowledged[-1])

    assert report.ok, report


def test_verify_reports_the_lost_acknowledged_events_without_an_expected_head(damaged):
    _, copy, acknowledged = damaged

    report = verify(copy)

    assert not report.ok
    found = re.match(
        r"^acknowledged events lost: the receipt records seq (\d+) as acknowledged, but the log ends at "
        r"seq (\d+): (\d+) acknowledged events are missing",
        str(report.reason),
    )
    assert found, report
    recorded, ends, missing = map(int, found.groups())
    assert recorded == acknowledged[-1].seq
    assert ends < recorded
    assert missing == recorded - ends


def test_reopening_a_log_that_lost_acknowledged_events_is_refused_with_the_way_to_accept_it(damaged):
    _, copy, acknowledged = damaged

    with pytest.raises(StoreError, match=r"acknowledged events lost: .* accept_loss=True") as refused:
        Arena.open(copy)

    assert f"seq {acknowledged[-1].seq} as acknowledged" in str(refused.value)
