"""Files of schema_version 1 to 5 are refused, by writers, readers and ``verify`` alike, and left alone.

Versions 1 and 2: their fills record neither cost basis nor market price, and their kills dropped
holdings unsold, so a reading of them would be a guess. Version 3: its snapshots carry no digest.
Version 4: its promotions record no reason and its events would not re-encode to their stored bytes (see
``store.SCHEMA_VERSION``). Version 5: its log is this version's, but its tables are laid out otherwise
(hex hashes, a ledger that repeats every name). The refusal is decided on the meta table before
anything is written, so the file stays byte for byte as it was.
"""

from __future__ import annotations

import re

import pytest

from events import StoreError
from store import SCHEMA_VERSION, SQLiteEventStore, verify
from tests.store.tampering import tamper

EARLIER = (
    r"schema_version {version} was written by an earlier release {lacking}; it cannot be read as version "
    r"6; re-run the simulation with this release, or read it with arena-runtime 0\.1"
)
LACKING = {
    1: "whose fills record no cost basis",
    2: "whose fills record no cost basis",
    3: "whose snapshots carry no digest",
    4: "whose promotions record no reason",
    5: "whose hashes are hex text and whose ledger repeats every name",
}


def written_by_an_earlier_release(path, version: int) -> bytes:
    """Mark a closed store as written with ``version`` and return its bytes."""
    tamper(path, ("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(version),)))
    return path.read_bytes()


def test_the_version_is_six_since_hashes_are_bytes_and_the_ledger_names_accounts_by_id():
    assert SCHEMA_VERSION == 6


@pytest.mark.parametrize("version", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("readonly", [False, True], ids=["writer", "reader"])
def test_a_store_of_an_earlier_version_is_refused_and_left_byte_identical(closed, version, readonly):
    before = written_by_an_earlier_release(closed, version)

    with pytest.raises(
        StoreError,
        match=rf"^store '.*arena.db': {EARLIER.format(version=version, lacking=LACKING[version])}$",
    ) as caught:
        SQLiteEventStore.open(closed, readonly=readonly)

    assert caught.value.path == closed
    assert closed.read_bytes() == before
    wal = closed.with_name("arena.db-wal")
    assert not wal.exists() or wal.stat().st_size == 0  # a reader of a WAL file leaves an empty -wal


@pytest.mark.parametrize("version", [1, 2, 3, 4, 5])
def test_verify_fails_a_store_of_an_earlier_version_with_the_same_reason_and_changes_nothing(closed, version):
    before = written_by_an_earlier_release(closed, version)

    report = verify(closed)

    assert not report.ok
    assert report.first_failing_seq is None
    assert report.events_checked == 0
    assert re.fullmatch(EARLIER.format(version=version, lacking=LACKING[version]), report.reason or "")
    assert closed.read_bytes() == before


def test_a_version_no_release_wrote_is_refused_as_damage(closed):
    written_by_an_earlier_release(closed, 0)

    with pytest.raises(
        StoreError,
        match=(
            r"^store '.*arena.db': meta.schema_version is 0, which no release wrote; the file is damaged, "
            r"restore it from a backup$"
        ),
    ):
        SQLiteEventStore.open(closed)
    assert verify(closed).reason == (
        "meta.schema_version is 0, which no release wrote; the file is damaged, restore it from a backup"
    )
