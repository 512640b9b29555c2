from __future__ import annotations

import os
import threading
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest

import actors._timeouts as timeouts_module
from actors import Arena, SimClock, SimulationReport, derive_seed, run_simulation
from events import (
    CapitalAllocated,
    EvolutionCycleStarted,
    TradeExecuted,
    TradeRejected,
    ValidationError,
    from_minor,
    to_minor,
)
from trading import Bar, EvolutionPolicy, Order, SyntheticFeed, make_strategy

if TYPE_CHECKING:
    from collections.abc import Iterator

    from trading import Genome, Portfolio, Strategy

START = datetime(2026, 1, 1, tzinfo=UTC)
CAPITAL = Decimal(100_000)


def open_arena(path=None, **options) -> Arena:
    options.setdefault("total_capital", CAPITAL)
    options.setdefault("seed", 1)
    return Arena.open(path, clock=SimClock(START), **options)


def feed(days=2, seed=1) -> SyntheticFeed:
    return SyntheticFeed(seed=seed, start=START, days=days)


class ListFeed:
    """A ``MarketFeed`` over bars given up front: steps with symbols missing, exactly where a test wants."""

    def __init__(self, bars: list[Bar], *, identity: dict[str, object] | None = None) -> None:
        self._bars = sorted(bars, key=lambda bar: (bar.timestamp, bar.symbol))
        self._identity = identity or {"kind": "ListFeed"}

    def identity(self) -> dict[str, object]:
        """The market these bars are cut from, so a run on a slice can resume on the whole."""
        return self._identity

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(sorted({bar.symbol for bar in self._bars}))

    def __iter__(self) -> Iterator[Bar]:
        return iter(self._bars)


def bar(hour: int, symbol: str, price: str = "10") -> Bar:
    value = Decimal(price)
    return Bar(
        timestamp=START + timedelta(hours=hour),
        symbol=symbol,
        open=value,
        high=value,
        low=value,
        close=value,
        volume=Decimal(1),
    )


class BuyOnce:
    """Buys one unit of ``symbol`` the first time it sees a bar of it, then never trades again."""

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self.done = False

    def on_bar(self, bar: Bar, portfolio: Portfolio) -> Order | None:
        if bar.symbol != self.symbol or self.done:
            return None
        self.done = True
        return Order(self.symbol, "buy", Decimal(1))


class Jittery:
    """The real strategy, after a random amount of busy work: agents answer each step in a random order."""

    def __init__(self, genome: Genome) -> None:
        self.inner = make_strategy(genome)

    def on_bar(self, bar: Bar, portfolio: Portfolio) -> Order | None:
        sum(range(int.from_bytes(os.urandom(1), "big") * 40))  # unseeded on purpose: scheduling noise
        return self.inner.on_bar(bar, portfolio)


def test_a_run_hands_every_step_to_every_agent_and_counts_what_it_did():
    with open_arena() as arena:
        report = run_simulation(arena, feed(days=2), seed=1, agents=4)

    assert (report.steps, report.bars) == (48, 48 * 5)
    assert report.agent_steps == 4 * 48
    assert report.first_step == START + timedelta(hours=1)
    assert report.last_step == START + timedelta(days=2)
    assert report.start_seq == 1
    assert report.events_written == sum(report.events_by_type.values())
    assert report.events_by_type["AgentSpawned"] == 4
    assert report.agents_alive == 4


