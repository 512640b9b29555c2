from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from actors import Arena, NullSink, SystemClock, run_simulation
from events import (
    AgentNotAliveError,
    AllocationError,
    AllocationRejected,
    ArenaError,
    EventSourcingError,
    GraduationError,
    Tier,
    UnknownAgentError,
    ValidationError,
)
from tests.actors.support import open_arena, stored
from trading import BrokerConfig, EvolutionPolicy, Order, SyntheticFeed

UNKNOWN = r"^agent 'ghost': no such agent in this arena; spawn it first or check the id$"
FREE = BrokerConfig(slippage_bps=Decimal(0), fee_bps=Decimal(0))
RANGE_1 = r"from 1 to 2\*\*63 - 1"
FROM_1 = rf"{RANGE_1}; pass one in that range$"
ANY_INT = r"from -2\*\*63 to 2\*\*63 - 1"
FROM_0 = r"from 0 to 2\*\*63 - 1"
TOO_BIG = 2**63  # one past SQLite's largest INTEGER: an OverflowError once it reaches a query


def lenient(field: str, text: str, flaw: str, fix: str) -> str:
    """The whole refusal of money text that ``Decimal()`` reads but a decimal literal is not."""
    plain = "expected ASCII digits, an optional leading '-' and at most 8 places after a point"
    return f"^{re.escape(f'{field}: {text!r} is not a plain decimal ({flaw}); {plain}; pass {fix!r}')}$"


@pytest.fixture
def arena():
    with open_arena() as opened:
        yield opened


@pytest.mark.parametrize(
    "command",
    [
        lambda arena: arena.allocate_capital({"ghost": Decimal(1)}),
        lambda arena: arena.release_capital("ghost"),
        lambda arena: arena.kill_agent("ghost", "why"),
        lambda arena: arena.graduate_to_proving("ghost"),
        lambda arena: arena.graduate_to_arena("ghost"),
        lambda arena: arena.mutate_agent("ghost"),
        lambda arena: arena.floor.execute_orders(
            [("ghost", Order("BTC", "buy", Decimal(1)))], {"BTC": Decimal(1)}
        ),
    ],
)
def test_an_unknown_agent_id_is_refused_by_name_and_changes_nothing(arena, command):
    before = arena.head()

    with pytest.raises(UnknownAgentError, match=UNKNOWN) as caught:
        command(arena)

    assert caught.value.agent_id == "ghost"
    assert isinstance(caught.value, LookupError)
    assert arena.head() == before


@pytest.mark.parametrize(
    "command",
    [
        lambda arena, agent: arena.allocate_capital({agent: Decimal(1)}),
        lambda arena, agent: arena.release_capital(agent),
        lambda arena, agent: arena.kill_agent(agent, "again"),
        lambda arena, agent: arena.graduate_to_proving(agent),
        lambda arena, agent: arena.mutate_agent(agent),
    ],
)
def test_a_dead_agent_is_refused_with_when_it_died_and_changes_nothing(arena, command):
    agent = arena.spawn_agent()
    arena.kill_agent(agent, "gone")
    before = arena.head()

    with pytest.raises(
        AgentNotAliveError, match=r"^agent 'a-000001' was killed at seq 3: dead agents take no"
    ):
        command(arena, agent)

    assert arena.head() == before


