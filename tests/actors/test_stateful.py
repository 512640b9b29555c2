"""The Arena API against a model of it: random valid and invalid commands, invariants after every step.

Like hypothesis's own database-agreement test: a plain-Python model says what every command should do,
the real arena does it, and after every step they must agree, the books must balance exactly, and the
stored log must fold to the live state with every event stored exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal

import pytest
from hypothesis import HealthCheck, assume, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, multiple, rule

from events import (
    AgentNotAliveError,
    AllocationError,
    GraduationError,
    Tier,
    UnknownAgentError,
    ValidationError,
    cost_of_sale,
)
from tests.actors.support import FUNDING, assert_conserved, assert_log_matches_state, open_arena
from trading import BrokerConfig, Order

BROKER = BrokerConfig(slippage_bps=0, fee_bps=10)
FEE_RATE = Decimal("0.001")
Q = Decimal("0.00000001")
SYMBOLS = ("BTC", "ETH")
trade_prices = st.decimals(min_value=Decimal(1), max_value=Decimal(200), places=2)
trade_quantities = st.decimals(min_value=Decimal("0.01"), max_value=Decimal(2), places=2)

amounts = st.decimals(min_value=Decimal("0.00000001"), max_value=Decimal(400), places=8)
bad_amounts = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(max_value=Decimal("-0.00000001"), places=8, allow_nan=False, allow_infinity=False),
    st.just(Decimal("NaN")),
    st.just(Decimal(0)),
    st.decimals(min_value=Decimal("0.000000001"), max_value=Decimal(1), places=9).filter(
        lambda d: d != d.quantize(Decimal("0.00000001"))
    ),
)
NEXT_TIER = {Tier.SIMULATION: Tier.PROVING, Tier.PROVING: Tier.ARENA}


@dataclass
class ModelAgent:
    tier: Tier = Tier.SIMULATION
    allocation: Decimal = Decimal(0)
    alive: bool = True
    positions: dict[str, Decimal] = field(default_factory=dict)
    cost: dict[str, Decimal] = field(default_factory=dict)


def fee_of(notional: Decimal) -> Decimal:
    return (notional * FEE_RATE).quantize(Q, rounding=ROUND_HALF_EVEN)


class ArenaAgainstModel(RuleBasedStateMachine):
    agents = Bundle("agents")

    def __init__(self) -> None:
        super().__init__()
        self.arena = open_arena()
        self.treasury = FUNDING
        self.model: dict[str, ModelAgent] = {}
        self.seq = 1
        self.answered: list = []  # events the API handed back: each must be stored exactly once
        self.marks: dict[str, Decimal] = {}
        self.fees = Decimal(0)
        self.realized = Decimal(0)

    def teardown(self) -> None:
        self.arena.close()

    # --- valid and invalid commands -------------------------------------------------------------------

    @initialize(target=agents)
    def first_agents(self):
        first, second = self.arena.spawn_agent(), self.arena.spawn_agent()
        self.model.update({first: ModelAgent(), second: ModelAgent()})
        self.seq += 2
        return multiple(first, second)

    @rule(target=agents, tier=st.sampled_from(list(Tier)))
    def spawn(self, tier):
        agent = self.arena.spawn_agent(tier=tier)
        self.model[agent] = ModelAgent(tier=tier)
        self.seq += 1
        return agent

    @rule(agent=agents, amount=amounts)
    def allocate(self, agent, amount):
        self._allocate({agent: amount})

    @rule(chosen=st.lists(agents, min_size=2, max_size=4, unique=True), amount=amounts)
    def allocate_to_many(self, chosen, amount):
        self._allocate(dict.fromkeys(chosen, amount))

    def _allocate(self, allocations):
        dead = [agent for agent in allocations if not self.model[agent].alive]
        total = sum(allocations.values(), Decimal(0))
        if dead:
            with pytest.raises(AgentNotAliveError):
                self.arena.allocate_capital(allocations)
        elif total > self.treasury:
            with pytest.raises(AllocationError) as caught:
                self.arena.allocate_capital(allocations)
            assert (caught.value.requested, caught.value.available) == (total, self.treasury)
            self.seq += 1  # AllocationRejected, and nothing else
        else:
            self.answered += self.arena.allocate_capital(allocations)
            for agent, amount in allocations.items():
                self.model[agent].allocation += amount
            self.treasury -= total
            self.seq += len(allocations)

    @rule(agent=agents, amount=st.none() | amounts)
    def release(self, agent, amount):
        held = self.model[agent]
        if not held.alive:
            with pytest.raises(AgentNotAliveError):
                self.arena.release_capital(agent, amount)
        elif amount is not None and amount > held.allocation:
            with pytest.raises(AllocationError):
                self.arena.release_capital(agent, amount)
        else:
            released = self.arena.release_capital(agent, amount)
            assert released == (held.allocation if amount is None else amount)
            held.allocation -= released
            self.treasury += released
            self.seq += 1 if released else 0

    @rule(agent=agents)
    def kill(self, agent):
        held = self.model[agent]
        if not held.alive:
            with pytest.raises(AgentNotAliveError):
                self.arena.kill_agent(agent, "model says so")
            return
        if any(symbol not in self.marks for symbol in held.positions):
            with pytest.raises(ValidationError, match=r"cannot be killed: no price for"):
                self.arena.kill_agent(agent, "model says so", broker=BROKER)
            return
        for symbol in sorted(held.positions):
            self._sell(held, symbol, held.positions[symbol], self.marks[symbol])
        assert self.arena.kill_agent(agent, "model says so", broker=BROKER) == held.allocation
        self.treasury += held.allocation
        held.allocation, held.alive = Decimal(0), False
        self.seq += 1

    @rule(agent=agents, symbol=st.sampled_from(SYMBOLS), quantity=trade_quantities, price=trade_prices)
    def buy(self, agent, symbol, quantity, price):
        held = self.model[agent]
        notional = quantity * price
        assume(held.alive and notional + fee_of(notional) <= held.allocation)
        (trade,) = self.arena.floor.execute_orders(
            [(agent, Order(symbol, "buy", quantity))], {symbol: price}, BROKER
        )
        self.answered.append(trade)
        fee = fee_of(notional)
        held.allocation -= notional + fee
        held.positions[symbol] = held.positions.get(symbol, Decimal(0)) + quantity
        held.cost[symbol] = held.cost.get(symbol, Decimal(0)) + notional
        self.fees += fee
        self.seq += 1

    @rule(agent=agents, symbol=st.sampled_from(SYMBOLS), part=st.integers(1, 4), price=trade_prices)
    def sell(self, agent, symbol, part, price):
        held = self.model[agent]
        assume(held.alive and held.positions.get(symbol))
        quantity = (held.positions[symbol] / part).quantize(Q, rounding="ROUND_DOWN")
        assume(quantity > 0)
        (trade,) = self.arena.floor.execute_orders(
            [(agent, Order(symbol, "sell", quantity))], {symbol: price}, BROKER
        )
        self.answered.append(trade)
        self._sell(held, symbol, quantity, price)

    def _sell(self, held, symbol, quantity, price):
        notional = (quantity * price).quantize(Q, rounding=ROUND_HALF_EVEN)
        fee = fee_of(notional)
        cost = cost_of_sale(held.positions[symbol], held.cost[symbol], quantity)
        held.allocation += notional - fee
        held.positions[symbol] -= quantity
        held.cost[symbol] -= cost
        if not held.positions[symbol]:
            del held.positions[symbol], held.cost[symbol]
        self.fees += fee
        self.realized += notional - cost
        self.seq += 1

    @rule(symbol=st.sampled_from(SYMBOLS), price=trade_prices)
    def mark(self, symbol, price):
        self.arena.floor.record_marks({symbol: price})
        self.marks[symbol] = price
        self.seq += 1

    @rule(agent=agents, to_tier=st.sampled_from([Tier.PROVING, Tier.ARENA]))
    def graduate(self, agent, to_tier):
        held = self.model[agent]
        command = self.arena.graduate_to_proving if to_tier == Tier.PROVING else self.arena.graduate_to_arena
        if not held.alive:
            with pytest.raises(AgentNotAliveError):
                command(agent)
        elif NEXT_TIER.get(held.tier) != to_tier:
            with pytest.raises(GraduationError):
                command(agent)
        else:
            self.answered.append(command(agent))
            held.tier = to_tier
            self.seq += 1

    @rule(target=agents, parent=agents, seed=st.integers(0, 2**32))
    def mutate(self, parent, seed):
        if not self.model[parent].alive:
            with pytest.raises(AgentNotAliveError):
                self.arena.mutate_agent(parent, seed=seed)
            return parent
        child = self.arena.mutate_agent(parent, seed=seed)
        self.model[child] = ModelAgent()
        self.seq += 2
        return child

    @rule()
    def check_conservation(self):
        report = self.arena.verify_capital_conservation()
        assert report.ok
        assert report.free == self.treasury
        self.seq += 1

    @rule(agent=agents, amount=bad_amounts)
    def bad_amount_changes_nothing(self, agent, amount):
        with pytest.raises(ValidationError):
            self.arena.allocate_capital({agent: amount})
        with pytest.raises(ValidationError):
            self.arena.release_capital(agent, amount)

    @rule(name=st.text(min_size=1, max_size=8).filter(lambda s: not s.startswith("a-")))
    def unknown_agent_changes_nothing(self, name):
        with pytest.raises(UnknownAgentError):
            self.arena.allocate_capital({name: Decimal(1)})
        with pytest.raises(UnknownAgentError):
            self.arena.kill_agent(name, "who?")

    # --- invariants -----------------------------------------------------------------------------------

    @invariant()
    def the_arena_agrees_with_the_model_and_conserves_capital(self):
        state = self.arena.state()

        assert state.seq == self.seq
        assert state.treasury == self.treasury
        for agent, held in self.model.items():
            record = state.agents[agent]
            assert (record.alive, record.tier, record.allocation) == (held.alive, held.tier, held.allocation)
            assert (record.positions, record.cost_basis) == (held.positions, held.cost)
        assert (state.fees_paid, state.realized_pnl, state.marks) == (self.fees, self.realized, self.marks)
        assert_conserved(state)
        assert state.nav() == state.total_capital + state.unrealized_pnl()

    @invariant()
    def the_stored_log_folds_to_the_state_with_every_answered_event_once(self):
        events = assert_log_matches_state(self.arena)

        stored_ids = [e.event_id for e in events]
        assert all(stored_ids.count(e.event_id) == 1 for e in self.answered)


ArenaAgainstModel.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_the_arena_agrees_with_its_model = ArenaAgainstModel.TestCase
