from __future__ import annotations

import math
import random
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from events import (
    MONEY_SCALE,
    AgentDemoted,
    AgentGraduated,
    AgentKilled,
    AgentRecord,
    AgentSpawned,
    ArenaState,
    CapitalAllocated,
    CapitalReleased,
    EvolutionError,
    Tier,
    ValidationError,
)
from tests.strategies import amounts
from trading import (
    BUILTIN_STRATEGIES,
    AgentMetrics,
    CyclePlan,
    DemotionRules,
    EvolutionPolicy,
    Genome,
    TierWeights,
    fitness_of,
    plan_cycle,
    random_genome,
    shrinkage,
)

T0 = datetime(2024, 1, 1, tzinfo=UTC)
MINOR = 10**MONEY_SCALE
QUANTUM = Decimal(1).scaleb(-MONEY_SCALE)
seeds = st.integers(min_value=0, max_value=2**32 - 1)


def agent(agent_id, *, tier=Tier.SIMULATION, allocation="100", alive=True, genome=None):
    return AgentRecord(
        agent_id=agent_id,
        tier=tier,
        genome=(genome or BUILTIN_STRATEGIES["ma_crossover"].genome()).to_json_dict()
        if not isinstance(genome, dict)
        else genome,
        parent_id=None,
        generation=0,
        spawn_event_id=uuid.uuid5(uuid.NAMESPACE_OID, agent_id),
        spawned_seq=1,
        alive=alive,
        allocation=Decimal(allocation if alive else 0).quantize(QUANTUM),
    )


def arena(*agents, treasury="1000"):
    cash = Decimal(treasury).quantize(QUANTUM)
    held = sum((a.allocation for a in agents), Decimal(0))
    return ArenaState(
        arena_id="test", total_capital=cash + held, treasury=cash, agents={a.agent_id: a for a in agents}
    )


def perf(sharpe=1.0, *, total_return=0.1, bars=100, trades=5, max_drawdown=0.1, idle_bars=0):
    return AgentMetrics(
        total_return=total_return,
        sharpe=sharpe,
        max_drawdown=max_drawdown,
        trade_count=trades,
        win_rate=0.5,
        bars=bars,
        equity=Decimal(100),
        notional_trades=trades,
        idle_bars=idle_bars,
    )


def rules(**fields):
    """A policy without the evidence shrinkage, for examples about the other rules."""
    return EvolutionPolicy(**{"evidence_trades": 0.0, **fields})


def targets(plan: CyclePlan) -> dict[str, Decimal]:
    return dict(plan.allocations)


# --- random scenarios -------------------------------------------------------------------------------------

metrics_strategy = st.builds(
    perf,
    st.floats(-5.0, 5.0),
    total_return=st.floats(-1.0, 3.0),
    bars=st.integers(0, 120),
    trades=st.integers(0, 6),
    max_drawdown=st.floats(0.0, 1.0),
    idle_bars=st.integers(0, 300),
)

demotion_rules = st.builds(
    DemotionRules,
    max_drawdown=st.none() | st.floats(0.0, 1.0, exclude_min=True),
    min_fitness=st.none() | st.floats(-3.0, 3.0),
)


@st.composite
def tier_weights(draw):
    parts = draw(st.lists(st.integers(0, 10), min_size=3, max_size=3).filter(any))
    total = sum(parts)
    return TierWeights(simulation=parts[0] / total, proving=parts[1] / total, arena=parts[2] / total)


policies = st.builds(
    EvolutionPolicy,
    fitness=st.sampled_from(["sharpe", "total_return", "calmar"]),
    kill_fraction=st.floats(0.0, 1.0),
    min_bars_in_tier=st.integers(0, 100),
    idle_bars=st.none() | st.integers(1, 300),
    evidence_trades=st.floats(0.0, 20.0),
    demote_from_arena=demotion_rules,
    demote_from_proving=demotion_rules,
    kill_threshold=st.none() | st.floats(-3.0, 3.0),
    population=st.none() | st.integers(1, 16),
    tournament_size=st.integers(1, 6),
    elite_count=st.integers(0, 5),
    mutation_sigma=st.floats(0.0, 1.0),
    switch_probability=st.floats(0.0, 1.0),
    tier_weights=tier_weights(),
    within_tier=st.sampled_from(["equal", "fitness"]),
    max_agent_fraction=st.floats(0.0, 1.0, exclude_min=True),
    reserve_fraction=st.floats(0.0, 1.0),
)


