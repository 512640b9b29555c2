"""Hypothesis strategies shared by the tests: one per event type, and valid event logs.

Add a strategy here with every new event type: ``tests/events/test_codec.py`` checks that each
registered event class has one.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from hypothesis import strategies as st

from events import (
    MAX_MONEY,
    MONEY_SCALE,
    AgentFailed,
    AgentGraduated,
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
    Fold,
    Tier,
    TradeExecuted,
    TradeRejected,
    trade_cash_delta,
)

if TYPE_CHECKING:
    from collections.abc import Callable

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
    max_value=datetime(9998, 12, 30),  # noqa: DTZ001
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
        return TradeExecuted(
            seq=draw(st.integers(min_value=1, max_value=2**62)),
            event_id=draw(st.uuids()),
            timestamp=draw(timestamps),
            agent_id=draw(ids),
            symbol=draw(ids),
            side=side,
            quantity=quantity,
            price=price,
            fee=fee,
            cash_delta=trade_cash_delta(side, quantity, price, fee),
        )

    return build()


def _conservation() -> st.SearchStrategy[CapitalConservationCheck]:
    @st.composite
    def build(draw: st.DrawFn) -> CapitalConservationCheck:
        free = draw(amounts(max_minor=_MAX_MINOR // 2))
        allocated = draw(amounts(max_minor=_MAX_MINOR // 2))
        total = draw(st.just(free + allocated) | amounts())
        return CapitalConservationCheck(
            seq=draw(st.integers(min_value=1, max_value=2**62)),
            event_id=draw(st.uuids()),
            timestamp=draw(timestamps),
            total=total,
            free=free,
            allocated=allocated,
            ok=free + allocated == total,
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


_promotions = st.sampled_from([(Tier.SIMULATION, Tier.PROVING), (Tier.PROVING, Tier.ARENA)])

EVENT_STRATEGIES: dict[type[Event], st.SearchStrategy[Any]] = {
    ArenaOpened: st.builds(
        ArenaOpened, **_envelope(arena_id=ids, total_capital=amounts(min_minor=1), config=json_objects)
    ),
    AgentSpawned: st.builds(
        AgentSpawned,
        **_envelope(agent_id=ids, tier=st.sampled_from(Tier), genome=json_objects, parent_id=st.none() | ids),
    ),
    AgentKilled: st.builds(AgentKilled, **_envelope(agent_id=ids, reason=texts, capital_released=amounts())),
    CapitalAllocated: st.builds(CapitalAllocated, **_envelope(agent_id=ids, amount=amounts(min_minor=1))),
    CapitalReleased: st.builds(CapitalReleased, **_envelope(agent_id=ids, amount=amounts(min_minor=1))),
    AgentGraduated: _promotions.flatmap(
        lambda pair: st.builds(
            AgentGraduated, **_envelope(agent_id=ids, from_tier=st.just(pair[0]), to_tier=st.just(pair[1]))
        )
    ),
    AgentFailed: st.builds(
        AgentFailed,
        **_envelope(
            agent_id=ids, error_type=texts, message=st.text(), action=st.sampled_from(["killed", "restarted"])
        ),
    ),
    AgentMutated: _mutated(),
    EvolutionCycleStarted: st.builds(
        EvolutionCycleStarted, **_envelope(cycle=st.integers(1, 10**6), policy=json_objects)
    ),
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
    TradeExecuted: _trade(),
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


@st.composite
def valid_event_logs(draw: st.DrawFn, *, max_steps: int = 40) -> list[Event]:
    """A gapless, state-consistent log starting with ``ArenaOpened``: what a real arena could write.

    Each step picks an operation that is legal in the state so far (the same ``Fold`` the runtime uses
    checks it), so the log exercises allocation, release, trades, kills, graduation, mutation and cycles.
    """
    start = draw(timestamps.filter(lambda t: t.year < 9000))
    id_base = draw(st.integers(0, 2**80 - 1)) << 48  # + seq below: distinct ids however hypothesis shrinks
    fold = Fold()
    log: list[Event] = []

    def emit(factory: Callable[..., Event], **fields: Any) -> Event:
        seq = fold.seq + 1
        event = factory(
            seq=seq,
            event_id=uuid.UUID(int=id_base | seq, version=4),
            timestamp=start + timedelta(seconds=seq),
            **fields,
        )
        fold.apply(event)
        log.append(event)
        return event

    emit(
        ArenaOpened,
        arena_id="arena-test",
        total_capital=draw(amounts(min_minor=_MINOR, max_minor=_MAX_MINOR // 100)),
    )
    spawns: dict[str, Event] = {}
    for _ in range(draw(st.integers(0, max_steps))):
        alive = sorted(a for a, rec in fold.agents.items() if rec.record["alive"])
        choice = draw(
            st.sampled_from(
                ["spawn", "allocate", "release", "trade", "kill", "graduate", "mutate", "cycle", "check"]
            )
        )
        if choice == "spawn" or (not alive and choice != "cycle"):
            agent_id = f"a{len(fold.agents) + 1}"
            spawns[agent_id] = emit(
                AgentSpawned, agent_id=agent_id, tier=Tier.SIMULATION, genome={"family": "x"}
            )
            continue
        funded = [a for a in alive if fold.agents[a].record["allocation"] > 1]
        pool = funded if choice in {"release", "trade"} and funded else alive
        agent = draw(st.sampled_from(pool)) if pool else None
        record = fold.agent(agent) if agent else None
        if choice == "allocate" and agent and fold.treasury > 0:
            amount = draw(amounts(min_minor=1, max_minor=int(fold.treasury * _MINOR)))
            emit(CapitalAllocated, agent_id=agent, amount=amount, caused_by=spawns[agent].event_id)
        elif choice == "release" and agent and record and record["allocation"] > 0:
            amount = draw(amounts(min_minor=1, max_minor=int(record["allocation"] * _MINOR)))
            emit(CapitalReleased, agent_id=agent, amount=amount)
        elif choice == "trade" and agent and record and record["allocation"] > Decimal(1):
            price = draw(amounts(min_minor=_MINOR, max_minor=1000 * _MINOR))
            held = fold.positions(agent).get("XYZ", Decimal(0))
            side = "sell" if held > 0 and draw(st.booleans()) else "buy"
            wanted = held if side == "sell" else record["allocation"] / 2 / price
            quantity = min(Decimal(10**6), wanted).quantize(Decimal("1E-8"), rounding="ROUND_DOWN")
            if quantity > 0:
                fee = Decimal("0.01")
                delta = trade_cash_delta(side, quantity, price, fee)
                if record["allocation"] + delta >= 0:
                    emit(
                        TradeExecuted,
                        agent_id=agent,
                        symbol="XYZ",
                        side=side,
                        quantity=quantity,
                        price=price,
                        fee=fee,
                        cash_delta=delta,
                    )
        elif choice == "kill" and agent and record:
            emit(AgentKilled, agent_id=agent, reason="test", capital_released=record["allocation"])
        elif choice == "graduate" and agent and record and record["tier"] != Tier.ARENA:
            to = Tier.PROVING if record["tier"] == Tier.SIMULATION else Tier.ARENA
            emit(AgentGraduated, agent_id=agent, from_tier=record["tier"], to_tier=to)
        elif choice == "mutate" and agent:
            child = f"a{len(fold.agents) + 1}"
            spawns[child] = emit(
                AgentSpawned, agent_id=child, tier=Tier.SIMULATION, genome={}, parent_id=agent
            )
            emit(
                AgentMutated,
                agent_id=child,
                parent_id=agent,
                child_id=child,
                parent_event_id=spawns[agent].event_id,
                caused_by=spawns[agent].event_id,
                mutation={"x": [1, 2]},
            )
        elif choice == "cycle":
            started = emit(EvolutionCycleStarted, cycle=fold.cycle + 1)
            emit(
                EvolutionCycleComplete,
                cycle=fold.cycle,
                killed=0,
                graduated=0,
                mutated=0,
                caused_by=started.event_id,
            )
        elif choice == "check":
            allocated = sum((a.record["allocation"] for a in fold.agents.values()), Decimal(0))
            emit(
                CapitalConservationCheck,
                total=fold.total_capital,
                free=fold.treasury,
                allocated=allocated,
                ok=True,
            )
    return log
