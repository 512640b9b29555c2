from __future__ import annotations

import json
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from events import ValidationError
from trading import BUILTIN_STRATEGIES, Genome, mutate_genome, random_genome

BOUNDS = {
    "fast_window": (2, 50),
    "slow_window": (5, 200),
    "lookback": (2, 100),
    "entry_threshold": (0.0, 5.0),
    "exit_threshold": (0.0, 5.0),
    "position_fraction": (0.01, 1.0),
    "stop_loss": (0.005, 0.5),
}
READS = {
    "ma_crossover": {"fast_window", "slow_window", "position_fraction", "stop_loss"},
    "momentum": {"lookback", "entry_threshold", "exit_threshold", "position_fraction", "stop_loss"},
    "mean_reversion": {"lookback", "entry_threshold", "exit_threshold", "position_fraction", "stop_loss"},
}

seeds = st.integers(min_value=0, max_value=2**32 - 1)
scalars = st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
genomes = st.builds(
    Genome, strategy=st.text(min_size=1), params=st.dictionaries(st.text(min_size=1), scalars, max_size=8)
)


def assert_within_bounds(genome: Genome) -> None:
    assert set(genome.params) == READS[genome.strategy]
    for name, value in genome.params.items():
        low, high = BOUNDS[name]
        assert low <= value <= high, name
        assert round(value, 6) == value, name
    if genome.strategy == "ma_crossover":
        assert genome.params["slow_window"] > genome.params["fast_window"]


def test_a_genome_holds_its_strategy_name_and_read_only_parameters():
    genome = Genome(strategy="mine", params={"window": 3, "mode": "fast"})

    assert genome.to_json_dict() == {"strategy": "mine", "params": {"window": 3, "mode": "fast"}}
    with pytest.raises(TypeError):
        genome.params["window"] = 4  # type: ignore[index]
    assert hash(genome) == hash(Genome(strategy="mine", params={"window": 3, "mode": "fast"}))


def test_float_parameters_are_rounded_to_six_places_on_creation():
    genome = Genome(strategy="mine", params={"entry": 0.1234567891, "stop": 0.0500000004})

    assert genome.params == {"entry": 0.123457, "stop": 0.05}


def test_builtin_defaults_are_todays_defaults():
    genome = BUILTIN_STRATEGIES["ma_crossover"].genome()

    assert genome.params == {
        "fast_window": 10,
        "slow_window": 30,
        "position_fraction": 0.25,
        "stop_loss": 0.05,
    }


@given(genomes)
def test_any_genome_survives_a_json_round_trip(genome):
    text = json.dumps(genome.to_json_dict())

    back = Genome.from_json_dict(json.loads(text))

    assert back == genome
    assert json.dumps(back.to_json_dict()) == text


@given(seeds)
def test_random_genomes_are_within_bounds(seed):
    genome = random_genome(random.Random(seed))

    assert_within_bounds(genome)


@given(seeds)
def test_the_same_seed_draws_the_same_random_genome(seed):
    first = random_genome(random.Random(seed))

    second = random_genome(random.Random(seed))

    assert first == second


@given(seeds)
def test_builtin_genomes_survive_json_and_parse_back_equal(seed):
    genome = random_genome(random.Random(seed))

    back = BUILTIN_STRATEGIES.parse(json.loads(json.dumps(genome.to_json_dict())))

    assert back == genome


@given(seeds, st.floats(min_value=0.0, max_value=3.0), st.floats(min_value=0.0, max_value=1.0))
def test_mutated_genomes_stay_within_bounds_with_slow_above_fast(seed, sigma, switch_probability):
    rng = random.Random(seed)
    parent = random_genome(rng)

    child, _ = mutate_genome(parent, rng, sigma=sigma, switch_probability=switch_probability)

    assert_within_bounds(child)


@given(seeds, st.floats(min_value=0.0, max_value=1.0))
def test_the_same_rng_state_gives_the_same_mutation(seed, switch_probability):
    parent = random_genome(random.Random(seed))

    first = mutate_genome(parent, random.Random(seed + 1), switch_probability=switch_probability)
    second = mutate_genome(parent, random.Random(seed + 1), switch_probability=switch_probability)

    assert first == second


