"""Hypothesis strategies shared by the tests: one per event type, and valid event logs.

Add a strategy here with every new event type: ``tests/events/test_codec.py`` checks that each
registered event class has one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING, Any

from hypothesis import strategies as st

from events import (
    MAX_MONEY,
    MONEY_SCALE,
    AgentDemoted,
    AgentEmigrated,
    AgentFailed,
    AgentGraduated,
    AgentImmigrated,
    AgentKilled,
    AgentMutated,
    AgentSpawned,
    AllocationRejected,
    ArenaOpened,
    CapitalAllocated,
    CapitalConservationCheck,
    CapitalReleased,
    Event,
    EvolutionCycleComplete,
    EvolutionCycleStarted,
    LogBuilder,
    MarksRecorded,
    SimulationStarted,
    Tier,
    TradeExecuted,
    TradeRejected,
    trade_cash_delta,
    value_at,
)

if TYPE_CHECKING:
    from events import Side

__all__ = ["EVENT_STRATEGIES", "amounts", "any_event", "valid_event_logs"]

_MINOR = 10**MONEY_SCALE
_MAX_MINOR = int(MAX_MONEY) * _MINOR


def amounts(*, min_minor: int = 0, max_minor: int = _MAX_MINOR) -> st.SearchStrategy[Decimal]:
    """Exact amounts at 8 places, biased towards the extremes (1 minor unit, the maximum)."""
    return st.integers(min_value=min_minor, max_value=max_minor).map(
        lambda units: Decimal(units).scaleb(-MONEY_SCALE)
    )


texts = st.text(min_size=1, max_size=20)  # non-ASCII included: canonical JSON must keep it exact
ids = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=16)
timestamps = st.datetimes(
    min_value=datetime(1970, 1, 2),  # noqa: DTZ001  (hypothesis wants naive bounds; timezones below)
    max_value=datetime(9998, 12, 30),  # noqa: DTZ001  (hypothesis bounds are naive; the strategy adds UTC)
    timezones=st.sampled_from([UTC, None]).map(lambda tz: tz or UTC),
)
json_scalars = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=10)
json_values = st.recursive(
    json_scalars | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
json_objects = st.dictionaries(st.text(max_size=8), json_values, max_size=4)


def _envelope(**payload: Any) -> dict[str, Any]:
    base = {
        "seq": st.integers(min_value=1, max_value=2**62),
        "event_id": st.uuids(),
        "timestamp": timestamps,
        "caused_by": st.none() | st.uuids(),
    }
    return {**base, **payload}


def _trade() -> st.SearchStrategy[TradeExecuted]:
    @st.composite
    def build(draw: st.DrawFn) -> TradeExecuted:
        side = draw(st.sampled_from(["buy", "sell"]))
        quantity = draw(amounts(min_minor=1, max_minor=10**6 * _MINOR))
        price = draw(amounts(min_minor=1, max_minor=10**3 * _MINOR))
        fee = draw(amounts(max_minor=10 * _MINOR))
        notional = value_at(quantity, price)
        # A buy's cost is its notional; a sale's is whatever the holding's average cost was, gain or loss.
        cost = notional if side == "buy" else draw(amounts(max_minor=2 * 10**9 * _MINOR))
        return TradeExecuted(
            seq=draw(st.integers(min_value=1, max_value=2**62)),
            event_id=draw(st.uuids()),
            timestamp=draw(timestamps),
            agent_id=draw(ids),
            symbol=draw(ids),
            side=side,
            quantity=quantity,
            price=price,
            market_price=draw(st.just(price) | amounts(min_minor=1, max_minor=10**3 * _MINOR)),
            fee=fee,
            cash_delta=trade_cash_delta(side, quantity, price, fee),
            cost=cost,
            realized_pnl=notional - cost if side == "sell" else Decimal(0),
        )

    return build()


def _conservation() -> st.SearchStrategy[CapitalConservationCheck]:
    @st.composite
    def build(draw: st.DrawFn) -> CapitalConservationCheck:
        """Books that balance (``ok``) or, half the time, figures drawn apart (``ok`` says whether)."""
        free = draw(amounts(max_minor=_MAX_MINOR // 2))
        allocated = draw(amounts(max_minor=_MAX_MINOR // 2))
        fees = draw(amounts(max_minor=_MAX_MINOR // 4))
        realized = draw(amounts(max_minor=_MAX_MINOR // 4)) * draw(st.sampled_from([1, -1]))
        total = free + allocated
        funding = total - realized + fees
        if draw(st.booleans()):
            total, funding = draw(st.just(total) | amounts()), draw(st.just(funding) | amounts())
        return CapitalConservationCheck(
            seq=draw(st.integers(min_value=1, max_value=2**62)),
            event_id=draw(st.uuids()),
            timestamp=draw(timestamps),
            total=total,
            free=free,
            allocated=allocated,
            funding=funding,
            realized_pnl=realized,
            fees=fees,
            ok=free + allocated == total == funding + realized - fees,
        )

    return build()


def _mutated() -> st.SearchStrategy[AgentMutated]:
    @st.composite
    def build(draw: st.DrawFn) -> AgentMutated:
        parent, child = draw(st.lists(ids, min_size=2, max_size=2, unique=True))
        return AgentMutated(
            seq=draw(st.integers(min_value=1, max_value=2**62)),
            event_id=draw(st.uuids()),
            timestamp=draw(timestamps),
            agent_id=child,
            parent_id=parent,
            child_id=child,
            parent_event_id=draw(st.uuids()),
            mutation=draw(json_objects),
        )

    return build()


# fitness crosses logs as the repr of a finite float: exact decimal text
fitness_texts = st.floats(allow_nan=False, allow_infinity=False).map(repr)
hashes = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)

_promotions = st.sampled_from([(Tier.SIMULATION, Tier.PROVING), (Tier.PROVING, Tier.ARENA)])
_demotions = st.sampled_from([(Tier.ARENA, Tier.PROVING), (Tier.PROVING, Tier.SIMULATION)])

EVENT_STRATEGIES: dict[type[Event], st.SearchStrategy[Any]] = {
    ArenaOpened: st.builds(
        ArenaOpened, **_envelope(arena_id=ids, total_capital=amounts(min_minor=1), config=json_objects)
    ),
    AgentSpawned: st.builds(
        AgentSpawned,
        **_envelope(agent_id=ids, tier=st.sampled_from(Tier), genome=json_objects, parent_id=st.none() | ids),
    ),
    AgentKilled: st.builds(
        AgentKilled,
        **_envelope(agent_id=ids, reason=texts, capital_released=amounts(), evidence=json_objects),
    ),
    CapitalAllocated: st.builds(CapitalAllocated, **_envelope(agent_id=ids, amount=amounts(min_minor=1))),
    CapitalReleased: st.builds(CapitalReleased, **_envelope(agent_id=ids, amount=amounts(min_minor=1))),
    AgentGraduated: _promotions.flatmap(
        lambda pair: st.builds(
            AgentGraduated,
            **_envelope(
                agent_id=ids,
                from_tier=st.just(pair[0]),
                to_tier=st.just(pair[1]),
                reason=texts,
                evidence=json_objects,
            ),
        )
    ),
    AgentDemoted: _demotions.flatmap(
        lambda pair: st.builds(
            AgentDemoted,
            **_envelope(
                agent_id=ids,
                from_tier=st.just(pair[0]),
                to_tier=st.just(pair[1]),
                reason=texts,
                evidence=json_objects,
            ),
        )
    ),
    AgentFailed: st.builds(
        AgentFailed,
        **_envelope(
            agent_id=ids,
            error_type=texts,
            message=st.text(),
            action=st.sampled_from(["killed", "restarted", "halted"]),
        ),
    ),
    AgentMutated: _mutated(),
    EvolutionCycleStarted: st.builds(
        EvolutionCycleStarted, **_envelope(cycle=st.integers(1, 10**6), policy=json_objects)
    ),
    SimulationStarted: st.builds(SimulationStarted, **_envelope(manifest=json_objects)),
    EvolutionCycleComplete: st.builds(
        EvolutionCycleComplete,
        **_envelope(
            cycle=st.integers(1, 10**6),
            killed=st.integers(0, 1000),
            graduated=st.integers(0, 1000),
            mutated=st.integers(0, 1000),
            reallocated=st.integers(0, 1000),
            fitness=json_objects,
        ),
    ),
    CapitalConservationCheck: _conservation(),
    AllocationRejected: st.builds(
        AllocationRejected,
        **_envelope(
            agent_id=st.none() | ids, requested=amounts(min_minor=1), available=amounts(), reason=texts
        ),
    ),
    AgentEmigrated: st.builds(
        AgentEmigrated,
        **_envelope(
            agent_id=ids,
            genome=json_objects,
            fitness=fitness_texts,
            rank=st.integers(1, 1000),
            destination=ids,
            barrier=st.integers(1, 10**6),
        ),
    ),
    AgentImmigrated: st.builds(
        AgentImmigrated,
        **_envelope(
            agent_id=ids,
            source=ids,
            source_seq=st.integers(1, 2**62),
            source_hash=hashes,
            source_agent_id=ids,
            genome=json_objects,
            fitness=fitness_texts,
            barrier=st.integers(1, 10**6),
        ),
    ),
    TradeExecuted: _trade(),
    MarksRecorded: st.builds(
        MarksRecorded,
        **_envelope(
            marks=st.dictionaries(ids, amounts(min_minor=1, max_minor=10**6 * _MINOR), min_size=1, max_size=4)
        ),
    ),
    TradeRejected: st.builds(
        TradeRejected,
        **_envelope(
            agent_id=ids,
            symbol=ids,
            side=st.sampled_from(["buy", "sell"]),
            quantity=amounts(min_minor=1),
            reason=texts,
        ),
    ),
}

any_event: st.SearchStrategy[Event] = st.one_of(*EVENT_STRATEGIES.values())


SYMBOLS = ("XYZ", "ABC")
"""What ``valid_event_logs`` trades: two symbols, so holdings, marks and market accounts are per symbol."""


@st.composite
def valid_event_logs(draw: st.DrawFn, *, max_steps: int = 40) -> list[Event]:
    """A gapless, state-consistent log starting with ``ArenaOpened``: what a real arena could write.

    Each step picks an operation that is legal in the state so far (``LogBuilder`` folds every event with
    the same ``Fold`` the runtime uses), so the log exercises allocation, release, buys and partial or
    whole sales of two symbols (average cost, gains and losses, fees), marks, kills of agents that still
    hold units (their holdings sold first), graduation, mutation and cycles. Ids come from a drawn seed:
    distinct however hypothesis shrinks it.
    """
    log = LogBuilder(draw(st.integers(0, 2**64 - 1)), start=draw(timestamps.filter(lambda t: t.year < 9000)))
    log.open(draw(amounts(min_minor=_MINOR, max_minor=_MAX_MINOR // 100)), arena_id="arena-test")
    for _ in range(draw(st.integers(0, max_steps))):
        alive = sorted(log.alive())
        choice = draw(
            st.sampled_from(
                [
                    "spawn",
                    "allocate",
                    "release",
                    "trade",
                    "trade",
                    "trade",
                    "mark",
                    "kill",
                    "graduate",
                    "mutate",
                    "cycle",
                    "check",
                ]
            )
        )
        if choice == "cycle":
            log.complete_cycle(caused_by=log.start_cycle())
            continue
        if choice == "check":
            log.check()
            continue
        if choice == "mark":
            symbols = draw(st.lists(st.sampled_from(SYMBOLS), min_size=1, max_size=2, unique=True))
            log.mark({symbol: draw(_prices) for symbol in symbols})
            continue
        if choice == "spawn" or not alive:
            spawned = log.spawn(f"a{len(log.agent_ids()) + 1}", genome={"family": "x"})
            if log.treasury >= 4 and draw(st.booleans()):  # an agent trades only once it holds cash
                funding = draw(amounts(min_minor=2 * _MINOR, max_minor=int(log.treasury * _MINOR) // 2))
                log.allocate(spawned.agent_id, funding, caused_by=spawned)
            continue
        funded = [a for a in alive if log.allocation(a) > 1]
        pool = funded if choice in {"release", "trade"} and funded else alive
        agent = draw(st.sampled_from(pool))
        cash = log.allocation(agent)
        if choice == "allocate" and log.treasury > 0:
            amount = draw(amounts(min_minor=1, max_minor=int(log.treasury * _MINOR)))
            log.allocate(agent, amount, caused_by=log.spawn_of(agent))
        elif choice == "release" and cash > 0:
            log.release(agent, draw(amounts(min_minor=1, max_minor=int(cash * _MINOR))))
        elif choice == "trade" and cash > 1:
            _trade_step(draw, log, agent)
        elif choice == "kill":
            log.kill(agent, reason="test", price=draw(_prices))
        elif choice == "graduate" and log.tier(agent) != Tier.ARENA:
            log.graduate(agent)
        elif choice == "mutate":
            log.mutate(agent, f"a{len(log.agent_ids()) + 1}", mutation={"x": [1, 2]})
    return log.events


_prices = amounts(min_minor=_MINOR // 100, max_minor=1000 * _MINOR)
"""Prices from 0.01 to 1000, so that fills realize gains and losses against what holdings cost."""


def _trade_step(draw: st.DrawFn, log: LogBuilder, agent: str) -> None:
    """Buy with up to half the agent's cash, or sell some or all it holds; skip what its cash cannot pay."""
    symbol = draw(st.sampled_from(SYMBOLS))
    cash = log.allocation(agent)
    price = draw(_prices)
    held = log.holding(agent, symbol)
    side: Side = "sell" if held > 0 and draw(st.booleans()) else "buy"
    if side == "sell":
        quantity = draw(st.just(held) | amounts(min_minor=1, max_minor=int(held * _MINOR)))
    else:
        quantity = min(Decimal(10**6), cash / 2 / price).quantize(Decimal("1E-8"), rounding=ROUND_DOWN)
    fee = draw(st.sampled_from([Decimal(0), Decimal("0.01")]))
    slipped = draw(st.sampled_from([Decimal(0), Decimal("0.01")]))
    market_price = max(price - slipped, Decimal("0.01")) if side == "buy" else price + slipped
    if quantity > 0 and cash + trade_cash_delta(side, quantity, price, fee) >= 0:
        log.trade(agent, side, quantity, price, fee, symbol=symbol, market_price=market_price)
