"""``ArenaState`` and ``apply``: the one fold over events that the supervisor, store and verifier share.

The supervisor folds every event it emits, the store folds the log to reopen, the verifier folds the file
to audit it: one function, so the three can never disagree about what an event means. ``apply`` refuses an
event that contradicts the state (wrong seq, unknown agent, a balance going negative), which makes every
state reachable through it a valid one.

Folding through frozen models would copy the agent table per event, so the transition rules live once in
``Fold``, a mutable working copy; ``apply`` and ``fold`` are the pure face of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Never
from uuid import UUID  # noqa: TC003  (pydantic needs it at run time)

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from ._agents import AgentFailed, AgentGraduated, AgentKilled, AgentSpawned
from ._base import Tier
from ._capital import ArenaOpened, CapitalAllocated, CapitalReleased
from ._codec import GENESIS_HASH, canonical_json, chain_hash
from ._errors import EventSourcingError
from ._evolution import AgentMutated, EvolutionCycleComplete, EvolutionCycleStarted
from ._money import ZERO, Balance, format_money
from ._trading import TradeExecuted, TradeRejected

if TYPE_CHECKING:
    from collections.abc import Iterable
    from decimal import Decimal

    from ._base import Event

__all__ = ["AgentEntry", "AgentRecord", "ArenaState", "Fold", "apply", "fold"]

_text = format_money


class AgentRecord(BaseModel):
    """One agent as the ledger knows it."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    agent_id: str
    tier: Tier
    genome: dict[str, JsonValue]
    parent_id: str | None
    generation: int
    """Lineage depth: 0 for a spawned agent, parent's + 1 for a mutated child."""
    spawn_event_id: UUID
    spawned_seq: int
    alive: bool = True
    allocation: Balance = ZERO
    """Cash the agent holds (its ledger account); 0 once killed."""
    positions: dict[str, Balance] = Field(default_factory=dict)
    """Units held per symbol, from its fills (dropped when the agent is killed)."""
    trades: int = 0
    failures: int = 0
    killed_seq: int | None = None
    """Seq of the ``AgentKilled`` that ended it; None while it lives."""


class ArenaState(BaseModel):
    """Everything the log implies, as of ``seq``; equality is exact, so replay can be compared to live."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    arena_id: str | None = None
    total_capital: Balance = ZERO
    """Funding plus every trade's cash delta: what the treasury and the agents hold together."""
    treasury: Balance = ZERO
    """Free capital, not allocated to any agent."""
    agents: dict[str, AgentRecord] = Field(default_factory=dict)
    seq: int = 0
    """Seq of the last event folded in; 0 before any."""
    head_hash: str = GENESIS_HASH
    """Hash-chain value after the last event folded in."""
    cycle: int = 0
    """Number of the last evolution cycle started."""

    @property
    def free_capital(self) -> Decimal:
        """Capital in the treasury."""
        return self.treasury

    @property
    def allocated_capital(self) -> Decimal:
        """Capital held by agents (dead agents hold none)."""
        return sum((a.allocation for a in self.agents.values()), ZERO)

    def alive_agents(self) -> list[AgentRecord]:
        """Live agents in id order."""
        return [self.agents[k] for k in sorted(self.agents) if self.agents[k].alive]

    def tier_counts(self) -> dict[Tier, int]:
        """Live agents per tier (every tier present, zeros included)."""
        counts = dict.fromkeys(Tier, 0)
        for agent in self.agents.values():
            if agent.alive:
                counts[agent.tier] += 1
        return counts

    def thaw(self) -> Fold:
        """Return a mutable working copy to fold more events into."""
        working = Fold()
        working.arena_id = self.arena_id
        working.total_capital = self.total_capital
        working.treasury = self.treasury
        working.seq = self.seq
        working.head_hash = self.head_hash
        working.cycle = self.cycle
        working.agents = {k: AgentEntry.from_record(v) for k, v in self.agents.items()}
        return working


