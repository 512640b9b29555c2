from __future__ import annotations

import json
import random
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from events import ValidationError
from trading import (
    BUILTIN_STRATEGIES,
    Genome,
    Param,
    ParameterSpace,
    Portfolio,
    Strategies,
    StrategySpec,
    make_strategy,
)

seeds = st.integers(min_value=0, max_value=2**32 - 1)


class Idle:
    def __init__(self, params):
        self.params = dict(params)

    def on_bar(self, bar, portfolio):
        return None


def spec(name: str, *params: Param) -> StrategySpec:
    return StrategySpec(name=name, space=ParameterSpace(*params), factory=Idle)


@st.composite
def params(draw, index: int, earlier: list[Param]) -> Param:
    name = f"p{index}"
    kind = draw(st.sampled_from(["int", "float", "choice"]))
    scale = draw(st.floats(min_value=0.0, max_value=3.0))
    if kind == "choice":
        values = st.text(min_size=1, max_size=5) | st.integers(-5, 5)
        choices = draw(st.lists(values, min_size=2, max_size=4, unique_by=lambda c: (type(c), c)))
        return Param(name=name, kind="choice", choices=choices, scale=scale)
    if kind == "int":
        low = draw(st.integers(-1000, 1000))
        high = low + draw(st.integers(1, 1000))
    else:
        low = draw(st.integers(-100_000, 100_000)) / 1000
        high = round(low + draw(st.integers(1, 100_000)) / 1000, 6)
    others = [p for p in earlier if p.kind == kind]
    if others and draw(st.booleans()):
        other = draw(st.sampled_from(others))
        step = 1 if kind == "int" else 1e-6
        high = max(high, round(other.high + step, 6))
        above = other.initial() + step if kind == "int" else round(other.initial() + step, 6)
        default = max(low, above)
        return Param(
            name=name, kind=kind, low=low, high=high, scale=scale, greater_than=other.name, default=default
        )
    return Param(name=name, kind=kind, low=low, high=high, scale=scale)


@st.composite
def spaces(draw) -> ParameterSpace:
    declared: list[Param] = []
    for index in range(draw(st.integers(min_value=0, max_value=6))):
        declared.append(draw(params(index, declared)))
    return ParameterSpace(*declared)


def assert_fits(space: ParameterSpace, values: dict) -> None:
    assert list(values) == list(space.names)
    for param in space:
        value = values[param.name]
        if param.kind == "choice":
            assert any(type(value) is type(c) and value == c for c in param.choices)
            continue
        assert param.low <= value <= param.high, param.name
        assert isinstance(value, int if param.kind == "int" else float)
        if param.kind == "float":
            assert round(value, 6) == value
        if param.greater_than is not None:
            assert value > values[param.greater_than], param.name
    assert space.check(values) == values


@given(spaces(), seeds)
def test_any_genome_drawn_from_any_space_fits_it_and_survives_json(space, seed):
    registry = Strategies(StrategySpec(name="mine", space=space, factory=Idle))

    genome = registry.random_genome(random.Random(seed))

    assert_fits(space, dict(genome.params))
    text = json.dumps(genome.to_json_dict())
    back = registry.parse(json.loads(text))
    assert back == genome
    assert json.dumps(back.to_json_dict()) == text


@given(spaces(), seeds, st.floats(min_value=0.0, max_value=3.0))
def test_mutation_stays_in_bounds_and_keeps_every_ordering(space, seed, sigma):
    registry = Strategies(StrategySpec(name="mine", space=space, factory=Idle))
    rng = random.Random(seed)
    parent = registry.random_genome(rng)

    child, changes = registry.mutate(parent, rng, sigma=sigma)

    assert_fits(space, dict(child.params))
    assert changes == {
        name: [parent.params[name], child.params[name]]
        for name in space.names
        if (type(parent.params[name]), parent.params[name]) != (type(child.params[name]), child.params[name])
    }
    assert json.loads(json.dumps(changes)) == changes


