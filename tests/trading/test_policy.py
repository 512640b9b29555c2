from __future__ import annotations

import json
import math
import re
from decimal import Decimal
from typing import TYPE_CHECKING

import pydantic
import pytest
from hypothesis import given
from hypothesis import strategies as st

from events import Tier, ValidationError
from trading import (
    CALMAR_DRAWDOWN_FLOOR,
    AgentMetrics,
    DemotionRules,
    EvolutionPolicy,
    GraduationThresholds,
    TierWeights,
    fitness_of,
    shrinkage,
)

if TYPE_CHECKING:
    from pathlib import Path


def perf(*, sharpe=1.0, total_return=0.1, max_drawdown=0.2):
    return AgentMetrics(
        total_return=total_return,
        sharpe=sharpe,
        max_drawdown=max_drawdown,
        trade_count=3,
        win_rate=0.5,
        bars=50,
        equity=Decimal(100),
    )


def at(path: Path) -> str:
    return "^" + re.escape(f"policy file {str(path)!r}: ")


def test_default_policy_matches_the_documented_defaults():
    policy = EvolutionPolicy()

    assert policy.cycle_days == 5
    assert policy.fitness == "sharpe"
    assert policy.kill_fraction == 0.2
    assert (policy.min_bars_in_tier, policy.idle_bars, policy.kill_threshold) == (72, 240, None)
    assert policy.evidence_trades == 10.0
    assert policy.graduate_to_proving == GraduationThresholds(
        min_fitness=0.5, min_total_return=0.0, probation_bars=48, min_trades=3
    )
    assert policy.graduate_to_arena.min_fitness > policy.graduate_to_proving.min_fitness
    assert policy.graduate_to_arena.probation_bars > policy.graduate_to_proving.probation_bars
    assert policy.graduate_to_arena.min_trades > policy.graduate_to_proving.min_trades
    assert policy.demote_from_arena == DemotionRules(max_drawdown=0.15, min_fitness=0.0)
    assert policy.demote_from_proving == DemotionRules(max_drawdown=0.25, min_fitness=-0.5)
    assert (policy.population, policy.tournament_size, policy.elite_count) == (None, 3, 2)
    assert policy.tier_weights == TierWeights(simulation=0.2, proving=0.3, arena=0.5)
    assert (policy.max_agent_fraction, policy.reserve_fraction) == (0.25, 0.05)


def test_shrinkage_pulls_little_evidence_toward_zero_and_can_be_switched_off():
    policy = EvolutionPolicy()

    assert shrinkage(0, policy) == 0.0
    assert shrinkage(4, policy) == pytest.approx(4 / 14)
    assert shrinkage(200, policy) == pytest.approx(200 / 210)
    assert shrinkage(0, EvolutionPolicy(evidence_trades=0.0)) == 1.0


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"min_bars_in_tier": -1}, "min_bars_in_tier"),
        ({"idle_bars": 0}, "idle_bars"),
        ({"evidence_trades": -1.0}, "evidence_trades"),
        ({"demote_from_arena": {"max_drawdown": 0.0}}, "demote_from_arena"),
        ({"demote_from_proving": {"max_drawdown": 1.5}}, "demote_from_proving"),
        ({"graduate_to_arena": {"min_trades": -1}}, "graduate_to_arena"),
        ({"min_age_bars": 24}, "min_age_bars"),
    ],
)
def test_evidence_fields_out_of_range_are_refused_by_name(fields, field):
    with pytest.raises(ValidationError, match=field):
        EvolutionPolicy.from_mapping(fields)


def test_policy_is_frozen():
    policy = EvolutionPolicy()

    with pytest.raises(pydantic.ValidationError, match="frozen"):
        policy.kill_fraction = 0.5  # type: ignore[misc]


def test_tier_weights_not_summing_to_one_are_rejected_with_their_sum():
    with pytest.raises(
        ValidationError,
        match=r"^tier_weights: simulation 0\.5 \+ proving 0\.3 \+ arena 0\.5 = 1\.3, expected 1 "
        r"\(within 1e-06\); scale the weights so they sum to 1$",
    ) as err:
        EvolutionPolicy(tier_weights={"simulation": 0.5, "proving": 0.3, "arena": 0.5})

    assert err.value.field == "tier_weights"


