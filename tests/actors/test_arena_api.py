from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from actors import SimClock
from events import (
    AgentDemoted,
    AgentGraduated,
    AgentKilled,
    AgentMutated,
    AgentSpawned,
    CapitalAllocated,
    CapitalConservationCheck,
    CapitalReleased,
    Tier,
    TradeExecuted,
    TradeRejected,
    canonical_json,
)
from tests.actors.support import T0, assert_log_matches_state, open_arena, stored
from trading import BUILTIN_STRATEGIES, AgentMetrics, BrokerConfig, EvolutionPolicy, Genome, Order

FREE = BrokerConfig(slippage_bps=Decimal(0), fee_bps=Decimal(0))


def judged(total_return: float) -> AgentMetrics:
    return AgentMetrics(
        total_return=total_return,
        sharpe=total_return * 10,
        max_drawdown=0.1,
        trade_count=5,
        win_rate=0.5,
        bars=100,
        equity=Decimal(100),
    )


def test_the_arena_opens_funded_with_arena_opened_at_seq_one():
    with open_arena(total_capital="2500.5") as arena:
        (opened,) = stored(arena)

        assert opened.event_type == "ArenaOpened"
        assert opened.seq == 1
        assert opened.total_capital == Decimal("2500.5")
        assert opened.config["seed"] == 1
        assert arena.state().treasury == Decimal("2500.5")


def test_spawn_records_the_genome_and_tier_and_answers_sequential_ids():
    genome = BUILTIN_STRATEGIES["momentum"].genome(lookback=7)
    with open_arena() as arena:
        first = arena.spawn_agent(genome, tier="proving")
        second = arena.spawn_agent()

        spawned = stored(arena, event_types=["AgentSpawned"])
        assert (first, second) == ("a-000001", "a-000002")
        assert isinstance(spawned[0], AgentSpawned)
        assert Genome.from_json_dict(spawned[0].genome) == genome
        assert spawned[0].tier == Tier.PROVING
        assert arena.state().agents[second].tier == Tier.SIMULATION


def test_allocation_across_agents_emits_one_capital_allocated_per_agent():
    with open_arena() as arena:
        first, second = arena.spawn_agent(), arena.spawn_agent()

        answered = arena.allocate_capital({first: Decimal(100), second: "250.25"})

        events = stored(arena, event_types=["CapitalAllocated"])
        assert events == list(answered)
        assert [(e.agent_id, e.amount) for e in events if isinstance(e, CapitalAllocated)] == [
            (first, Decimal(100)),
            (second, Decimal("250.25")),
        ]
        assert arena.state().treasury == Decimal("649.75")


def test_release_returns_part_or_all_of_an_agents_capital():
    with open_arena() as arena:
        agent = arena.spawn_agent()
        arena.allocate_capital({agent: Decimal(100)})

        part = arena.release_capital(agent, Decimal(30))
        rest = arena.release_capital(agent)
        nothing = arena.release_capital(agent)

        releases = stored(arena, event_types=["CapitalReleased"])
        assert (part, rest, nothing) == (Decimal(30), Decimal(70), Decimal(0))
        assert [e.amount for e in releases if isinstance(e, CapitalReleased)] == [Decimal(30), Decimal(70)]


def test_a_killed_agents_capital_returns_to_the_treasury_in_the_same_event():
    with open_arena() as arena:
        agent = arena.spawn_agent()
        arena.allocate_capital({agent: Decimal(400)})

        released = arena.kill_agent(agent, "retired")

        (killed,) = stored(arena, event_types=["AgentKilled"])
        assert isinstance(killed, AgentKilled)
        assert (killed.reason, killed.capital_released, released) == ("retired", Decimal(400), Decimal(400))
        assert arena.state().treasury == Decimal(1000)
        assert not arena.state().agents[agent].alive


def test_graduation_moves_an_agent_up_one_tier_at_a_time():
    with open_arena() as arena:
        agent = arena.spawn_agent()

        first = arena.graduate_to_proving(agent)
        second = arena.graduate_to_arena(agent)

        assert isinstance(first, AgentGraduated)
        assert (first.from_tier, first.to_tier) == (Tier.SIMULATION, Tier.PROVING)
        assert (second.from_tier, second.to_tier) == (Tier.PROVING, Tier.ARENA)
        assert arena.state().agents[agent].tier == Tier.ARENA


def test_a_tier_move_records_the_callers_reason_or_says_the_caller_decided():
    with open_arena() as arena:
        agent = arena.spawn_agent()

        first = arena.graduate_to_proving(agent)
        second = arena.graduate_to_arena(agent, reason="hand-picked after review")

        assert (first.reason, first.evidence) == ("promoted by the caller", {})
        assert second.reason == "hand-picked after review"