@st.composite
def scenarios(draw):
    """A state of live and dead agents in every tier, metrics for some of them, and a policy."""
    records, metrics = [], {}
    for n in range(draw(st.integers(0, 12))):
        agent_id = f"a{n:02d}"
        alive = draw(st.integers(0, 4)) > 0
        genome = random_genome(random.Random(draw(seeds)))
        allocation = draw(amounts(max_minor=10**5 * MINOR))
        records.append(
            agent(
                agent_id, tier=draw(st.sampled_from(Tier)), allocation=allocation, alive=alive, genome=genome
            )
        )
        if draw(st.integers(0, 5)) > 0:  # mostly with metrics; dead agents' metrics must be ignored
            metrics[agent_id] = draw(metrics_strategy)
    state = arena(*records, treasury=draw(amounts(max_minor=10**6 * MINOR)))
    return state, metrics, draw(policies)


def judged_of(state, metrics, policy):
    return [
        a.agent_id
        for a in state.alive_agents()
        if a.agent_id in metrics and metrics[a.agent_id].bars >= policy.min_bars_in_tier
    ]


def idle_of(state, metrics, policy):
    limit = policy.idle_bars
    return {
        a.agent_id
        for a in state.alive_agents()
        if limit is not None and a.agent_id in metrics and metrics[a.agent_id].idle_bars >= limit
    }


def judged_fitness(metrics, policy, judged):
    return {a: fitness_of(metrics[a], policy) * shrinkage(metrics[a].evidence_trades, policy) for a in judged}


def allocatable_of(state, policy):
    held = state.treasury + sum((a.allocation for a in state.alive_agents()), Decimal(0))
    units = math.floor(Fraction(held) * MINOR * (1 - Fraction(repr(policy.reserve_fraction))))
    return Decimal(units).scaleb(-MONEY_SCALE)


@settings(max_examples=200)
@given(scenarios(), seeds)
def test_targets_are_quantized_non_negative_capped_and_never_sum_past_allocatable(scenario, seed):
    state, metrics, policy = scenario

    plan = plan_cycle(state, metrics, policy, random.Random(seed))

    allocatable = allocatable_of(state, policy)
    cap = Fraction(allocatable) * Fraction(repr(policy.max_agent_fraction))
    amounts_ = [amount for _, amount in plan.allocations]
    assert plan.allocatable == allocatable
    assert sum(amounts_, Decimal(0)) <= allocatable
    for amount in amounts_:
        assert amount >= 0
        assert amount.quantize(QUANTUM) == amount
        assert amount.as_tuple().exponent == -MONEY_SCALE
        assert Fraction(amount) <= cap


@given(scenarios(), seeds)
def test_targets_cover_exactly_the_survivors_and_the_children(scenario, seed):
    state, metrics, policy = scenario

    plan = plan_cycle(state, metrics, policy, random.Random(seed))

    killed = {k.agent_id for k in plan.kills}
    survivors = [a.agent_id for a in state.alive_agents() if a.agent_id not in killed]
    assert [key for key, _ in plan.allocations] == survivors + [c.key for c in plan.children]
    assert not {c.key for c in plan.children} & set(state.agents)


@given(scenarios(), seeds)
def test_no_agent_is_both_killed_and_graduated(scenario, seed):
    state, metrics, policy = scenario

    plan = plan_cycle(state, metrics, policy, random.Random(seed))

    killed = {k.agent_id for k in plan.kills}
    promoted = {g.agent_id for g in plan.graduations}
    demoted = {d.agent_id for d in plan.demotions}
    assert not killed & promoted
    assert not killed & demoted
    assert not promoted & demoted