def test_tier_weights_written_as_decimals_sum_to_one_within_tolerance():
    weights = TierWeights(simulation=0.1, proving=0.2, arena=0.7)

    assert weights.of(Tier.SIMULATION) == 0.1
    assert weights.of(Tier.ARENA) == 0.7


def test_unknown_field_is_rejected_with_the_known_ones():
    with pytest.raises(
        ValidationError,
        match=r"^EvolutionPolicy field 'kill_fractoin': extra inputs are not permitted; remove it or use "
        r"a known field \(cycle_days, fitness, kill_fraction, ",
    ) as err:
        EvolutionPolicy.from_mapping({"kill_fractoin": 0.3})

    assert err.value.field == "kill_fractoin"


def test_out_of_bounds_field_names_its_bounds():
    with pytest.raises(
        ValidationError,
        match=r"^EvolutionPolicy field 'kill_fraction': input should be less than or equal to 1, "
        r"got 1\.5; pass a finite number >= 0\.0 and <= 1\.0$",
    ):
        EvolutionPolicy(kill_fraction=1.5)


def test_nested_field_error_names_the_full_path():
    with pytest.raises(
        ValidationError,
        match=r"^EvolutionPolicy field 'graduate_to_arena\.probation_bars': input should be greater than "
        r"or equal to 0, got -1; pass an integer >= 0$",
    ) as err:
        EvolutionPolicy.from_mapping({"graduate_to_arena": {"probation_bars": -1}})

    assert err.value.field == "graduate_to_arena.probation_bars"


def test_strings_and_booleans_are_not_coerced_to_numbers():
    with pytest.raises(
        ValidationError, match=r"^EvolutionPolicy field 'elite_count': input should be a valid"
    ):
        EvolutionPolicy.from_mapping({"elite_count": True})
    with pytest.raises(
        ValidationError, match=r"^EvolutionPolicy field 'kill_fraction': input should be a valid"
    ):
        EvolutionPolicy.from_mapping({"kill_fraction": "0.2"})


def test_unknown_fitness_measure_lists_the_valid_ones():
    with pytest.raises(
        ValidationError,
        match=r"^EvolutionPolicy field 'fitness': input should be 'sharpe', 'total_return' or 'calmar', "
        r"got 'sortino'; pass one of the listed values$",
    ):
        EvolutionPolicy.from_mapping({"fitness": "sortino"})


def test_non_finite_threshold_is_rejected():
    with pytest.raises(
        ValidationError, match=r"^EvolutionPolicy field 'kill_threshold': input should be a finite"
    ):
        EvolutionPolicy(kill_threshold=math.nan)


def test_policy_round_trips_through_its_json_dict():
    policy = EvolutionPolicy(
        fitness="calmar",
        kill_threshold=-0.5,
        population=30,
        within_tier="fitness",
        tier_weights={"arena": 0.5},
    )

    back = EvolutionPolicy.from_mapping(json.loads(json.dumps(policy.to_json_dict())))

    assert back == policy


def test_policy_loads_from_json_and_keeps_defaults_for_omitted_fields(tmp_path):
    path = tmp_path / "policy.json"
    path.write_text(json.dumps({"kill_fraction": 0.3, "graduate_to_proving": {"min_fitness": 0.8}}))

    policy = EvolutionPolicy.from_file(path)

    assert policy.kill_fraction == 0.3
    assert policy.graduate_to_proving.min_fitness == 0.8
    assert policy.graduate_to_proving.probation_bars == 48
    assert policy.elite_count == 2


def test_policy_loads_from_toml(tmp_path):
    path = tmp_path / "policy.toml"
    path.write_text(
        'fitness = "total_return"\nwithin_tier = "fitness"\n\n'
        "[tier_weights]\nsimulation = 0.1\nproving = 0.2\narena = 0.7\n"
    )

    policy = EvolutionPolicy.from_file(str(path))

    assert policy.fitness == "total_return"
    assert policy.within_tier == "fitness"
    assert policy.tier_weights.arena == 0.7