def test_new_agents_share_the_free_capital_less_the_reserve_equally():
    policy = EvolutionPolicy(reserve_fraction=0.1, max_agent_fraction=1.0)

    with open_arena() as arena:
        run_simulation(arena, feed(days=1), seed=1, agents=3, policy=policy)
        allocations = list(arena.replay_events(event_types=["CapitalAllocated"]))

    amounts = {event.amount for event in allocations if isinstance(event, CapitalAllocated)}
    assert len(allocations) == 3
    assert amounts == {from_minor(to_minor(Decimal(90_000)) // 3)}


def test_one_agent_gets_at_most_the_policys_largest_share():
    policy = EvolutionPolicy(max_agent_fraction=0.25, reserve_fraction=0.0)

    with open_arena() as arena:
        run_simulation(arena, feed(days=1), seed=1, agents=1, policy=policy)
        allocations = list(arena.replay_events(event_types=["CapitalAllocated"]))

    assert [event.amount for event in allocations if isinstance(event, CapitalAllocated)] == [Decimal(25_000)]


def test_orders_fill_at_the_next_steps_open_in_agent_id_order():
    with open_arena() as arena:
        run_simulation(arena, feed(days=3), seed=2, agents=8)
        trades = [
            e
            for e in arena.replay_events(event_types=["TradeExecuted", "TradeRejected"])
            if isinstance(e, TradeExecuted | TradeRejected) and e.caused_by is None  # not a cycle's sales
        ]
    opens = {(b.timestamp, b.symbol): b.open for b in feed(days=3)}

    by_step: dict[datetime, list[str]] = defaultdict(list)
    for trade in trades:
        by_step[trade.timestamp].append(trade.agent_id)
    assert trades
    assert all(agents == sorted(agents) for agents in by_step.values())
    for trade in trades:
        if isinstance(trade, TradeExecuted):
            assert abs(trade.price / opens[trade.timestamp, trade.symbol] - 1) < Decimal("0.001")


def test_every_event_is_stamped_with_simulated_time():
    with open_arena() as arena:
        run_simulation(arena, feed(days=2), seed=1, agents=4)
        stamps = {event.timestamp for event in arena.replay_events()}

    assert stamps <= {START} | {b.timestamp for b in feed(days=2)}


def test_a_cycle_runs_every_cycle_days_of_simulated_time():
    policy = EvolutionPolicy(cycle_days=2, min_bars_in_tier=0)

    with open_arena() as arena:
        report = run_simulation(arena, feed(days=7), seed=3, agents=6, policy=policy)
        started = list(arena.replay_events(event_types=["EvolutionCycleStarted"]))

    assert [e.timestamp for e in started] == [START + timedelta(days=d) for d in (2, 4, 6)]
    assert [c.cycle for c in report.cycles] == [
        e.cycle for e in started if isinstance(e, EvolutionCycleStarted)
    ]


def test_agents_answering_in_any_order_give_the_same_log():
    def run() -> str:
        with open_arena(strategy_factory=Jittery) as arena:
            return run_simulation(arena, feed(days=2), seed=4, agents=10).head_hash

    assert run() == run()


def test_a_strategy_that_raises_costs_its_own_agent_and_the_run_goes_on():
    def factory(genome: Genome) -> Strategy:
        if genome.strategy == "ma_crossover":
            msg = "boom"
            raise RuntimeError(msg)
        return make_strategy(genome)

    with open_arena(strategy_factory=factory) as arena:
        report = run_simulation(arena, feed(days=1), seed=5, agents=8)
        state = arena.state()

    crashed = [a for a in state.agents.values() if a.genome["strategy"] == "ma_crossover"]
    assert crashed
    assert all(not a.alive and a.failures == 1 for a in crashed)
    assert report.events_by_type["AgentFailed"] == len(crashed)
    assert report.agents_alive == 8 - len(crashed)


def test_an_agent_that_never_answers_is_failed_by_name_and_the_run_goes_on(monkeypatch):
    release = threading.Event()

    class Stuck:
        def __init__(self, genome: Genome) -> None:
            pass

        def on_bar(self, bar: Bar, portfolio: Portfolio) -> Order | None:
            release.wait(timeout=30)
            return None

    monkeypatch.setattr(timeouts_module, "STEP_TIMEOUT", 0.2)
    monkeypatch.setattr(timeouts_module, "STOP_TIMEOUT", 0.2)
    arena = open_arena(strategy_factory=Stuck)
    try:
        report = run_simulation(arena, feed(days=1), seed=1, agents=1)

        (failed,) = list(arena.replay_events(event_types=["AgentFailed"]))
        assert (failed.agent_id, failed.error_type, failed.action) == ("a-000001", "StepTimeout", "killed")
        assert failed.message.startswith("did not answer the step at 2026-01-01T01:00")
        assert report.steps == 24
    finally:
        release.set()
        arena.close()


def test_orders_for_a_symbol_without_a_bar_lapse_and_the_last_steps_wait_for_the_next_run():
    bars = [bar(1, "A"), bar(1, "B"), bar(2, "A"), bar(3, "A"), bar(3, "C")]

    def factory(genome: Genome) -> BuyOnce:
        return BuyOnce("B" if genome.strategy == "ma_crossover" else "C")

    with open_arena(strategy_factory=factory) as arena:
        report = run_simulation(arena, ListFeed(bars), seed=1, agents=6)
        waiting = arena.floor.pending
        genomes = {a.agent_id: a.genome["strategy"] for a in arena.state().alive_agents()}

    assert report.orders == 0  # B's buys found no B at hour 2; C's came at the last step
    crossovers = sum(1 for strategy in genomes.values() if strategy == "ma_crossover")
    assert report.lapsed_orders == crossovers
    assert waiting is not None
    assert sorted(agent_id for agent_id, _ in waiting) == sorted(
        a for a, s in genomes.items() if s != "ma_crossover"
    )
    assert all(order.symbol == "C" for _, order in waiting)
    assert "TradeExecuted" not in report.events_by_type


def test_a_resumed_run_skips_the_bars_the_arena_has_seen(tmp_path):
    path = tmp_path / "arena.db"
    with open_arena(path) as arena:
        first = run_simulation(arena, feed(days=2), seed=1, agents=3)

    with Arena.open(path, seed=1, clock=SimClock(first.last_step)) as arena:
        second = run_simulation(arena, feed(days=4), seed=1)

    assert second.start_seq == first.head_seq
    assert second.first_step == first.last_step + timedelta(hours=1)
    assert second.steps == 48


def test_a_cycle_due_at_the_first_step_of_a_resumed_run_sells_at_that_steps_opens(tmp_path):
    path = tmp_path / "arena.db"
    policy = EvolutionPolicy(cycle_days=1, min_bars_in_tier=0, kill_fraction=0.5, elite_count=0)
    first_day = ListFeed(
        [b for b in feed(days=1) if b.timestamp < START + timedelta(days=1)], identity=feed().identity()
    )
    with open_arena(path, strategy_factory=lambda genome: BuyOnce("AAA")) as arena:
        first = run_simulation(arena, first_day, seed=7, agents=8, policy=policy)
        holders = {a for a, record in arena.state().agents.items() if record.positions}

    with Arena.open(path, seed=7, clock=SimClock(first.last_step)) as arena:
        second = run_simulation(arena, feed(days=2), seed=7, policy=policy)
        sales = [e for e in arena.replay_events(event_types=["TradeExecuted"]) if e.caused_by is not None]

    opens = {b.symbol: b.open for b in feed(days=1) if b.timestamp == START + timedelta(days=1)}
    killed = set(second.cycles[0].killed)
    assert first.cycles == ()
    assert killed & holders
    assert sales
    for sale in sales[: second.cycles[0].liquidations]:
        assert isinstance(sale, TradeExecuted)
        assert sale.timestamp == START + timedelta(days=1)
        assert abs(sale.price / opens[sale.symbol] - 1) < Decimal("0.001")


def test_a_feed_with_nothing_after_the_log_refuses_the_run_and_changes_nothing():
    with open_arena() as arena:
        arena.floor.set_time(START + timedelta(days=5))
        arena.verify_capital_conservation()
        before = arena.head()

        with pytest.raises(
            ValidationError, match=r"^simulation: the feed has no bar after 2026-01-06T00:00:00"
        ):
            run_simulation(arena, feed(days=2), seed=1, agents=3)

        assert arena.head() == before


def test_progress_is_reported_every_few_steps_and_after_the_last():
    seen = []

    with open_arena() as arena:
        run_simulation(
            arena, feed(days=2), seed=1, agents=2, total_steps=48, progress=seen.append, progress_every=10
        )

    assert [p.steps for p in seen] == [10, 20, 30, 40, 48]
    assert seen[-1].total_steps == 48
    assert seen[-1].agents == 2
    assert seen[-1].moment == START + timedelta(days=2)
    assert [p.events for p in seen] == sorted(p.events for p in seen)


def test_the_report_ranks_the_fittest_agents_with_their_lineage_depth():
    policy = EvolutionPolicy(cycle_days=1, min_bars_in_tier=0)

    with open_arena() as arena:
        report = run_simulation(arena, feed(days=4), seed=6, agents=8, policy=policy, top=3)
        state = arena.state()

    assert len(report.top_agents) == 3
    assert [a.fitness for a in report.top_agents] == sorted(
        (a.fitness for a in report.top_agents), reverse=True
    )
    for agent in report.top_agents:
        assert agent.generation == state.agents[agent.agent_id].generation
        assert agent.tier == state.agents[agent.agent_id].tier


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"agents": -1}, r"^simulation: agents must be an int >= 0, got -1"),
        ({"seed": "1"}, r"^simulation: seed must be an int, got '1'"),
        ({"progress_every": 0}, r"^simulation: progress_every must be an int >= 1, got 0"),
    ],
)
def test_malformed_arguments_are_refused_before_anything_happens(options, message):
    arguments = {"seed": 1, **options}

    with open_arena() as arena:
        with pytest.raises(ValidationError, match=message):
            run_simulation(arena, feed(days=1), **arguments)

        assert arena.head().seq == 1


