"""``verify``'s workers: a default that fits the machine, and a verdict that never depends on them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from store import verify
from store._links import minor
from store._verify import default_workers
from tests.store.tampering import column, corrupt_pages, failing, tamper


@pytest.fixture
def parallel(monkeypatch):
    """Let ``verify`` split even a short log across processes."""
    monkeypatch.setattr("store._verify._PARALLEL_FROM", 0)


@pytest.mark.parametrize(("cores", "expected"), [(None, 1), (1, 1), (2, 2), (4, 4), (64, 4)])
def test_the_default_is_the_machine_s_cores_up_to_four(monkeypatch, cores, expected):
    monkeypatch.setattr("os.cpu_count", lambda: cores)

    assert default_workers() == expected


def test_the_default_verify_reports_what_one_process_reports(closed, parallel, monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 2)

    assert verify(closed) == verify(closed, workers=2) == verify(closed, workers=1)


def test_a_file_sqlite_finds_unsound_fails_its_integrity_check_with_workers_too(closed, parallel):
    corrupt_pages(closed)

    single = failing(closed, workers=1)

    assert failing(closed, workers=2) == single
    assert verify(closed, workers=2) == verify(closed, workers=1)


def test_an_edited_running_balance_is_found_by_this_process_with_workers(closed, parallel):
    tamper(closed, "UPDATE capital_ledger SET balance_after = balance_after + 1 WHERE entry_id = 5")

    single = failing(closed, workers=1)

    assert single[1].startswith("ledger row entry_id 5: balance_after is ")
    assert failing(closed, workers=2) == single
    assert verify(closed, workers=2) == verify(closed, workers=1)


def test_minor_units_are_remembered_per_object_and_equal_to_a_fresh_conversion():
    amount = Decimal("12.34567891")
    twin = Decimal("12.345678910")

    assert minor(amount) == minor(amount) == 1234567891
    assert minor(twin) == 1234567891
    assert minor(Decimal("-0.00000001")) == -1


def test_a_ledger_row_whose_account_is_gone_is_reported_as_sqlite_s_join_would_show_it(closed, parallel):
    """The audit joins rows to accounts itself; a dangling ``account_id`` reads as no account at all."""
    tamper(closed, "UPDATE capital_ledger SET account_id = 9999 WHERE entry_id = 5")
    seq = column(closed, "SELECT seq FROM capital_ledger WHERE entry_id = 5")

    single = failing(closed, workers=1)

    assert single[0] == seq
    assert single[1].startswith("ledger row entry_id 5 posts ")
    assert " to None, but the event posts " in single[1]
    assert failing(closed, workers=2) == single
    assert verify(closed, workers=2) == verify(closed, workers=1)


def test_a_ledger_row_moved_to_another_account_is_reported_with_the_account_it_now_posts_to(closed, parallel):
    """Rows are compared with the event's legs as whole tuples; a mismatch is still taken apart."""
    cash = column(closed, "SELECT account_id FROM capital_ledger WHERE entry_id = 5")
    other = column(closed, "SELECT max(account_id) FROM accounts WHERE account_id != ?", cash)
    tamper(closed, ("UPDATE capital_ledger SET account_id = ? WHERE entry_id = 5", (other,)))

    name = column(closed, "SELECT account FROM accounts WHERE account_id = ?", other)

    single = failing(closed, workers=1)

    assert single[1].startswith("ledger row entry_id 5 posts ")
    assert f" to {name!r}, but the event posts " in single[1]
    assert failing(closed, workers=2) == single