def test_bad_field_in_a_file_names_the_file_and_the_field(tmp_path):
    path = tmp_path / "policy.toml"
    path.write_text("[graduate_to_arena]\nmin_fitness = -1\nprobation_bars = 1.5\n")

    with pytest.raises(
        ValidationError,
        match=at(path)
        + r"EvolutionPolicy field 'graduate_to_arena\.probation_bars': input should be a valid "
        r"integer, got 1\.5; pass an integer >= 0$",
    ) as err:
        EvolutionPolicy.from_file(path)

    assert err.value.field == "graduate_to_arena.probation_bars"


def test_unknown_field_in_a_file_names_the_file(tmp_path):
    path = tmp_path / "policy.json"
    path.write_text('{"mutation_rate": 0.1}')

    with pytest.raises(
        ValidationError, match=at(path) + r"EvolutionPolicy field 'mutation_rate': extra inputs"
    ):
        EvolutionPolicy.from_file(path)


def test_weights_not_summing_to_one_in_a_file_name_the_file(tmp_path):
    path = tmp_path / "policy.json"
    path.write_text('{"tier_weights": {"simulation": 0.6}}')

    with pytest.raises(ValidationError, match=at(path) + r"tier_weights: simulation 0\.6 \+ proving 0\.3"):
        EvolutionPolicy.from_file(path)


def test_malformed_json_names_the_file_and_the_syntax_error(tmp_path):
    path = tmp_path / "policy.json"
    path.write_text('{"kill_fraction": 0.2,}')

    with pytest.raises(
        ValidationError, match=at(path) + r"is not valid JSON \(.*line 1.*\); fix the syntax$"
    ):
        EvolutionPolicy.from_file(path)


def test_malformed_toml_names_the_file(tmp_path):
    path = tmp_path / "policy.toml"
    path.write_text("kill_fraction = \n")

    with pytest.raises(ValidationError, match=at(path) + r"is not valid TOML \(.*\); fix the syntax$"):
        EvolutionPolicy.from_file(path)


def test_json_that_is_not_an_object_is_rejected(tmp_path):
    path = tmp_path / "policy.json"
    path.write_text("[0.2]")

    with pytest.raises(
        ValidationError, match=at(path) + r"holds a list, expected an object of policy fields"
    ):
        EvolutionPolicy.from_file(path)


def test_missing_file_is_reported_with_its_path(tmp_path):
    path = tmp_path / "absent.json"

    with pytest.raises(ValidationError, match=at(path) + r"cannot be read \(.*\); check the path"):
        EvolutionPolicy.from_file(path)


def test_unsupported_suffix_is_rejected_before_reading(tmp_path):
    path = tmp_path / "policy.yaml"

    with pytest.raises(
        ValidationError, match=at(path) + r"unsupported suffix '\.yaml', expected '\.json' or '\.toml'"
    ):
        EvolutionPolicy.from_file(path)


def test_fitness_measures_read_the_documented_metrics():
    metrics = perf(sharpe=1.5, total_return=0.2, max_drawdown=0.1)

    assert fitness_of(metrics, EvolutionPolicy(fitness="sharpe")) == 1.5
    assert fitness_of(metrics, EvolutionPolicy(fitness="total_return")) == 0.2
    assert fitness_of(metrics, EvolutionPolicy(fitness="calmar")) == pytest.approx(2.0)


def test_calmar_of_a_curve_that_never_fell_divides_by_the_floor():
    metrics = perf(total_return=0.05, max_drawdown=0.0)

    assert fitness_of(metrics, EvolutionPolicy(fitness="calmar")) == pytest.approx(
        0.05 / CALMAR_DRAWDOWN_FLOOR
    )


def test_non_finite_metrics_have_no_fitness():
    metrics = perf(sharpe=math.nan)

    with pytest.raises(ValidationError, match=r"^sharpe fitness: nan is not a finite number \(sharpe=nan, "):
        fitness_of(metrics, EvolutionPolicy())


@given(
    st.floats(-1.0, 100.0),
    st.floats(-50.0, 50.0),
    st.floats(0.0, 1.0),
    st.sampled_from(["sharpe", "total_return", "calmar"]),
)
def test_fitness_of_finite_metrics_is_finite(total_return, sharpe, drawdown, measure):
    metrics = perf(sharpe=sharpe, total_return=total_return, max_drawdown=drawdown)

    assert math.isfinite(fitness_of(metrics, EvolutionPolicy(fitness=measure)))
