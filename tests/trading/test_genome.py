from __future__ import annotations

import json
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from events import ValidationError
from trading import FAMILIES, Genome, mutate_genome, random_genome

BOUNDS = {
    "fast_window": (2, 50),
    "slow_window": (5, 200),
    "lookback": (2, 100),
    "entry_threshold": (0.0, 5.0),
    "exit_threshold": (0.0, 5.0),
    "position_fraction": (0.01, 1.0),
    "stop_loss": (0.005, 0.5),
}

seeds = st.integers(min_value=0, max_value=2**32 - 1)


def assert_within_bounds(genome: Genome) -> None:
    for name, (low, high) in BOUNDS.items():
        assert low <= getattr(genome, name) <= high, name
    assert genome.slow_window > genome.fast_window
    assert genome.family in FAMILIES
    for name in ("entry_threshold", "exit_threshold", "position_fraction", "stop_loss"):
        value = getattr(genome, name)
        assert round(value, 6) == value, name


def test_default_genome_is_a_valid_crossover_genome():
    genome = Genome()

    assert genome.family == "ma_crossover"
    assert_within_bounds(genome)


def test_float_parameters_are_rounded_to_six_places_on_creation():
    genome = Genome(entry_threshold=0.1234567891, stop_loss=0.0500000004)

    assert genome.entry_threshold == 0.123457
    assert genome.stop_loss == 0.05


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
def test_json_round_trip_gives_back_an_equal_genome(seed):
    genome = random_genome(random.Random(seed))

    text = json.dumps(genome.to_json_dict())
    back = Genome.from_json_dict(json.loads(text))

    assert back == genome
    assert json.dumps(back.to_json_dict()) == text


@given(
    seeds,
    st.floats(min_value=0.0, max_value=3.0),
    st.floats(min_value=0.0, max_value=1.0),
)
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
def test_changes_list_exactly_the_parameters_that_differ_and_are_json(seed):
    rng = random.Random(seed)
    parent = random_genome(rng)

    child, changes = mutate_genome(parent, rng, switch_probability=0.5)

    before, after = parent.to_json_dict(), child.to_json_dict()
    assert changes == {name: [before[name], after[name]] for name in before if before[name] != after[name]}
    assert json.loads(json.dumps(changes)) == changes


def test_zero_sigma_and_zero_switch_probability_change_nothing():
    parent = Genome(family="momentum", fast_window=7, slow_window=40, entry_threshold=0.25)

    child, changes = mutate_genome(parent, random.Random(3), sigma=0.0, switch_probability=0.0)

    assert child == parent
    assert changes == {}


def test_switch_probability_one_always_moves_to_another_family():
    parent = Genome(family="mean_reversion")

    children = [mutate_genome(parent, random.Random(seed), switch_probability=1.0)[0] for seed in range(30)]

    assert {child.family for child in children} == {"ma_crossover", "momentum"}


def test_a_family_switch_does_not_shift_later_draws_from_the_rng():
    parent = Genome()
    kept, switched = random.Random(11), random.Random(11)

    mutate_genome(parent, kept, switch_probability=0.0)
    mutate_genome(parent, switched, switch_probability=1.0)

    assert kept.random() == switched.random()


def test_slow_window_is_raised_past_fast_window_when_noise_crosses_them():
    parent = Genome(fast_window=50, slow_window=51)

    children = [mutate_genome(parent, random.Random(seed), sigma=1.0)[0] for seed in range(50)]

    assert all(child.slow_window > child.fast_window for child in children)


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        (
            {"fast_window": 1},
            (
                r"^Genome field 'fast_window': input should be greater than or equal to 2, got 1; "
                r"pass an integer >= 2 and <= 50$"
            ),
        ),
        (
            {"stop_loss": 0.9},
            r"^Genome field 'stop_loss': input should be less than or equal to 0\.5, got 0\.9;",
        ),
        ({"entry_threshold": float("nan")}, r"^Genome field 'entry_threshold': .*got nan;"),
        (
            {"family": "arbitrage"},
            r"^Genome field 'family': input should be .*; pass one of the listed values$",
        ),
        ({"lookback": "many"}, r"^Genome field 'lookback': input should be a valid integer"),
        (
            {"colour": "red"},
            r"^Genome field 'colour': extra inputs are not permitted; remove it or use a known field \(",
        ),
        (
            {"fast_window": 20, "slow_window": 20},
            (
                r"^Genome: slow_window must exceed fast_window, got slow_window=20 and fast_window=20; "
                r"raise slow_window to at least 21$"
            ),
        ),
    ],
)
def test_bad_genome_parameters_raise_validation_error(kwargs, pattern):
    with pytest.raises(ValidationError, match=pattern) as caught:
        Genome(**kwargs)

    assert caught.value.field in {*kwargs, "slow_window"}


def test_from_json_dict_rejects_a_dict_with_missing_fields():
    data = Genome().to_json_dict()
    del data["stop_loss"]

    with pytest.raises(ValidationError, match=r"^Genome.from_json_dict: missing fields \['stop_loss'\]; "):
        Genome.from_json_dict(data)


def test_from_json_dict_rejects_out_of_bounds_values():
    data = {**Genome().to_json_dict(), "position_fraction": 0.0}

    with pytest.raises(ValidationError, match=r"^Genome field 'position_fraction': input should be greater"):
        Genome.from_json_dict(data)


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        (
            {"sigma": -0.1},
            r"^mutate_genome: sigma must be a finite number >= 0, got -0\.1; pass e\.g\. 0\.15$",
        ),
        ({"sigma": float("inf")}, r"^mutate_genome: sigma must be a finite number >= 0, got inf;"),
        (
            {"switch_probability": 1.5},
            r"^mutate_genome: switch_probability must be between 0 and 1, got 1\.5;",
        ),
    ],
)
def test_bad_mutation_settings_raise_validation_error(kwargs, pattern):
    with pytest.raises(ValidationError, match=pattern):
        mutate_genome(Genome(), random.Random(0), **kwargs)