@given(spaces(), seeds, seeds, st.floats(min_value=0.0, max_value=1.0))
def test_mutation_makes_the_same_calls_on_the_rng_whatever_the_parent_and_the_draws(space, a, b, switch):
    registry = Strategies(
        StrategySpec(name="mine", space=space, factory=Idle),
        spec("other", Param(name="x", kind="int", low=0, high=9)),
    )
    first = Genome(strategy="mine", params=space.sample(random.Random(a)))
    second = Genome(strategy="mine", params=space.sample(random.Random(b)))
    one, two = random.Random(7), random.Random(7)

    registry.mutate(first, one, switch_probability=switch)
    registry.mutate(second, two, switch_probability=switch)

    assert one.getstate() == two.getstate()


@given(seeds, st.floats(min_value=0.0, max_value=1.0))
def test_the_same_rng_state_gives_the_same_child(seed, switch):
    parent = BUILTIN_STRATEGIES.random_genome(random.Random(seed))

    first = BUILTIN_STRATEGIES.mutate(parent, random.Random(seed + 1), switch_probability=switch)
    second = BUILTIN_STRATEGIES.mutate(parent, random.Random(seed + 1), switch_probability=switch)

    assert first == second


def test_a_switch_draws_fresh_parameters_of_another_strategy_and_records_both_sides():
    registry = Strategies(
        spec("a", Param(name="x", kind="int", low=0, high=9)),
        spec("b", Param(name="y", kind="choice", choices=["up", "down"])),
    )
    parent = registry["a"].genome(x=4)

    child, changes = registry.mutate(parent, random.Random(1), switch_probability=1.0)

    assert child.strategy == "b"
    assert child.params["y"] in {"up", "down"}
    assert changes == {"strategy": ["a", "b"], "x": [4, None], "y": [None, child.params["y"]]}


def test_a_registry_of_one_strategy_never_switches():
    registry = Strategies(spec("solo", Param(name="x", kind="int", low=0, high=9)))

    child, changes = registry.mutate(registry["solo"].genome(), random.Random(3), switch_probability=1.0)

    assert child.strategy == "solo"
    assert "strategy" not in changes


def test_zero_scale_never_mutates_a_parameter_and_a_choice_flips_with_sigma_times_scale():
    space = ParameterSpace(
        Param(name="fixed", kind="float", low=0.0, high=1.0, scale=0.0),
        Param(name="mode", kind="choice", choices=["a", "b", "c"], scale=10.0),
    )
    registry = Strategies(StrategySpec(name="s", space=space, factory=Idle))
    parent = registry["s"].genome(fixed=0.5, mode="a")

    children = [registry.mutate(parent, random.Random(n), sigma=0.1)[0] for n in range(20)]

    assert {child.params["fixed"] for child in children} == {0.5}
    assert {child.params["mode"] for child in children} == {"b", "c"}  # min(1, 0.1 * 10): always flips


def test_greater_than_is_repaired_by_raising_the_value_just_past_the_other():
    space = ParameterSpace(
        Param(name="fast", kind="int", low=2, high=50),
        Param(name="slow", kind="int", low=5, high=200, greater_than="fast"),
    )
    registry = Strategies(StrategySpec(name="s", space=space, factory=Idle))
    parent = registry["s"].genome(fast=50, slow=51)

    children = [registry.mutate(parent, random.Random(n), sigma=1.0)[0] for n in range(50)]

    assert all(child.params["slow"] > child.params["fast"] for child in children)
    assert any(child.params["slow"] == child.params["fast"] + 1 for child in children)


def test_floats_are_rounded_to_six_places_and_ints_accepted_for_floats():
    registry = Strategies(spec("s", Param(name="t", kind="float", low=0.0, high=5.0)))

    genome = registry.check(Genome(strategy="s", params={"t": 0.1234567891}))
    whole = registry.check(Genome(strategy="s", params={"t": 2}))

    assert genome.params["t"] == 0.123457
    assert whole.params["t"] == 2.0
    assert isinstance(whole.params["t"], float)


def test_build_gives_the_factory_the_checked_parameters_read_only():
    registry = Strategies(spec("s", Param(name="t", kind="float", low=0.0, high=5.0)))

    strategy = registry.build(Genome(strategy="s", params={"t": 3}))

    assert strategy.params == {"t": 3.0}


def test_with_strategy_adds_at_the_end_or_replaces_in_place():
    mine = spec("mine", Param(name="x", kind="int", low=0, high=9))
    again = spec("momentum", Param(name="x", kind="int", low=0, high=9))

    added = BUILTIN_STRATEGIES.with_strategy(mine)
    replaced = BUILTIN_STRATEGIES.with_strategy(again)

    assert list(added) == ["ma_crossover", "momentum", "mean_reversion", "mine"]
    assert list(replaced) == ["ma_crossover", "momentum", "mean_reversion"]
    assert replaced["momentum"] is again
    assert list(BUILTIN_STRATEGIES) == ["ma_crossover", "momentum", "mean_reversion"]


