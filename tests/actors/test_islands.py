"""Islands: migration recorded in both logs, cross-checked, deterministic, and resumable after a real crash.

Ray starts once for the module (it takes seconds) and is shut down at its end; the migration commands and
the cross-check are also tested without Ray, on arenas built with the API directly.
"""

from __future__ import annotations

import pickle
import random
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from actors import (
    Arena,
    Emigrant,
    IslandDiedError,
    LocalIslands,
    SimClock,
    cross_check,
    drive_islands,
    read_manifest,
    run_islands,
    run_simulation,
)
from events import AgentEmigrated, AgentImmigrated, AgentSpawned, ArenaError, ValidationError
from store import SQLiteEventStore, verify
from tests.ray_local import local_ray as start_local_ray
from trading import EvolutionPolicy, SyntheticFeed, fitness_ranking

START = datetime(2026, 1, 1, tzinfo=UTC)
POLICY = EvolutionPolicy(cycle_days=1, min_bars_in_tier=12, fitness="total_return")
RUN = {"islands": 2, "agents": 6, "days": 4, "seed": 11, "migrate_every": 1, "migrants": 2, "policy": POLICY}


@pytest.fixture(scope="module")
def local_ray():
    yield from start_local_ray(num_cpus=4)


@pytest.fixture(scope="module")
def uninterrupted(local_ray, tmp_path_factory):
    return run_islands(tmp_path_factory.mktemp("islands") / "run", **RUN)


def heads(report):
    return [(island.head_seq, island.head_hash) for island in report.islands]


def events_of(path, *types):
    with SQLiteEventStore.open(path, readonly=True) as store:
        events = store.read(event_types=list(types))
        try:
            return list(events)
        finally:
            events.close()


# --- on Ray ------------------------------------------------------------------------------------------


def test_a_two_island_run_verifies_every_file_and_cross_checks_every_migration(uninterrupted):
    report = uninterrupted

    assert report.ok
    assert [name for name, ok, _ in report.verified if ok] == ["island-0", "island-1"]
    assert report.barriers == 3  # cycles at the start of days 2, 3 and 4; the run ends on day 4
    assert report.audit.immigrations == report.audit.emigrations == report.barriers * 2 * 2
    assert report.audit.pending == 0
    assert all(island.finished for island in report.islands)
    assert read_manifest(Path(report.run_dir)).seed == 11


def test_the_same_seed_gives_every_island_the_same_head(uninterrupted, local_ray, tmp_path):
    again = run_islands(tmp_path / "run", **RUN)

    assert heads(again) == heads(uninterrupted)
    assert heads(again)[0] != heads(again)[1]  # each island has a seed of its own


def test_every_immigrant_carries_the_genome_its_source_emigrated(uninterrupted):
    run_dir = Path(uninterrupted.run_dir)

    for index in (0, 1):
        source = run_dir / f"island-{1 - index}.db"
        sent = {event.seq: event for event in events_of(source, "AgentEmigrated")}
        arrivals = events_of(run_dir / f"island-{index}.db", "AgentImmigrated", "AgentSpawned")
        immigrations = [event for event in arrivals if isinstance(event, AgentImmigrated)]
        spawned = {event.caused_by: event for event in arrivals if isinstance(event, AgentSpawned)}

        assert immigrations
        for arrived in immigrations:
            emigration = sent[arrived.source_seq]
            assert isinstance(emigration, AgentEmigrated)
            assert arrived.genome == emigration.genome == spawned[arrived.event_id].genome
            assert (emigration.destination, arrived.source) == (f"island-{index}", f"island-{1 - index}")


def test_a_killed_island_is_reported_the_other_finishes_and_resume_gives_the_uninterrupted_heads(
    uninterrupted, local_ray, tmp_path
):
    run_dir = tmp_path / "run"

    with pytest.raises(IslandDiedError, match=r"^islands: island-1 died during run_leg; .* --resume") as e:
        run_islands(run_dir, **RUN, exit_after_steps={1: 30})  # in leg 2: after the first migration

    assert e.value.islands == ("island-1",)
    for index in (0, 1):
        assert verify(run_dir / f"island-{index}.db").ok
    cycles = [events_of(run_dir / f"island-{i}.db", "EvolutionCycleStarted")[-1].cycle for i in (0, 1)]
    assert cycles == [2, 1]  # island-0 finished its leg to barrier 2; island-1 died 6 steps into it
    resumed = run_islands(run_dir, resume=True)
    assert heads(resumed) == heads(uninterrupted)
    assert resumed.ok


