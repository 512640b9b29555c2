"""A builder of real, valid event logs for the store tests: every event is folded as it is made."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from events import (
    AgentFailed,
    AgentGraduated,
    AgentKilled,
    AgentMutated,
    AgentSpawned,
    AllocationRejected,
    ArenaOpened,
    ArenaState,
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
    fold,
    trade_cash_delta,
)

START = datetime(2024, 1, 1, tzinfo=UTC)


class ArenaLog:
    """Makes the next event of an arena, checks it with the shared fold, and keeps the log.

    ``make`` builds the next event without folding it, for tests of what the store must refuse.
    """

    def __init__(self, seed: int = 0, start: datetime = START) -> None:
        self._rng = random.Random(seed)
        self.start = start
        self.fold = Fold()
        self.events: list[Event] = []
        self.encoded: list[str] = []
        self._taken = 0

    @property
    def state(self) -> ArenaState:
        return self.fold.freeze()

    def state_at(self, seq: int) -> ArenaState:
        return fold(self.events[:seq])

    def new_id(self) -> uuid.UUID:
        return uuid.UUID(int=self._rng.getrandbits(128), version=4)

    def make(self, cls: type[Event], *, seq: int | None = None, **fields: Any) -> Event:
        seq = self.fold.seq + 1 if seq is None else seq
        return cls(seq=seq, event_id=self.new_id(), timestamp=self.start + timedelta(seconds=seq), **fields)

    def emit(self, cls: type[Event], **fields: Any) -> Event:
        event = self.make(cls, **fields)
        self.encoded.append(self.fold.apply(event))
        self.events.append(event)
        return event

    def take(self) -> list[Event]:
        """Return the events made since the last take: the next batch to append."""
        batch = self.events[self._taken :]
        self._taken = len(self.events)
        return batch

    def open(self, capital: str = "1000000", arena_id: str = "arena-1") -> Event:
        return self.emit(ArenaOpened, arena_id=arena_id, total_capital=Decimal(capital), config={"seed": 0})

    def spawn(self, agent_id: str, *, tier: Tier = Tier.SIMULATION, caused_by: Event | None = None) -> Event:
        return self.emit(
            AgentSpawned,
            agent_id=agent_id,
            tier=tier,
            genome={"family": "momentum"},
            caused_by=_id(caused_by),
        )

    def allocate(self, agent_id: str, amount: str, *, caused_by: Event | None = None) -> Event:
        return self.emit(
            CapitalAllocated, agent_id=agent_id, amount=Decimal(amount), caused_by=_id(caused_by)
        )

    def release(self, agent_id: str, amount: str, *, caused_by: Event | None = None) -> Event:
        return self.emit(CapitalReleased, agent_id=agent_id, amount=Decimal(amount), caused_by=_id(caused_by))

    def trade(
        self,
        agent_id: str,
        side: str = "buy",
        quantity: str = "2",
        price: str = "10.5",
        fee: str = "0.01",
        *,
        caused_by: Event | None = None,
    ) -> Event:
        delta = trade_cash_delta(side, Decimal(quantity), Decimal(price), Decimal(fee))
        return self.emit(
            TradeExecuted,
            agent_id=agent_id,
            symbol="XYZ",
            side=side,
            quantity=Decimal(quantity),
            price=Decimal(price),
            fee=Decimal(fee),
            cash_delta=delta,
            caused_by=_id(caused_by),
        )

    def kill(self, agent_id: str, *, caused_by: Event | None = None) -> Event:
        held = self.fold.agent(agent_id)["allocation"]
        return self.emit(
            AgentKilled,
            agent_id=agent_id,
            reason="underperformed",
            capital_released=held,
            caused_by=_id(caused_by),
        )

    def graduate(self, agent_id: str, *, caused_by: Event | None = None) -> Event:
        tier = self.fold.agent(agent_id)["tier"]
        to = Tier.PROVING if tier == Tier.SIMULATION else Tier.ARENA
        return self.emit(
            AgentGraduated, agent_id=agent_id, from_tier=tier, to_tier=to, caused_by=_id(caused_by)
        )

    def fail(self, agent_id: str) -> Event:
        return self.emit(
            AgentFailed, agent_id=agent_id, error_type="ValueError", message="bad bar", action="restarted"
        )

    def reject_trade(self, agent_id: str) -> Event:
        return self.emit(
            TradeRejected,
            agent_id=agent_id,
            symbol="XYZ",
            side="sell",
            quantity=Decimal(1),
            reason="none held",
        )

    def reject_allocation(self) -> Event:
        return self.emit(
            AllocationRejected,
            requested=Decimal(10**9),
            available=self.fold.treasury,
            reason="over the treasury",
        )

    def check(self) -> Event:
        allocated = self.state.allocated_capital
        return self.emit(
            CapitalConservationCheck,
            total=self.fold.total_capital,
            free=self.fold.treasury,
            allocated=allocated,
            ok=True,
        )

    def cycle(self, parent: str, child: str) -> list[Event]:
        """An evolution cycle: start, breed ``child`` from ``parent``, fund it, complete; one causal chain."""
        started = self.emit(EvolutionCycleStarted, cycle=self.fold.cycle + 1, policy={"kill": 0.2})
        parent_spawn = next(e for e in self.events if isinstance(e, AgentSpawned) and e.agent_id == parent)
        spawned = self.emit(
            AgentSpawned,
            agent_id=child,
            tier=Tier.SIMULATION,
            genome={},
            parent_id=parent,
            caused_by=started.event_id,
        )
        mutated = self.emit(
            AgentMutated,
            agent_id=child,
            parent_id=parent,
            child_id=child,
            parent_event_id=parent_spawn.event_id,
            mutation={"window": [10, 12]},
            caused_by=spawned.event_id,
        )
        funded = self.allocate(child, "100", caused_by=mutated)
        complete = self.emit(
            EvolutionCycleComplete,
            cycle=self.fold.cycle,
            killed=0,
            graduated=0,
            mutated=1,
            reallocated=1,
            caused_by=funded.event_id,
        )
        return [started, spawned, mutated, funded, complete]

    def scenario(self, agents: int = 3, rounds: int = 2) -> list[Event]:
        """A realistic small arena: open, spawn and fund agents, trade, promote, fail, cycle, kill, check."""
        opened = self.open()
        spawns = [self.spawn(f"a{i}", caused_by=opened) for i in range(1, agents + 1)]
        for spawn in spawns:
            self.allocate(spawn.agent_id or "", "1000", caused_by=spawn)
        for _ in range(rounds):
            for spawn in spawns:
                buy = self.trade(spawn.agent_id or "", "buy", caused_by=spawn)
                self.trade(spawn.agent_id or "", "sell", quantity="1", price="11", caused_by=buy)
        self.graduate("a1")
        self.fail("a2")
        self.reject_trade("a2")
        self.reject_allocation()
        self.cycle("a1", f"a{agents + 1}")
        self.release("a1", "10")
        self.kill(f"a{agents}")
        self.check()
        return self.events


def _id(event: Event | None) -> uuid.UUID | None:
    return None if event is None else event.event_id