def test_derived_seeds_are_stable_and_differ_by_purpose():
    assert derive_seed(1, "cycle:1") == derive_seed(1, "cycle:1")
    assert derive_seed(1, "cycle:1") != derive_seed(1, "cycle:2")
    assert derive_seed(1, "cycle:1") != derive_seed(2, "cycle:1")
    assert 0 <= derive_seed(1, "x") < 2**63


class CrashesOnBar:
    """Jittery, and raises on the tenth bar it sees unless its genome is a crossover."""

    def __init__(self, genome: Genome) -> None:
        self.inner = Jittery(genome)
        self.crashes = genome.strategy != "ma_crossover"
        self.seen = 0

    def on_bar(self, bar: Bar, portfolio: Portfolio) -> Order | None:
        self.seen += 1
        if self.crashes and self.seen == 10:
            msg = "tenth bar"
            raise RuntimeError(msg)
        return self.inner.on_bar(bar, portfolio)


def test_agents_crashing_in_the_same_step_give_the_same_log_whatever_order_they_crash_in():
    def run() -> tuple[str, int]:
        with open_arena(strategy_factory=CrashesOnBar) as arena:
            report = run_simulation(arena, feed(days=2), seed=4, agents=12)
            failed = list(arena.replay_events(event_types=["AgentFailed"]))
        return report.head_hash, len(failed)

    first, again = run(), run()

    assert first[1] > 1
    assert first == again


