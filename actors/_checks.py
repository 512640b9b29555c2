"""Checks of the ``Arena`` API's arguments, run in the caller's thread before any message is sent.

A malformed argument is the caller's bug, so it gets a ``ValidationError`` naming the argument, the bad
value and the fix (never an internal exception from deep inside an actor), and the arena never sees it.
Amounts go through ``money``: exact decimals only, floats refused rather than rounded.

Every int argument, whatever its own lower bound, lies within ``INT_MIN`` to ``INT_MAX``: SQLite's signed
64-bit INTEGER. A seed, a count or a size past it means nothing here, and would surface far from the call
as an ``OverflowError`` (bound into SQL, or into a ``timedelta``) instead of as the caller's bug.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Final

from events import MAX_MONEY, REASON_LIMIT, Tier, ValidationError, money
from trading import AgentMetrics, Bar, BrokerConfig, EvolutionPolicy, Genome, Order

__all__ = [
    "INT_MAX",
    "INT_MIN",
    "agent_id_arg",
    "allocations_arg",
    "amount_arg",
    "bars_arg",
    "broker_arg",
    "event_types_arg",
    "float_arg",
    "genome_arg",
    "int_arg",
    "marks_arg",
    "metrics_arg",
    "orders_arg",
    "policy_arg",
    "reason_arg",
    "shown",
    "span",
    "tier_arg",
]

INT_MIN: Final = -(2**63)
"""The smallest int any argument may be: SQLite's smallest INTEGER."""

INT_MAX: Final = 2**63 - 1
"""The largest int any argument may be: SQLite's largest INTEGER."""

_SHOWN_LIMIT: Final = 60  # characters of a bad value quoted in a message
_SHOWN_BITS: Final = 128  # a longer int is named by its size: repr() refuses ints past 4300 digits


def agent_id_arg(value: object, field: str = "agent_id") -> str:
    """Return ``value`` if it can be an agent id (a non-empty string)."""
    if not isinstance(value, str) or not value:
        msg = f"{field}: {value!r} is not an agent id; pass the string that spawn_agent returned"
        raise ValidationError(msg, field=field, value=value)
    return value


def amount_arg(value: object, field: str) -> Decimal:
    """Return ``value`` as an exact positive amount (see ``events.money``)."""
    return money(value, field=field, allow_zero=False)


def allocations_arg(allocations: object) -> tuple[tuple[str, Decimal], ...]:
    """Return a mapping of agent id to amount as ``(id, amount)`` pairs, every amount exact and positive."""
    if not isinstance(allocations, Mapping) or not allocations:
        msg = (
            f"allocations: {allocations!r} is not a non-empty mapping; pass {{agent_id: Decimal amount}}, "
            "e.g. {'a-000001': Decimal('100')}"
        )
        raise ValidationError(msg, field="allocations", value=allocations)
    pairs = tuple(
        (agent_id_arg(agent_id, "allocations"), amount_arg(amount, f"allocations[{agent_id!r}]"))
        for agent_id, amount in allocations.items()
    )
    total = sum((amount for _, amount in pairs), Decimal(0))
    if total > MAX_MONEY:
        msg = (
            f"allocations: the amounts add up to {total}, above the largest amount {MAX_MONEY}; allocate less"
        )
        raise ValidationError(msg, field="allocations", value=total)
    return pairs


def marks_arg(marks: object, field: str = "marks") -> tuple[tuple[str, Decimal], ...] | None:
    """Return prices per symbol as ``(symbol, price)`` pairs, every price exact and positive, or None."""
    if marks is None:
        return None
    if not isinstance(marks, Mapping):
        msg = f"{field}: {marks!r} is not a mapping; pass {{symbol: Decimal price}}"
        raise ValidationError(msg, field=field, value=marks)
    return tuple(
        (_symbol(symbol, field), amount_arg(price, f"{field}[{symbol!r}]")) for symbol, price in marks.items()
    )


def orders_arg(orders: object) -> tuple[tuple[str, Order], ...]:
    """Return ``(agent_id, Order)`` pairs, refusing anything else."""
    if not isinstance(orders, Iterable) or isinstance(orders, str | bytes | Mapping):
        msg = f"orders: {orders!r} is not a sequence; pass [(agent_id, Order), ...]"
        raise ValidationError(msg, field="orders", value=orders)
    pairs: list[tuple[str, Order]] = []
    for item in orders:
        if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], Order)):  # noqa: PLR2004  (a pair has two items)
            msg = f"orders: {item!r} is not an (agent_id, Order) pair; pass [(agent_id, Order), ...]"
            raise ValidationError(msg, field="orders", value=item)
        agent_id = agent_id_arg(item[0], "orders")
        money(item[1].quantity, field=f"orders[{agent_id!r}].quantity", allow_zero=False)
        pairs.append((agent_id, item[1]))
    return tuple(pairs)


def bars_arg(bars: object) -> tuple[Bar, ...]:
    """Return ``bars`` as a tuple of ``Bar``, refusing anything else (agents read them on other threads)."""
    if not isinstance(bars, Iterable) or isinstance(bars, str | bytes | Mapping):
        msg = f"bars: {bars!r} is not a sequence; pass the step's bars, e.g. a tuple of trading.Bar"
        raise ValidationError(msg, field="bars", value=bars)
    checked = tuple(bars)
    for bar in checked:
        if not isinstance(bar, Bar):
            msg = f"bars: {bar!r} is not a trading.Bar; pass only Bar values (one per symbol of the step)"
            raise ValidationError(msg, field="bars", value=bar)
    return checked