@given(scenarios(), seeds)
def test_demotions_move_judged_survivors_of_the_upper_tiers_one_rung_down_for_a_stated_rule(scenario, seed):
    state, metrics, policy = scenario
    judged = set(judged_of(state, metrics, policy))

    plan = plan_cycle(state, metrics, policy, random.Random(seed))

    for d in plan.demotions:
        assert d.agent_id in judged
        assert (d.from_tier, d.to_tier) in {(Tier.ARENA, Tier.PROVING), (Tier.PROVING, Tier.SIMULATION)}
        assert d.from_tier is state.agents[d.agent_id].tier
        rules_of = policy.demote_from_arena if d.from_tier is Tier.ARENA else policy.demote_from_proving
        assert d.evidence["rule"] in {"drawdown", "underperformance"}
        if d.evidence["rule"] == "drawdown":
            assert metrics[d.agent_id].max_drawdown > rules_of.max_drawdown
        else:
            assert d.evidence["fitness"] < rules_of.min_fitness


@given(scenarios(), seeds)
def test_only_judged_or_idle_agents_are_killed_only_judged_ones_move_and_active_elites_never_die(
    scenario, seed
):
    state, metrics, policy = scenario
    judged = judged_of(state, metrics, policy)
    idle = idle_of(state, metrics, policy)
    fitness = judged_fitness(metrics, policy, judged)
    active = [a for a in sorted(judged, key=lambda a: (-fitness[a], a)) if a not in idle]
    elites = active[: policy.elite_count]

    plan = plan_cycle(state, metrics, policy, random.Random(seed))

    killed = {k.agent_id for k in plan.kills}
    assert killed <= set(judged) | idle
    assert idle <= killed
    assert {g.agent_id for g in plan.graduations} <= set(judged) - idle
    assert not killed & set(elites)


@settings(max_examples=200)
@given(scenarios(), seeds)
def test_kill_count_is_the_bottom_fraction_plus_those_below_the_threshold(scenario, seed):
    state, metrics, policy = scenario
    judged = judged_of(state, metrics, policy)
    idle = idle_of(state, metrics, policy)
    fitness = judged_fitness(metrics, policy, judged)
    active = [a for a in sorted(judged, key=lambda a: (-fitness[a], a)) if a not in idle]
    mortal = [a for a in reversed(active) if a not in active[: policy.elite_count]]  # worst first
    quota = math.floor(Fraction(repr(policy.kill_fraction)) * len(judged))
    threshold = policy.kill_threshold
    below = [a for a in mortal[quota:] if threshold is not None and fitness[a] < threshold]

    plan = plan_cycle(state, metrics, policy, random.Random(seed))

    assert len(plan.kills) == len(idle) + min(quota, len(mortal)) + len(below)
    assert {k.agent_id for k in plan.kills} == idle | set(mortal[:quota]) | set(below)
    assert [k.agent_id for k in plan.kills] == sorted(k.agent_id for k in plan.kills)


@given(scenarios(), seeds)
def test_children_refill_the_population_with_valid_genomes_from_surviving_parents(scenario, seed):
    state, metrics, policy = scenario
    alive = state.alive_agents()

    plan = plan_cycle(state, metrics, policy, random.Random(seed))

    killed = {k.agent_id for k in plan.kills}
    survivors = {a.agent_id for a in alive if a.agent_id not in killed}
    target = len(alive) if policy.population is None else policy.population
    assert len(plan.children) == (max(0, target - len(survivors)) if survivors else 0)
    for child in plan.children:
        assert child.parent_id in survivors
        assert Genome.from_json_dict(child.genome.to_json_dict()) == child.genome
        assert BUILTIN_STRATEGIES.check(child.genome) == child.genome  # in bounds, orderings kept


@given(scenarios(), seeds)
def test_the_same_seed_gives_the_same_plan(scenario, seed):
    state, metrics, policy = scenario

    first = plan_cycle(state, metrics, policy, random.Random(seed))
    second = plan_cycle(state, dict(reversed(metrics.items())), policy, random.Random(seed))

    assert first == second


