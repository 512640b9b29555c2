from __future__ import annotations

import sqlite3

import pytest

from events import MONEY_SCALE
from store import SCHEMA_VERSION, SQLiteEventStore

EXPECTED_COLUMNS = {
    "events": [
        ("seq", "INTEGER", 0, 1),
        ("data", "TEXT", 1, 0),
        ("hash", "BLOB", 1, 0),
    ],
    "accounts": [
        ("account_id", "INTEGER", 0, 1),
        ("account", "TEXT", 1, 0),
        ("agent_id", "TEXT", 0, 0),
        ("symbol", "TEXT", 0, 0),
        ("unit", "TEXT", 1, 0),
    ],
    "capital_ledger": [
        ("entry_id", "INTEGER", 0, 1),
        ("seq", "INTEGER", 1, 0),
        ("account_id", "INTEGER", 1, 0),
        ("amount", "INTEGER", 1, 0),
        ("balance_after", "INTEGER", 1, 0),
    ],
    "arena_state": [
        ("snapshot_id", "INTEGER", 0, 1),
        ("seq", "INTEGER", 1, 0),
        ("timestamp", "TEXT", 1, 0),
        ("total_capital", "INTEGER", 1, 0),
        ("allocated_capital", "INTEGER", 1, 0),
        ("free_capital", "INTEGER", 1, 0),
        ("active_agents", "INTEGER", 1, 0),
        ("proving_agents", "INTEGER", 1, 0),
        ("simulation_agents", "INTEGER", 1, 0),
        ("data", "TEXT", 1, 0),
        ("digest", "BLOB", 1, 0),
    ],
    "meta": [("key", "TEXT", 1, 1), ("value", "TEXT", 1, 0)],  # STRICT: a TEXT key is NOT NULL
}
"""The stored columns (``PRAGMA table_info`` leaves generated columns out)."""
GENERATED_COLUMNS = ["event_id", "event_type", "agent_id", "timestamp", "caused_by"]
"""The columns of ``events`` computed from ``data`` (VIRTUAL: no bytes in the table)."""


def test_a_new_store_has_the_documented_tables_and_columns(store, raw):
    columns = {
        table: [
            (name, kind, notnull, pk)
            for _, name, kind, notnull, _, pk in raw.execute(f"PRAGMA table_info({table})")
        ]
        for table in EXPECTED_COLUMNS
    }
    generated = [row[1] for row in raw.execute("PRAGMA table_xinfo(events)") if row[6] == 2]  # 2: VIRTUAL

    assert columns == EXPECTED_COLUMNS
    assert generated == GENERATED_COLUMNS


def test_the_generated_columns_of_events_equal_data_and_cannot_be_written(filled, raw):
    rows = raw.execute(
        "SELECT event_id = data ->> 'event_id', event_type = data ->> 'event_type', "
        "agent_id IS data ->> 'agent_id', timestamp = data ->> 'timestamp', "
        "caused_by IS data ->> 'caused_by', length(hash) FROM events"
    ).fetchall()

    assert set(rows) == {(1, 1, 1, 1, 1, 32)}
    with pytest.raises(sqlite3.OperationalError, match='cannot UPDATE generated column "agent_id"'):
        raw.execute("UPDATE events SET agent_id = 'a2' WHERE seq = 2")


def test_every_table_is_strict(store, raw):
    strict = {
        name: flag for _, name, _, _, _, flag in raw.execute("PRAGMA table_list") if name in EXPECTED_COLUMNS
    }

    assert strict == dict.fromkeys(EXPECTED_COLUMNS, 1)


def test_meta_records_format_version_scale_and_hash_recipe(store):
    meta = store.meta()

    assert meta["format"] == "arena-event-store"
    assert meta["schema_version"] == str(SCHEMA_VERSION)
    assert meta["money_scale"] == str(MONEY_SCALE)
    assert meta["hash_algorithm"] == "sha256-chain-v1"
    assert meta["genesis_hash"] == "0" * 64
    assert "arena_id" not in meta


def test_the_first_append_records_the_arena_id_in_meta(store, log):
    log.open(arena_id="arena-42")

    store.append(log.take())

    assert store.meta()["arena_id"] == "arena-42"
    assert store.arena_id() == "arena-42"


