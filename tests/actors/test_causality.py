"""Every derived event's ``caused_by`` is its real cause, and a cycle is one tree rooted at its start.

The rule (``actors/_cycle.py``): the cycle's decisions (kills, promotions, demotions), its marks, each
child's spawn, every reallocation and the completion are caused by ``EvolutionCycleStarted``; a kill's
liquidation fills and the release of their proceeds by that kill; a child's mutation by the child's own
spawn. Checked over random arenas (agents in random tiers, holding random positions, funded at random)
and random cycles, on the real supervisor, with the metrics given explicitly so the planner is the only
judge.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events import (
    AgentDemoted,
    AgentGraduated,
    AgentKilled,
    AgentMutated,
    AgentSpawned,
    CapitalAllocated,
    CapitalReleased,
    EvolutionCycleComplete,
    EvolutionCycleStarted,
    LogBuilder,
    MarksRecorded,
    Tier,
    TradeExecuted,
)
from tests.actors.support import assert_log_matches_state, open_arena
from trading import AgentMetrics, BrokerConfig, DemotionRules, EvolutionPolicy, Order

if TYPE_CHECKING:
    from collections.abc import Sequence

    from events import Event

SYMBOLS = ("XYZ", "ABC")
CAUSED_BY_THE_START = (
    MarksRecorded,
    AgentKilled,
    AgentGraduated,
    AgentDemoted,
    AgentSpawned,
    CapitalAllocated,
    EvolutionCycleComplete,
)

prices = st.decimals(min_value=Decimal("0.5"), max_value=Decimal(200), places=2)
fractions = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


@st.composite
def agent_metrics(draw: st.DrawFn) -> AgentMetrics:
    return AgentMetrics(
        total_return=draw(st.floats(min_value=-0.9, max_value=2.0)),
        sharpe=draw(st.floats(min_value=-3.0, max_value=3.0)),
        max_drawdown=draw(st.floats(min_value=0.0, max_value=1.0)),
        trade_count=draw(st.integers(0, 40)),
        win_rate=draw(fractions),
        bars=draw(st.integers(0, 200)),
        equity=Decimal(0),
    )


@st.composite
def policies(draw: st.DrawFn) -> EvolutionPolicy:
    return EvolutionPolicy(
        kill_fraction=draw(st.sampled_from([0.0, 0.2, 0.5])),
        elite_count=draw(st.integers(0, 2)),
        min_bars_in_tier=draw(st.integers(0, 50)),
        idle_bars=None,
        evidence_trades=0.0,
        population=draw(st.none() | st.integers(1, 8)),
        demote_from_arena=DemotionRules(max_drawdown=draw(st.sampled_from([0.1, 0.5])), min_fitness=0.0),
        demote_from_proving=DemotionRules(max_drawdown=draw(st.sampled_from([0.2, 0.6])), min_fitness=-1.0),
    )


@st.composite
def arenas(draw: st.DrawFn) -> dict[str, object]:
    """A plan for an arena: agents by tier, what each is funded with and buys, then the cycles to run."""
    tiers = draw(st.lists(st.sampled_from(Tier), min_size=1, max_size=6))
    return {
        "tiers": tiers,
        "funding": [draw(st.integers(0, 150)) for _ in tiers],
        "buys": [draw(st.lists(st.sampled_from(SYMBOLS), max_size=2, unique=True)) for _ in tiers],
        "marks": {symbol: draw(prices) for symbol in SYMBOLS},
        "cycles": draw(
            st.lists(st.tuples(policies(), st.integers(0, 2**32 - 1), prices), min_size=1, max_size=3)
        ),
    }


def check_cycle(log: Sequence[Event], started: EvolutionCycleStarted, completed_seq: int) -> None:
    """The cycle's events: each caused by what the rule names, and all reachable down from the start."""
    by_id = {event.event_id: event for event in log}
    members = [event for event in log if started.seq < event.seq <= completed_seq]
    assert started.caused_by is None
    for event in members:
        cause = by_id[event.caused_by] if event.caused_by is not None else None
        assert cause is not None, f"seq {event.seq} ({event.event_type}) has no cause"
        assert cause.seq < event.seq
        match event:
            case TradeExecuted():
                assert isinstance(cause, AgentKilled)
                assert (cause.agent_id, event.side) == (event.agent_id, "sell")
            case CapitalReleased():  # the proceeds of a kill's sales, or a reallocation
                assert cause == started or (
                    isinstance(cause, AgentKilled) and cause.agent_id == event.agent_id
                )
            case AgentMutated():
                assert isinstance(cause, AgentSpawned)
                assert cause.agent_id == event.child_id
                assert by_id[event.parent_event_id].agent_id == event.parent_id
            case _:
                assert isinstance(event, CAUSED_BY_THE_START), event.event_type
                assert cause == started
    reached, frontier = set(), [started.event_id]
    children: dict[object, list[Event]] = {}
    for event in members:
        children.setdefault(event.caused_by, []).append(event)
    while frontier:
        for child in children.get(frontier.pop(), []):
            reached.add(child.event_id)
            frontier.append(child.event_id)
    assert reached == {event.event_id for event in members}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arenas(), st.data())