@pytest.mark.parametrize(
    ("amount", "problem"),
    [
        (0.1, r"is a float, not an exact amount; pass Decimal\('0.1'\)"),
        (Decimal(-5), r"is negative"),
        (Decimal("NaN"), r"is not a finite amount"),
        (Decimal("0.000000001"), r"has more than 8 decimal places"),
        (Decimal(0), r"is zero"),
        (True, r"is a bool, not an exact amount"),
        ("lots", r"is not a decimal number"),
    ],
)
def test_a_bad_amount_is_refused_before_it_reaches_the_arena(arena, amount, problem):
    agent = arena.spawn_agent()
    before = arena.head()

    with pytest.raises(ValidationError, match=rf"^allocations\['a-000001'\]: .* {problem}"):
        arena.allocate_capital({agent: amount})
    with pytest.raises(ValidationError, match=rf"^amount: .* {problem}"):
        arena.release_capital(agent, amount)

    assert arena.head() == before


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (
            lambda arena, agent: arena.allocate_capital({agent: "1_000"}),
            lenient("allocations['a-000001']", "1_000", "it has underscores", "1000"),
        ),
        (
            lambda arena, agent: arena.allocate_capital({agent: "\u0661\u0662"}),  # Arabic-Indic 12
            lenient("allocations['a-000001']", "\u0661\u0662", "it has non-ASCII characters", "12"),
        ),
        (
            lambda arena, agent: arena.allocate_capital({agent: "\uff15"}),  # fullwidth 5
            lenient("allocations['a-000001']", "\uff15", "it has non-ASCII characters", "5"),
        ),
        (
            lambda arena, agent: arena.release_capital(agent, " 7 "),
            lenient("amount", " 7 ", "it has spaces around it", "7"),
        ),
        (
            lambda arena, agent: arena.release_capital(agent, "1e5"),
            lenient("amount", "1e5", "it has an exponent", "100000"),
        ),
        (
            lambda arena, _: arena.floor.record_marks({"BTC": "+5"}),
            lenient("marks['BTC']", "+5", "it has a leading '+'", "5"),
        ),
        (
            lambda arena, _: arena.replay_events(from_seq=TOO_BIG),
            r"^from_seq: 9223372036854775808 is not a seq; pass an int from 0 to 2\*\*63 - 1$",
        ),
        (
            lambda arena, agent: arena.mutate_agent(agent, seed=TOO_BIG),
            rf"^seed: 9223372036854775808 is not an int {ANY_INT}; pass one in that range$",
        ),
        (
            lambda arena, _: arena.run_evolution_cycle(EvolutionPolicy(), seed=-TOO_BIG - 1),
            rf"^seed: -9223372036854775809 is not an int {ANY_INT}; pass one in that range$",
        ),
        (
            lambda arena, _: run_simulation(arena, SyntheticFeed(seed=1, days=1), seed=TOO_BIG),
            rf"^simulation: seed must be an int {ANY_INT}, got 9223372036854775808; pass one in that range$",
        ),
        (
            lambda arena, _: run_simulation(arena, SyntheticFeed(seed=1, days=1), seed=1, agents=TOO_BIG),
            rf"^simulation: agents must be an int {FROM_0}, got 9223372036854775808; pass one in that range$",
        ),
        (
            lambda arena, _: run_simulation(arena, SyntheticFeed(seed=1, days=1), seed=1, top=10**5000),
            rf"^simulation: top must be an int {FROM_0}, got an int of 16610 bits; pass one in that range$",
        ),
        (
            lambda arena, _: run_simulation(arena, SyntheticFeed(seed=1, days=1), seed=1, total_steps=-1),
            r"^simulation: total_steps must be an int >= 0, got -1; pass e.g. total_steps=1$",
        ),
        (
            lambda arena, _: run_simulation(
                arena, SyntheticFeed(seed=1, days=1), seed=1, progress_every=TOO_BIG
            ),
            rf"^simulation: progress_every must be an int {RANGE_1}, got {TOO_BIG}; pass one in that range$",
        ),
    ],
)
def test_bad_input_is_refused_with_the_range_or_literal_to_pass_and_changes_nothing(arena, command, message):
    agent = arena.spawn_agent()
    arena.allocate_capital({agent: Decimal(10)})
    before, state = arena.head(), arena.state()

    with pytest.raises(ValidationError, match=message):
        command(arena, agent)

    assert arena.head() == before
    assert arena.state() == state


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ({"seed": TOO_BIG}, rf"^seed: 9223372036854775808 is not an int {ANY_INT}; pass one in that range$"),
        ({"snapshot_every": TOO_BIG}, rf"^snapshot_every: 9223372036854775808 is not an int {FROM_1}"),
        ({"high_water": 10**5000}, rf"^high_water: an int of 16610 bits is not an int {FROM_1}"),
        ({"max_batch": TOO_BIG}, rf"^max_batch: 9223372036854775808 is not an int {FROM_1}"),
    ],
    ids=["seed", "snapshot_every", "high_water", "max_batch"],
)
def test_an_out_of_range_option_is_refused_before_the_store_is_created(tmp_path, option, message):
    with pytest.raises(ValidationError, match=message):
        open_arena(tmp_path / "a.db", **option)

    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("funding", ["1_000", "\u0661\u0662", "\uff15", " 7 ", "1e5", "+5"])