@settings(max_examples=200)
@given(scenarios(), seeds)
def test_applying_the_plan_as_events_reaches_every_target_and_conserves_capital(scenario, seed):
    state, metrics, policy = scenario
    plan = plan_cycle(state, metrics, policy, random.Random(seed))
    fold = state.thaw()
    ids = iter(range(1, 10**6))

    def emit(factory, **fields):
        fold.apply(factory(seq=fold.seq + 1, event_id=uuid.UUID(int=next(ids)), timestamp=T0, **fields))

    for kill in plan.kills:
        held = fold.agent(kill.agent_id).allocation
        emit(AgentKilled, agent_id=kill.agent_id, reason=kill.reason, capital_released=held)
    for g in plan.graduations:
        emit(
            AgentGraduated,
            agent_id=g.agent_id,
            from_tier=g.from_tier,
            to_tier=g.to_tier,
            reason=g.reason,
            evidence=g.evidence,
        )
    for d in plan.demotions:
        emit(
            AgentDemoted,
            agent_id=d.agent_id,
            from_tier=d.from_tier,
            to_tier=d.to_tier,
            reason=d.reason,
            evidence=d.evidence,
        )
    for child in plan.children:
        emit(AgentSpawned, agent_id=child.key, tier=Tier.SIMULATION, genome=child.genome.to_json_dict())
    moves = [(key, amount - fold.agent(key).allocation) for key, amount in plan.allocations]
    for key, delta in moves:
        if delta < 0:
            emit(CapitalReleased, agent_id=key, amount=-delta)
    for key, delta in moves:
        if delta > 0:
            emit(CapitalAllocated, agent_id=key, amount=delta)
    after = fold.freeze()

    assert {a.agent_id: a.allocation for a in after.alive_agents()} == targets(plan)
    assert after.treasury + after.allocated_capital == state.treasury + state.allocated_capital
    assert after.treasury >= state.treasury + state.allocated_capital - plan.allocatable


# --- examples ---------------------------------------------------------------------------------------------


def test_bottom_fraction_is_killed_with_fitness_and_rank_in_the_reason():
    agents = [agent(f"a{n}") for n in range(10)]
    metrics = {f"a{n}": perf(sharpe=n / 10 - 0.5) for n in range(10)}

    plan = plan_cycle(arena(*agents), metrics, rules(), random.Random(0))

    assert [(k.agent_id, k.reason) for k in plan.kills] == [
        ("a0", "sharpe fitness -0.5 ranked 10 of 10 judged (bottom 20%)"),
        ("a1", "sharpe fitness -0.4 ranked 9 of 10 judged (bottom 20%)"),
    ]


def test_threshold_kills_everyone_below_it_beyond_the_fraction():
    agents = [agent(f"a{n}") for n in range(5)]
    metrics = {f"a{n}": perf(sharpe=n - 3.0) for n in range(5)}  # -3, -2, -1, 0, 1
    policy = rules(kill_fraction=0.2, kill_threshold=-0.5, elite_count=0)

    plan = plan_cycle(arena(*agents), metrics, policy, random.Random(0))

    assert [(k.agent_id, k.reason) for k in plan.kills] == [
        ("a0", "sharpe fitness -3 ranked 5 of 5 judged (bottom 20%)"),
        ("a1", "sharpe fitness -2 below kill_threshold -0.5, ranked 4 of 5 judged"),
        ("a2", "sharpe fitness -1 below kill_threshold -0.5, ranked 3 of 5 judged"),
    ]


def test_elites_survive_even_when_everyone_else_dies():
    agents = [agent(f"a{n}") for n in range(4)]
    metrics = {f"a{n}": perf(sharpe=-1.0 - n) for n in range(4)}
    policy = rules(kill_fraction=1.0, kill_threshold=5.0, elite_count=2)

    plan = plan_cycle(arena(*agents), metrics, policy, random.Random(0))

    assert [k.agent_id for k in plan.kills] == ["a2", "a3"]


def test_agents_without_metrics_or_too_new_to_their_tier_are_not_judged():
    agents = [agent("judged"), agent("no-metrics"), agent("new")]
    metrics = {"judged": perf(sharpe=5.0), "new": perf(sharpe=-9.0, bars=71)}
    policy = rules(kill_fraction=1.0, elite_count=0)

    plan = plan_cycle(arena(*agents), metrics, policy, random.Random(0))

    assert [k.agent_id for k in plan.kills] == ["judged"]
    assert plan.graduations == ()
    assert plan.fitness_summary == {"judged": 1, "best": 5.0, "mean": 5.0, "worst": 5.0, "idle": 0}


