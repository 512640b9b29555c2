"""Parameter spaces: what a strategy declares about its parameters, and how genomes are drawn and bred in it.

A strategy declares its space once (``Param`` by ``Param``: name, kind, bounds, mutation scale, ordering);
the runtime then draws, checks, mutates, stores and rebuilds any genome of it without knowing what the
parameters mean. ``Strategies`` is the registry an arena evolves: a fixed order of ``StrategySpec``, so
``rng.choice`` over it is reproducible.

Rules every genome of a space keeps, whoever made it (drawn, bred, parsed from a stored event):

- every declared parameter is present and nothing else is;
- an ``int`` parameter is an int within ``[low, high]``; a ``float`` one a finite number within them,
  rounded to 6 places; a ``choice`` one is one of its ``choices`` (same type and value);
- a parameter with ``greater_than`` exceeds the one it names.

Randomness comes only from the caller's ``random.Random``, and mutation makes the same calls on it whatever
the draws turn out to be, so one rng state always gives the same child.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, TypeGuard

from pydantic import ConfigDict, Field, model_validator

from events import ValidationError

from ._genome import DECIMALS, Genome, ParamValue
from ._validation import ValidatedModel

if TYPE_CHECKING:
    from ._strategy import Strategy

__all__ = ["Changes", "Param", "ParamKind", "ParameterSpace", "Strategies", "StrategySpec"]

ParamKind = Literal["int", "float", "choice"]
"""What a parameter holds: an int or a float within bounds, or one of a list of values."""

Changes = dict[str, list[ParamValue | None]]
"""What a mutation changed, ``{parameter: [old, new]}``, plus ``"strategy": [old, new]`` on a switch (a
parameter only one of the two strategies has is ``None`` on the other side): ``AgentMutated.mutation``."""

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")  # names appear in events, reports and command lines
_RESERVED = "strategy"  # Changes records a strategy switch under this key
_FLOAT_STEP = 10.0**-DECIMALS  # the smallest amount a float parameter can exceed another by


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


class Param(ValidatedModel):
    """One parameter of a strategy's space: its name, kind, bounds and how far mutation moves it.

    Example: ``Param(name="slow_window", kind="int", low=5, high=200, greater_than="fast_window")``.
    """

    # strict: a name or scale given as the wrong type is a mistake worth reporting, not a value to coerce
    model_config = ConfigDict(strict=True, use_attribute_docstrings=True)

    name: str
    """An identifier (letters, digits, underscores), unique in its space; ``strategy`` is reserved."""
    kind: ParamKind
    """``int`` and ``float`` need ``low`` and ``high``; ``choice`` needs ``choices``."""
    low: int | float | None = None
    """Smallest value (inclusive); an int for an ``int`` parameter, at most 6 decimal places for a float."""
    high: int | float | None = None
    """Largest value (inclusive), above ``low``."""
    choices: tuple[str | int | float, ...] = ()
    """The values of a ``choice`` parameter, at least two, all different."""
    scale: float = Field(default=1.0, ge=0.0, allow_inf_nan=False)
    """Mutation strength relative to the policy's ``mutation_sigma``: a numeric parameter moves by Gaussian
    noise of standard deviation ``sigma * scale * (high - low)``; a choice switches to another value with
    probability ``min(1, sigma * scale)``. 0 never mutates it."""
    greater_than: str | None = None
    """Another ``int`` or ``float`` parameter of the same kind, declared earlier, that this one must exceed;
    mutation repairs a child that breaks it by raising this one just past the other."""
    default: int | float | str | None = None
    """The value ``StrategySpec.genome`` uses when none is given; by default the middle of the bounds or
    the first choice."""

    @model_validator(mode="before")
    @classmethod
    def _values(cls, data: Any) -> Any:  # noqa: ANN401  (pydantic's hook: the raw constructor arguments)
        """Refuse bools, strings as bounds and non-finite numbers, and accept a list of choices."""
        if not isinstance(data, Mapping):
            return data
        name = data.get("name", "?")
        for field in ("low", "high", "default"):
            value = data.get(field)
            number = _is_number(value) and math.isfinite(value)
            if value is not None and not number and not (field == "default" and isinstance(value, str)):
                wanted = (
                    "a finite number, a string or None" if field == "default" else "a finite number or None"
                )
                msg = f"Param {name!r}: {field} {value!r} is not {wanted}; pass one"
                raise ValidationError(msg, field=field, value=value)
        choices = data.get("choices", ())
        if isinstance(choices, list | tuple):
            for choice in choices:
                valid = isinstance(choice, str) or (_is_number(choice) and math.isfinite(choice))
                if not valid:
                    msg = f"Param {name!r}: choice {choice!r} is not a string or a finite number; pass those"
                    raise ValidationError(msg, field="choices", value=choice)
            return {**data, "choices": tuple(choices)}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Param:
        name = self.name
        if not _NAME.match(name) or name == _RESERVED:
            msg = (
                f"Param {name!r}: the name is not an identifier other than {_RESERVED!r}; "
                "use letters, digits and underscores, e.g. 'fast_window'"
            )
            raise ValidationError(msg, field="name", value=name)
        if self.greater_than == name:
            msg = f"Param {name!r}: greater_than names the parameter itself; name another parameter or None"
            raise ValidationError(msg, field="greater_than", value=name)
        if self.kind == "choice":
            self._check_choice()
        else:
            self._check_bounds()
        if self.default is not None:
            self.check(self.default, owner="the default of")
        return self

    def _check_choice(self) -> None:
        if self.low is not None or self.high is not None or self.greater_than is not None:
            msg = (
                f"Param {self.name!r}: a choice parameter has no low, high or greater_than, got "
                f"low={self.low!r}, high={self.high!r}, greater_than={self.greater_than!r}; "
                "drop them, or use kind='int' or 'float'"
            )
            raise ValidationError(msg, field="kind", value=self.kind)
        keys = {(type(choice), choice) for choice in self.choices}
        if len(self.choices) < 2 or len(keys) < len(self.choices):  # noqa: PLR2004  (fewer is a constant)
            msg = (
                f"Param {self.name!r}: a choice parameter needs at least two different choices, got "
                f"{list(self.choices)!r}; list them, or hard-code a constant in the strategy's factory"
            )
            raise ValidationError(msg, field="choices", value=self.choices)

    def _check_bounds(self) -> None:
        low, high = self.low, self.high
        kind = "an int" if self.kind == "int" else "a float"
        if self.choices:
            msg = f"Param {self.name!r}: {kind} parameter has no choices; drop them or use kind='choice'"
            raise ValidationError(msg, field="choices", value=self.choices)
        if not (isinstance(low, int | float) and isinstance(high, int | float)):  # bools refused already
            msg = (
                f"Param {self.name!r}: {kind} parameter needs numbers low and high, got {low!r} and {high!r}"
            )
            raise ValidationError(msg, field="high" if isinstance(low, int | float) else "low", value=low)
        for field, bound in (("low", low), ("high", high)):
            if self.kind == "int" and not isinstance(bound, int):
                msg = (
                    f"Param {self.name!r}: {field} of an int parameter must be an int, got {bound!r}; "
                    "pass one"
                )
                raise ValidationError(msg, field=field, value=bound)
            if self.kind == "float" and round(bound, DECIMALS) != bound:
                msg = (
                    f"Param {self.name!r}: {field} {bound!r} has more than {DECIMALS} decimal places, "
                    f"which a parameter keeps; pass {round(bound, DECIMALS)!r}"
                )
                raise ValidationError(msg, field=field, value=bound)
        if not low < high:
            msg = (
                f"Param {self.name!r}: low {low!r} must be below high {high!r}; swap them or widen the range"
            )
            raise ValidationError(msg, field="high", value=high)

    @property
    def step(self) -> int | float:
        """The smallest amount by which one value of this kind can exceed another."""
        return 1 if self.kind == "int" else _FLOAT_STEP

    def initial(self) -> ParamValue:
        """Return ``default``, or the middle of the bounds (an int for ints), or the first choice."""
        if self.default is not None:
            return float(self.default) if self.kind == "float" else self.default
        if self.kind == "choice":
            return self.choices[0]
        low, high = self._range()
        return (int(low) + int(high)) // 2 if self.kind == "int" else round((low + high) / 2, DECIMALS)

    def check(self, value: object, *, owner: str) -> ParamValue:
        """Return ``value`` as this parameter holds it (floats rounded), or say why it does not fit.

        Raises:
            ValidationError: ``value`` is of the wrong type, out of bounds or not a choice.

        """
        subject = f"{owner} parameter {self.name!r}"
        if self.kind == "choice":
            for choice in self.choices:
                if type(choice) is type(value) and choice == value:
                    return choice
            msg = f"{subject}: {value!r} is not one of its choices; pass one of {list(self.choices)!r}"
            raise ValidationError(msg, field=self.name, value=value)
        low, high = self._range()
        shown_low, shown_high = self.low, self.high
        wanted = "an int" if self.kind == "int" else "a finite number"
        number: int | float
        if self.kind == "int" and isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif self.kind == "float" and _is_number(value) and math.isfinite(value):
            number = round(float(value), DECIMALS)
        else:
            msg = f"{subject}: {value!r} is not {wanted}; pass {wanted} from {shown_low} to {shown_high}"
            raise ValidationError(msg, field=self.name, value=value)
        if not low <= number <= high:
            side = (
                f"below its low bound {shown_low}" if number < low else f"above its high bound {shown_high}"
            )
            msg = f"{subject}: {value!r} is {side}; pass {wanted} from {shown_low} to {shown_high}"
            raise ValidationError(msg, field=self.name, value=value)
        return number

    def _range(self) -> tuple[float, float]:
        """Return the bounds as floats (both 0 for a choice, which has none)."""
        return float(self.low or 0), float(self.high or 0)

    def draw(self, rng: random.Random, floor: ParamValue | None) -> ParamValue:
        """Draw uniformly within the bounds (above ``floor`` when given): one call on ``rng``."""
        if self.kind == "choice":
            return rng.choice(self.choices)
        low, high = self._range()
        if floor is not None:
            low = max(low, float(self.above(floor, floor)))
        if self.kind == "int":
            return rng.randint(int(low), int(high))
        return self._clip(rng.uniform(low, high))

    def mutate(self, value: ParamValue, rng: random.Random, sigma: float) -> ParamValue:
        """Perturb ``value``: two calls on ``rng`` for a choice, one for a number, whatever they draw."""
        if self.kind == "choice":
            flip = rng.random() < min(1.0, sigma * self.scale)
            other = rng.choice([c for c in self.choices if (type(c), c) != (type(value), value)])
            return other if flip else value
        low, high = self._range()
        moved = float(value) + rng.gauss(0.0, sigma * self.scale * (high - low))
        return self._clip(moved)

    def _clip(self, value: float) -> ParamValue:
        low, high = self._range()
        clipped = min(high, max(low, value))
        return round(clipped) if self.kind == "int" else round(clipped, DECIMALS)

    def above(self, value: ParamValue, other: ParamValue) -> ParamValue:
        """Return ``value``, raised just past ``other`` unless it exceeds it (bounds are the space's job)."""
        if float(value) > float(other):
            return value
        raised = float(other) + self.step
        return int(raised) if self.kind == "int" else round(raised, DECIMALS)


class ParameterSpace:
    """The ordered parameters of one strategy, checked as a whole: names unique, orderings satisfiable.

    Example: ``ParameterSpace(Param(name="window", kind="int", low=2, high=50), Param(...))``.

    Raises:
        ValidationError: an argument is not a ``Param``, two share a name, or a ``greater_than`` names a
            parameter that is not declared earlier with the same numeric kind, or that can reach a value
            this one could not exceed within its bounds.

    """

    __slots__ = ("_by_name", "_params")

    def __init__(self, *params: Param) -> None:
        by_name: dict[str, Param] = {}
        for param in params:
            if not isinstance(param, Param):
                msg = (
                    f"ParameterSpace: {param!r} is not a Param; pass each one as its own argument, "
                    "ParameterSpace(Param(...), Param(...))"
                )
                raise ValidationError(msg, field="params", value=param)
            if param.name in by_name:
                msg = f"ParameterSpace: two parameters are named {param.name!r}; give each a unique name"
                raise ValidationError(msg, field=param.name, value=param.name)
            if param.greater_than is not None:
                _check_order(param, by_name.get(param.greater_than))
            by_name[param.name] = param
        self._params = tuple(params)
        self._by_name = MappingProxyType(by_name)
        self.check(self.defaults(), owner="ParameterSpace defaults:")  # a default that breaks an ordering

    @property
    def params(self) -> tuple[Param, ...]:
        """The parameters, in declaration order (the order draws and mutations take)."""
        return self._params

    @property
    def names(self) -> tuple[str, ...]:
        """The parameter names, in declaration order."""
        return tuple(self._by_name)

    def __iter__(self) -> Iterator[Param]:
        return iter(self._params)

    def __len__(self) -> int:
        return len(self._params)

    def __getitem__(self, name: str) -> Param:
        return self._by_name[name]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ParameterSpace) and self._params == other._params

    def __hash__(self) -> int:
        return hash(self._params)

    def __repr__(self) -> str:
        return f"ParameterSpace({', '.join(map(repr, self._params))})"

    def defaults(self) -> dict[str, ParamValue]:
        """Return every parameter's ``initial()`` value."""
        return {param.name: param.initial() for param in self._params}

    def check(self, params: object, *, owner: str = "ParameterSpace") -> dict[str, ParamValue]:
        """Return ``params`` as the space holds them (declaration order, floats rounded), or say why not.

        Raises:
            ValidationError: ``params`` is not a mapping, misses or adds a parameter, or holds a value of
                the wrong type, out of bounds, not a choice, or not above the one it must exceed.

        """
        if not isinstance(params, Mapping):
            msg = f"{owner} parameters: {params!r} is not a mapping; pass a dict of parameter name to value"
            raise ValidationError(msg, field="params", value=params)
        unknown = [name for name in params if name not in self._by_name]
        if unknown:
            msg = (
                f"{owner} parameters: unknown {unknown!r}; remove them or use a declared parameter "
                f"({', '.join(self._by_name) or 'none'})"
            )
            raise ValidationError(msg, field=str(unknown[0]), value=params[unknown[0]])
        missing = [name for name in self._by_name if name not in params]
        if missing:
            msg = f"{owner} parameters: missing {missing!r}; pass a value for every declared parameter"
            raise ValidationError(msg, field=missing[0], value=None)
        checked: dict[str, ParamValue] = {}
        for param in self._params:
            value = param.check(params[param.name], owner=owner)
            if param.greater_than is not None and not float(value) > float(checked[param.greater_than]):
                other = checked[param.greater_than]
                msg = (
                    f"{owner} parameter {param.name!r}: {value!r} must exceed {param.greater_than} = "
                    f"{other!r}; raise {param.name} to at least {param.above(value, other)!r}"
                )
                raise ValidationError(msg, field=param.name, value=value)
            checked[param.name] = value
        return checked

    def sample(self, rng: random.Random) -> dict[str, ParamValue]:
        """Draw every parameter uniformly (above the one it must exceed): one call on ``rng`` each."""
        drawn: dict[str, ParamValue] = {}
        for param in self._params:
            floor = None if param.greater_than is None else drawn[param.greater_than]
            drawn[param.name] = param.draw(rng, floor)
        return drawn

    def mutate(
        self, params: Mapping[str, ParamValue], rng: random.Random, *, sigma: float
    ) -> dict[str, ParamValue]:
        """Perturb every parameter, then repair each ordering in declaration order.

        The calls on ``rng`` depend on the space only (one per number, two per choice), never on a draw.
        """
        moved = {param.name: param.mutate(params[param.name], rng, sigma) for param in self._params}
        for param in self._params:
            if param.greater_than is not None:
                moved[param.name] = param.above(moved[param.name], moved[param.greater_than])
        return moved