def genome_arg(genome: object) -> Genome | None:
    """Return ``genome`` if it is a ``Genome`` or None."""
    if genome is not None and not isinstance(genome, Genome):
        msg = (
            f"genome: {genome!r} is not a Genome; pass Genome(strategy=..., params={{...}}), "
            "StrategySpec.genome(...), or None to draw a random one"
        )
        raise ValidationError(msg, field="genome", value=genome)
    return genome


def tier_arg(tier: object) -> Tier:
    """Return ``tier`` as a ``Tier``."""
    try:
        return Tier(tier)  # type: ignore[arg-type]  # any value: Tier refuses what it does not know
    except ValueError:
        allowed = ", ".join(t.value for t in Tier)
        msg = f"tier: {tier!r} is not a tier; pass one of: {allowed}"
        raise ValidationError(msg, field="tier", value=tier) from None


def reason_arg(reason: object) -> str:
    """Return ``reason`` if it is a non-empty string of at most 1000 characters."""
    if not isinstance(reason, str) or not reason.strip() or len(reason) > REASON_LIMIT:
        msg = (
            f"reason: {reason!r} is not a reason; pass a non-empty text of at most {REASON_LIMIT} characters"
        )
        raise ValidationError(msg, field="reason", value=reason)
    return reason


def policy_arg(policy: object) -> EvolutionPolicy:
    """Return ``policy`` if it is an ``EvolutionPolicy``."""
    if not isinstance(policy, EvolutionPolicy):
        msg = f"policy: {policy!r} is not an EvolutionPolicy; pass EvolutionPolicy(...) or one from_file"
        raise ValidationError(msg, field="policy", value=policy)
    return policy


def broker_arg(broker: object) -> BrokerConfig | None:
    """Return ``broker`` if it is a ``BrokerConfig`` or None (the default broker)."""
    if broker is not None and not isinstance(broker, BrokerConfig):
        msg = f"broker: {broker!r} is not a BrokerConfig; pass BrokerConfig(...) or None for the default"
        raise ValidationError(msg, field="broker", value=broker)
    return broker


def int_arg(
    value: object, field: str, *, minimum: int = INT_MIN, maximum: int = INT_MAX, optional: bool = False
) -> int | None:
    """Return ``value`` if it is an int (not a bool) from ``minimum`` to ``maximum``; None if ``optional``.

    Raises:
        ValidationError: ``value`` is no int, or out of range; the message states the range.

    """
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        bounds = span(minimum, maximum)
        msg = f"{field}: {shown(value)} is not an int {bounds}; pass one in that range"
        raise ValidationError(msg, field=field, value=value)
    return value


def span(minimum: int, maximum: int) -> str:
    """Return the range ``minimum`` to ``maximum`` in words, the 64-bit limits as powers of two."""
    names = {INT_MIN: "-2**63", INT_MAX: "2**63 - 1"}
    return f"from {names.get(minimum, str(minimum))} to {names.get(maximum, str(maximum))}"


def shown(value: object) -> str:
    """Return ``repr(value)`` for a message, cut short when long: it names the value, need not hold it."""
    if isinstance(value, int) and value.bit_length() > _SHOWN_BITS:
        return f"an int of {value.bit_length()} bits"
    text = repr(value)
    return text if len(text) <= _SHOWN_LIMIT else f"{text[: _SHOWN_LIMIT - 10]}... ({len(text)} characters)"


def float_arg(value: object, field: str, *, minimum: float = 0.0) -> float:
    """Return ``value`` as a float if it is a finite real number at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        msg = f"{field}: {value!r} is not a finite number; pass e.g. 0.05"
        raise ValidationError(msg, field=field, value=value)
    if value < minimum:
        msg = f"{field}: {value!r} is below {minimum}; pass a number >= {minimum}"
        raise ValidationError(msg, field=field, value=value)
    return float(value)


def event_types_arg(event_types: object) -> tuple[str, ...] | None:
    """Return event tags as a tuple, refusing a lone string (a common slip for ``[tag]``)."""
    if event_types is None:
        return None
    if isinstance(event_types, str) or not isinstance(event_types, Iterable):
        msg = f"event_types: {event_types!r} is not a collection of tags; pass e.g. ['CapitalAllocated']"
        raise ValidationError(msg, field="event_types", value=event_types)
    return tuple(event_types)


def metrics_arg(metrics: object) -> tuple[tuple[str, AgentMetrics], ...] | None:
    """Return caller-given metrics as ``(agent_id, AgentMetrics)`` pairs, or None to gather them."""
    if metrics is None:
        return None
    if not isinstance(metrics, Mapping) or not all(isinstance(m, AgentMetrics) for m in metrics.values()):
        msg = f"metrics: {metrics!r} is not a mapping of agent id to AgentMetrics; pass one, or None"
        raise ValidationError(msg, field="metrics", value=metrics)
    return tuple((agent_id_arg(agent_id, "metrics"), m) for agent_id, m in metrics.items())


def _symbol(symbol: object, field: str) -> str:
    if not isinstance(symbol, str) or not symbol:
        msg = f"{field}: {symbol!r} is not a symbol; pass non-empty strings such as 'BTC-USD'"
        raise ValidationError(msg, field=field, value=symbol)
    return symbol