def test_demotion_moves_an_agent_down_one_tier_at_a_time_with_its_reason():
    with open_arena() as arena:
        agent = arena.spawn_agent(tier="arena")

        first = arena.demote(agent, reason="drawdown 0.31 past 0.25")
        second = arena.demote(agent)

        assert isinstance(first, AgentDemoted)
        assert (first.from_tier, first.to_tier, first.reason) == (
            Tier.ARENA,
            Tier.PROVING,
            "drawdown 0.31 past 0.25",
        )
        assert (second.from_tier, second.to_tier, second.reason) == (
            Tier.PROVING,
            Tier.SIMULATION,
            "demoted by the caller",
        )
        state = arena.state()
        assert state.agents[agent].tier == Tier.SIMULATION
        assert state.agents[agent].tier_since_seq == second.seq
        assert_log_matches_state(arena)


def test_a_mutated_child_links_to_its_parents_spawn_event():
    with open_arena() as arena:
        parent = arena.spawn_agent(BUILTIN_STRATEGIES["ma_crossover"].genome())

        child = arena.mutate_agent(parent, seed=11)

        parent_spawn, child_spawn, mutated = stored(arena, event_types=["AgentSpawned", "AgentMutated"])
        assert isinstance(mutated, AgentMutated)
        assert (child_spawn.agent_id, child_spawn.parent_id) == (child, parent)
        assert child_spawn.caused_by == parent_spawn.event_id
        assert mutated.caused_by == child_spawn.event_id  # the birth causes the record of what changed
        assert mutated.parent_event_id == parent_spawn.event_id
        assert mutated.mutation["seed"] == 11
        assert arena.state().agents[child].generation == 1


def test_the_same_seed_breeds_the_same_child():
    def child_genome() -> dict[str, object]:
        with open_arena() as arena:
            child = arena.mutate_agent(arena.spawn_agent(BUILTIN_STRATEGIES["ma_crossover"].genome()), seed=5)
            return arena.state().agents[child].genome

    assert child_genome() == child_genome()


def test_a_conservation_check_is_recorded_and_reported():
    with open_arena() as arena:
        agent = arena.spawn_agent()
        arena.allocate_capital({agent: Decimal(123)})

        report = arena.verify_capital_conservation()

        (check,) = stored(arena, event_types=["CapitalConservationCheck"])
        assert isinstance(check, CapitalConservationCheck)
        assert report.ok
        assert (report.free, report.allocated, report.total) == (Decimal(877), Decimal(123), Decimal(1000))
        assert (check.seq, check.ok) == (report.seq, True)


def test_the_breakdown_names_every_tier_and_every_live_agent():
    with open_arena() as arena:
        first, second = arena.spawn_agent(), arena.spawn_agent(tier="arena")
        dead = arena.spawn_agent()
        arena.allocate_capital({first: Decimal(100), second: Decimal(300), dead: Decimal(1)})
        arena.kill_agent(dead, "gone")

        breakdown = arena.get_capital_allocation_breakdown()

        assert breakdown.total_capital == Decimal(1000)
        assert breakdown.free_capital == Decimal(600)
        assert breakdown.allocated_capital == Decimal(400)
        assert breakdown.by_tier == {Tier.SIMULATION: Decimal(100), Tier.PROVING: 0, Tier.ARENA: Decimal(300)}
        assert breakdown.agents_by_tier == {Tier.SIMULATION: 1, Tier.PROVING: 0, Tier.ARENA: 1}
        assert breakdown.by_agent == {first: Decimal(100), second: Decimal(300)}


def test_replay_filters_by_agent_type_and_seq_range():
    with open_arena() as arena:
        first, second = arena.spawn_agent(), arena.spawn_agent()
        arena.allocate_capital({first: Decimal(1), second: Decimal(2)})

        mine = stored(arena, agent_id=first)
        allocations = stored(arena, event_types=["CapitalAllocated"])
        middle = stored(arena, from_seq=2, to_seq=3)

        assert [e.event_type for e in mine] == ["AgentSpawned", "CapitalAllocated"]
        assert {e.agent_id for e in mine} == {first}
        assert [e.agent_id for e in allocations] == [first, second]
        assert [e.seq for e in middle] == [2, 3]


def test_replay_of_an_in_memory_arena_pages_through_a_long_log():
    with open_arena() as arena:
        agent = arena.spawn_agent()
        for _ in range(1200):
            arena.allocate_capital({agent: Decimal("0.01")})

        events = assert_log_matches_state(arena)

        assert len(events) == 1202


def test_a_half_read_replay_of_an_in_memory_arena_never_blocks_its_writer():
    with open_arena(max_delay=0.0) as arena:
        agent = arena.spawn_agent()
        for _ in range(1500):
            arena.allocate_capital({agent: Decimal("0.01")})
        replay = arena.replay_events()
        first = [next(replay) for _ in range(10)]

        for _ in range(1500):
            arena.allocate_capital({agent: Decimal("0.01")})
        head = arena.flush()
        rest = list(replay)

        assert [e.seq for e in first + rest] == list(range(1, 1503))
        assert head.seq == 3002