def test_lenient_funding_text_is_refused_before_any_actor_starts(funding):
    with pytest.raises(
        ValidationError, match=rf"^total_capital: '{re.escape(funding)}' is not a plain decimal"
    ):
        open_arena(total_capital=funding)


def test_over_allocation_records_the_rejection_and_raises_with_requested_and_available(arena):
    agent = arena.spawn_agent()
    arena.allocate_capital({agent: Decimal(900)})

    with pytest.raises(
        AllocationError,
        match=r"^agent 'a-000001': cannot allocate 500.00000000 from a treasury of 100.00000000; "
        r"release capital first or allocate less$",
    ) as caught:
        arena.allocate_capital({agent: Decimal(500)})

    (rejected,) = stored(arena, event_types=["AllocationRejected"])
    assert isinstance(rejected, AllocationRejected)
    assert (caught.value.agent_id, caught.value.requested, caught.value.available) == (
        agent,
        Decimal(500),
        Decimal(100),
    )
    assert (rejected.requested, rejected.available) == (Decimal(500), Decimal(100))
    assert arena.state().agents[agent].allocation == Decimal(900)


def test_over_allocation_across_agents_allocates_to_none_of_them(arena):
    ids = [arena.spawn_agent() for _ in range(3)]

    with pytest.raises(AllocationError, match=r"^agents 'a-000001', 'a-000002', 'a-000003': cannot allocate"):
        arena.allocate_capital(dict.fromkeys(ids, Decimal(400)))

    assert arena.state().allocated_capital == 0
    assert stored(arena, event_types=["CapitalAllocated"]) == []


def test_releasing_more_than_an_agent_holds_is_refused(arena):
    agent = arena.spawn_agent()
    arena.allocate_capital({agent: Decimal(10)})
    before = arena.head()

    with pytest.raises(
        AllocationError, match=r"^agent 'a-000001': cannot release 11.00000000 from an allocation"
    ):
        arena.release_capital(agent, Decimal(11))

    assert arena.head() == before


@pytest.mark.parametrize(
    ("graduations", "illegal", "message"),
    [
        (
            (),
            "graduate_to_arena",
            r"cannot graduate from simulation to arena; .* graduate it to proving first$",
        ),
        (("graduate_to_proving",), "graduate_to_proving", r"cannot graduate from proving to proving;"),
        (("graduate_to_proving",), "graduate_to_proving", r".* and it is already in proving$"),
        (
            ("graduate_to_proving", "graduate_to_arena"),
            "graduate_to_arena",
            r"cannot graduate from arena to arena;",
        ),
        (
            ("graduate_to_proving", "graduate_to_arena"),
            "graduate_to_proving",
            r"cannot graduate from arena to proving; .* past proving; demote it instead$",
        ),
    ],
)
def test_an_illegal_graduation_is_refused_and_changes_nothing(arena, graduations, illegal, message):
    agent = arena.spawn_agent()
    for step in graduations:
        getattr(arena, step)(agent)
    before = arena.head()

    with pytest.raises(GraduationError, match=rf"^agent 'a-000001': {message}") as caught:
        getattr(arena, illegal)(agent)

    assert caught.value.agent_id == agent
    assert arena.head() == before


def test_an_illegal_demotion_is_refused_and_changes_nothing(arena):
    agent = arena.spawn_agent()
    before = arena.head()

    with pytest.raises(
        GraduationError,
        match=r"^agent 'a-000001': cannot demote from simulation to a lower tier; agents move down one "
        r"rung at a time, arena -> proving -> simulation, and it is in the bottom tier already; kill it "
        r"instead if it must go$",
    ) as caught:
        arena.demote(agent)

    assert (caught.value.agent_id, caught.value.from_tier) == (agent, "simulation")
    assert arena.head() == before