def test_the_builtins_declare_only_the_parameters_their_rule_reads():
    shared = ("position_fraction", "stop_loss")

    names = {name: BUILTIN_STRATEGIES[name].space.names for name in BUILTIN_STRATEGIES}

    assert names == {
        "ma_crossover": ("fast_window", "slow_window", *shared),
        "momentum": ("lookback", "entry_threshold", "exit_threshold", *shared),
        "mean_reversion": ("lookback", "entry_threshold", "exit_threshold", *shared),
    }
    assert all(BUILTIN_STRATEGIES[name].description for name in BUILTIN_STRATEGIES)


def test_an_older_flat_genome_is_read_as_its_family_with_the_parameters_it_declares():
    flat = {
        "family": "momentum",
        "fast_window": 10,
        "slow_window": 30,
        "lookback": 7,
        "entry_threshold": 1.0,
        "exit_threshold": 0.5,
        "position_fraction": 0.25,
        "stop_loss": 0.05,
    }

    genome = BUILTIN_STRATEGIES.parse(flat)

    assert genome == BUILTIN_STRATEGIES["momentum"].genome(lookback=7, exit_threshold=0.5)


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"name": "x", "kind": "int", "low": 5, "high": 5}, r"^Param 'x': low 5 must be below high 5; swap"),
        (
            {"name": "x", "kind": "int", "low": 1.5, "high": 5},
            r"^Param 'x': low of an int parameter must be an int, got 1\.5",
        ),
        (
            {"name": "x", "kind": "float", "low": 0.1234567, "high": 1.0},
            r"^Param 'x': low 0\.1234567 has more than 6 decimal places",
        ),
        (
            {"name": "x", "kind": "float", "high": 1.0},
            r"^Param 'x': a float parameter needs numbers low and high, got None and 1\.0",
        ),
        (
            {"name": "x", "kind": "int", "low": "1", "high": 5},
            r"^Param 'x': low '1' is not a finite number or None; pass one$",
        ),
        (
            {"name": "x", "kind": "float", "low": 0.0, "high": float("inf")},
            r"^Param 'x': high inf is not a finite number",
        ),
        (
            {"name": "x", "kind": "int", "low": True, "high": 5},
            r"^Param 'x': low True is not a finite number",
        ),
        (
            {"name": "x", "kind": "int", "low": 0, "high": 5, "choices": [1, 2]},
            r"^Param 'x': an int parameter has no choices;",
        ),
        (
            {"name": "x", "kind": "choice", "choices": ["a"]},
            r"^Param 'x': a choice parameter needs at least two different choices, got \['a'\];",
        ),
        (
            {"name": "x", "kind": "choice", "choices": ["a", "a"]},
            r"^Param 'x': a choice parameter needs at least two different",
        ),
        (
            {"name": "x", "kind": "choice", "choices": ["a", None]},
            r"^Param 'x': choice None is not a string or a finite number;",
        ),
        (
            {"name": "x", "kind": "choice", "choices": ["a", "b"], "low": 0},
            r"^Param 'x': a choice parameter has no low, high or greater_than",
        ),
        (
            {"name": "x", "kind": "int", "low": 0, "high": 5, "default": 9},
            r"^the default of parameter 'x': 9 is above its high bound 5; pass an int from 0 to 5$",
        ),
        (
            {"name": "x", "kind": "choice", "choices": ["a", "b"], "default": "c"},
            r"^the default of parameter 'x': 'c' is not one of its choices; pass one of \['a', 'b'\]$",
        ),
        (
            {"name": "x", "kind": "int", "low": 0, "high": 5, "greater_than": "x"},
            r"^Param 'x': greater_than names the parameter itself;",
        ),
        (
            {"name": "2x", "kind": "int", "low": 0, "high": 5},
            r"^Param '2x': the name is not an identifier other than 'strategy';",
        ),
        (
            {"name": "strategy", "kind": "int", "low": 0, "high": 5},
            r"^Param 'strategy': the name is not an identifier",
        ),
        (
            {"name": "x", "kind": "list", "low": 0, "high": 5},
            r"^Param field 'kind': input should be 'int', 'float' or 'choice'",
        ),
        (
            {"name": "x", "kind": "int", "low": 0, "high": 5, "scale": -1.0},
            r"^Param field 'scale': input should be greater than or equal to 0",
        ),
        (
            {"name": "x", "kind": "int", "low": 0, "high": 5, "colour": "red"},
            r"^Param field 'colour': extra inputs are not permitted",
        ),
    ],
)
def test_a_bad_param_is_refused_naming_it_the_value_and_the_fix(kwargs, pattern):
    with pytest.raises(ValidationError, match=pattern):
        Param(**kwargs)