def test_resuming_refuses_options_that_differ_from_the_manifest(uninterrupted, local_ray):
    with pytest.raises(
        ValidationError, match=r"^--resume .*: the options differ .*seed: recorded 11, given 12"
    ):
        run_islands(uninterrupted.run_dir, resume=True, seed=12)


def test_a_new_run_refuses_a_directory_holding_one_and_leaves_it_alone(uninterrupted, local_ray):
    before = sorted(path.name for path in Path(uninterrupted.run_dir).iterdir())

    with pytest.raises(ValidationError, match=r"holds an islands run already .* pass --resume"):
        run_islands(uninterrupted.run_dir, **RUN)

    assert sorted(path.name for path in Path(uninterrupted.run_dir).iterdir()) == before


@pytest.mark.parametrize(
    ("option", "value", "match"),
    [
        ("islands", 0, r"^islands: 0 is not an int from 1 to 1024"),
        ("agents", 0, r"^agents: 0 is not an int from 1"),
        ("migrants", -1, r"^migrants: -1 is not an int from 0"),
        ("migrate_every", 0, r"^migrate_every: 0 is not an int from 1"),
        ("days", None, r"^islands: a new run needs days"),
    ],
)
def test_a_malformed_option_is_refused_before_anything_is_written(tmp_path, option, value, match):
    with pytest.raises(ValidationError, match=match):
        run_islands(tmp_path / "run", **{**RUN, option: value})

    assert not (tmp_path / "run").exists()


def test_without_ray_the_run_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)

    with pytest.raises(ArenaError, match=r"ray is not installed.*pip install 'arena-runtime\[distributed\]'"):
        run_islands(tmp_path / "run", **RUN)

    assert not (tmp_path / "run").exists()


# --- without Ray -------------------------------------------------------------------------------------


def run_to_first_cycle(arena, seed):
    feed = SyntheticFeed(seed=5, start=START, days=3)
    run_simulation(arena, feed, seed=seed, agents=6, policy=POLICY, stop=lambda: arena.state().cycle >= 1)


@pytest.fixture
def pair(tmp_path):
    arenas = [
        Arena.open(tmp_path / f"island-{i}.db", total_capital=100_000, clock=SimClock(START), seed=i + 1)
        for i in (0, 1)
    ]
    for seed, arena in enumerate(arenas, start=1):
        run_to_first_cycle(arena, seed)
    yield arenas
    for arena in arenas:
        arena.close()


def test_emigrants_are_the_fittest_by_evolutions_own_ranking(pair):
    arena = pair[0]
    ranking = fitness_ranking(arena.state(), arena.floor.agent_metrics(), POLICY)

    sent = arena.emigrate(2, destination="island-1", barrier=1, policy=POLICY)

    assert [e.agent_id for e in sent] == [agent_id for agent_id, _, _ in ranking[:2]]
    assert [e.fitness for e in sent] == [repr(fitness) for _, fitness, _ in ranking[:2]]
    assert [e.rank for e in sent] == [1, 2]
    assert all(arena.state().agents[e.agent_id].alive for e in sent)  # a copy leaves; the agent stays


def test_a_pair_built_with_the_api_cross_checks(pair, tmp_path):
    sent = pair[0].emigrate(2, destination="island-1", barrier=1, policy=POLICY)

    arrived = pair[1].immigrate(sent, source="island-0", island="island-1")

    assert len(arrived) == 2
    genomes = {a.agent_id: a.genome for a in pair[1].state().agents.values()}
    assert [genomes[agent_id] for agent_id in arrived] == [e.genome for e in sent]
    pair[1].flush()
    audit = cross_check(tmp_path)
    assert audit.ok, audit
    assert (audit.emigrations, audit.immigrations, audit.pending) == (2, 2, 0)