@pytest.mark.parametrize("reason", ["", " ", "x" * 1001, 7])
def test_a_tier_move_with_a_malformed_reason_is_refused_before_it_is_sent(arena, reason):
    agent = arena.spawn_agent(tier="proving")
    before = arena.head()

    for move in (arena.graduate_to_arena, arena.demote):
        with pytest.raises(ValidationError, match=r"^reason: .* is not a reason; pass a non-empty text"):
            move(agent, reason=reason)

    assert arena.head() == before


def test_a_new_arena_without_funding_is_refused():
    with pytest.raises(ValidationError, match=r"^total_capital: a new arena needs its funding"):
        Arena.open(None)


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ({"synchronous": "fast"}, r"^synchronous: 'fast' is not a mode; pass 'normal' or 'full'$"),
        ({"on_agent_failure": "ignore"}, r"^on_agent_failure: 'ignore' is not a policy"),
        ({"snapshot_every": 0}, rf"^snapshot_every: 0 is not an int {FROM_1}"),
        ({"high_water": 1.5}, rf"^high_water: 1.5 is not an int {FROM_1}"),
        ({"total_capital": 1000.0}, r"^total_capital: 1000.0 is a float"),
        ({"clock": "now"}, r"^clock: 'now' has no now\(\) method"),
    ],
)
def test_a_bad_option_is_refused_before_any_actor_starts(option, message):
    with pytest.raises(ValidationError, match=message):
        open_arena(**option)


def test_a_bad_tier_or_genome_is_refused(arena):
    with pytest.raises(
        ValidationError, match=r"^tier: 'elite' is not a tier; pass one of: simulation, proving"
    ):
        arena.spawn_agent(tier="elite")
    with pytest.raises(ValidationError, match=r"^genome: \{\} is not a Genome"):
        arena.spawn_agent({})  # type: ignore[arg-type]


def test_a_kill_needs_a_reason(arena):
    agent = arena.spawn_agent()

    with pytest.raises(ValidationError, match=r"^reason: '' is not a reason"):
        arena.kill_agent(agent, "")


def test_killing_with_marks_missing_a_held_symbol_changes_nothing(arena):
    agent = arena.spawn_agent()
    arena.allocate_capital({agent: Decimal(100)})
    arena.floor.execute_orders([(agent, Order("BTC", "buy", Decimal(1)))], {"BTC": Decimal(10)}, FREE)
    before = arena.head()

    with pytest.raises(
        ValidationError,
        match=(
            r"^agent 'a-000001': cannot be killed: no price for 'BTC', which it holds, and value never "
            r"leaves the books unsold; pass marks=\{symbol: price\} for every symbol it holds, or record "
            r"marks first \(Arena.floor.record_marks\)$"
        ),
    ):
        arena.kill_agent(agent, "done", marks={"ETH": Decimal(1)})

    assert arena.head() == before
    assert arena.state().agents[agent].alive


def test_killing_a_holder_with_no_mark_given_or_recorded_is_refused_and_changes_nothing(arena):
    agent = arena.spawn_agent()
    arena.allocate_capital({agent: Decimal(100)})
    arena.floor.execute_orders([(agent, Order("BTC", "buy", Decimal(1)))], {"BTC": Decimal(10)}, FREE)
    before, state = arena.head(), arena.state()

    with pytest.raises(ValidationError, match=r"^agent 'a-000001': cannot be killed: no price for 'BTC'"):
        arena.kill_agent(agent, "done")

    assert arena.head() == before
    assert arena.state() == state


def test_kill_underperformers_refuses_before_any_kill_when_one_victim_cannot_be_sold(arena):
    first, second = arena.spawn_agent(), arena.spawn_agent()
    arena.allocate_capital({first: Decimal(100), second: Decimal(100)})
    arena.floor.execute_orders([(second, Order("BTC", "buy", Decimal(1)))], {"BTC": Decimal(10)}, FREE)
    before = arena.head()

    with pytest.raises(ValidationError, match=r"^agent 'a-000002': cannot be killed: no price for 'BTC'"):
        arena.kill_underperformers("sharpe", bottom_fraction=1.0)

    assert arena.head() == before
    assert arena.state().agents[first].alive


