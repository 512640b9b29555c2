"""Tamper tests: damage a real store file with the triggers dropped, and check ``verify`` names the seq.

The ``closed`` store is ``ArenaLog.scenario()`` (its shape is described in ``tests/store/arena_log.py``);
``test_verify_value.py`` tampers with what the ledger values.
"""

from __future__ import annotations

import sqlite3
from decimal import Decimal

import pytest

from events import (
    AgentSpawned,
    CapitalAllocated,
    Tier,
    ValidationError,
    canonical_json,
    chain_hash,
)
from store import Head, SQLiteEventStore, VerificationReport, verify
from tests.store.arena_log import ENTRIES, LAST, SNAPSHOT, ArenaLog
from tests.store.tampering import column, corrupt_pages, edit_data, failing, rechain, tamper


def test_a_clean_store_verifies(closed, log):
    report = verify(closed)

    assert report.ok
    assert (report.events_checked, report.snapshots_checked, report.ledger_entries_checked) == (
        LAST,
        1,
        ENTRIES,
    )
    assert report.head == Head(log.fold.seq, log.fold.head_hash)
    assert report.first_failing_seq is None
    assert report.reason is None
    assert report.warnings == ()


def test_a_store_verifies_while_its_writer_is_open(filled, path):
    assert verify(path).ok


def test_the_report_prints_as_one_line(closed, log):
    text = str(verify(closed))

    assert text == (
        f"{closed}: ok: {LAST} events, {ENTRIES} ledger entries and 1 snapshots check out; head seq "
        f"{LAST} {log.fold.head_hash}"
    )
    assert "\n" not in text


def test_a_failed_report_prints_the_seq_and_reason(closed):
    tamper(closed, "DELETE FROM events WHERE seq = 12")

    assert str(verify(closed)).startswith(
        f"{closed}: FAILED at seq 12: seq 12 is missing (the next stored seq is 13)"
    )


def test_an_edited_data_breaks_the_chain_at_its_seq(closed):
    tamper(closed, "UPDATE events SET data = replace(data, '1000.00000000', '999.00000000') WHERE seq = 7")

    seq, reason = failing(closed)

    assert seq == 7
    assert reason.startswith("hash chain breaks: stored")


def test_an_edited_data_with_a_recomputed_chain_is_caught_by_the_ledger(closed):
    edit_data(closed, 7, amount="999.00000000")
    rechain(closed)

    seq, reason = failing(closed)

    assert seq == 7
    assert reason == (
        "ledger row entry_id 7 posts -100000000000 to 'treasury', but the event posts -99900000000 to "
        "'treasury' (minor units of 1e-8)"
    )


def test_a_column_cannot_be_edited_apart_from_data(closed):
    with pytest.raises(sqlite3.OperationalError, match='cannot UPDATE generated column "agent_id"'):
        tamper(closed, "UPDATE events SET agent_id = 'a2' WHERE seq = 8")

    assert verify(closed).ok


def test_a_moved_last_event_is_reported_as_a_gap(closed):
    tamper(closed, ("UPDATE events SET seq = ? WHERE seq = ?", (LAST + 5, LAST)))

    assert failing(closed)[0] == LAST


def test_an_edited_ledger_amount_is_reported_at_its_seq(closed):
    tamper(
        closed,
        "UPDATE capital_ledger SET amount = amount + 1 WHERE seq = 9 AND account_id = "
        "(SELECT account_id FROM accounts WHERE account = 'agent:a1')",
    )

    seq, reason = failing(closed)

    assert seq == 9
    assert reason.startswith("ledger row entry_id")


def test_an_edited_balance_after_is_reported_at_its_seq(closed):
    tamper(
        closed,
        "UPDATE capital_ledger SET balance_after = balance_after - 1 WHERE seq = 10 AND account_id = "
        "(SELECT account_id FROM accounts WHERE account = 'fees')",
    )

    seq, reason = failing(closed)

    assert seq == 10
    assert "balance_after is" in reason


def test_a_deleted_event_row_is_reported_as_a_gap(closed):
    tamper(closed, "DELETE FROM events WHERE seq = 12")

    assert failing(closed) == (12, "seq 12 is missing (the next stored seq is 13): a deleted row")


def test_a_deleted_ledger_row_is_reported_at_its_seq(closed):
    tamper(
        closed,
        "DELETE FROM capital_ledger WHERE entry_id = (SELECT min(entry_id) FROM capital_ledger "
        "WHERE seq = 10)",
    )

    assert failing(closed) == (
        10,
        "4 ledger rows, but the event posts 5: a ledger row was deleted, inserted or moved",
    )