@pytest.mark.parametrize(
    ("tamper", "problem"),
    [
        ({"hash": "f" * 64}, r"names hash f{64}, but island-0\.db's hash at that seq is [0-9a-f]{64}"),
        (
            {"genome": {"strategy": "momentum", "params": {"lookback": 5}}},
            r"genome .* differs from the emigrated",
        ),
        ({"seq": 2}, r"names seq 2, but island-0\.db has no AgentEmigrated there"),
    ],
)
def test_a_tampered_immigration_is_reported_naming_both_files_and_seqs(pair, tmp_path, tamper, problem):
    sent = pair[0].emigrate(1, destination="island-1", barrier=1, policy=POLICY)
    forged = sent[0].model_copy(update=tamper)
    if "genome" in tamper:  # a genome that fits the arena, so that the arena accepts it
        genome = pair[1].strategies.random_genome(random.Random(3)).to_json_dict()
        forged = forged.model_copy(update={"genome": genome})
    pair[1].immigrate([forged], source="island-0", island="island-1")
    pair[1].flush()
    seq = events_of(tmp_path / "island-1.db", "AgentImmigrated")[0].seq

    audit = cross_check(tmp_path)

    assert not audit.ok
    assert len(audit.mismatches) == 1
    expected = rf"^island-1\.db seq {seq} \(AgentImmigrated\) vs island-0\.db seq {forged.seq}: {problem}"
    assert re.match(expected, str(audit.mismatches[0])), str(audit.mismatches[0])
    assert "migrations FAILED" in str(audit)


def test_an_emigration_to_an_island_with_no_file_and_one_never_received_are_told_apart(pair, tmp_path):
    sent = pair[0].emigrate(1, destination="island-1", barrier=1, policy=POLICY)
    pair[1].immigrate(sent, source="island-7", island="island-1")
    pair[0].emigrate(1, destination="island-1", barrier=2, policy=POLICY)
    pair[1].flush()

    audit = cross_check(tmp_path)

    assert [m.problem for m in audit.mismatches] == [
        "names source island 'island-7', which has no file in the run directory"
    ]
    assert audit.pending == 2


@pytest.mark.parametrize(
    ("arguments", "match"),
    [
        ({"count": -1}, r"^count: -1 is not an int from 0"),
        ({"count": True}, r"^count: True is not an int"),
        ({"destination": ""}, r"^destination: '' is not an island name"),
        ({"barrier": 0}, r"^barrier: 0 is not an int from 1"),
        ({"policy": "sharpe"}, r"^policy: 'sharpe' is not an EvolutionPolicy"),
    ],
)
def test_a_malformed_emigration_is_refused_and_emits_nothing(pair, arguments, match):
    head = pair[0].head()
    given = {"count": 2, "destination": "island-1", "barrier": 1, "policy": POLICY, **arguments}

    with pytest.raises(ValidationError, match=match):
        pair[0].emigrate(given.pop("count"), **given)

    assert pair[0].head() == head


def test_a_malformed_immigration_is_refused_and_emits_nothing(pair):
    sent = pair[0].emigrate(2, destination="island-1", barrier=1, policy=POLICY)
    other = sent[1].model_copy(update={"barrier": 2})
    alien = sent[0].model_copy(update={"genome": {"strategy": "astrology", "params": {}}})
    head = pair[1].head()
    cases = [
        (
            (sent, "island-0", "island-2"),
            r"^immigrate: emigrant '.*' of 'island-0' \(seq \d+\) is bound for 'island-1', not 'island-2'",
        ),
        (([sent[0], other], "island-0", "island-1"), r"^emigrants: they come from barriers \[1, 2\]"),
        (
            ([alien], "island-0", "island-1"),
            r"^immigrate: the genome of agent '.*' from 'island-0' \(seq \d+\) does not fit .*'astrology'",
        ),
        ((["not an emigrant"], "island-0", "island-1"), r"^emigrants: .* is not a sequence of Emigrant"),
        ((sent, "", "island-1"), r"^source: '' is not an island name"),
    ]

    for (emigrants, source, island), match in cases:
        with pytest.raises(ValidationError, match=match):
            pair[1].immigrate(emigrants, source=source, island=island)

    assert pair[1].head() == head


def test_local_islands_run_the_same_protocol_as_ray_islands(uninterrupted, tmp_path):
    manifest = read_manifest(Path(uninterrupted.run_dir))
    run_dir = tmp_path / "local"
    run_dir.mkdir()
    pool = LocalIslands(run_dir, manifest)
    try:
        barriers = drive_islands(pool, manifest)
        summaries = pool.summaries()
    finally:
        pool.close()

    assert barriers == uninterrupted.barriers
    assert [(s.head_seq, s.head_hash) for s in summaries] == heads(uninterrupted)


def test_an_emigrant_survives_pickling_as_ray_sends_it(pair):
    sent = pair[0].emigrate(1, destination="island-1", barrier=1, policy=POLICY)

    assert pickle.loads(pickle.dumps(sent)) == sent  # noqa: S301  (our own bytes, just made)
    assert isinstance(sent[0], Emigrant)