def _check_order(param: Param, other: Param | None) -> None:
    """Refuse a ``greater_than`` that names no earlier parameter of the kind, or that bounds can break."""
    if other is None or other.kind != param.kind or param.kind == "choice":
        msg = (
            f"ParameterSpace: {param.name!r} must exceed {param.greater_than!r}, which is not an earlier "
            f"{param.kind} parameter; declare {param.greater_than!r} before it, with the same numeric kind"
        )
        raise ValidationError(msg, field=param.name, value=param.greater_than)
    needed = param.above(other.high or 0, other.high or 0)  # just past the other's highest value
    if float(needed) > float(param.high or 0):
        msg = (
            f"ParameterSpace: {param.name!r} (high {param.high}) cannot exceed {other.name!r} at its high "
            f"{other.high}; raise {param.name!r}'s high to at least {needed} or lower {other.name!r}'s"
        )
        raise ValidationError(msg, field=param.name, value=param.high)


@dataclass(frozen=True, slots=True)
class StrategySpec:
    """A strategy the runtime can evolve: its name, its parameter space and how to build it.

    Example::

        StrategySpec(
            name="breakout",
            space=ParameterSpace(Param(name="window", kind="int", low=5, high=60)),
            factory=lambda params: Breakout(int(params["window"])),
            description="buy a new high of the last `window` closes",
        )

    Raises:
        ValidationError: the name is not an identifier, ``space`` is not a ``ParameterSpace``, ``factory``
            is not callable, or the description is not one line.

    """

    name: str
    """An identifier, unique in its registry; events and reports carry it as ``Genome.strategy``."""
    space: ParameterSpace
    """The parameters the factory reads, and nothing else."""
    factory: Callable[[Mapping[str, ParamValue]], Strategy]
    """Builds a fresh strategy (empty windows) from a read-only mapping of checked parameters."""
    description: str = ""
    """One line saying what the strategy does, for people reading a registry."""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            msg = (
                f"StrategySpec: name {self.name!r} is not an identifier; "
                "use letters, digits and underscores, e.g. 'my_breakout'"
            )
            raise ValidationError(msg, field="name", value=self.name)
        if not isinstance(self.space, ParameterSpace):
            msg = (
                f"StrategySpec {self.name!r}: space {self.space!r} is not a ParameterSpace; "
                "pass ParameterSpace(Param(...), ...)"
            )
            raise ValidationError(msg, field="space", value=self.space)
        if not callable(self.factory):
            msg = (
                f"StrategySpec {self.name!r}: factory {self.factory!r} is not callable; "
                "pass a function of the params"
            )
            raise ValidationError(msg, field="factory", value=self.factory)
        if not isinstance(self.description, str) or "\n" in self.description:
            msg = (
                f"StrategySpec {self.name!r}: description {self.description!r} is not one line of text; "
                "shorten it"
            )
            raise ValidationError(msg, field="description", value=self.description)

    def genome(self, **params: object) -> Genome:
        """Return a genome of this strategy: the space's defaults, overridden by ``params``, checked.

        Raises:
            ValidationError: a parameter is unknown or does not fit the space.

        """
        checked = self.space.check({**self.space.defaults(), **params}, owner=f"strategy {self.name!r}")
        return Genome(strategy=self.name, params=checked)


