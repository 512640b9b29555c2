"""``ArenaState`` and ``apply``: the one fold over events that the supervisor, store and verifier share.

The supervisor folds every event it emits, the store folds the log to reopen, the verifier folds the file
to audit it: one function, so the three can never disagree about what an event means. ``apply`` refuses an
event that contradicts the state (wrong seq, unknown agent, a balance going negative), which makes every
state reachable through it a valid one.

A kill comes before the liquidation it causes: ``AgentKilled`` returns the agent's cash, then the dead agent
may still sell (only sell, only what it holds) and hand the proceeds back with ``CapitalReleased``; nothing
else names it again, and no capital reaches it. Until its last holding is sold it is still on the books,
valued like any holding.

Folding through frozen models would copy the agent table per event, so the transition rules live once in
``Fold``, a mutable working copy; ``apply`` and ``fold`` are the pure face of it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Never

from pydantic import BaseModel, ConfigDict, Field

from ._agents import AgentDemoted, AgentFailed, AgentGraduated, AgentKilled, AgentSpawned
from ._base import Tier
from ._capital import ArenaOpened, CapitalAllocated, CapitalReleased
from ._codec import GENESIS_HASH, canonical_json, chain_hash
from ._errors import EventSourcingError
from ._evolution import AgentMutated, EvolutionCycleComplete, EvolutionCycleStarted
from ._fast import trusted
from ._migration import AgentEmigrated, AgentImmigrated
from ._money import ZERO, Balance, format_money
from ._positions import cost_of_sale
from ._records import AgentEntry, AgentRecord
from ._trading import MarksRecorded, TradeExecuted, TradeRejected
from ._valuation import equity, nav, unrealized_pnl

if TYPE_CHECKING:
    from collections.abc import Iterable
    from decimal import Decimal

    from ._base import Event

__all__ = ["ArenaState", "Fold", "apply", "fold"]

_text = format_money


class ArenaState(BaseModel):
    """Everything the log implies, as of ``seq``; equality is exact, so replay can be compared to live."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    arena_id: str | None = None
    total_capital: Balance = ZERO
    """Capital at cost: the treasury, every agent's cash and every holding at cost, together; always
    ``funding + realized_pnl - fees_paid``."""
    treasury: Balance = ZERO
    """Free capital, not allocated to any agent."""
    funding: Balance = ZERO
    """What ``ArenaOpened`` brought in."""
    realized_pnl: Balance = ZERO
    """Gains minus losses of every sale, before fees (minus the ``pnl`` account)."""
    fees_paid: Balance = ZERO
    """Every fee paid (the ``fees`` account)."""
    marks: dict[str, Balance] = Field(default_factory=dict)
    """The latest recorded price of each symbol (``MarksRecorded``): what holdings are valued at."""
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
        """Capital agents hold at cost: cash and holdings at cost (a killed agent's until they are sold)."""
        return sum((a.capital_at_cost for a in self.agents.values()), ZERO)

    def nav(self) -> Decimal:
        """Net asset value at the latest marks: the treasury plus every agent's equity.

        The dead count too: a killed agent holds nothing once its liquidation is done, and what it still
        holds between its kill and its last sale is on the books.
        """
        return nav(self.treasury, self.agents.values(), self.marks)

    def equity(self, agent_id: str) -> Decimal:
        """``agent_id``'s cash plus its holdings at the latest marks (zero once it is dead and sold out)."""
        return equity(self.agents[agent_id], self.marks)

    def unrealized_pnl(self) -> Decimal:
        """Return what every holding would gain (or lose) if sold at the latest marks, before fees."""
        return unrealized_pnl(self.agents.values(), self.marks)

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
        working.funding = self.funding
        working.realized_pnl = self.realized_pnl
        working.fees_paid = self.fees_paid
        working.marks = dict(self.marks)
        working.seq = self.seq
        working.head_hash = self.head_hash
        working.cycle = self.cycle
        working.agents = {k: AgentEntry.from_record(v) for k, v in self.agents.items()}
        working.live = {k: entry for k, entry in working.agents.items() if entry.alive}
        return working