def test_an_inserted_ledger_row_is_reported_at_the_seq_it_names(closed):
    tamper(
        closed,
        "INSERT INTO capital_ledger (seq, account_id, amount, balance_after) "
        "SELECT seq, (SELECT account_id FROM accounts WHERE account = 'agent:a1'), 1, 1 FROM "
        "capital_ledger WHERE seq = 5 LIMIT 1",
    )

    seq, reason = failing(closed)

    assert seq == 5
    assert reason.endswith("comes after the rows of seq 33: an inserted or reordered row")


def test_an_inserted_event_with_a_wrong_hash_breaks_the_chain(closed, log):
    extra = log.make(CapitalAllocated, agent_id="a1", amount=Decimal(1))
    data = canonical_json(extra)
    tamper(
        closed,
        (
            "INSERT INTO events (seq, data, hash) VALUES (?, ?, ?)",
            (LAST + 1, data, b"\xab" * 32),
        ),
    )

    seq, reason = failing(closed)

    assert seq == LAST + 1
    assert reason.startswith("hash chain breaks")


def test_an_inserted_event_with_a_forged_hash_but_no_postings_is_caught(closed, log):
    extra = log.make(CapitalAllocated, agent_id="a1", amount=Decimal(1))
    data = canonical_json(extra)
    tamper(
        closed,
        (
            "INSERT INTO events (seq, data, hash) VALUES (?, ?, ?)",
            (LAST + 1, data, bytes.fromhex(chain_hash(log.fold.head_hash, data))),
        ),
    )

    assert failing(closed) == (
        LAST + 1,
        "0 ledger rows, but the event posts 2: a ledger row was deleted, inserted or moved",
    )


def test_a_forged_overdraft_with_matching_postings_is_caught(closed, log):
    treasury = log.fold.treasury
    extra = log.make(CapitalAllocated, agent_id="a1", amount=treasury + 1)
    data = canonical_json(extra)
    minor = int((treasury + 1) * 10**8)
    ledger = (
        "INSERT INTO capital_ledger (seq, account_id, amount, balance_after) "
        "VALUES (?, (SELECT account_id FROM accounts WHERE account = ?), ?, ?)"
    )
    tamper(
        closed,
        (
            "INSERT INTO events (seq, data, hash) VALUES (?, ?, ?)",
            (LAST + 1, data, bytes.fromhex(chain_hash(log.fold.head_hash, data))),
        ),
        (ledger, (LAST + 1, "treasury", -minor, -(10**8))),
        (
            ledger,
            (
                LAST + 1,
                "agent:a1",
                minor,
                column(
                    closed,
                    "SELECT balance_after FROM ledger WHERE account = 'agent:a1' ORDER BY entry_id DESC",
                )
                + minor,
            ),
        ),
    )

    assert failing(closed) == (LAST + 1, "account 'treasury' goes negative (-100000000 minor units)")


def test_reordered_event_rows_break_the_chain_at_the_first_of_them(closed):
    tamper(
        closed,
        "UPDATE events SET seq = 1000 WHERE seq = 10",
        "UPDATE events SET seq = 10 WHERE seq = 11",
        "UPDATE events SET seq = 11 WHERE seq = 1000",
    )

    seq, reason = failing(closed)

    assert seq == 10
    assert reason.startswith("hash chain breaks")


def test_reordered_ledger_rows_are_reported_at_the_first_seq_they_touch(closed):
    tamper(
        closed,
        "UPDATE capital_ledger SET entry_id = entry_id + 1000 WHERE seq = 8",
        "UPDATE capital_ledger SET entry_id = entry_id - 5 WHERE seq = 9",
        "UPDATE capital_ledger SET entry_id = entry_id - 1000 + 6 WHERE seq = 8",
    )

    assert failing(closed) == (
        8,
        "0 ledger rows, but the event posts 5: a ledger row was deleted, inserted or moved",
    )


def test_a_cause_pointing_at_a_later_event_is_caught(closed, log):
    edit_data(closed, 5, caused_by=str(log.events[8].event_id))
    rechain(closed)

    later = log.events[8].event_id
    assert failing(closed) == (
        5,
        (f"caused_by {later} names the later event at seq 9; a cause must be an earlier event"),
    )


def test_an_edited_snapshot_column_is_reported_at_the_snapshot_seq(closed):
    tamper(closed, "UPDATE arena_state SET free_capital = free_capital + 1")

    seq, reason = failing(closed)

    assert seq == SNAPSHOT
    assert reason.startswith("snapshot #1: column free_capital is")


