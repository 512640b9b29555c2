"""Kill -9 at random moments: nothing acknowledged is lost, the file verifies, the arena reopens and goes on.

Thirty trials with plans drawn from their seeds (``tests/reliability/trials.py``); ``python -m
benchmarks.trials --trials 500`` runs the long version.
"""

from __future__ import annotations

from collections import Counter

import pytest

from tests.reliability.trials import (
    Plan,
    assert_nothing_acknowledged_lost,
    assert_reopens_and_continues,
    kill_trial,
)

TRIALS = 30


def plan_id(seed: int) -> str:
    plan = Plan.draw(seed)
    return f"{seed}-{plan.moment}-{plan.synchronous}-snapshot{plan.snapshot_every}"


def test_the_trials_kill_at_every_moment_in_both_modes_with_and_without_frequent_snapshots():
    plans = [Plan.draw(seed) for seed in range(TRIALS)]

    moments = Counter(plan.moment for plan in plans)
    modes = Counter(plan.synchronous for plan in plans)
    snapshots = Counter(plan.snapshot_every for plan in plans)

    assert set(moments) == {"opening", "running", "closing"}
    assert min(moments.values()) >= 5
    assert set(modes) == {"normal", "full"}
    assert set(snapshots) == {7, 50}


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(TRIALS), ids=plan_id)
def test_a_writer_killed_at_a_random_moment_loses_nothing_it_acknowledged(tmp_path, seed):
    plan = Plan.draw(seed)
    path = tmp_path / "arena.db"

    outcome = kill_trial(path, plan)

    assert outcome.stderr == "", plan
    stored = assert_nothing_acknowledged_lost(path, outcome.acknowledged)
    assert_reopens_and_continues(path, stored)