def test_the_writer_checkpoints_the_wal_every_ten_thousand_pages(store):
    connection = store._connection

    assert connection.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 10000
    assert connection.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_the_file_is_in_wal_mode_and_marked_with_the_application_id(store, raw):
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert raw.execute("PRAGMA application_id").fetchone()[0] == 0x41524E41  # "ARNA"


@pytest.mark.parametrize(("synchronous", "level"), [("normal", 1), ("full", 2)])
def test_synchronous_is_configurable(path, synchronous, level):
    with SQLiteEventStore.open(path, synchronous=synchronous) as store:
        assert store._connection.execute("PRAGMA synchronous").fetchone()[0] == level


@pytest.mark.parametrize("table", ["events", "accounts", "capital_ledger"])
@pytest.mark.parametrize("statement", ["UPDATE {table} SET rowid = rowid", "DELETE FROM {table}"])
def test_the_log_and_ledger_are_append_only(filled, raw, table, statement):
    with pytest.raises(sqlite3.IntegrityError, match=rf"^{table} is append-only: a stored row cannot be"):
        raw.execute(statement.format(table=table))


@pytest.mark.parametrize("statement", ["UPDATE arena_state SET seq = seq", "DELETE FROM arena_state"])
def test_snapshots_are_append_only_too(filled, raw, statement):
    verb = "updated" if statement.startswith("UPDATE") else "deleted"

    with pytest.raises(
        sqlite3.IntegrityError,
        match=rf"^arena_state is append-only: a stored snapshot cannot be {verb}; a later snapshot",
    ):
        raw.execute(statement)


def test_amounts_are_stored_as_integers_never_reals(filled, raw):
    kinds = raw.execute(
        "SELECT DISTINCT typeof(amount), typeof(balance_after) FROM capital_ledger "
        "UNION SELECT DISTINCT typeof(total_capital), typeof(free_capital) FROM arena_state"
    ).fetchall()

    assert kinds == [("integer", "integer")]


@pytest.mark.parametrize(
    ("sql", "index"),
    [
        ("SELECT data FROM events WHERE agent_id = 'a1' ORDER BY seq", "events_by_agent"),
        ("SELECT data FROM events WHERE event_type = 'TradeExecuted' ORDER BY seq", "events_by_type"),
        ("SELECT data FROM events WHERE caused_by = 'x'", "events_by_cause"),
        ("SELECT data FROM events WHERE event_id = 'x'", "events_by_id"),
        (
            "SELECT balance_after FROM capital_ledger WHERE account_id = 1 AND seq <= 5 ORDER BY seq DESC",
            "capital_ledger_by_account",
        ),
    ],
)
def test_per_agent_and_per_type_reads_use_an_index_without_sorting(filled, raw, sql, index):
    plan = " | ".join(row[3] for row in raw.execute(f"EXPLAIN QUERY PLAN {sql}"))

    assert f"USING INDEX {index}" in plan or f"USING COVERING INDEX {index}" in plan
    assert "TEMP B-TREE" not in plan


def test_store_connections_enforce_foreign_keys(store):
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        store._connection.execute(
            "INSERT INTO capital_ledger (seq, account_id, amount, balance_after) VALUES (99, 1, 1, 1)"
        )


@pytest.mark.parametrize(("unit", "error"), [("apples", "CHECK constraint failed"), (None, "NOT NULL")])
def test_an_account_is_in_money_or_in_quantity_and_nothing_else(filled, raw, unit, error):
    with pytest.raises(sqlite3.IntegrityError, match=error):
        raw.execute(
            "INSERT INTO accounts (account_id, account, agent_id, symbol, unit) "
            "VALUES (99, 'x', NULL, NULL, ?)",
            (unit,),
        )


def test_a_ledger_row_names_a_stored_account(store):
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        store._connection.execute(
            "INSERT INTO capital_ledger (seq, account_id, amount, balance_after) VALUES (1, 999, 1, 1)"
        )


def test_only_the_accounts_of_a_holding_name_a_symbol(filled, raw):
    rows = raw.execute(
        "SELECT DISTINCT substr(account, 1, instr(account || ':', ':') - 1), symbol IS NOT NULL, unit "
        "FROM ledger ORDER BY 1"
    ).fetchall()

    assert rows == [
        ("agent", 0, "money"),
        ("external", 0, "money"),
        ("fees", 0, "money"),
        ("market", 1, "quantity"),
        ("pnl", 0, "money"),
        ("position", 1, "money"),
        ("treasury", 0, "money"),
        ("units", 1, "quantity"),
    ]