def test_an_edited_snapshot_state_is_reported_with_the_fields_that_differ(closed):
    tamper(closed, "UPDATE arena_state SET data = replace(data, '\"cycle\":0', '\"cycle\":7')")

    assert failing(closed) == (SNAPSHOT, "snapshot #1 differs from the fold of the log in ['cycle']")


def test_a_snapshot_past_the_last_event_is_reported(closed):
    tamper(
        closed,
        "INSERT INTO arena_state (seq, timestamp, total_capital, allocated_capital, "
        "free_capital, active_agents, proving_agents, simulation_agents, data, digest) SELECT 99, "
        "timestamp, total_capital, allocated_capital, free_capital, active_agents, "
        "proving_agents, simulation_agents, data, digest FROM arena_state",
    )

    assert failing(closed) == (99, "snapshot #2 is at seq 99, past the last event")


def test_an_edited_snapshot_digest_is_reported_at_the_snapshot_seq(closed):
    tamper(closed, "UPDATE arena_state SET digest = zeroblob(32)")

    assert failing(closed) == (
        SNAPSHOT,
        (
            f"snapshot #1: its digest does not match its data and the log's hash at seq {SNAPSHOT}: the row "
            "was edited"
        ),
    )


def test_deleting_a_snapshot_loses_nothing(closed):
    tamper(closed, "DELETE FROM arena_state")

    assert verify(closed).ok


def test_dropped_triggers_are_a_warning_not_a_failure(closed):
    tamper(closed)

    report = verify(closed)

    assert report.ok
    assert report.warnings == (
        (
            "append-only triggers ['events_no_update', 'events_no_delete', 'accounts_no_update', "
            "'accounts_no_delete', 'capital_ledger_no_update', 'capital_ledger_no_delete', "
            "'arena_state_no_update', 'arena_state_no_delete'] are missing: "
            "rows may have been edited"
        ),
    )


def test_edited_meta_fails_the_file_as_a_whole(closed):
    tamper(closed, "UPDATE meta SET value = '2' WHERE key = 'money_scale'")

    assert failing(closed) == (None, "meta.money_scale is '2', expected '8'")


def test_a_wrong_arena_id_in_meta_is_reported_at_seq_1(closed):
    tamper(closed, "UPDATE meta SET value = 'other' WHERE key = 'arena_id'")

    seq, reason = failing(closed)

    assert seq == 1
    assert reason.startswith("meta.arena_id is 'other'")


def test_a_log_cut_off_at_its_end_needs_the_recorded_head_to_be_seen(closed, log):
    recorded = Head(log.fold.seq, log.fold.head_hash)
    tamper(closed, "DELETE FROM capital_ledger WHERE seq >= 31", "DELETE FROM events WHERE seq >= 31")

    alone = verify(closed)
    seq, reason = failing(closed, expected_head=recorded)

    assert alone.ok
    assert alone.head.seq == 30
    assert seq == 31
    assert (
        reason
        == "truncated: the log ends at seq 30, but the recorded head is seq 34; 4 events were cut off the end"
    )


def test_a_log_rewritten_wholesale_needs_the_recorded_head_to_be_seen(closed, path, log, tmp_path):
    recorded = Head(log.fold.seq, log.fold.head_hash)
    closed.unlink()
    forged = ArenaLog(seed=99)
    forged.scenario()
    with SQLiteEventStore.open(path) as store:
        store.append(forged.take())

    seq, reason = failing(path, expected_head=recorded)

    assert verify(path).ok
    assert seq == LAST
    assert reason.startswith(
        f"diverged: the hash at seq {LAST} is {forged.fold.head_hash}, but the recorded head says"
    )


def test_a_log_that_grew_past_the_recorded_head_verifies(filled, path, log):
    recorded = filled.head()
    log.spawn("late")
    filled.append(log.take())

    assert verify(path, expected_head=recorded).ok
    assert verify(path, expected_head=tuple(filled.head())).ok


def test_an_expected_head_that_is_no_pair_is_an_argument_error(closed):
    with pytest.raises(ValidationError, match=r"^expected_head: 5 is not a \(seq, hash\) pair"):
        verify(closed, expected_head=5)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (
            b"hello, I am a text file\n" * 100,
            "SQLite cannot read the file (SQLITE_NOTADB: file is not a database)",
        ),
        (None, "no such file; pass the path of a store file"),
    ],
)
def test_a_file_that_is_no_store_is_reported_not_raised(tmp_path, content, reason):
    path = tmp_path / "x.db"
    if content is not None:
        path.write_bytes(content)

    assert failing(path) == (None, reason)