class Strategies(Mapping[str, StrategySpec]):
    """The strategies an arena evolves, by name, in a fixed order: immutable, reproducible under a seed.

    Example: ``Strategies(my_spec)`` evolves one strategy; ``BUILTIN_STRATEGIES.with_strategy(my_spec)``
    evolves it beside the three built-ins.

    Raises:
        ValidationError: no spec is given, an argument is not a ``StrategySpec``, or two share a name.

    """

    __slots__ = ("_names", "_specs")

    def __init__(self, *specs: StrategySpec) -> None:
        by_name: dict[str, StrategySpec] = {}
        for spec in specs:
            if not isinstance(spec, StrategySpec):
                msg = (
                    f"Strategies: {spec!r} is not a StrategySpec; pass each one as its own argument, "
                    "Strategies(StrategySpec(...), ...)"
                )
                raise ValidationError(msg, field="specs", value=spec)
            if spec.name in by_name:
                msg = f"Strategies: two strategies are named {spec.name!r}; give each a unique name"
                raise ValidationError(msg, field="name", value=spec.name)
            by_name[spec.name] = spec
        if not by_name:
            msg = "Strategies: no strategy given; pass at least one StrategySpec, or use BUILTIN_STRATEGIES"
            raise ValidationError(msg, field="specs", value=())
        self._specs = MappingProxyType(by_name)
        self._names = tuple(by_name)

    def __getitem__(self, name: str) -> StrategySpec:
        return self._specs[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Strategies) and tuple(self._specs.items()) == tuple(other._specs.items())

    def __hash__(self) -> int:  # immutable, so hashable: a frozen config may hold one
        return hash(tuple(self._specs.items()))

    def __repr__(self) -> str:
        return f"Strategies({', '.join(self._names)})"

    def with_strategy(self, spec: StrategySpec) -> Strategies:
        """Return a registry with ``spec`` added at the end, or in place of the one of the same name."""
        if not isinstance(spec, StrategySpec):
            msg = f"Strategies.with_strategy: {spec!r} is not a StrategySpec; pass StrategySpec(...)"
            raise ValidationError(msg, field="spec", value=spec)
        specs = dict(self._specs)
        specs[spec.name] = spec
        return Strategies(*specs.values())

    def spec(self, name: object) -> StrategySpec:
        """Return the spec named ``name``.

        Raises:
            ValidationError: the registry has no such strategy; the message lists the ones it has.

        """
        found = self._specs.get(name) if isinstance(name, str) else None
        if found is None:
            msg = (
                f"strategy {name!r} is not in this arena's strategies ({', '.join(self._names)}); "
                "spawn one of those, or open the arena with strategies= that include it"
            )
            raise ValidationError(msg, field="strategy", value=name)
        return found

    def check(self, genome: Genome) -> Genome:
        """Return ``genome`` with its parameters as its strategy's space holds them.

        Raises:
            ValidationError: ``genome`` is not a ``Genome``, its strategy is unknown, or its parameters do
                not fit the space.

        """
        if not isinstance(genome, Genome):
            msg = f"genome: {genome!r} is not a Genome; pass Genome(strategy=..., params={{...}})"
            raise ValidationError(msg, field="genome", value=genome)
        spec = self.spec(genome.strategy)
        params = spec.space.check(genome.params, owner=f"strategy {spec.name!r}")
        if spec.name == genome.strategy and _same_params(params, genome.params):
            return genome  # already as the space holds it: a spawn checks each genome twice, keep one copy
        return Genome(strategy=spec.name, params=params)

    def parse(self, data: Mapping[str, object]) -> Genome:
        """Rebuild and check a genome from ``Genome.to_json_dict`` output (as ``AgentSpawned`` holds it).

        A flat genome of the earlier format (``{"family": name, <parameter>: value, ...}``) is read as the
        strategy ``family`` with the parameters its space declares, so older logs stay evolvable.

        Raises:
            ValidationError: the dict is not a genome, or the genome does not fit this registry.

        """
        if isinstance(data, Mapping) and "strategy" not in data and "family" in data:
            spec = self.spec(data["family"])
            data = {"strategy": spec.name, "params": {k: v for k, v in data.items() if k in spec.space.names}}
        return self.check(Genome.from_json_dict(data))

    def build(self, genome: Genome) -> Strategy:
        """Check ``genome`` and build a fresh strategy for it with its spec's factory.

        Raises:
            ValidationError: the genome does not fit this registry, or the factory built something
                without an ``on_bar`` method.

        """
        checked = self.check(genome)
        spec = self._specs[checked.strategy]
        strategy = spec.factory(checked.params)
        if not callable(getattr(strategy, "on_bar", None)):
            msg = (
                f"strategy {spec.name!r}: its factory returned {strategy!r}, which has no on_bar method; "
                "return an object with on_bar(bar, portfolio)"
            )
            raise ValidationError(msg, field="factory", value=strategy)
        return strategy

    def random_genome(self, rng: random.Random) -> Genome:
        """Draw a strategy uniformly, then each of its parameters uniformly, using only ``rng``."""
        spec = self._specs[rng.choice(self._names)]
        return Genome(strategy=spec.name, params=spec.space.sample(rng))

    def mutate(
        self,
        genome: Genome,
        rng: random.Random,
        *,
        sigma: float = 0.15,
        switch_probability: float = 0.05,
    ) -> tuple[Genome, Changes]:
        """Return a perturbed child and what changed (``Changes``), for an ``AgentMutated`` event.

        Every parameter mutates within its space (``Param.scale``), orderings are repaired, and with
        probability ``switch_probability`` the child switches to another strategy, chosen uniformly, with
        freshly drawn parameters. The calls on ``rng`` depend only on the parent's space and the registry:
        the fresh parameters come from a seed drawn whether or not it is used, so a switch does not shift
        later draws.

        Raises:
            ValidationError: ``sigma`` is negative or not finite, ``switch_probability`` is outside [0, 1],
                or the genome does not fit this registry.

        """
        if not (_is_number(sigma) and math.isfinite(sigma) and sigma >= 0):
            msg = f"mutation: sigma must be a finite number >= 0, got {sigma!r}; pass e.g. 0.15"
            raise ValidationError(msg, field="sigma", value=sigma)
        if not (_is_number(switch_probability) and 0.0 <= switch_probability <= 1.0):
            msg = (
                f"mutation: switch_probability must be between 0 and 1, got {switch_probability!r}; "
                "pass e.g. 0.05"
            )
            raise ValidationError(msg, field="switch_probability", value=switch_probability)
        parent = self.check(genome)
        space = self._specs[parent.strategy].space
        child = Genome(strategy=parent.strategy, params=space.mutate(parent.params, rng, sigma=sigma))
        switch = rng.random() < switch_probability
        others = [name for name in self._names if name != parent.strategy]
        other = rng.choice(others) if others else None  # drawn whether or not it is used
        fresh = random.Random(rng.getrandbits(64))  # noqa: S311  (simulation, not secrets)
        if switch and other is not None:
            child = Genome(strategy=other, params=self._specs[other].space.sample(fresh))
        return child, _changes(parent, child)


def _same_params(checked: Mapping[str, ParamValue], given: Mapping[str, ParamValue]) -> bool:
    """Whether ``given`` holds exactly ``checked``: same names in the same order, same types and values."""
    return len(checked) == len(given) and all(
        name == other and type(value) is type(given[other]) and value == given[other]
        for (name, value), other in zip(checked.items(), given, strict=True)
    )


def _changes(parent: Genome, child: Genome) -> Changes:
    changes: Changes = {}
    if child.strategy != parent.strategy:
        changes[_RESERVED] = [parent.strategy, child.strategy]
    for name in (*parent.params, *(n for n in child.params if n not in parent.params)):
        old, new = parent.params.get(name), child.params.get(name)
        if (type(old), old) != (type(new), new):
            changes[name] = [old, new]
    return changes