def test_a_bad_space_is_refused_naming_the_problem():
    x = Param(name="x", kind="int", low=0, high=10)
    cases = [
        ((x, x), r"^ParameterSpace: two parameters are named 'x'; give each a unique name$"),
        (([x],), r"^ParameterSpace: \[Param\(.*\)\] is not a Param; pass each one as its own argument"),
        (
            (Param(name="y", kind="int", low=0, high=10, greater_than="x"), x),
            r"^ParameterSpace: 'y' must exceed 'x', which is not an earlier int parameter; declare 'x'",
        ),
        (
            (x, Param(name="y", kind="float", low=0, high=20, greater_than="x")),
            r"^ParameterSpace: 'y' must exceed 'x', which is not an earlier float parameter",
        ),
        (
            (x, Param(name="y", kind="int", low=0, high=10, greater_than="x", default=9)),
            (
                r"^ParameterSpace: 'y' \(high 10\) cannot exceed 'x' at its high 10; "
                r"raise 'y''s high to at least 11 or lower 'x''s$"
            ),
        ),
        (
            (x, Param(name="y", kind="int", low=0, high=20, greater_than="x", default=3)),
            r"^ParameterSpace defaults: parameter 'y': 3 must exceed x = 5; raise y to at least 6$",
        ),
    ]
    for args, pattern in cases:
        with pytest.raises(ValidationError, match=pattern):
            ParameterSpace(*args)


SPACE = ParameterSpace(
    Param(name="n", kind="int", low=1, high=9),
    Param(name="m", kind="int", low=1, high=20, greater_than="n", default=6),
    Param(name="t", kind="float", low=0.0, high=1.0),
    Param(name="mode", kind="choice", choices=["a", "b"]),
)
GOOD = {"n": 5, "m": 6, "t": 0.5, "mode": "a"}


@pytest.mark.parametrize(
    ("params", "pattern"),
    [
        ([1, 2], r"^s parameters: \[1, 2\] is not a mapping; pass a dict"),
        (
            {**GOOD, "colour": 1},
            r"^s parameters: unknown \['colour'\]; remove them or use a declared parameter \(n, m, t, mode\)",
        ),
        (
            {"n": 5, "m": 6, "t": 0.5},
            r"^s parameters: missing \['mode'\]; pass a value for every declared parameter$",
        ),
        ({**GOOD, "n": 0}, r"^s parameter 'n': 0 is below its low bound 1; pass an int from 1 to 9$"),
        ({**GOOD, "n": 10}, r"^s parameter 'n': 10 is above its high bound 9; pass an int from 1 to 9$"),
        ({**GOOD, "n": 5.0}, r"^s parameter 'n': 5\.0 is not an int; pass an int from 1 to 9$"),
        ({**GOOD, "n": True}, r"^s parameter 'n': True is not an int;"),
        (
            {**GOOD, "t": "0.5"},
            r"^s parameter 't': '0\.5' is not a finite number; pass a finite number from 0\.0 to 1\.0$",
        ),
        ({**GOOD, "t": float("nan")}, r"^s parameter 't': nan is not a finite number;"),
        (
            {**GOOD, "mode": "c"},
            r"^s parameter 'mode': 'c' is not one of its choices; pass one of \['a', 'b'\]$",
        ),
        ({**GOOD, "m": 5}, r"^s parameter 'm': 5 must exceed n = 5; raise m to at least 6$"),
    ],
)
def test_params_that_do_not_fit_the_space_are_refused_naming_the_parameter_value_and_bound(params, pattern):
    with pytest.raises(ValidationError, match=pattern):
        SPACE.check(params, owner="s")