def test_a_foreign_sqlite_file_is_reported_not_raised(tmp_path):
    path = tmp_path / "foreign.db"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE users (name TEXT)")
    connection.commit()
    connection.close()

    assert failing(path) == (
        None,
        (
            "not an Arena store: tables ['meta', 'events', 'accounts', 'capital_ledger', 'arena_state'] are "
            "missing"
        ),
    )


def test_corrupted_pages_are_reported_not_raised(closed):
    corrupt_pages(closed)

    report = verify(closed)

    assert not report.ok
    assert report.first_failing_seq is None
    assert report.reason.startswith(
        ("SQLite integrity_check fails: ", "SQLite cannot read the file (SQLITE_CORRUPT")
    )
    assert "\n" not in str(report)


def test_the_report_is_immutable(closed):
    report = verify(closed)

    with pytest.raises(AttributeError):
        report.ok = False  # type: ignore[misc]
    assert isinstance(report, VerificationReport)


def test_data_that_is_not_canonical_is_caught_even_with_a_recomputed_chain(closed):
    tamper(closed, "UPDATE events SET data = replace(data, ',', ', ') WHERE seq = 3")
    rechain(closed)

    assert failing(closed) == (3, "data is not the canonical JSON of the event it decodes to")


def test_data_that_does_not_decode_is_caught(closed):
    tamper(closed, """UPDATE events SET data = '{"event_type":"Bogus","seq":3}' WHERE seq = 3""")
    rechain(closed)

    seq, reason = failing(closed)

    assert seq == 3
    assert reason.startswith(
        "data does not decode: unknown event_type 'Bogus'; expected one of: AgentDemoted, AgentEmigrated, "
    )


def test_a_forged_event_that_contradicts_the_log_is_caught_by_the_fold(closed, log):
    twin = log.make(AgentSpawned, agent_id="a1", tier=Tier.SIMULATION)
    data = canonical_json(twin)
    tamper(
        closed,
        (
            "INSERT INTO events (seq, data, hash) VALUES (?, ?, ?)",
            (LAST + 1, data, bytes.fromhex(chain_hash(log.fold.head_hash, data))),
        ),
    )

    seq, reason = failing(closed)

    assert seq == LAST + 1
    assert reason.startswith(
        f"the event contradicts the log before it: event seq {LAST + 1} (AgentSpawned): agent "
        f"'a1' already exists"
    )


def test_a_ledger_row_for_a_seq_without_an_event_is_reported(closed):
    tamper(
        closed,
        "INSERT INTO capital_ledger (seq, account_id, amount, balance_after) VALUES (99, 1, 1, 1)",
    )

    assert failing(closed) == (99, f"ledger row entry_id {ENTRIES + 1} names seq 99, which has no event")


def test_a_snapshot_at_seq_0_is_reported(closed):
    tamper(
        closed,
        "INSERT INTO arena_state (seq, timestamp, total_capital, allocated_capital, "
        "free_capital, active_agents, "
        "proving_agents, simulation_agents, data, digest) "
        "VALUES (0, 't', 0, 0, 0, 0, 0, 0, '{}', zeroblob(32))",
    )

    assert failing(closed) == (0, "snapshot #2 is at seq 0, where no event is")


def test_a_snapshot_that_does_not_decode_is_reported(closed):
    tamper(closed, """UPDATE arena_state SET data = '{"seq":"many"}'""")

    seq, reason = failing(closed)

    assert seq == SNAPSHOT
    assert reason.startswith(f"snapshot #1: snapshot at seq {SNAPSHOT}: field 'seq': ")


def test_an_arena_id_in_the_meta_of_an_empty_log_is_reported(path):
    SQLiteEventStore.open(path).close()
    tamper(path, "INSERT INTO meta VALUES ('arena_id', 'ghost')")

    assert failing(path) == (None, "meta.arena_id is 'ghost' but the log is empty")


def test_an_empty_store_verifies(path):
    SQLiteEventStore.open(path).close()

    report = verify(path)

    assert report.ok
    assert report.head == Head(0, "0" * 64)


def test_verify_never_changes_the_file(closed):
    tamper(closed, "DELETE FROM events WHERE seq = 12")
    before = closed.read_bytes()

    verify(closed)

    assert closed.read_bytes() == before
    wal = closed.with_name("arena.db-wal")
    assert not wal.exists() or wal.stat().st_size == 0  # a reader of a WAL file leaves an empty -wal