def test_an_agent_that_never_traded_is_judged_on_its_zero_return_and_can_die():
    agents = [agent("trader"), agent("sitter")]
    metrics = {"trader": perf(sharpe=0.3), "sitter": perf(sharpe=0.0, total_return=0.0, trades=0)}
    policy = rules(kill_fraction=0.5, elite_count=0)

    plan = plan_cycle(arena(*agents), metrics, policy, random.Random(0))

    assert [(k.agent_id, k.reason) for k in plan.kills] == [
        ("sitter", "sharpe fitness 0 ranked 2 of 2 judged (bottom 50%)")
    ]


def test_an_idle_agent_is_killed_even_as_the_fittest_and_says_why():
    agents = [agent("idle"), agent("loser")]
    metrics = {"idle": perf(sharpe=0.0, trades=0, idle_bars=240), "loser": perf(sharpe=-2.0)}
    policy = rules(kill_fraction=0.0, elite_count=5)

    plan = plan_cycle(arena(*agents), metrics, policy, random.Random(0), min_trade_notional=Decimal(10))

    (kill,) = plan.kills
    assert kill.agent_id == "idle"
    assert kill.reason == (
        "idle for 240 bars (limit 240): no fill of at least 10 while holding less than that, "
        "with cash to trade"
    )
    assert kill.evidence["rule"] == "idle"
    assert (kill.evidence["idle_bars"], kill.evidence["idle_limit"]) == (240, 240)
    assert kill.evidence["min_trade_notional"] == "10"
    assert plan.fitness_summary["idle"] == 1


def test_an_idle_agent_is_killed_before_it_is_judged_and_idleness_can_be_switched_off():
    metrics = {"idle": perf(bars=10, trades=0, idle_bars=500)}

    assert [
        k.agent_id for k in plan_cycle(arena(agent("idle")), metrics, rules(), random.Random(0)).kills
    ] == ["idle"]
    assert plan_cycle(arena(agent("idle")), metrics, rules(idle_bars=None), random.Random(0)).kills == ()


def test_shrinkage_ranks_200_steady_trades_above_4_lucky_ones():
    agents = [agent("lucky"), agent("steady")]
    metrics = {"lucky": perf(sharpe=8.0, trades=4), "steady": perf(sharpe=3.0, trades=200)}
    policy = EvolutionPolicy(kill_fraction=0.5, elite_count=0)

    plan = plan_cycle(arena(*agents), metrics, policy, random.Random(0))

    assert [k.agent_id for k in plan.kills] == ["lucky"]
    evidence = plan.kills[0].evidence
    assert evidence["raw_fitness"] == 8.0
    assert evidence["shrinkage"] == pytest.approx(4 / 14)
    assert evidence["fitness"] == pytest.approx(8.0 * 4 / 14)
    assert (evidence["trades"], evidence["rank"], evidence["judged"]) == (4, 2, 2)


def test_every_decision_records_the_numbers_it_read():
    agents = [agent("a", tier=Tier.ARENA), agent("b")]
    metrics = {"a": perf(sharpe=-1.0, max_drawdown=0.3), "b": perf(sharpe=2.0, bars=200)}

    plan = plan_cycle(arena(*agents), metrics, rules(kill_fraction=0.0), random.Random(0))

    for decision in (*plan.demotions, *plan.graduations):
        assert {
            "measure",
            "fitness",
            "raw_fitness",
            "shrinkage",
            "trades",
            "bars_in_tier",
            "total_return",
            "sharpe",
            "max_drawdown",
            "idle_bars",
            "periods_per_year",
            "rank",
            "judged",
            "rule",
        } <= set(decision.evidence)
    assert [d.agent_id for d in plan.demotions] == ["a"]
    assert [g.agent_id for g in plan.graduations] == ["b"]


def test_an_arena_agent_is_demoted_on_drawdown_with_the_numbers():
    metrics = {"a": perf(sharpe=2.0, max_drawdown=0.16)}

    plan = plan_cycle(arena(agent("a", tier=Tier.ARENA)), metrics, rules(), random.Random(0))

    (demotion,) = plan.demotions
    assert (demotion.from_tier, demotion.to_tier) == (Tier.ARENA, Tier.PROVING)
    assert demotion.reason == "drawdown 0.16 in arena over 100 bars > max_drawdown 0.15"
    assert demotion.evidence["rule"] == "drawdown"
    assert dict(plan.allocations)["a"] > 0  # funded from its new tier


