"""Snapshots are spaced by at least ``snapshot_every`` events and at least twice the agents they hold.

A snapshot freezes and encodes every agent (5 s for 100,000 on the supervisor's thread), so a big arena
that snapshotted every 10,000 events would spend its time snapshotting (``actors/_backlog.py``).
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest

from actors._backlog import snapshot_interval
from events import fold
from store import SQLiteEventStore
from tests.actors.support import open_arena

if TYPE_CHECKING:
    from pathlib import Path

    from events import ArenaState


@pytest.mark.parametrize(
    ("snapshot_every", "agents", "interval"),
    [
        (10_000, 0, 10_000),
        (10_000, 5_000, 10_000),
        (10_000, 5_001, 10_002),
        (2, 10, 20),
        (10_000, 100_000, 200_000),
    ],
)
def test_the_interval_is_snapshot_every_or_twice_the_agents(
    snapshot_every: int, agents: int, interval: int
) -> None:
    assert snapshot_interval(snapshot_every, agents) == interval


def every_snapshot(store: SQLiteEventStore) -> list[ArenaState]:
    found: list[ArenaState] = []
    snapshot = store.snapshot()
    while snapshot is not None:
        found.append(snapshot)
        snapshot = store.snapshot(at_or_before=snapshot.seq - 1) if snapshot.seq > 1 else None
    return found[::-1]


def test_snapshots_of_many_agents_are_spaced_by_twice_the_agents_and_each_is_the_fold(tmp_path: Path) -> None:
    path = tmp_path / "arena.db"
    with open_arena(path, total_capital=Decimal(100_000), snapshot_every=2) as arena:
        for _ in range(6):
            agent = arena.spawn_agent()
            for _ in range(5):
                arena.allocate_capital({agent: Decimal(1)})

    with SQLiteEventStore.open(path, readonly=True) as store:
        snapshots = every_snapshot(store)
        events = list(store.read())

    assert len(snapshots) >= 3
    for earlier, later in itertools.pairwise(snapshots):
        assert later.seq - earlier.seq >= max(2, 2 * len(later.agents))
    for snapshot in snapshots:
        assert snapshot == fold(events[: snapshot.seq])