@given(seeds)
def test_changes_list_exactly_what_differs_and_are_json(seed):
    rng = random.Random(seed)
    parent = random_genome(rng)

    child, changes = mutate_genome(parent, rng, switch_probability=0.5)

    names = [*parent.params, *(n for n in child.params if n not in parent.params)]
    expected = {
        name: [parent.params.get(name), child.params.get(name)]
        for name in names
        if parent.params.get(name) != child.params.get(name)
    }
    if child.strategy != parent.strategy:
        expected["strategy"] = [parent.strategy, child.strategy]
    assert changes == expected
    assert json.loads(json.dumps(changes)) == changes


def test_zero_sigma_and_zero_switch_probability_change_nothing():
    parent = BUILTIN_STRATEGIES["momentum"].genome(lookback=7, entry_threshold=0.25)

    child, changes = mutate_genome(parent, random.Random(3), sigma=0.0, switch_probability=0.0)

    assert child == parent
    assert changes == {}


def test_switch_probability_one_always_moves_to_another_strategy():
    parent = BUILTIN_STRATEGIES["mean_reversion"].genome()

    children = [mutate_genome(parent, random.Random(seed), switch_probability=1.0)[0] for seed in range(30)]

    assert {child.strategy for child in children} == {"ma_crossover", "momentum"}
    assert all(set(child.params) == READS[child.strategy] for child in children)


def test_a_strategy_switch_does_not_shift_later_draws_from_the_rng():
    parent = BUILTIN_STRATEGIES["ma_crossover"].genome()
    kept, switched = random.Random(11), random.Random(11)

    mutate_genome(parent, kept, switch_probability=0.0)
    mutate_genome(parent, switched, switch_probability=1.0)

    assert kept.random() == switched.random()


def test_slow_window_is_raised_past_fast_window_when_noise_crosses_them():
    parent = BUILTIN_STRATEGIES["ma_crossover"].genome(fast_window=50, slow_window=51)

    children = [
        mutate_genome(parent, random.Random(n), sigma=1.0, switch_probability=0.0)[0] for n in range(50)
    ]

    assert all(child.params["slow_window"] > child.params["fast_window"] for child in children)


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        (
            {"strategy": "", "params": {}},
            r"^Genome field 'strategy': string should have at least 1 character",
        ),
        ({"strategy": "s", "params": [1]}, r"^Genome field 'params': \[1\] is not a mapping; pass a dict"),
        (
            {"strategy": "s", "params": {"": 1}},
            r"^Genome field 'params': the name '' is not a non-empty string;",
        ),
        (
            {"strategy": "s", "params": {"x": None}},
            r"^Genome parameter 'x': None is not an int, a float or a string;",
        ),
        (
            {"strategy": "s", "params": {"x": True}},
            r"^Genome parameter 'x': True is not an int, a float or a string;",
        ),
        (
            {"strategy": "s", "params": {"x": float("nan")}},
            r"^Genome parameter 'x': nan is not finite; pass a finite",
        ),
        (
            {"strategy": "s", "params": {}, "colour": "red"},
            r"^Genome field 'colour': extra inputs are not permitted",
        ),
    ],
)
def test_a_genome_of_the_wrong_shape_is_refused(kwargs, pattern):
    with pytest.raises(ValidationError, match=pattern):
        Genome(**kwargs)


def test_from_json_dict_rejects_a_dict_with_missing_fields():
    pattern = r"^Genome.from_json_dict: missing fields \['params'\] in \{'strategy': 'momentum'\}; pass the"

    with pytest.raises(ValidationError, match=pattern):
        Genome.from_json_dict({"strategy": "momentum"})


def test_a_builtin_genome_out_of_its_bounds_is_refused_by_the_registry():
    data = BUILTIN_STRATEGIES["momentum"].genome().to_json_dict()
    data["params"]["position_fraction"] = 0.0
    pattern = (
        r"^strategy 'momentum' parameter 'position_fraction': 0\.0 is below its low bound 0\.01; "
        r"pass a finite number from 0\.01 to 1\.0$"
    )

    with pytest.raises(ValidationError, match=pattern):
        BUILTIN_STRATEGIES.parse(data)


def test_a_builtin_genome_overriding_into_a_broken_ordering_is_refused():
    pattern = r"^strategy 'ma_crossover' parameter 'slow_window': 20 must exceed fast_window = 20; raise"

    with pytest.raises(ValidationError, match=pattern):
        BUILTIN_STRATEGIES["ma_crossover"].genome(fast_window=20, slow_window=20)


def test_mutate_genome_refuses_bad_settings():
    with pytest.raises(ValidationError, match=r"^mutation: sigma must be a finite number >= 0, got -0\.1;"):
        mutate_genome(BUILTIN_STRATEGIES["momentum"].genome(), random.Random(0), sigma=-0.1)
