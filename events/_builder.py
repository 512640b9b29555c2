"""``LogBuilder``: the one maker of valid event logs, for the tests, the benchmarks and examples.

The builder proposes and the shared ``Fold`` judges: every event goes through ``Fold.apply`` as it is made,
so a log the builder returns is one the store must accept and the verifier must pass, and an event the
fold refuses raises before it joins the log. Event ids come from a seeded ``random.Random`` and timestamps
from a start time plus one tick per seq, so one seed builds the very same bytes every time.

To choose a legal next event (a kill releases the whole allocation, a promotion starts from the current
tier) the builder reads the fold's typed working entries, never a copy: ``freeze`` copies every agent
(about 3 ms for 200 agents, five minutes over the store benchmark's 100k events).
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Final, Literal, TypeAlias, TypeVar

from ._agents import AgentDemoted, AgentFailed, AgentGraduated, AgentKilled, AgentSpawned
from ._base import DEMOTIONS, PROMOTIONS, Event, Tier
from ._capital import (
    AllocationRejected,
    ArenaOpened,
    CapitalAllocated,
    CapitalConservationCheck,
    CapitalReleased,
)
from ._errors import GraduationError, UnknownAgentError
from ._evolution import AgentMutated, EvolutionCycleComplete, EvolutionCycleStarted
from ._migration import AgentEmigrated, AgentImmigrated
from ._money import ZERO
from ._positions import cost_of_sale, value_at
from ._run import SimulationStarted
from ._state import ArenaState, Fold, fold
from ._trading import MarksRecorded, TradeExecuted, TradeRejected, trade_cash_delta

if TYPE_CHECKING:
    from pydantic import JsonValue

    from ._records import AgentEntry
    from ._trading import Side

__all__ = ["LogBuilder"]

_E = TypeVar("_E", bound=Event)
_Amount: TypeAlias = Decimal | int | str
"""An exact amount: a ``Decimal``, an integer or decimal text, never a float."""

_START: Final = datetime(2024, 1, 1, tzinfo=UTC)
_TICK: Final = timedelta(seconds=1)


class LogBuilder:
    """Makes the next event of an arena, folds it with the shared ``Fold`` and keeps the log.

    ``events`` and ``encoded`` (each event's canonical JSON, as ``Fold.apply`` returned it) grow together;
    ``take`` hands out the events made since the last take, the next batch to append. ``make`` builds the
    next event without folding it, for tests of what the store must refuse. Amounts are exact: a
    ``Decimal``, an ``int`` or decimal text such as ``"10.5"``.

    Args:
        seed: Seeds ``rng``, which draws every event id; the same seed builds the same log.
        start: The timestamp of seq 0; seq ``n`` happens at ``start + n * tick``.
        tick: Time between consecutive events.

    Attributes:
        seed: The seed it was built with; ``open`` records it in the arena's config by default.
        rng: Draws the event ids. A caller that makes random choices of its own draws from it too, so one
            seed fixes the whole log.
        fold: The shared fold every emitted event went through; its ``seq`` and ``head_hash`` are the
            log's head.
        events: Every emitted event, in seq order.
        encoded: Each emitted event's canonical JSON, as ``Fold.apply`` returned it.

    """

    def __init__(self, seed: int = 0, *, start: datetime = _START, tick: timedelta = _TICK) -> None:
        self.seed = seed
        self.rng = random.Random(seed)  # noqa: S311  (reproducible test data, not secrets)
        self.start = start
        self.tick = tick
        self.fold = Fold()
        self.events: list[Event] = []
        self.encoded: list[str] = []
        self._taken = 0
        self._spawns: dict[str, AgentSpawned] = {}

    # --- reading what was built -----------------------------------------------------------------------

    @property
    def seq(self) -> int:
        """Seq of the last event folded in; 0 before any."""
        return self.fold.seq

    @property
    def state(self) -> ArenaState:
        """The frozen state after every event so far (copies every agent: read it, don't poll it)."""
        return self.fold.freeze()

    def state_at(self, seq: int) -> ArenaState:
        """Return the state after the first ``seq`` events, folded afresh from the log."""
        return fold(self.events[:seq])

    @property
    def treasury(self) -> Decimal:
        """Free capital, not allocated to any agent."""
        return self.fold.treasury

    @property
    def total_capital(self) -> Decimal:
        """Funding plus every fill's cash delta: what the treasury and the agents hold together."""
        return self.fold.total_capital

    @property
    def cycle_number(self) -> int:
        """Number of the last evolution cycle started; 0 before any."""
        return self.fold.cycle

    def agent_ids(self) -> list[str]:
        """Return every agent spawned so far, dead ones included, in spawn order."""
        return list(self._spawns)

    def alive(self) -> list[str]:
        """Return the live agents in spawn order."""
        return [agent_id for agent_id in self._spawns if self._agent(agent_id).alive]

    def allocation(self, agent_id: str) -> Decimal:
        """Return the cash ``agent_id`` holds; 0 once killed."""
        return self._agent(agent_id).allocation

    def tier(self, agent_id: str) -> Tier:
        """Return the tier ``agent_id`` stands in now."""
        return self._agent(agent_id).tier

    def holding(self, agent_id: str, symbol: str = "XYZ") -> Decimal:
        """Return the units of ``symbol`` that ``agent_id`` holds."""
        return self._agent(agent_id).positions.get(symbol, ZERO)

    def spawn_of(self, agent_id: str) -> AgentSpawned:
        """Return the event that spawned ``agent_id``: what a child's ``parent_event_id`` names."""
        self._agent(agent_id)
        return self._spawns[agent_id]

    # --- the machinery --------------------------------------------------------------------------------

    def new_id(self) -> uuid.UUID:
        """Return a fresh event id from ``rng`` (a version-4 UUID)."""
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def make(self, cls: type[_E], *, seq: int | None = None, **fields: object) -> _E:
        """Build the next event (or the one at ``seq``) without folding it or adding it to the log."""
        return self._build(cls, self.fold.seq + 1 if seq is None else seq, fields)

    def emit(self, cls: type[_E], **fields: object) -> _E:
        """Build the next event, fold it in and add it to the log.

        Raises:
            EventSourcingError: the fold refused the event; the log and the state are as they were.

        """
        event = self._build(cls, self.fold.seq + 1, fields)
        self.encoded.append(self.fold.apply(event))
        self.events.append(event)
        if isinstance(event, AgentSpawned):
            self._spawns[event.agent_id] = event
        return event

    def take(self) -> list[Event]:
        """Return the events made since the last take: the next batch to append."""
        batch = self.events[self._taken :]
        self._taken = len(self.events)
        return batch

    def _build(self, cls: type[_E], seq: int, fields: dict[str, object]) -> _E:
        envelope = {"seq": seq, "event_id": self.new_id(), "timestamp": self.start + self.tick * seq}
        return cls.model_validate({**envelope, **fields})

    # --- one helper per event kind --------------------------------------------------------------------

    def open(
        self,
        capital: _Amount = "1000000",
        *,
        arena_id: str = "arena-1",
        config: dict[str, JsonValue] | None = None,
    ) -> ArenaOpened:
        """Open the arena with ``capital`` in the treasury; ``config`` defaults to the builder's seed."""
        config = {"seed": self.seed} if config is None else config
        return self.emit(ArenaOpened, arena_id=arena_id, total_capital=Decimal(capital), config=config)

    def start_run(self, manifest: dict[str, JsonValue] | None = None) -> SimulationStarted:
        """Record a simulation run's manifest (a small synthetic one by default)."""
        given = {"seed": self.seed, "market": {"kind": "synthetic"}} if manifest is None else manifest
        return self.emit(SimulationStarted, manifest=given)

    def spawn(
        self,
        agent_id: str,
        *,
        tier: Tier = Tier.SIMULATION,
        genome: dict[str, JsonValue] | None = None,
        parent_id: str | None = None,
        caused_by: Event | None = None,
    ) -> AgentSpawned:
        """Spawn ``agent_id`` with no capital (a momentum genome unless ``genome`` says otherwise)."""
        return self.emit(
            AgentSpawned,
            agent_id=agent_id,
            tier=tier,
            genome={"strategy": "momentum", "params": {}} if genome is None else genome,
            parent_id=parent_id,
            caused_by=_id(caused_by),
        )

    def allocate(self, agent_id: str, amount: _Amount, *, caused_by: Event | None = None) -> CapitalAllocated:
        """Move ``amount`` from the treasury to ``agent_id``."""
        return self.emit(
            CapitalAllocated, agent_id=agent_id, amount=Decimal(amount), caused_by=_id(caused_by)
        )

    def release(self, agent_id: str, amount: _Amount, *, caused_by: Event | None = None) -> CapitalReleased:
        """Move ``amount`` from ``agent_id`` back to the treasury."""
        return self.emit(CapitalReleased, agent_id=agent_id, amount=Decimal(amount), caused_by=_id(caused_by))

    def trade(
        self,
        agent_id: str,
        side: Side = "buy",
        quantity: _Amount = "2",
        price: _Amount = "10.5",
        fee: _Amount = "0.01",
        *,
        symbol: str = "XYZ",
        market_price: _Amount | None = None,
        caused_by: Event | None = None,
    ) -> TradeExecuted:
        """Fill an order for ``agent_id``: cash, cost basis (average cost) and P&L by the shared rules.

        ``market_price`` (the price before slippage) defaults to ``price``.
        """
        quantity, price, fee = Decimal(quantity), Decimal(price), Decimal(fee)
        notional = value_at(quantity, price)
        if side == "buy":
            cost, realized = notional, ZERO
        else:
            agent = self._agent(agent_id)
            held = agent.positions.get(symbol, ZERO)
            cost = cost_of_sale(held, agent.cost_basis.get(symbol, ZERO), min(quantity, held))
            realized = notional - cost
        return self.emit(
            TradeExecuted,
            agent_id=agent_id,
            symbol=symbol,
            side=side,
            quantity=quantity,
            price=price,
            market_price=price if market_price is None else Decimal(market_price),
            fee=fee,
            cash_delta=trade_cash_delta(side, quantity, price, fee),
            cost=cost,
            realized_pnl=realized,
            caused_by=_id(caused_by),
        )

    def mark(self, marks: dict[str, _Amount], *, caused_by: Event | None = None) -> MarksRecorded:
        """Record the prices holdings are valued at from now on."""
        prices = {symbol: Decimal(price) for symbol, price in marks.items()}
        return self.emit(MarksRecorded, marks=prices, caused_by=_id(caused_by))

    def kill(
        self,
        agent_id: str,
        *,
        reason: str = "underperformed",
        price: _Amount = "10.5",
        evidence: dict[str, JsonValue] | None = None,
        caused_by: Event | None = None,
    ) -> AgentKilled:
        """Kill ``agent_id`` (its cash goes back), then sell every holding at ``price`` (no fee).

        The kill is the cause: each sale and the one ``CapitalReleased`` of their proceeds are
        ``caused_by`` the ``AgentKilled``, so the dead end flat and every effect follows its cause.
        """
        killed = self.emit(
            AgentKilled,
            agent_id=agent_id,
            reason=reason,
            capital_released=self.allocation(agent_id),
            evidence=evidence or {},
            caused_by=_id(caused_by),
        )
        for symbol, quantity in sorted(self._agent(agent_id).positions.items()):
            self.trade(agent_id, "sell", quantity, price, "0", symbol=symbol, caused_by=killed)
        if proceeds := self.allocation(agent_id):
            self.release(agent_id, proceeds, caused_by=killed)
        return killed

    def graduate(
        self,
        agent_id: str,
        *,
        reason: str = "promoted by the caller",
        evidence: dict[str, JsonValue] | None = None,
        caused_by: Event | None = None,
    ) -> AgentGraduated:
        """Promote ``agent_id`` one tier.

        Raises:
            GraduationError: the agent already stands in the top tier.

        """
        tier = self.tier(agent_id)
        to = PROMOTIONS.get(tier)
        if to is None:
            msg = (
                f"agent {agent_id!r}: cannot graduate from {tier.value}, the top tier; promote another agent"
            )
            raise GraduationError(msg, agent_id=agent_id, from_tier=tier.value)
        return self.emit(
            AgentGraduated,
            agent_id=agent_id,
            from_tier=tier,
            to_tier=to,
            reason=reason,
            evidence=evidence or {},
            caused_by=_id(caused_by),
        )

    def demote(
        self,
        agent_id: str,
        *,
        reason: str = "demoted by the caller",
        evidence: dict[str, JsonValue] | None = None,
        caused_by: Event | None = None,
    ) -> AgentDemoted:
        """Move ``agent_id`` one tier down.

        Raises:
            GraduationError: the agent already stands in the bottom tier.

        """
        tier = self.tier(agent_id)
        to = DEMOTIONS.get(tier)
        if to is None:
            msg = f"agent {agent_id!r}: cannot demote from {tier.value}, the bottom tier; kill it instead"
            raise GraduationError(msg, agent_id=agent_id, from_tier=tier.value)
        return self.emit(
            AgentDemoted,
            agent_id=agent_id,
            from_tier=tier,
            to_tier=to,
            reason=reason,
            evidence=evidence or {},
            caused_by=_id(caused_by),
        )

    def emigrate(
        self,
        agent_id: str,
        *,
        destination: str = "island-1",
        barrier: int = 1,
        fitness: str = "0.5",
        rank: int = 1,
    ) -> AgentEmigrated:
        """Record a copy of live ``agent_id``'s genome leaving for ``destination`` (it posts nothing)."""
        return self.emit(
            AgentEmigrated,
            agent_id=agent_id,
            genome=self.spawn_of(agent_id).genome,
            fitness=fitness,
            rank=rank,
            destination=destination,
            barrier=barrier,
        )

    def immigrate(
        self,
        agent_id: str,
        *,
        source: str = "island-0",
        source_seq: int = 1,
        source_hash: str = "0" * 64,
        source_agent_id: str = "a1",
        genome: dict[str, JsonValue] | None = None,
        barrier: int = 1,
    ) -> tuple[AgentImmigrated, AgentSpawned]:
        """Record a genome arriving from ``source``, then the spawn of ``agent_id``, caused by it."""
        carried: dict[str, JsonValue] = {"strategy": "momentum", "params": {}} if genome is None else genome
        arrived = self.emit(
            AgentImmigrated,
            agent_id=agent_id,
            source=source,
            source_seq=source_seq,
            source_hash=source_hash,
            source_agent_id=source_agent_id,
            genome=carried,
            fitness="0.5",
            barrier=barrier,
        )
        return arrived, self.spawn(agent_id, genome=carried, caused_by=arrived)

    def fail(
        self, agent_id: str, *, action: Literal["killed", "restarted"] = "restarted", message: str = "bad bar"
    ) -> AgentFailed:
        """Record that ``agent_id``'s strategy raised a ``ValueError`` (``action`` changes no capital)."""
        return self.emit(
            AgentFailed, agent_id=agent_id, error_type="ValueError", message=message, action=action
        )

    def reject_trade(self, agent_id: str, *, symbol: str = "XYZ", reason: str = "none held") -> TradeRejected:
        """Record a refused order: ``agent_id`` tried to sell one unit of ``symbol``."""
        return self.emit(
            TradeRejected, agent_id=agent_id, symbol=symbol, side="sell", quantity=Decimal(1), reason=reason
        )

    def reject_allocation(
        self, requested: _Amount = 10**9, *, agent_id: str | None = None, reason: str = "over the treasury"
    ) -> AllocationRejected:
        """Record a refused allocation of ``requested`` against the treasury as it stands."""
        return self.emit(
            AllocationRejected,
            agent_id=agent_id,
            requested=Decimal(requested),
            available=self.fold.treasury,
            reason=reason,
        )

    def check(self) -> CapitalConservationCheck:
        """Record a conservation check of the books as they stand (``ok`` says whether they balance)."""
        fold = self.fold
        allocated = fold.allocated_capital
        funding, realized, fees = fold.funding, fold.realized_pnl, fold.fees_paid
        return self.emit(
            CapitalConservationCheck,
            total=fold.total_capital,
            free=fold.treasury,
            allocated=allocated,
            funding=funding,
            realized_pnl=realized,
            fees=fees,
            ok=fold.treasury + allocated == fold.total_capital == funding + realized - fees,
        )

    def start_cycle(
        self, policy: dict[str, JsonValue] | None = None, *, caused_by: Event | None = None
    ) -> EvolutionCycleStarted:
        """Start the next evolution cycle."""
        return self.emit(
            EvolutionCycleStarted, cycle=self.fold.cycle + 1, policy=policy or {}, caused_by=_id(caused_by)
        )

    def complete_cycle(
        self,
        *,
        killed: int = 0,
        graduated: int = 0,
        mutated: int = 0,
        reallocated: int = 0,
        caused_by: Event | None = None,
    ) -> EvolutionCycleComplete:
        """Complete the running evolution cycle with its counts."""
        return self.emit(
            EvolutionCycleComplete,
            cycle=self.fold.cycle,
            killed=killed,
            graduated=graduated,
            mutated=mutated,
            reallocated=reallocated,
            caused_by=_id(caused_by),
        )

    def mutate(
        self,
        parent: str,
        child: str,
        *,
        genome: dict[str, JsonValue] | None = None,
        mutation: dict[str, JsonValue] | None = None,
        caused_by: Event | None = None,
    ) -> tuple[AgentSpawned, AgentMutated]:
        """Breed ``child`` from ``parent``: its spawn, then the mutation that the spawn caused."""
        spawned = self.spawn(child, genome=genome or {}, parent_id=parent, caused_by=caused_by)
        mutated = self.emit(
            AgentMutated,
            agent_id=child,
            parent_id=parent,
            child_id=child,
            parent_event_id=self.spawn_of(parent).event_id,
            mutation={"window": [10, 12]} if mutation is None else mutation,
            caused_by=spawned.event_id,
        )
        return spawned, mutated

    def cycle(self, parent: str, child: str, *, funding: _Amount = "100") -> list[Event]:
        """Run a cycle: start it, breed ``child`` from ``parent``, fund the child, complete; one causal tree.

        The start causes the child's spawn, its funding and the completion; the spawn causes the mutation.
        Returns the five events in order.
        """
        started = self.start_cycle({"kill": 0.2})
        spawned, mutated = self.mutate(parent, child, caused_by=started)
        funded = self.allocate(child, funding, caused_by=started)
        complete = self.complete_cycle(mutated=1, reallocated=1, caused_by=started)
        return [started, spawned, mutated, funded, complete]

    # --- lookups ------------------------------------------------------------------------------------

    def _agent(self, agent_id: str) -> AgentEntry:
        agent = self.fold.agent(agent_id)
        if agent is None:
            msg = f"agent {agent_id!r}: this builder never spawned it; spawn it before naming it"
            raise UnknownAgentError(msg, agent_id=agent_id)
        return agent


def _id(event: Event | None) -> uuid.UUID | None:
    return None if event is None else event.event_id