@dataclass(slots=True)
class AgentEntry:
    """One agent in a ``Fold``: the mutable twin of ``AgentRecord``, updated in place by each event.

    Typed and slotted rather than a dict, so a misspelt field is a type error, not a silent new key.
    Callers outside the fold read it and never write it.
    """

    agent_id: str
    tier: Tier
    genome: dict[str, JsonValue]
    parent_id: str | None
    generation: int
    spawn_event_id: UUID
    spawned_seq: int
    alive: bool = True
    allocation: Decimal = ZERO
    positions: dict[str, Decimal] = field(default_factory=dict)
    trades: int = 0
    failures: int = 0
    killed_seq: int | None = None

    @classmethod
    def from_record(cls, record: AgentRecord) -> AgentEntry:
        """Return a working copy of a frozen record (the fields are the same, by name)."""
        entry = cls(**dict(record))
        entry.positions = dict(record.positions)
        return entry

    def freeze(self) -> AgentRecord:
        """Return the frozen record as of now."""
        fields = {name: getattr(self, name) for name in AgentRecord.model_fields}
        return AgentRecord(**{**fields, "positions": dict(sorted(self.positions.items()))})


class Fold:
    """A mutable state that events are applied to in place; ``freeze`` gives the immutable ``ArenaState``.

    The supervisor keeps one so that a command costs O(1) state work, not a copy of every agent.
    """

    __slots__ = ("agents", "arena_id", "cycle", "head_hash", "seq", "total_capital", "treasury")

    def __init__(self) -> None:
        self.arena_id: str | None = None
        self.total_capital = ZERO
        self.treasury = ZERO
        self.agents: dict[str, AgentEntry] = {}
        self.seq = 0
        self.head_hash = GENESIS_HASH
        self.cycle = 0

    def freeze(self) -> ArenaState:
        """Return the immutable state as of now."""
        return ArenaState(
            arena_id=self.arena_id,
            total_capital=self.total_capital,
            treasury=self.treasury,
            agents={k: self.agents[k].freeze() for k in sorted(self.agents)},
            seq=self.seq,
            head_hash=self.head_hash,
            cycle=self.cycle,
        )

    def agent(self, agent_id: str) -> AgentEntry | None:
        """Return ``agent_id``'s entry (read-only by convention), or None if it was never spawned."""
        return self.agents.get(agent_id)

    def apply(self, event: Event, *, data: str | None = None) -> str:
        """Fold ``event`` in, or raise ``EventSourcingError`` and leave the state exactly as it was.

        ``data`` is the event's canonical JSON when the caller already has it. Returns that JSON, so a
        caller that needs it for storage does not encode the event twice.
        """
        if event.seq != self.seq + 1:
            self._refuse(event, f"seq {event.seq} does not follow {self.seq}; events must be gapless")
        text = canonical_json(event) if data is None else data
        self._transition(event)
        self.seq = event.seq
        self.head_hash = chain_hash(self.head_hash, text)
        return text

    def _transition(self, event: Event) -> None:  # noqa: C901, PLR0912, PLR0915  (one case per event type)
        match event:
            case ArenaOpened(arena_id=arena_id, total_capital=amount):
                if self.arena_id is not None:
                    self._refuse(event, f"arena {self.arena_id!r} is already open")
                self.arena_id = arena_id
                self.total_capital += amount
                self.treasury += amount
            case AgentSpawned(agent_id=agent_id, parent_id=parent_id):
                self._require_open(event)
                if agent_id in self.agents:
                    self._refuse(event, f"agent {agent_id!r} already exists")
                generation = 0
                if parent_id is not None:
                    generation = self._existing(event, parent_id).generation + 1
                self.agents[agent_id] = AgentEntry(
                    agent_id=agent_id,
                    tier=event.tier,
                    genome=event.genome,
                    parent_id=parent_id,
                    generation=generation,
                    spawn_event_id=event.event_id,
                    spawned_seq=event.seq,
                )
            case AgentKilled(agent_id=agent_id, capital_released=amount):
                agent = self._alive(event, agent_id)
                if amount != agent.allocation:
                    held = agent.allocation
                    self._refuse(
                        event,
                        f"releases {format_money(amount)} but agent {agent_id!r} holds {format_money(held)}",
                    )
                agent.alive = False
                agent.allocation = ZERO
                agent.positions.clear()
                agent.killed_seq = event.seq
                self.treasury += amount
            case CapitalAllocated(agent_id=agent_id, amount=amount):
                agent = self._alive(event, agent_id)
                if amount > self.treasury:
                    self._refuse(
                        event,
                        f"allocates {format_money(amount)} from a treasury of {format_money(self.treasury)}",
                    )
                self.treasury -= amount
                agent.allocation += amount
            case CapitalReleased(agent_id=agent_id, amount=amount):
                agent = self._alive(event, agent_id)
                if amount > agent.allocation:
                    held = agent.allocation
                    self._refuse(
                        event,
                        f"releases {format_money(amount)} but agent {agent_id!r} holds {format_money(held)}",
                    )
                agent.allocation -= amount
                self.treasury += amount
            case AgentGraduated(agent_id=agent_id, from_tier=from_tier, to_tier=to_tier):
                agent = self._alive(event, agent_id)
                if agent.tier != from_tier:
                    tier = agent.tier.value
                    self._refuse(event, f"agent {agent_id!r} is in {tier}, not {from_tier.value}")
                agent.tier = to_tier
            case TradeExecuted(agent_id=agent_id, cash_delta=delta, side=side, quantity=quantity):
                agent = self._alive(event, agent_id)
                if agent.allocation + delta < 0:
                    held = agent.allocation
                    self._refuse(
                        event,
                        f"trade needs {_text(-delta)} but agent {agent_id!r} holds {_text(held)}",
                    )
                agent.allocation += delta
                agent.trades += 1
                units = agent.positions.get(event.symbol, ZERO) + (quantity if side == "buy" else -quantity)
                if units:
                    agent.positions[event.symbol] = units
                else:
                    agent.positions.pop(event.symbol, None)
                self.total_capital += delta
            case AgentFailed(agent_id=agent_id):
                self._existing(event, agent_id).failures += 1
            case AgentMutated(parent_id=parent_id, child_id=child_id):
                self._existing(event, parent_id)
                if self._existing(event, child_id).parent_id != parent_id:
                    self._refuse(event, f"agent {child_id!r} was not spawned from {parent_id!r}")
            case TradeRejected(agent_id=agent_id):
                self._existing(event, agent_id)
            case EvolutionCycleStarted(cycle=cycle):
                if cycle != self.cycle + 1:
                    self._refuse(event, f"cycle {cycle} does not follow cycle {self.cycle}")
                self.cycle = cycle
            case EvolutionCycleComplete(cycle=cycle):
                if cycle != self.cycle:
                    self._refuse(event, f"completes cycle {cycle} but cycle {self.cycle} is running")
            case _:
                self._require_open(event)

    def _require_open(self, event: Event) -> None:
        if self.arena_id is None:
            self._refuse(event, "the log must start with ArenaOpened")

    def _existing(self, event: Event, agent_id: str) -> AgentEntry:
        agent = self.agents.get(agent_id)
        if agent is None:
            self._refuse(event, f"names unknown agent {agent_id!r}")
        return agent

    def _alive(self, event: Event, agent_id: str) -> AgentEntry:
        agent = self._existing(event, agent_id)
        if not agent.alive:
            self._refuse(event, f"names agent {agent_id!r}, which was killed")
        return agent

    @staticmethod
    def _refuse(event: Event, problem: str) -> Never:
        msg = (
            f"event seq {event.seq} ({event.event_type}): {problem}; "
            "the event contradicts the log before it and was not applied"
        )
        raise EventSourcingError(msg, seq=event.seq, event_type=event.event_type)


def apply(state: ArenaState, event: Event) -> ArenaState:
    """Return the state after ``event``, leaving ``state`` unchanged.

    Raises:
        EventSourcingError: the event contradicts the state (see ``Fold.apply``).

    """
    working = state.thaw()
    working.apply(event)
    return working.freeze()


def fold(events: Iterable[Event], state: ArenaState | None = None) -> ArenaState:
    """Return the state after folding ``events`` into ``state`` (an empty arena by default)."""
    working = (state or ArenaState()).thaw()
    for event in events:
        working.apply(event)
    return working.freeze()
