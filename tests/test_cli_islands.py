"""``arena islands`` and ``arena verify RUN_DIR``: the run's summary, resume, refusals, a tampered pair."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from actors import Arena, SimClock, run_simulation
from actors.cli import main
from tests.ray_local import local_ray as start_local_ray
from trading import EvolutionPolicy, SyntheticFeed

START = datetime(2026, 1, 1, tzinfo=UTC)
RUN = [
    "--islands",
    "2",
    "--agents",
    "4",
    "--days",
    "3",
    "--seed",
    "5",
    "--cycle-days",
    "1",
    "--migrants",
    "1",
]
HEAD = re.compile(r"(island-\d): head (\d+:[0-9a-f]{64})")


@pytest.fixture(scope="module")
def local_ray():
    yield from start_local_ray(num_cpus=2)


@pytest.fixture(scope="module")
def finished(local_ray, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("cli") / "run"
    status = main(["islands", *RUN, "--quiet", "--dir", str(run_dir)])
    assert status == 0
    return run_dir


def test_a_run_prints_each_islands_head_then_every_verify_and_the_cross_check(local_ray, tmp_path, capsys):
    status = main(["islands", *RUN, "--dir", str(tmp_path / "run")])

    out, err = capsys.readouterr()
    assert status == 0
    assert re.match(r"^islands run .*: 2 islands, 2 migration barriers, [\d,]+ agent-steps in", out)
    assert [name for name, _ in HEAD.findall(out)] == ["island-0", "island-1"]
    assert out.count("verify: ") == 2
    assert "migrations OK: 2 islands, 4 emigrations, 4 immigrations, 0 pending" in out
    assert "arena: islands: leg 1: 2 islands ran" in err


def test_verify_of_a_run_directory_checks_every_file_and_every_migration(finished, capsys):
    status = main(["verify", str(finished)])

    out = capsys.readouterr().out
    assert status == 0
    assert out.count(": ok: ") == 2
    assert "migrations OK: 2 islands, 4 emigrations, 4 immigrations" in out


def test_resuming_a_finished_run_runs_nothing_and_prints_the_same_heads(finished, capsys):
    main(["verify", str(finished)])
    capsys.readouterr()
    first = main(["islands", "--resume", "--quiet", "--dir", str(finished)])
    before = HEAD.findall(capsys.readouterr().out)

    again = main(["islands", "--resume", "--quiet", "--dir", str(finished)])

    after = capsys.readouterr().out
    assert first == again == 0
    assert HEAD.findall(after) == before
    assert " 0 agent-steps in " in after


def test_a_new_run_into_a_run_directory_is_refused_without_force(finished, capsys):
    status = main(["islands", *RUN, "--dir", str(finished)])

    err = capsys.readouterr().err
    assert status == 2
    assert re.match(
        r"^arena: error: --dir '.*': holds an islands run already \(\d+ files\); pass --resume", err
    )


def test_resume_refuses_a_policy_and_an_option_that_differs(finished, capsys):
    assert main(["islands", "--resume", "--cycle-days", "2", "--dir", str(finished)]) == 2
    assert (
        "--resume: a resumed islands run keeps the policy and capital of its manifest"
        in capsys.readouterr().err
    )

    assert main(["islands", "--resume", "--seed", "6", "--dir", str(finished)]) == 2
    assert "seed: recorded 5, given 6" in capsys.readouterr().err


def test_verify_refuses_an_expected_head_for_a_directory(finished, capsys):
    status = main(["verify", str(finished), "--expected-head", f"1:{'0' * 64}"])

    assert status == 2
    assert "--expected-head: " in capsys.readouterr().err


def test_verify_of_a_directory_without_islands_says_so(tmp_path, capsys):
    status = main(["verify", str(tmp_path)])

    assert status == 2
    assert "holds no island-<i>.db; pass a store file or an islands run directory" in capsys.readouterr().err


def test_a_run_of_zero_islands_is_a_usage_error(tmp_path, capsys):
    status = main(
        ["islands", "--islands", "0", "--agents", "2", "--days", "1", "--seed", "1", "--dir", str(tmp_path)]
    )

    assert status == 2
    assert "--islands: 0 is not a whole number from 1 to 1024" in capsys.readouterr().err


def test_verify_reports_a_forged_immigration_naming_both_files_and_seqs(tmp_path, capsys):
    policy = EvolutionPolicy(cycle_days=1, min_bars_in_tier=12)
    feed = SyntheticFeed(seed=5, start=START, days=2)
    arenas = [
        Arena.open(tmp_path / f"island-{i}.db", total_capital=100_000, clock=SimClock(START), seed=i + 1)
        for i in (0, 1)
    ]
    try:
        for seed, arena in enumerate(arenas, start=1):
            run_simulation(arena, feed, seed=seed, agents=4, policy=policy)
        sent = arenas[0].emigrate(1, destination="island-1", barrier=1, policy=policy)
        forged = sent[0].model_copy(update={"hash": "e" * 64})
        arenas[1].immigrate([forged], source="island-0", island="island-1")
    finally:
        for arena in arenas:
            arena.close()

    status = main(["verify", str(tmp_path)])

    out = capsys.readouterr().out
    assert status == 1
    assert out.count(": ok: ") == 2  # each file is a sound log of its own
    assert re.search(
        rf"island-1\.db seq \d+ \(AgentImmigrated\) vs island-0\.db seq {forged.seq}: names hash e{{64}}", out
    )