def test_every_event_of_every_cycle_is_caused_by_what_the_rule_names_and_reached_from_its_start(plan, data):
    with open_arena(total_capital=Decimal(1000)) as arena:
        ids = [arena.spawn_agent(tier=tier) for tier in plan["tiers"]]
        funded = {agent: Decimal(n) for agent, n in zip(ids, plan["funding"], strict=True) if n}
        if funded:
            arena.allocate_capital(funded)
        orders = [
            (agent, Order(symbol, "buy", Decimal(1)))
            for agent, symbols in zip(ids, plan["buys"], strict=True)
            for symbol in symbols
        ]
        arena.floor.execute_orders(orders, {s: Decimal(1) for s in SYMBOLS}, BrokerConfig())
        arena.floor.record_marks(plan["marks"])
        reports = []
        for policy, seed, price in plan["cycles"]:
            alive = [a.agent_id for a in arena.state().alive_agents()]
            metrics = {agent: data.draw(agent_metrics()) for agent in alive}
            marks = dict.fromkeys(SYMBOLS, price)
            reports.append(arena.run_evolution_cycle(policy, metrics=metrics, marks=marks, seed=seed))

        log = assert_log_matches_state(arena)
        state = arena.state()

    for report in reports:
        started = log[report.started_seq - 1]
        assert isinstance(started, EvolutionCycleStarted)
        check_cycle(log, started, report.completed_seq)
    for agent in state.agents.values():
        if not agent.alive:
            assert (agent.allocation, agent.positions) == (0, {})  # the dead end flat


def test_a_cycle_that_kills_a_holder_demotes_and_breeds_records_each_cause():
    """One cycle chosen by hand, so each kind of edge is surely present at least once."""
    policy = EvolutionPolicy(
        kill_fraction=0.5,
        elite_count=0,
        min_bars_in_tier=0,
        idle_bars=None,
        evidence_trades=0.0,
        demote_from_arena=DemotionRules(max_drawdown=0.1, min_fitness=None),
    )
    with open_arena(total_capital=Decimal(1000)) as arena:
        weak, strong, falling = (arena.spawn_agent(tier=tier) for tier in ("simulation", "proving", "arena"))
        arena.allocate_capital({weak: Decimal(100), strong: Decimal(100), falling: Decimal(100)})
        arena.floor.execute_orders([(weak, Order("XYZ", "buy", Decimal(2)))], {"XYZ": Decimal(10)})
        metrics = {
            weak: AgentMetrics(
                total_return=-0.5,
                sharpe=-2.0,
                max_drawdown=0.05,
                trade_count=9,
                win_rate=0.1,
                bars=50,
                equity=Decimal(0),
            ),
            strong: AgentMetrics(
                total_return=0.5,
                sharpe=2.0,
                max_drawdown=0.05,
                trade_count=9,
                win_rate=0.9,
                bars=50,
                equity=Decimal(0),
            ),
            falling: AgentMetrics(
                total_return=0.1,
                sharpe=1.5,
                max_drawdown=0.4,
                trade_count=9,
                win_rate=0.5,
                bars=50,
                equity=Decimal(0),
            ),
        }

        report = arena.run_evolution_cycle(policy, metrics=metrics, marks={"XYZ": Decimal(11)}, seed=7)
        log = assert_log_matches_state(arena)

    started = log[report.started_seq - 1]
    assert isinstance(started, EvolutionCycleStarted)
    check_cycle(log, started, report.completed_seq)
    members = log[report.started_seq : report.completed_seq]
    kinds = {type(event) for event in members}
    assert {AgentKilled, TradeExecuted, AgentSpawned, AgentMutated, EvolutionCycleComplete} <= kinds
    assert weak in report.killed
    assert (falling, Tier.PROVING) in report.demoted
    demoted = next(e for e in members if isinstance(e, AgentDemoted))
    assert demoted.reason
    assert demoted.evidence


def build(log: LogBuilder, steps: Sequence[str]) -> None:
    """Three funded agents, then each step on a live agent drawn from the log's own rng."""
    opened = log.open("10000")
    for n in range(3):
        log.allocate(log.spawn(f"a{n}", caused_by=opened).agent_id, "1000")
    log.mark({"XYZ": "10"})
    for fresh, step in enumerate(steps, start=3):
        alive = log.alive()
        if not alive:
            return
        agent = alive[log.rng.randrange(len(alive))]
        if step == "kill":
            log.kill(agent)
        elif step == "graduate" and log.tier(agent) is not Tier.ARENA:
            log.graduate(agent, reason="test")
        elif step == "demote" and log.tier(agent) is not Tier.SIMULATION:
            log.demote(agent, reason="test")
        elif step == "mutate":
            log.mutate(agent, f"a{fresh}")
        elif step == "trade" and log.allocation(agent) > 25:  # 2 at 10 and a fee
            log.trade(agent, "buy", "2", "10")


@given(
    st.lists(st.sampled_from(["kill", "graduate", "demote", "mutate", "trade"]), max_size=30),
    st.integers(0, 999),
)
def test_a_built_log_puts_every_kill_before_its_liquidation_and_every_cause_before_its_effect(steps, seed):
    log = LogBuilder(seed=seed)

    build(log, steps)

    by_id = {event.event_id: event for event in log.events}
    for event in log.events:
        if event.caused_by is not None:
            assert by_id[event.caused_by].seq < event.seq
        if isinstance(event, TradeExecuted) and event.side == "sell":
            cause = by_id[event.caused_by]
            assert isinstance(cause, AgentKilled)
            assert cause.agent_id == event.agent_id
    for agent in log.fold.agents.values():
        if not agent.alive:
            assert (agent.allocation, agent.positions) == (0, {})
