"""A disk that fills up mid-run: one clear error, and every head acknowledged before it is in the file.

The limit is ``RLIMIT_FSIZE`` on the writer process (no root needed): a write past it fails with EFBIG,
which SQLite reports as an I/O error, as it does on a quota. ``PRAGMA max_page_count`` would be the other
way, but it lasts only as long as the connection that sets it, and the writer's connection is its own.
``tests/test_cli.py`` checks the same limit through ``arena simulate``; here the writer reports every
head it was acknowledged, so "nothing acknowledged lost" is checked flush by flush.
"""

from __future__ import annotations

import re

from tests.reliability.trials import (
    WAIT,
    acknowledged_heads,
    assert_nothing_acknowledged_lost,
    assert_reopens_and_continues,
    start_writer,
)

LIMIT = 1_000_000
"""Bytes: the WAL reaches it after about ten flushes of the run (~80 events); the whole run needs ~2 MB."""


def test_a_writer_whose_disk_fills_up_fails_in_one_line_and_keeps_everything_it_acknowledged(tmp_path):
    path = tmp_path / "arena.db"
    writer = start_writer(path, "--max-file-size", LIMIT)

    out, err = writer.communicate(timeout=WAIT)

    acknowledged = acknowledged_heads(out)
    assert writer.returncode == 2
    assert err.count("\n") == 1, err
    # the failure reaches the writer's caller through a flush or through the next command, in two wordings
    found = re.match(
        r"^writer: error: .*\(StoreError: store '[^']*': appending seq \d+\.\.\d+ \(rolled back, nothing "
        r"written\) failed \(SQLITE_IOERR_WRITE: .*\); (?:it|the log) ends at seq (\d+) ",
        err,
    )
    assert found, err
    assert len(acknowledged) >= 2, out
    stored = assert_nothing_acknowledged_lost(path, acknowledged)
    assert stored.seq == int(found.group(1)) >= acknowledged[-1].seq
    assert_reopens_and_continues(path, stored)