def test_a_proving_agent_is_demoted_for_sustained_underperformance():
    metrics = {"p": perf(sharpe=-0.6, max_drawdown=0.05)}

    plan = plan_cycle(
        arena(agent("p", tier=Tier.PROVING)), metrics, rules(kill_fraction=0.0), random.Random(0)
    )

    assert [(d.agent_id, d.to_tier, d.reason) for d in plan.demotions] == [
        ("p", Tier.SIMULATION, "sharpe fitness -0.6 in proving over 100 bars < min_fitness -0.5")
    ]


def test_no_demotion_from_simulation_nor_for_agents_within_the_rules_nor_unjudged_ones():
    agents = [agent("s"), agent("fine", tier=Tier.ARENA), agent("new", tier=Tier.ARENA)]
    metrics = {
        "s": perf(sharpe=-3.0, max_drawdown=0.9),
        "fine": perf(sharpe=0.4, total_return=0.01, max_drawdown=0.1),
        "new": perf(sharpe=-3.0, max_drawdown=0.9, bars=10),
    }
    policy = rules(kill_fraction=0.0, demote_from_arena=DemotionRules(max_drawdown=0.15, min_fitness=0.0))

    assert plan_cycle(arena(*agents), metrics, policy, random.Random(0)).demotions == ()


def test_demotion_rules_switched_off_demote_nobody():
    metrics = {"a": perf(sharpe=-3.0, max_drawdown=0.9)}
    off = DemotionRules(max_drawdown=None, min_fitness=None)
    policy = rules(kill_fraction=0.0, demote_from_arena=off)

    assert plan_cycle(arena(agent("a", tier=Tier.ARENA)), metrics, policy, random.Random(0)).demotions == ()


def test_promotion_needs_enough_trades_of_evidence_in_the_tier():
    few = {"a": perf(sharpe=3.0, trades=2)}

    assert plan_cycle(arena(agent("a")), few, rules(), random.Random(0)).graduations == ()


def test_fitness_summary_of_nobody_judged_only_counts():
    plan = plan_cycle(arena(agent("a")), {}, rules(), random.Random(0))

    assert plan.fitness_summary == {"judged": 0, "idle": 0}


def test_simulation_agent_meeting_every_threshold_graduates_to_proving():
    metrics = {"a": perf(sharpe=0.5, total_return=0.0, bars=48)}

    plan = plan_cycle(arena(agent("a")), metrics, rules(min_bars_in_tier=48), random.Random(0))

    assert [(g.agent_id, g.from_tier, g.to_tier, g.reason) for g in plan.graduations] == [
        (
            "a",
            Tier.SIMULATION,
            Tier.PROVING,
            (
                "sharpe fitness 0.5 >= 0.5, total return 0 >= 0, 48 bars in simulation >= probation 48, "
                "5 trades >= 3"
            ),
        )
    ]


@pytest.mark.parametrize(
    "metrics",
    [
        perf(sharpe=0.49),
        perf(sharpe=3.0, total_return=-0.01),
        perf(sharpe=3.0, bars=47),
        perf(sharpe=3.0, trades=2),
    ],
    ids=["low fitness", "loss", "short probation", "too few trades"],
)
def test_simulation_agent_missing_any_threshold_stays(metrics):
    plan = plan_cycle(arena(agent("a")), {"a": metrics}, rules(min_bars_in_tier=0), random.Random(0))

    assert plan.graduations == ()


def test_proving_agent_needs_the_stricter_arena_thresholds():
    agents = [
        agent("strong", tier=Tier.PROVING),
        agent("fair", tier=Tier.PROVING),
        agent("top", tier=Tier.ARENA),
    ]
    metrics = {
        "strong": perf(sharpe=1.2, trades=6),
        "fair": perf(sharpe=0.8, trades=6),
        "top": perf(sharpe=9.0),
    }

    plan = plan_cycle(arena(*agents), metrics, rules(), random.Random(0))

    assert [(g.agent_id, g.to_tier) for g in plan.graduations] == [("strong", Tier.ARENA)]


