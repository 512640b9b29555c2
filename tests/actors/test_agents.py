from __future__ import annotations

import queue
from decimal import Decimal
from typing import Any

import pykka

from actors import ASK_TIMEOUT, MAX_RESTARTS, STEP_TIMEOUT, AgentActor, Arena, OnBars
from actors._messages import AgentCrashed, ChangeTier
from events import AgentFailed, AgentKilled, Tier
from tests.actors.support import ScriptedStrategy, bar, open_arena, raising_factory, stored
from trading import BUILTIN_STRATEGIES, Genome, Order, Portfolio


class Inbox(pykka.ThreadingActor):
    """Stands in for the supervisor: keeps what agents tell it."""

    def __init__(self, received: queue.Queue[Any]) -> None:
        super().__init__()
        self._received = received

    def on_receive(self, message: Any) -> None:
        self._received.put(message)


def start_agent(
    strategy: ScriptedStrategy | None = None, *, factory: Any = None
) -> tuple[Any, queue.Queue[Any]]:
    received: queue.Queue[Any] = queue.Queue()
    inbox = Inbox.start(received)
    agent = AgentActor.start(
        "a-000001",
        BUILTIN_STRATEGIES["ma_crossover"].genome(),
        Tier.SIMULATION,
        supervisor=inbox,
        strategy_factory=factory or (lambda genome: strategy or ScriptedStrategy()),
    )
    return agent, received


def test_an_agent_answers_a_step_with_the_orders_its_strategy_gives():
    order = Order("BTC", "buy", Decimal("0.5"))
    agent, _ = start_agent(ScriptedStrategy([order, None]))

    orders = agent.ask(
        OnBars((bar("BTC", "100"), bar("ETH", "10")), Portfolio(cash=Decimal(100))), timeout=STEP_TIMEOUT
    )

    assert orders == (order,)


def test_an_agent_shows_its_strategy_the_ledger_portfolio_it_was_given():
    strategy = ScriptedStrategy()
    agent, _ = start_agent(strategy)
    given = Portfolio(cash=Decimal(5), positions={"BTC": Decimal(2)}, entry_prices={"BTC": Decimal(150)})

    agent.ask(OnBars((bar("BTC", "150"),), given), timeout=STEP_TIMEOUT)

    ((_, portfolio),) = strategy.seen
    assert portfolio == given
    assert portfolio.entry_prices == {"BTC": Decimal(150)}


def test_the_entry_price_a_strategy_sees_is_the_ledgers_average_cost():
    with Arena.open(None, total_capital=10_000) as arena:
        agent_id = arena.spawn_agent(BUILTIN_STRATEGIES["ma_crossover"].genome())
        arena.allocate_capital({agent_id: "1000"})
        arena.floor.execute_orders([(agent_id, Order("BTC", "buy", Decimal(1)))], {"BTC": Decimal(100)})
        arena.floor.execute_orders([(agent_id, Order("BTC", "buy", Decimal(1)))], {"BTC": Decimal(200)})
        portfolio = arena.floor.portfolios()[agent_id]
        cost = arena.state().agents[agent_id].cost_basis["BTC"]

    assert portfolio.positions == {"BTC": Decimal(2)}
    assert portfolio.entry_prices == {"BTC": cost / 2}
    assert cost / 2 > Decimal(150)  # slippage is in the fill prices, so in the cost


def test_a_strategy_that_raises_is_reported_and_the_step_answers_no_orders():
    agent, received = start_agent(ScriptedStrategy([RuntimeError("boom")]))

    orders = agent.ask(OnBars((bar("BTC", "100"),), Portfolio(cash=Decimal(1))), timeout=STEP_TIMEOUT)

    report = received.get(timeout=ASK_TIMEOUT)
    assert orders == ()
    assert report == AgentCrashed("a-000001", "RuntimeError", "boom", 0)
    assert agent.is_alive()


def test_a_strategy_factory_that_raises_is_reported_as_a_crash():
    def broken(genome: Genome) -> ScriptedStrategy:
        msg = "no such family"
        raise ValueError(msg)

    agent, received = start_agent(factory=broken)

    orders = agent.ask(OnBars((bar("BTC", "100"),), Portfolio(cash=Decimal(1))), timeout=STEP_TIMEOUT)

    assert received.get(timeout=ASK_TIMEOUT).error_type == "ValueError"
    assert orders == ()


def test_an_agent_learns_its_new_tier_after_a_graduation():
    agent, _ = start_agent()

    agent.tell(ChangeTier(Tier.PROVING))

    assert agent.proxy().tier.get(timeout=ASK_TIMEOUT) == Tier.PROVING


def test_each_spawned_agent_gets_an_actor_and_a_killed_one_loses_it():
    with open_arena() as arena:
        first, second = arena.spawn_agent(), arena.spawn_agent()
        refs = arena.floor.agent_refs()

        arena.kill_agent(first, "done")

        assert set(refs) == {first, second}
        assert set(arena.floor.agent_refs()) == {second}
        assert refs[first].actor_stopped.wait(timeout=ASK_TIMEOUT)


def test_an_agent_that_raises_is_killed_its_capital_released_and_the_arena_runs_on():
    with open_arena(strategy_factory=raising_factory(RuntimeError("bad signal"))) as arena:
        agent = arena.spawn_agent()
        arena.allocate_capital({agent: Decimal(300)})
        ref = arena.floor.agent_refs()[agent]

        ref.ask(OnBars((bar("BTC", "100"),), Portfolio(cash=Decimal(300))), timeout=STEP_TIMEOUT)

        failed, killed = stored(arena, agent_id=agent, event_types=["AgentFailed", "AgentKilled"])
        assert isinstance(failed, AgentFailed)
        assert (failed.error_type, failed.message, failed.action) == ("RuntimeError", "bad signal", "killed")
        assert isinstance(killed, AgentKilled)
        assert killed.caused_by == failed.event_id
        assert killed.capital_released == Decimal(300)
        assert arena.state().treasury == Decimal(1000)
        assert arena.spawn_agent() == "a-000002"


def test_an_agent_that_raises_is_restarted_from_its_genome_under_the_restart_policy():
    with open_arena(strategy_factory=raising_factory(RuntimeError("x")), on_agent_failure="restart") as arena:
        agent = arena.spawn_agent()
        before = arena.floor.agent_refs()[agent]

        before.ask(OnBars((bar("BTC", "100"),), Portfolio(cash=Decimal(0))), timeout=STEP_TIMEOUT)

        (failed,) = stored(arena, event_types=["AgentFailed"])
        after = arena.floor.agent_refs()[agent]
        assert failed.action == "restarted"
        assert after is not before
        assert after.is_alive()
        assert arena.state().agents[agent].alive
        assert arena.state().agents[agent].failures == 1


def test_an_agent_that_keeps_raising_is_killed_after_its_restarts_run_out():
    with open_arena(strategy_factory=raising_factory(RuntimeError("x")), on_agent_failure="restart") as arena:
        agent = arena.spawn_agent()

        for _ in range(MAX_RESTARTS + 1):
            ref = arena.floor.agent_refs()[agent]
            ref.ask(OnBars((bar("BTC", "100"),), Portfolio(cash=Decimal(0))), timeout=STEP_TIMEOUT)

        actions = [e.action for e in stored(arena, event_types=["AgentFailed"])]
        assert actions == ["restarted"] * MAX_RESTARTS + ["killed"]
        assert not arena.state().agents[agent].alive
        assert agent not in arena.floor.agent_refs()