class Fold:
    """A mutable state that events are applied to in place; ``freeze`` gives the immutable ``ArenaState``.

    The supervisor keeps one so that a command costs O(1) state work, not a copy of every agent.
    """

    __slots__ = (
        "_final",
        "agents",
        "arena_id",
        "cycle",
        "fees_paid",
        "funding",
        "head_hash",
        "live",
        "marks",
        "realized_pnl",
        "seq",
        "total_capital",
        "treasury",
    )

    def __init__(self) -> None:
        self.arena_id: str | None = None
        self.total_capital = ZERO
        self.treasury = ZERO
        self.funding = ZERO
        self.realized_pnl = ZERO
        self.fees_paid = ZERO
        self.marks: dict[str, Decimal] = {}
        self.agents: dict[str, AgentEntry] = {}
        self.seq = 0
        self.head_hash = GENESIS_HASH
        self.cycle = 0
        self._final: dict[str, AgentRecord] = {}  # frozen records of agents nothing can change
        self.live: dict[str, AgentEntry] = {}
        """The entries of ``agents`` that are alive, in no promised order (read-only by convention): whatever
        visits every live agent each step (portfolios, marks) need not walk the whole history's dead."""

    def freeze(self) -> ArenaState:
        """Return the immutable state as of now (built trusted: every value is the fold's own, checked)."""
        return trusted(
            ArenaState,
            {
                "arena_id": self.arena_id,
                "total_capital": self.total_capital,
                "treasury": self.treasury,
                "funding": self.funding,
                "realized_pnl": self.realized_pnl,
                "fees_paid": self.fees_paid,
                "marks": dict(sorted(self.marks.items())),
                "agents": {k: self._frozen(k) for k in sorted(self.agents)},
                "seq": self.seq,
                "head_hash": self.head_hash,
                "cycle": self.cycle,
            },
        )

    def _frozen(self, agent_id: str) -> AgentRecord:
        """Return the agent's frozen record; a final one (``AgentEntry.final``) is frozen once and kept.

        Long runs accumulate far more dead agents than live ones, and every evolution cycle freezes the
        state: without the cache each cycle would rebuild every record of the whole history.
        """
        record = self._final.get(agent_id)
        if record is None:
            entry = self.agents[agent_id]
            record = entry.freeze()
            if entry.final:
                self._final[agent_id] = record
        return record

    @property
    def allocated_capital(self) -> Decimal:
        """What agents hold at cost, cash and holdings (the dead hold none); as ``ArenaState``'s."""
        return sum((agent.capital_at_cost for agent in self.agents.values()), ZERO)

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
                self.funding += amount
                self.total_capital += amount
                self.treasury += amount
            case AgentSpawned(agent_id=agent_id, parent_id=parent_id):
                self._require_open(event)
                if agent_id in self.agents:
                    self._refuse(event, f"agent {agent_id!r} already exists")
                generation = 0
                if parent_id is not None:
                    generation = self._existing(event, parent_id).generation + 1
                self.agents[agent_id] = self.live[agent_id] = AgentEntry(
                    agent_id=agent_id,
                    tier=event.tier,
                    genome=event.genome,
                    parent_id=parent_id,
                    generation=generation,
                    spawn_event_id=event.event_id,
                    spawned_seq=event.seq,
                    tier_since_seq=event.seq,
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
                agent.killed_seq = event.seq
                del self.live[agent_id]
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
                agent = self._existing(event, agent_id)  # the dead hand back their liquidation proceeds
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
                agent.tier_since_seq = event.seq
            case AgentDemoted(agent_id=agent_id, from_tier=from_tier, to_tier=to_tier):
                agent = self._alive(event, agent_id)
                if agent.tier != from_tier:
                    tier = agent.tier.value
                    self._refuse(event, f"agent {agent_id!r} is in {tier}, not {from_tier.value}")
                agent.tier = to_tier
                agent.tier_since_seq = event.seq
            case TradeExecuted(agent_id=agent_id, side=side):
                agent = self._existing(event, agent_id)
                if not agent.alive and side != "sell":
                    dead = f"buys for agent {agent_id!r}, which was killed; the dead only sell what they hold"
                    self._refuse(event, dead)
                self._fill(event, agent)
            case MarksRecorded(marks=marks):
                self._require_open(event)
                self.marks.update(marks)
            case AgentFailed(agent_id=agent_id):
                self._existing(event, agent_id).failures += 1
                self._final.pop(agent_id, None)  # the one change a dead agent can still take
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
            case AgentEmigrated(agent_id=agent_id):
                self._alive(event, agent_id)  # a copy of a live agent leaves; the agent stays, capital too
            case AgentImmigrated(agent_id=agent_id):
                self._require_open(event)
                if agent_id in self.agents:  # it names the agent its AgentSpawned is about to create
                    self._refuse(event, f"names agent {agent_id!r} as a newcomer, but it already exists")
            case _:
                self._require_open(event)

    def _fill(self, fill: TradeExecuted, agent: AgentEntry) -> None:
        """Apply a fill to the agent's cash and holding, checking the cost rule and the quantity held."""
        symbol, quantity = fill.symbol, fill.quantity
        held = agent.positions.get(symbol, ZERO)
        held_cost = agent.cost_basis.get(symbol, ZERO)
        if agent.allocation + fill.cash_delta < 0:
            needed, cash = _text(-fill.cash_delta), _text(agent.allocation)
            self._refuse(fill, f"trade needs {needed} but agent {agent.agent_id!r} holds {cash}")
        if fill.side == "buy":
            units, cost = held + quantity, held_cost + fill.cost
        else:
            if quantity > held:
                self._refuse(
                    fill, f"sells {_text(quantity)} {symbol} but agent {agent.agent_id!r} holds {_text(held)}"
                )
            expected = cost_of_sale(held, held_cost, quantity)
            if fill.cost != expected:
                self._refuse(
                    fill,
                    f"takes out cost {_text(fill.cost)}; average cost of the units sold is {_text(expected)}",
                )
            units, cost = held - quantity, held_cost - fill.cost
        agent.allocation += fill.cash_delta
        agent.trades += 1
        agent.realized_pnl += fill.realized_pnl
        agent.fees_paid += fill.fee
        if units:
            agent.positions[symbol], agent.cost_basis[symbol] = units, cost
        else:
            agent.positions.pop(symbol, None)
            agent.cost_basis.pop(symbol, None)
        self.realized_pnl += fill.realized_pnl
        self.fees_paid += fill.fee
        self.total_capital += fill.realized_pnl - fill.fee

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