def test_a_bad_strategy_spec_is_refused():
    space = ParameterSpace()
    cases = [
        (
            {"name": "my strategy", "space": space, "factory": Idle},
            r"^StrategySpec: name 'my strategy' is not an identifier;",
        ),
        (
            {"name": "s", "space": {}, "factory": Idle},
            r"^StrategySpec 's': space \{\} is not a ParameterSpace;",
        ),
        ({"name": "s", "space": space, "factory": 3}, r"^StrategySpec 's': factory 3 is not callable;"),
        (
            {"name": "s", "space": space, "factory": Idle, "description": "a\nb"},
            r"^StrategySpec 's': description 'a\\nb' is not one line",
        ),
    ]
    for kwargs, pattern in cases:
        with pytest.raises(ValidationError, match=pattern):
            StrategySpec(**kwargs)


def test_a_bad_registry_is_refused():
    one = spec("one")
    cases = [
        ((), r"^Strategies: no strategy given; pass at least one StrategySpec, or use BUILTIN_STRATEGIES$"),
        ((one, one), r"^Strategies: two strategies are named 'one'; give each a unique name$"),
        (("one",), r"^Strategies: 'one' is not a StrategySpec; pass each one as its own argument"),
    ]
    for args, pattern in cases:
        with pytest.raises(ValidationError, match=pattern):
            Strategies(*args)
    with pytest.raises(ValidationError, match=r"^Strategies.with_strategy: 'one' is not a StrategySpec"):
        BUILTIN_STRATEGIES.with_strategy("one")


def test_an_unknown_strategy_is_refused_listing_the_known_ones():
    pattern = (
        r"^strategy 'arbitrage' is not in this arena's strategies "
        r"\(ma_crossover, momentum, mean_reversion\); "
        r"spawn one of those, or open the arena with strategies= that include it$"
    )

    with pytest.raises(ValidationError, match=pattern) as caught:
        BUILTIN_STRATEGIES.parse({"strategy": "arbitrage", "params": {}})

    assert caught.value.field == "strategy"
    with pytest.raises(ValidationError, match=r"^strategy 'arbitrage' is not in"):
        make_strategy(Genome(strategy="arbitrage", params={}))
    with pytest.raises(ValidationError, match=r"^strategy 'x' is not in"):
        BUILTIN_STRATEGIES.parse({"family": "x"})


def test_check_refuses_what_is_not_a_genome():
    with pytest.raises(ValidationError, match=r"^genome: \{\} is not a Genome; pass Genome\(strategy=\.\.\."):
        BUILTIN_STRATEGIES.check({})


def test_a_factory_that_builds_something_without_on_bar_is_refused():
    registry = Strategies(StrategySpec(name="s", space=ParameterSpace(), factory=lambda params: 42))

    with pytest.raises(
        ValidationError, match=r"^strategy 's': its factory returned 42, which has no on_bar method"
    ):
        registry.build(registry["s"].genome())


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"sigma": -0.1}, r"^mutation: sigma must be a finite number >= 0, got -0\.1; pass e\.g\. 0\.15$"),
        ({"sigma": float("inf")}, r"^mutation: sigma must be a finite number >= 0, got inf;"),
        ({"switch_probability": 1.5}, r"^mutation: switch_probability must be between 0 and 1, got 1\.5;"),
        ({"switch_probability": True}, r"^mutation: switch_probability must be between 0 and 1, got True;"),
    ],
)
def test_bad_mutation_settings_are_refused(kwargs, pattern):
    with pytest.raises(ValidationError, match=pattern):
        BUILTIN_STRATEGIES.mutate(BUILTIN_STRATEGIES["momentum"].genome(), random.Random(0), **kwargs)


def test_a_custom_strategy_trades_through_its_factory():
    class Buy:
        def __init__(self, params):
            self.fraction = Decimal(str(params["fraction"]))

        def on_bar(self, bar, portfolio):
            return None

    registry = Strategies(
        StrategySpec(
            name="buy",
            space=ParameterSpace(Param(name="fraction", kind="float", low=0.1, high=1.0)),
            factory=Buy,
        )
    )

    strategy = registry.build(registry["buy"].genome(fraction=0.3))

    assert strategy.fraction == Decimal("0.3")
    assert strategy.on_bar(None, Portfolio(Decimal(1))) is None