def test_empty_tier_gives_its_weight_to_the_occupied_ones_in_proportion():
    agents = [agent("s", tier=Tier.SIMULATION), agent("a", tier=Tier.ARENA)]
    policy = rules(reserve_fraction=0.0, max_agent_fraction=1.0, elite_count=0, kill_fraction=0.0)

    plan = plan_cycle(arena(*agents, treasury="500"), {}, policy, random.Random(0))

    assert targets(plan) == {"s": Decimal("200.00000000"), "a": Decimal("500.00000000")}  # 0.2 : 0.5 of 700


def test_graduated_agents_are_funded_from_their_new_tier():
    agents = [agent("s1"), agent("s2")]
    metrics = {"s1": perf(sharpe=2.0), "s2": perf(sharpe=0.1)}
    policy = rules(reserve_fraction=0.0, max_agent_fraction=1.0, kill_fraction=0.0)

    plan = plan_cycle(arena(*agents, treasury="800"), metrics, policy, random.Random(0))

    assert [g.agent_id for g in plan.graduations] == ["s1"]
    assert targets(plan) == {"s1": Decimal("600.00000000"), "s2": Decimal("400.00000000")}  # 0.3 : 0.2


def test_fitness_split_is_proportional_to_positive_fitness_plus_the_floor():
    agents = [agent("low"), agent("high"), agent("neg")]
    metrics = {"low": perf(sharpe=1.0), "high": perf(sharpe=3.0), "neg": perf(sharpe=-4.0)}
    policy = rules(
        within_tier="fitness",
        reserve_fraction=0.0,
        max_agent_fraction=1.0,
        kill_fraction=0.0,
        graduate_to_proving={"min_fitness": 10.0},
    )

    plan = plan_cycle(arena(*agents, treasury="103"), metrics, policy, random.Random(0))

    assert targets(plan) == {  # weights 3.01 : 1.01 : 0.01 of 403
        "high": Decimal("301.00000000"),
        "low": Decimal("101.00000000"),
        "neg": Decimal("1.00000000"),
    }


def test_newcomers_without_metrics_get_the_mean_fitness_share():
    agents = [agent("a"), agent("b"), agent("new")]
    metrics = {"a": perf(sharpe=1.0), "b": perf(sharpe=3.0)}
    policy = rules(
        within_tier="fitness",
        reserve_fraction=0.0,
        max_agent_fraction=1.0,
        kill_fraction=0.0,
        graduate_to_proving={"min_fitness": 10.0},
    )

    plan = plan_cycle(arena(*agents, treasury="303"), metrics, policy, random.Random(0))

    assert targets(plan) == {  # weights 1.01 : 3.01 : their mean 2.01 of 603
        "a": Decimal("101.00000000"),
        "b": Decimal("301.00000000"),
        "new": Decimal("201.00000000"),
    }


def test_capped_agents_give_their_excess_to_tier_mates_and_the_rest_stays_in_the_treasury():
    agents = [agent("big", tier=Tier.ARENA), agent("small", tier=Tier.ARENA), agent("s")]
    metrics = {"big": perf(sharpe=9.0), "small": perf(sharpe=0.0)}
    policy = rules(
        within_tier="fitness",
        reserve_fraction=0.0,
        max_agent_fraction=0.3,
        kill_fraction=0.0,
        tier_weights={"simulation": 0.1, "proving": 0.0, "arena": 0.9},
    )

    plan = plan_cycle(arena(*agents, treasury="700"), metrics, policy, random.Random(0))

    assert targets(plan) == {
        "big": Decimal("300.00000000"),
        "s": Decimal("100.00000000"),
        "small": Decimal("300.00000000"),
    }


def test_reserve_is_kept_out_of_the_allocatable_capital():
    plan = plan_cycle(arena(agent("a"), treasury="900"), {}, rules(max_agent_fraction=1.0), random.Random(0))

    assert plan.allocatable == Decimal("950.00000000")
    assert targets(plan) == {"a": Decimal("950.00000000")}


def test_only_zero_weight_tiers_occupied_leaves_everything_in_the_treasury():
    policy = rules(tier_weights={"simulation": 0.0, "proving": 0.0, "arena": 1.0})

    plan = plan_cycle(arena(agent("a")), {}, policy, random.Random(0))

    assert targets(plan) == {"a": Decimal("0E-8")}