@pytest.mark.parametrize("marks", [{}, {"BTC": Decimal(0)}, {"BTC": 1.5}, "BTC"])
def test_recording_bad_marks_is_refused_and_changes_nothing(arena, marks):
    before = arena.head()

    with pytest.raises(ValidationError, match=r"^marks"):
        arena.floor.record_marks(marks)

    assert arena.head() == before


def test_orders_for_a_symbol_without_a_price_fill_nothing(arena):
    agent = arena.spawn_agent()
    arena.allocate_capital({agent: Decimal(100)})
    before = arena.head()

    with pytest.raises(ValidationError, match=r"^prices: no price for 'ETH', ordered by agent 'a-000001'"):
        arena.floor.execute_orders(
            [(agent, Order("BTC", "buy", Decimal(1))), (agent, Order("ETH", "buy", Decimal(1)))],
            {"BTC": Decimal(1)},
        )

    assert arena.head() == before


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"threshold": 0.0, "bottom_fraction": 0.5}, r"^kill_underperformers: got threshold=0.0 and bottom"),
        ({}, r"^kill_underperformers: got threshold=None and bottom_fraction=None; pass exactly one"),
        ({"bottom_fraction": 1.5}, r"^bottom_fraction: 1.5 is not in \(0, 1\]"),
        ({"threshold": float("nan")}, r"^threshold: nan is not a finite number"),
    ],
)
def test_kill_underperformers_refuses_a_malformed_selection(arena, options, message):
    with pytest.raises(ValidationError, match=message):
        arena.kill_underperformers("sharpe", **options)


def test_kill_underperformers_names_the_valid_metrics(arena):
    with pytest.raises(
        ValidationError, match=r"^metric 'luck' is not an agent metric; pass one of: total_return, "
    ):
        arena.kill_underperformers("luck", threshold=0.0)


def test_an_evolution_cycle_needs_a_policy(arena):
    with pytest.raises(ValidationError, match=r"^policy: \{\} is not an EvolutionPolicy"):
        arena.run_evolution_cycle({})  # type: ignore[arg-type]


def test_a_refused_evolution_cycle_emits_nothing(arena):
    agent = arena.spawn_agent()
    before = arena.head()

    with pytest.raises(ValidationError, match=r"^metrics for agent 'ghost': the state holds no such agent"):
        arena.run_evolution_cycle(EvolutionPolicy(), metrics={"ghost": arena.floor.agent_metrics()[agent]})

    assert arena.head() == before


def test_replay_refuses_an_unknown_event_type_at_the_call(arena):
    with pytest.raises(ValidationError, match=r"^event_types: unknown tags \['Nope'\]"):
        arena.replay_events(event_types=["Nope"])
    with pytest.raises(ValidationError, match=r"^event_types: 'AgentSpawned' is not a collection of tags"):
        arena.replay_events(event_types="AgentSpawned")


def test_set_time_needs_a_simulated_clock():
    arena = open_arena(clock=SystemClock())

    with pytest.raises(ValidationError, match=r"^set_time: the arena's clock is a SystemClock"):
        arena.floor.set_time(datetime(2030, 1, 1, tzinfo=UTC))

    arena.close()


def test_a_sink_and_a_path_together_are_refused(tmp_path):
    with pytest.raises(ValidationError, match=r"^sink_factory: given together with path"):
        open_arena(tmp_path / "a.db", sink_factory=object)


def test_every_error_is_an_arena_error_with_tier_context(arena):
    agent = arena.spawn_agent()

    with pytest.raises(ArenaError) as caught:
        arena.graduate_to_arena(agent)

    assert isinstance(caught.value, GraduationError)
    assert (caught.value.from_tier, caught.value.to_tier) == (Tier.SIMULATION.value, Tier.ARENA.value)


def test_replay_of_an_arena_without_a_store_says_there_is_nothing_to_read():
    arena = open_arena(sink_factory=NullSink)

    with pytest.raises(EventSourcingError, match=r"^replay: the event writer writes to a NullSink"):
        arena.replay_events()

    arena.close()