# --- legs on one open arena: the second run reads nothing from the log -------------------------------


def count_reads(monkeypatch: pytest.MonkeyPatch, arena: Arena) -> list[int]:
    """Count the arena's replay_events calls from now on."""
    calls: list[int] = []
    replay = arena.replay_events

    def counting(*args: object, **kwargs: object) -> Iterator[object]:
        calls.append(1)
        return replay(*args, **kwargs)  # type: ignore[arg-type]  # forwarded as given

    monkeypatch.setattr(arena, "replay_events", counting)
    return calls


def first_leg(arena: Arena, *, days: int, hours: int, agents: int, **options: object) -> SimulationReport:
    """Run seed 3 on ``days`` of bars, stopping after the step ``hours`` into them: a first leg."""
    cut = START + timedelta(hours=hours)
    return run_simulation(
        arena, feed(days=days), seed=3, agents=agents, stop=lambda: arena.floor.now() >= cut, **options
    )


def test_legs_on_one_open_arena_read_no_log_and_write_the_log_of_one_run(monkeypatch):
    policy = EvolutionPolicy(cycle_days=1)
    with open_arena() as whole:
        run_simulation(whole, feed(days=4), seed=3, agents=4, policy=policy)
        expected = whole.head()
    with open_arena() as legs:
        first = first_leg(legs, days=4, hours=48, agents=4, policy=policy)
        reads = count_reads(monkeypatch, legs)
        second = run_simulation(legs, feed(days=4), seed=3, policy=policy)
        assert reads == []  # the first leg's memo: where the log ends, its last cycle, its manifest
        assert legs.head() == expected
        assert first.steps + second.steps == 4 * 24
        assert sum(second.events_by_type.values()) == legs.head().seq - second.start_seq


def test_a_leg_after_the_clock_moved_reads_the_log_and_skips_what_it_holds(monkeypatch):
    with open_arena() as arena:
        first_leg(arena, days=3, hours=5, agents=2)
        later = START + timedelta(hours=9)
        arena.floor.set_time(later)
        arena.floor.record_marks({"AAA": Decimal(1)})  # an event at a time past the run's last step
        reads = count_reads(monkeypatch, arena)
        report = run_simulation(arena, feed(days=3), seed=3)
        assert reads  # the memo no longer describes the log: read it
        assert report.first_step == later + timedelta(hours=1)


def test_a_leg_after_a_cycle_outside_the_run_reads_the_log(monkeypatch):
    policy = EvolutionPolicy(cycle_days=1)
    with open_arena() as arena:
        first_leg(arena, days=3, hours=30, agents=3, policy=policy)
        arena.run_evolution_cycle(policy, seed=9)
        reads = count_reads(monkeypatch, arena)
        run_simulation(arena, feed(days=3), seed=3, policy=policy)
        assert reads


def test_a_leg_with_another_seed_is_refused_from_the_memo_naming_the_difference():
    with open_arena() as arena:
        first_leg(arena, days=3, hours=5, agents=2)
        head = arena.head()
        with pytest.raises(
            ValidationError,
            match=r"manifest recorded\) that differs from this one: seed: recorded 3, given 4",
        ):
            run_simulation(arena, feed(days=3), seed=4)
        with pytest.raises(ValidationError, match="a resumed run spawns none"):
            run_simulation(arena, feed(days=3), seed=3, agents=2)
        assert arena.head() == head