def test_killed_capital_is_reallocated_to_survivors_and_children():
    agents = [agent("good", allocation="100"), agent("bad", allocation="900")]
    metrics = {"good": perf(sharpe=1.0), "bad": perf(sharpe=-1.0)}
    policy = rules(kill_fraction=0.5, elite_count=1, reserve_fraction=0.0, max_agent_fraction=1.0)

    plan = plan_cycle(arena(*agents, treasury="0"), metrics, policy, random.Random(0))

    assert [k.agent_id for k in plan.kills] == ["bad"]
    assert [c.parent_id for c in plan.children] == ["good"]
    assert sum(targets(plan).values()) == Decimal(1000)
    assert "bad" not in targets(plan)


def test_a_tournament_over_the_whole_pool_always_picks_the_fittest_parent():
    agents = [agent(f"a{n}") for n in range(5)]
    metrics = {f"a{n}": perf(sharpe=n / 10) for n in range(5)}
    policy = rules(population=9, tournament_size=5, kill_fraction=0.0)

    plan = plan_cycle(arena(*agents), metrics, policy, random.Random(3))

    assert [c.parent_id for c in plan.children] == ["a4"] * 4
    assert [c.key for c in plan.children] == ["child-1", "child-2", "child-3", "child-4"]


def test_judged_parents_beat_unjudged_ones():
    agents = [agent("a"), agent("b")]
    policy = rules(population=5, tournament_size=2, kill_fraction=0.0)
    metrics = {"a": perf(sharpe=5.0, bars=10), "b": perf(sharpe=-3.0)}  # a is too new to its tier

    plan = plan_cycle(arena(*agents), metrics, policy, random.Random(0))

    assert [c.parent_id for c in plan.children] == ["b", "b", "b"]


def test_child_keys_never_collide_with_existing_agent_ids():
    agents = [agent("child-1"), agent("child-2")]

    plan = plan_cycle(arena(*agents), {}, rules(population=3), random.Random(0))

    assert [c.key for c in plan.children] == ["new-child-1"]


def test_child_changes_record_every_parameter_that_moved():
    plan = plan_cycle(arena(agent("a")), {}, rules(population=2), random.Random(7))

    (child,) = plan.children
    parent = BUILTIN_STRATEGIES["ma_crossover"].genome().params
    assert child.genome.strategy == "ma_crossover"
    assert child.changes == {
        name: [parent[name], value] for name, value in child.genome.params.items() if parent[name] != value
    }


def test_metrics_for_an_agent_the_state_does_not_hold_are_rejected():
    with pytest.raises(
        ValidationError,
        match=r"^metrics for agent 'ghost': the state holds no such agent; pass metrics only for agents in",
    ):
        plan_cycle(arena(agent("a")), {"ghost": perf()}, rules(), random.Random(0))


def test_metrics_of_dead_agents_are_ignored():
    state = arena(agent("a"), agent("dead", alive=False))

    plan = plan_cycle(state, {"dead": perf(sharpe=-9.0)}, rules(), random.Random(0))

    assert plan.kills == ()
    assert plan.fitness_summary == {"judged": 0, "idle": 0}


def test_non_finite_fitness_names_the_agent():
    with pytest.raises(ValidationError, match=r"^agent 'a': sharpe fitness: inf is not a finite number"):
        plan_cycle(arena(agent("a")), {"a": perf(sharpe=math.inf)}, rules(), random.Random(0))


def test_a_parent_genome_that_is_not_a_genome_stops_the_cycle():
    state = arena(agent("a", genome={"family": "x"}))

    with pytest.raises(
        EvolutionError, match=r"^agent 'a': its genome cannot be bred \(strategy 'x' is not in this arena's"
    ):
        plan_cycle(state, {}, rules(population=2), random.Random(0))


def test_unbreedable_genomes_do_not_matter_when_no_children_are_needed():
    state = arena(agent("a", genome={}))

    plan = plan_cycle(state, {}, rules(), random.Random(0))

    assert plan.children == ()


def test_an_empty_arena_plans_nothing():
    plan = plan_cycle(arena(treasury="10"), {}, rules(population=5), random.Random(0))

    assert (plan.kills, plan.graduations, plan.children, plan.allocations) == ((), (), (), ())
