"""A snapshot edited consistently in a killed writer's file is not trusted when the arena reopens.

"Consistently": the forger moves capital from the treasury to an agent in the latest snapshot's state,
fixes its columns to match and recomputes its digest with the documented recipe (``docs/FORMAT.md``:
``sha256(hash_seq + "\\n" + data)``, one step of the chain), after dropping the append-only triggers.
Only the ledger can tell, so recovery must check the snapshot against it and fold from an earlier one.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from decimal import Decimal

import pytest

from actors import Arena, SimClock
from events import chain_hash, fold, to_minor
from store import SQLiteEventStore, verify
from tests.reliability.trials import LATER, killed_while_holding

HOLD_AFTER = 20
SNAPSHOT_EVERY = 7
CENTS = Decimal("0.00000001")


def move_capital_in_the_latest_snapshot(path):
    """Move half the treasury to a live agent in the latest snapshot, consistently; return its id and seq."""
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        for (trigger,) in connection.execute(
            "SELECT name FROM sqlite_schema WHERE type = 'trigger'"
        ).fetchall():
            connection.execute(f"DROP TRIGGER {trigger}")
        snapshot_id, seq, data = connection.execute(
            "SELECT snapshot_id, seq, data FROM arena_state ORDER BY seq DESC, snapshot_id DESC LIMIT 1"
        ).fetchone()
        (head_hash,) = connection.execute("SELECT hash FROM events WHERE seq = ?", (seq,)).fetchone()
        state = json.loads(data)
        amount = (Decimal(state["treasury"]) / 2).quantize(CENTS)
        agent = next(a for a in state["agents"].values() if a["alive"])
        state["treasury"] = str((Decimal(state["treasury"]) - amount).quantize(CENTS))
        agent["allocation"] = str((Decimal(agent["allocation"]) + amount).quantize(CENTS))
        forged = json.dumps(state, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        connection.execute(
            "UPDATE arena_state SET data = ?, digest = ?, free_capital = free_capital - ?, "
            "allocated_capital = allocated_capital + ? WHERE snapshot_id = ?",
            (
                forged,
                bytes.fromhex(chain_hash(head_hash.hex(), forged)),
                to_minor(amount),
                to_minor(amount),
                snapshot_id,
            ),
        )
    finally:
        connection.close()
    return agent["agent_id"], seq, amount


@pytest.fixture
def forged(tmp_path):
    path = tmp_path / "arena.db"
    killed_while_holding(path, HOLD_AFTER, "--snapshot-every", SNAPSHOT_EVERY)
    with SQLiteEventStore.open(path, readonly=True) as store:
        truth = fold(store.read())
    agent_id, seq, amount = move_capital_in_the_latest_snapshot(path)
    return path, truth, agent_id, seq, amount


def test_the_forged_snapshot_is_the_latest_and_moves_real_money(forged):
    _, truth, agent_id, seq, amount = forged

    assert truth.seq - SNAPSHOT_EVERY < seq <= truth.seq
    assert amount > 0
    assert truth.agents[agent_id].alive


def test_reopening_skips_the_forged_snapshot_with_a_warning_and_recovers_the_true_state(forged, caplog):
    path, truth, agent_id, seq, _ = forged

    with caplog.at_level(logging.WARNING, logger="store"):
        arena = Arena.open(path, clock=SimClock(LATER))
    with arena:
        state = arena.state()
        breakdown = arena.get_capital_allocation_breakdown()
        conservation = arena.verify_capital_conservation()

    assert state == truth
    assert state.agents[agent_id].allocation == truth.agents[agent_id].allocation
    assert breakdown.free_capital == truth.free_capital
    assert conservation.ok
    warned = [r.getMessage() for r in caplog.records if "is not trusted" in r.getMessage()]
    assert len(set(warned)) == 1, caplog.text  # once per connection that recovers (Arena.open uses two)
    assert f"at seq {seq} is not trusted (its balances differ from the ledger at seq {seq}" in warned[0]


def test_verify_fails_the_forged_snapshot_at_its_seq(forged):
    path, _, _, seq, _ = forged

    report = verify(path)

    assert not report.ok
    assert report.first_failing_seq == seq, report