def test_two_in_memory_arenas_never_share_a_database():
    with open_arena() as one, open_arena() as other:
        one.spawn_agent()

        assert [e.event_type for e in stored(one)] == ["ArenaOpened", "AgentSpawned"]
        assert [e.event_type for e in stored(other)] == ["ArenaOpened"]


def test_replay_of_a_file_arena_reads_the_store(tmp_path):
    with open_arena(tmp_path / "arena.db") as arena:
        agent = arena.spawn_agent()
        arena.allocate_capital({agent: Decimal(5)})

        events = assert_log_matches_state(arena)

        assert [e.event_type for e in events] == ["ArenaOpened", "AgentSpawned", "CapitalAllocated"]


def test_orders_fill_in_the_given_order_against_ledger_cash_never_overdrawing_it():
    with open_arena() as arena:
        agent = arena.spawn_agent()
        arena.allocate_capital({agent: Decimal(150)})
        orders = [(agent, Order("BTC", "buy", Decimal(1))), (agent, Order("BTC", "buy", Decimal(1)))]

        first, second = arena.floor.execute_orders(orders, {"BTC": Decimal(100)}, FREE)

        assert isinstance(first, TradeExecuted)
        assert isinstance(second, TradeExecuted)
        assert second.quantity == Decimal("0.5")
        assert arena.floor.portfolios()[agent].cash == Decimal(0)
        assert arena.floor.portfolios()[agent].positions == {"BTC": Decimal("1.5")}
        assert_log_matches_state(arena)


def test_an_order_with_nothing_to_sell_is_rejected_and_recorded():
    with open_arena() as arena:
        agent = arena.spawn_agent()

        (rejected,) = arena.floor.execute_orders(
            [(agent, Order("BTC", "sell", Decimal(1)))], {"BTC": Decimal(1)}
        )

        assert isinstance(rejected, TradeRejected)
        assert stored(arena, event_types=["TradeRejected"]) == [rejected]


def test_killing_with_marks_kills_first_then_sells_the_positions_and_releases_the_proceeds():
    with open_arena() as arena:
        agent = arena.spawn_agent()
        arena.allocate_capital({agent: Decimal(100)})
        arena.floor.execute_orders([(agent, Order("BTC", "buy", Decimal(1)))], {"BTC": Decimal(100)}, FREE)

        released = arena.kill_agent(agent, "done", marks={"BTC": Decimal(120)}, broker=FREE)

        killed, sale, proceeds = stored(arena, from_seq=arena.head().seq - 2)
        assert isinstance(killed, AgentKilled)
        assert killed.capital_released == 0  # all of its cash was in the holding
        assert isinstance(sale, TradeExecuted)
        assert (sale.side, sale.quantity, sale.price) == ("sell", Decimal(1), Decimal(120))
        assert isinstance(proceeds, CapitalReleased)
        assert proceeds.amount == Decimal(120)
        assert sale.caused_by == proceeds.caused_by == killed.event_id
        assert released == Decimal(120)
        assert arena.state().agents[agent].positions == {}
        assert arena.state().total_capital == Decimal(1020)
        assert_log_matches_state(arena)


def test_killing_without_marks_sells_at_the_latest_recorded_marks_and_keeps_every_unit_of_value():
    with open_arena() as arena:
        agent = arena.spawn_agent()
        arena.allocate_capital({agent: Decimal(100)})
        arena.floor.execute_orders(
            [(agent, Order("BTC", "buy", Decimal("0.5")))], {"BTC": Decimal(100)}, FREE
        )
        arena.floor.record_marks({"BTC": Decimal(110)})
        nav_before = arena.nav()

        released = arena.kill_agent(agent, "done", broker=FREE)

        sale = stored(arena, event_types=["TradeExecuted"])[-1]
        assert (sale.side, sale.price, sale.realized_pnl) == ("sell", Decimal(110), Decimal(5))
        assert released == Decimal(105)
        assert arena.state().agents[agent].positions == {}
        assert arena.nav() == nav_before == Decimal(1005)
        assert arena.verify_capital_conservation().ok
        assert_log_matches_state(arena)


