"""An arena evolves whatever strategies it was opened with: spawn, mutate, cycles, actors and reopening."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from actors import run_simulation
from events import ValidationError
from tests.actors.support import T0, open_arena, stored
from trading import (
    BUILTIN_STRATEGIES,
    EvolutionPolicy,
    Genome,
    Param,
    ParameterSpace,
    Strategies,
    StrategySpec,
    SyntheticFeed,
)

built: list[dict[str, object]] = []


class Quiet:
    """Never trades; records the parameters it was built with."""

    def __init__(self, params):
        built.append(dict(params))

    def on_bar(self, bar, portfolio):
        return None


WINDOWS = StrategySpec(
    name="windows",
    space=ParameterSpace(
        Param(name="short", kind="int", low=1, high=20),
        Param(name="long", kind="int", low=2, high=60, greater_than="short"),
        Param(name="mode", kind="choice", choices=["calm", "eager"], scale=2.0),
    ),
    factory=Quiet,
    description="a test strategy with an ordering and a choice",
)
MINE = Strategies(WINDOWS)


def test_spawn_of_an_unknown_strategy_is_refused_and_nothing_is_emitted():
    with open_arena(strategies=MINE) as arena:
        head = arena.head()

        with pytest.raises(
            ValidationError, match=r"^strategy 'momentum' is not in this arena's strategies \(windows\);"
        ):
            arena.spawn_agent(BUILTIN_STRATEGIES["momentum"].genome())

        assert arena.head() == head
        assert arena.state().agents == {}


def test_spawn_of_params_that_do_not_fit_the_space_is_refused_and_nothing_is_emitted():
    with open_arena(strategies=MINE) as arena:
        head = arena.head()

        with pytest.raises(
            ValidationError, match=r"^strategy 'windows' parameter 'long': 3 must exceed short = 5;"
        ):
            arena.spawn_agent(Genome(strategy="windows", params={"short": 5, "long": 3, "mode": "calm"}))

        assert arena.head() == head


def test_the_default_arena_refuses_a_custom_strategy_it_was_not_given():
    with (
        open_arena() as arena,
        pytest.raises(ValidationError, match=r"^strategy 'windows' is not in this arena's"),
    ):
        arena.spawn_agent(WINDOWS.genome())


def test_a_spawned_custom_genome_is_stored_and_its_actor_built_with_the_registry():
    built.clear()
    genome = WINDOWS.genome(short=3, long=9, mode="eager")
    with open_arena(strategies=MINE) as arena:
        agent_id = arena.spawn_agent(genome)
        drawn = arena.spawn_agent()
        arena.flush()
        spawned = stored(arena, event_types=["AgentSpawned"])

        assert spawned[0].genome == {
            "strategy": "windows",
            "params": {"short": 3, "long": 9, "mode": "eager"},
        }
        assert MINE.parse(arena.state().agents[drawn].genome).strategy == "windows"
        assert arena.strategies is MINE
    assert agent_id == "a-000001"
    assert {"short": 3, "long": 9, "mode": "eager"} in built


def test_mutate_agent_breeds_a_child_of_the_custom_strategy_within_its_space():
    with open_arena(strategies=MINE) as arena:
        parent = arena.spawn_agent(WINDOWS.genome())
        child = arena.mutate_agent(parent, seed=3)

        genome = MINE.parse(arena.state().agents[child].genome)
        (mutated,) = stored(arena, event_types=["AgentMutated"])
    assert genome.strategy == "windows"
    assert genome.params["long"] > genome.params["short"]
    assert {k: v for k, v in mutated.mutation.items() if k != "seed"} == {
        name: [WINDOWS.genome().params[name], value]
        for name, value in genome.params.items()
        if WINDOWS.genome().params[name] != value
    }


def test_a_custom_strategy_evolves_through_cycles_and_a_reopened_arena_keeps_breeding_it(tmp_path):
    path = tmp_path / "custom.db"
    feed = SyntheticFeed(seed=3, start=T0, days=4)
    policy = EvolutionPolicy(cycle_days=1)
    with open_arena(path, total_capital=Decimal(100_000), strategies=MINE) as arena:
        report = run_simulation(arena, feed, seed=3, agents=6, policy=policy)
    assert sum(len(cycle.children) for cycle in report.cycles) > 0

    with open_arena(path, total_capital=Decimal(100_000), strategies=MINE) as arena:
        before = len(arena.state().agents)
        parent = arena.state().alive_agents()[0].agent_id
        child = arena.mutate_agent(parent, seed=1)
        state = arena.state()

    assert len(state.agents) == before + 1
    assert all(MINE.parse(agent.genome).strategy == "windows" for agent in state.agents.values())
    assert state.agents[child].parent_id == parent


def test_strategies_that_are_not_a_registry_are_refused_when_opening():
    with pytest.raises(
        ValidationError, match=r"^strategies: \[.*\] is not a Strategies registry; pass Strategies\("
    ):
        open_arena(strategies=[WINDOWS])


def test_a_seeded_custom_arena_draws_the_same_genomes():
    def genomes() -> list[dict[str, object]]:
        with open_arena(strategies=MINE, seed=9) as arena:
            ids = [arena.spawn_agent() for _ in range(3)]
            return [arena.state().agents[agent_id].genome for agent_id in ids]

    assert genomes() == genomes()
    assert MINE.random_genome(random.Random(0)).strategy == "windows"
