"""``Arena.spawn_agents``: many agents in one command, exactly as one ``spawn_agent`` call each makes them."""

from __future__ import annotations

from typing import Any

import pytest

from events import ValidationError
from tests.actors.support import open_arena
from trading import Genome


def test_one_batch_writes_the_same_log_as_one_spawn_per_agent() -> None:
    genome = Genome(
        strategy="momentum",
        params={
            "lookback": 12,
            "entry_threshold": 0.5,
            "exit_threshold": 0.5,
            "position_fraction": 0.2,
            "stop_loss": 0.05,
        },
    )
    with open_arena() as batched, open_arena() as single:
        batch = batched.spawn_agents([None, genome, None])
        singles = (single.spawn_agent(), single.spawn_agent(genome), single.spawn_agent())
        assert batch == singles
        assert batched.head() == single.head()
        assert batched.floor.agent_refs().keys() == set(batch)  # every one has its actor


def test_a_count_draws_that_many_genomes_from_the_seeded_rng() -> None:
    with open_arena() as counted, open_arena() as listed:
        assert counted.spawn_agents(4) == listed.spawn_agents([None] * 4)
        assert counted.head() == listed.head()
        assert counted.spawn_agents(0) == ()


def test_a_bad_genome_anywhere_spawns_nothing_and_draws_nothing() -> None:
    bad = Genome(strategy="momentum", params={"lookback": -5})
    with open_arena() as arena, open_arena() as fresh:
        head = arena.head()
        with pytest.raises(ValidationError, match=r"genomes\[2\]: .*nothing was spawned"):
            arena.spawn_agents([None, None, bad])
        assert arena.head() == head
        assert arena.floor.agent_refs() == {}
        assert arena.spawn_agents(2) == fresh.spawn_agents(2)  # the rng did not move
        assert arena.head() == fresh.head()


@pytest.mark.parametrize(
    ("genomes", "message"),
    [
        (-1, "genomes: -1 is not an int from 0 to 1000000"),
        (True, "genomes must be a count or a sequence"),
        ("momentum", "genomes must be a count or a sequence"),
        (2.0, "genomes must be a count or a sequence"),
        (10**7, "genomes: 10000000 is not an int from 0 to 1000000"),
        ([{"strategy": "momentum"}], "genome"),
    ],
)
def test_malformed_genomes_are_refused_before_any_command(genomes: Any, message: str) -> None:
    with open_arena() as arena:
        head = arena.head()
        with pytest.raises(ValidationError, match=message):
            arena.spawn_agents(genomes)
        assert arena.head() == head