def test_a_holding_too_small_to_sell_for_any_money_still_leaves_the_books_at_a_realized_loss():
    with open_arena() as arena:
        agent = arena.spawn_agent()
        arena.allocate_capital({agent: Decimal(100)})
        price = {"BTC": Decimal("0.4")}
        arena.floor.execute_orders([(agent, Order("BTC", "buy", Decimal("1.00000001")))], price, FREE)
        arena.floor.execute_orders([(agent, Order("BTC", "sell", Decimal(1)))], price, FREE)
        arena.floor.record_marks(price)
        dust = arena.state().agents[agent]
        assert dust.positions == {"BTC": Decimal("0.00000001")}

        arena.kill_agent(agent, "done", broker=FREE)

        sale = stored(arena, event_types=["TradeExecuted"])[-1]
        assert (sale.quantity, sale.cash_delta) == (Decimal("0.00000001"), Decimal(0))
        assert sale.realized_pnl == -dust.cost_basis["BTC"]
        assert arena.state().agents[agent].positions == {}
        assert arena.verify_capital_conservation().ok
        assert_log_matches_state(arena)


def test_a_kill_pays_the_brokers_fees_and_slippage_and_loses_nothing_else():
    with open_arena() as arena:
        agent = arena.spawn_agent()
        arena.allocate_capital({agent: Decimal(100)})
        arena.floor.execute_orders([(agent, Order("BTC", "buy", Decimal(1)))], {"BTC": Decimal(50)}, FREE)
        arena.floor.record_marks({"BTC": Decimal(60)})
        nav_before = arena.nav()

        arena.kill_agent(agent, "done")

        sale = stored(arena, event_types=["TradeExecuted"])[-1]
        assert sale.fee > 0
        assert sale.slippage > 0
        assert arena.nav() == nav_before - sale.fee - sale.slippage


def test_kill_underperformers_kills_below_the_threshold_and_returns_their_capital():
    with open_arena() as arena:
        ids = [arena.spawn_agent() for _ in range(4)]
        arena.allocate_capital(dict.fromkeys(ids, Decimal(100)))
        given = {agent: judged(n / 10 - 0.15) for n, agent in enumerate(ids)}

        killed = arena.kill_underperformers("total_return", threshold=0.0, metrics=given)

        assert killed == (ids[0], ids[1])
        assert arena.state().treasury == Decimal(800)
        assert set(arena.floor.agent_refs()) == {ids[2], ids[3]}


def test_kill_underperformers_with_a_fraction_asks_the_agents_for_their_metrics():
    with open_arena() as arena:
        ids = [arena.spawn_agent() for _ in range(4)]

        killed = arena.kill_underperformers("sharpe", bottom_fraction=0.5)

        assert killed == (ids[0], ids[1])  # every agent reports 0.0: ties go to the smallest ids


def test_an_evolution_cycle_is_one_causal_tree_rooted_at_its_start_and_ending_in_cycle_complete():
    with open_arena() as arena:
        ids = [arena.spawn_agent() for _ in range(6)]
        arena.allocate_capital(dict.fromkeys(ids, Decimal(100)))
        given = {agent: judged(n / 10) for n, agent in enumerate(ids)}
        policy = EvolutionPolicy(kill_fraction=0.34, elite_count=1, min_bars_in_tier=0)
        start = arena.head().seq

        report = arena.run_evolution_cycle(policy, metrics=given, seed=3)

        events = stored(arena, from_seq=start + 1)
        started, rest = events[0], events[1:]
        spawns = {e.event_id for e in rest if isinstance(e, AgentSpawned)}
        assert started.caused_by is None
        assert all(
            e.caused_by in spawns if isinstance(e, AgentMutated) else e.caused_by == started.event_id
            for e in rest
        )
        assert events[-1].event_type == "EvolutionCycleComplete"
        assert (report.started_seq, report.completed_seq) == (events[0].seq, events[-1].seq)
        assert report.killed == (ids[0], ids[1])
        assert len(report.children) == 2
        assert set(arena.floor.agent_refs()) == set(ids[2:]) | {child for _, child in report.children}
        assert_log_matches_state(arena)


def test_simulated_time_stamps_the_events_and_never_goes_back():
    with open_arena(clock=SimClock(T0)) as arena:
        arena.floor.set_time(T0 + timedelta(hours=3))
        agent = arena.spawn_agent()

        (spawned,) = stored(arena, agent_id=agent)
        assert spawned.timestamp == T0 + timedelta(hours=3)
        with pytest.raises(ValueError, match=r"^clock: cannot move simulated time back"):
            arena.floor.set_time(T0)


def test_the_same_seed_and_commands_write_a_byte_identical_log():
    def run() -> list[str]:
        with open_arena(seed=42, clock=SimClock(T0)) as arena:
            agents = [arena.spawn_agent() for _ in range(3)]
            arena.allocate_capital(dict.fromkeys(agents, Decimal(10)))
            arena.mutate_agent(agents[0])
            arena.kill_agent(agents[1], "x")
            return [canonical_json(e) for e in stored(arena)]

    assert run() == run()


def test_flush_and_head_agree_on_the_durable_end_of_the_log():
    with open_arena() as arena:
        arena.spawn_agent()

        flushed = arena.flush()

        assert flushed == arena.head()
        assert flushed.seq == 2
