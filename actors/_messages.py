"""Commands to the arena supervisor and to agent actors: typed, frozen values, safe between threads.

Commands are imperative (``AllocateCapital``); the events they produce are past tense
(``CapitalAllocated``). Every field is an immutable value (tuples rather than lists or dicts, frozen
models), so a message can never change under the actor that handles it. Amounts arrive already validated
into exact ``Decimal`` by the ``Arena`` facade, in the caller's thread, where a bad argument can be
reported without a round trip.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from datetime import datetime

    from events import Tier, UserEvent
    from trading import AgentMetrics, Bar, BrokerConfig, EvolutionPolicy, Genome, Order, Portfolio

    from ._migration import Emigrant
    from ._step import StepCollector
    from ._subscriptions import Subscription

__all__ = [
    "AgentCrashed",
    "AgentFailurePolicy",
    "AgentRefs",
    "AllocateCapital",
    "BeginAtomic",
    "ChangeTier",
    "CheckConservation",
    "CloseStep",
    "Demote",
    "Emigrate",
    "EndAtomic",
    "ExecuteOrders",
    "FlushLog",
    "GetBreakdown",
    "GetCycle",
    "GetEquity",
    "GetEventCounts",
    "GetHead",
    "GetMetrics",
    "GetNav",
    "GetState",
    "GetTime",
    "Graduate",
    "Immigrate",
    "KillAgent",
    "KillUnderperformers",
    "Marks",
    "MutateAgent",
    "OnBars",
    "OpenArena",
    "OpenStep",
    "Portfolios",
    "Record",
    "RecordMarks",
    "Rehearse",
    "ReleaseCapital",
    "ReportStuck",
    "RunEvolutionCycle",
    "SetTime",
    "Shutdown",
    "SpawnAgent",
    "SpawnAgents",
    "StartRun",
    "StepAgents",
    "Subscribe",
]

Marks = tuple[tuple[str, Decimal], ...]
"""Prices per symbol as ``(symbol, price)`` pairs: what positions are worth, or sold at, right now."""


# --- to the supervisor: commands that may emit events -------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpenArena:
    """Fund a new arena: emits ``ArenaOpened`` at seq 1. Sent once, by ``Arena.open``."""

    arena_id: str
    total_capital: Decimal
    config: tuple[tuple[str, str | int | float | bool | None], ...]


@dataclass(frozen=True, slots=True)
class SpawnAgent:
    """Add an agent with no capital; answers its id. ``genome=None`` draws one from the seeded rng."""

    genome: Genome | None
    tier: Tier


@dataclass(frozen=True, slots=True)
class SpawnAgents:
    """Add one agent per genome (None: drawn from the seeded rng), in order; answers their ids.

    Every given genome is checked before any agent is spawned, so a bad one changes nothing.
    """

    genomes: tuple[Genome | None, ...]
    tier: Tier


@dataclass(frozen=True, slots=True)
class AllocateCapital:
    """Move capital from the treasury to each agent, all or nothing; answers the ``CapitalAllocated``."""

    allocations: tuple[tuple[str, Decimal], ...]


@dataclass(frozen=True, slots=True)
class ReleaseCapital:
    """Return ``amount`` (everything if ``None``) of an agent's cash to the treasury; answers the amount."""

    agent_id: str
    amount: Decimal | None


@dataclass(frozen=True, slots=True)
class KillAgent:
    """Kill an agent, then sell its holdings; answers what went back to the treasury (cash and proceeds).

    Holdings are sold through ``broker`` at ``marks`` where given, else at the latest recorded marks.
    """

    agent_id: str
    reason: str
    marks: Marks | None = None
    broker: BrokerConfig | None = None


@dataclass(frozen=True, slots=True)
class KillUnderperformers:
    """Kill every live agent judged worst on ``metric``; answers the killed ids in kill order."""

    metric: str
    threshold: float | None
    bottom_fraction: float | None
    metrics: tuple[tuple[str, AgentMetrics], ...] | None
    """None: the supervisor's performance book, as of this command."""
    marks: Marks | None = None
    broker: BrokerConfig | None = None


@dataclass(frozen=True, slots=True)
class Graduate:
    """Promote an agent one rung, to ``to_tier``, for ``reason``; answers the ``AgentGraduated``."""

    agent_id: str
    to_tier: Tier
    reason: str = "promoted by the caller"


@dataclass(frozen=True, slots=True)
class Demote:
    """Move an agent one rung down, for ``reason``; answers the ``AgentDemoted``."""

    agent_id: str
    reason: str = "demoted by the caller"


@dataclass(frozen=True, slots=True)
class MutateAgent:
    """Breed a child from a live parent's genome; answers the child's id."""

    parent_id: str
    seed: int | None


@dataclass(frozen=True, slots=True)
class RunEvolutionCycle:
    """Kill, graduate, breed and reallocate as one serialized step; answers a ``CycleReport``."""

    policy: EvolutionPolicy
    metrics: tuple[tuple[str, AgentMetrics], ...] | None
    """None: the supervisor's performance book, as of this command."""
    marks: Marks | None
    seed: int | None
    broker: BrokerConfig | None = None


@dataclass(frozen=True, slots=True)
class Emigrate:
    """Copy the ``count`` fittest live agents' genomes out to ``destination``; answers the ``Emigrant``s.

    One ``AgentEmigrated`` each, fittest first, ranked by ``policy``'s fitness over the performance book.
    """

    count: int
    destination: str
    barrier: int
    policy: EvolutionPolicy


@dataclass(frozen=True, slots=True)
class Immigrate:
    """Spawn each emigrant from ``source`` as a new agent of ``island``; answers the new agents' ids.

    ``AgentImmigrated`` then its ``AgentSpawned`` per emigrant, in the emigrants' order.
    """

    emigrants: tuple[Emigrant, ...]
    source: str
    island: str


@dataclass(frozen=True, slots=True)
class ExecuteOrders:
    """Fill orders in the given order against each agent's ledger cash; answers the trade events."""

    orders: tuple[tuple[str, Order], ...]
    prices: Marks
    broker: BrokerConfig


@dataclass(frozen=True, slots=True)
class RecordMarks:
    """Record the prices holdings are valued at from now on (emits ``MarksRecorded``); answers None."""

    marks: Marks


@dataclass(frozen=True, slots=True)
class Record:
    """Record the embedder's own event (emits ``event_class``); answers the event, numbered and stamped.

    ``fields`` are its payload (and ``agent_id``), checked by ``events.user_event_fields`` already.
    """

    event_class: type[UserEvent]
    fields: tuple[tuple[str, Any], ...]


@dataclass(frozen=True, slots=True)
class Subscribe:
    """Register a subscription with the arena's hub, starting it after the head published so far.

    The one message carrying a live object: a ``Subscription`` is a handle made to be shared by threads.
    """

    subscription: Subscription


@dataclass(frozen=True, slots=True)
class CheckConservation:
    """Check ``free + allocated == total``, recording ``CapitalConservationCheck``; answers the report."""


@dataclass(frozen=True, slots=True)
class SetTime:
    """Move the supervisor's ``SimClock`` to ``moment``."""

    moment: datetime


@dataclass(frozen=True, slots=True)
class AgentCrashed:
    """Told by an agent whose strategy raised: the supervisor records ``AgentFailed`` and applies policy.

    ``incarnation`` identifies the actor that crashed, so a report from an actor already replaced by a
    restart is not counted twice.
    """

    agent_id: str
    error_type: str
    message: str
    incarnation: int


@dataclass(frozen=True, slots=True)
class ReportStuck:
    """Asked by a driver whose step an agent did not answer in time: that agent failed (the policy applies).

    Its actor is stuck inside its strategy and cannot be stopped; it is abandoned (a daemon thread).
    """

    agent_id: str
    problem: str


@dataclass(frozen=True, slots=True)
class BeginAtomic:
    """Open an atomic block: the events until ``EndAtomic`` become durable all together or not at all.

    One ``Submit``, one transaction; answers None once the events before it are submitted. The block is
    the supervisor's, not the asker's: any caller's commands in between belong to it. Refused
    (``ArenaError``) while a block is open: blocks do not nest. See ``actors/_backlog.py``.
    """


@dataclass(frozen=True, slots=True)
class EndAtomic:
    """Close the open atomic block: submit its events to the writer as one ``Submit``; answers None.

    Refused (``ArenaError``) when no block is open.
    """


@dataclass(frozen=True, slots=True)
class FlushLog:
    """Answer the durable ``Head`` once every event emitted so far, by any command, is durable.

    Handled in the supervisor's mailbox, so it also covers what the supervisor did for messages queued
    before it (an agent's crash report, say), not only the commands that have answered. While an atomic
    block is open it answers the head before the block: the block becomes durable only whole, at its end.
    """


@dataclass(frozen=True, slots=True)
class Shutdown:
    """Refuse every later command; discard an open atomic block and answer it (``Discarded``), or None."""


# --- to the supervisor: queries, which never emit ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class GetState:
    """Answer the immutable ``ArenaState`` as of the last command."""


@dataclass(frozen=True, slots=True)
class GetTime:
    """Answers the arena clock's time now."""


@dataclass(frozen=True, slots=True)
class GetEventCounts:
    """Answers how many events of each type the arena emitted since it was opened (a dict)."""


@dataclass(frozen=True, slots=True)
class GetCycle:
    """Answer the number of the last evolution cycle started (0 before any): no copy of the state."""


@dataclass(frozen=True, slots=True)
class GetHead:
    """Answer the ``Head`` (seq and chain hash) of the last event applied, durable or not."""


@dataclass(frozen=True, slots=True)
class GetBreakdown:
    """Answer an ``AllocationBreakdown``."""


@dataclass(frozen=True, slots=True)
class GetNav:
    """Answer the NAV at the latest marks: the treasury plus every live agent's equity."""


@dataclass(frozen=True, slots=True)
class GetEquity:
    """Answer one agent's equity at the latest marks (raises ``UnknownAgentError`` for an unknown id)."""

    agent_id: str


@dataclass(frozen=True, slots=True)
class Portfolios:
    """Answer each live agent's ``Portfolio`` (ledger cash and positions), without freezing the state."""


@dataclass(frozen=True, slots=True)
class AgentRefs:
    """Answer the ``ActorRef`` of each live agent, by id."""


# --- to an agent actor --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OnBars:
    """Asked once per step: answer the orders the agent's strategy gives for ``bars``.

    ``portfolio`` is its ledger account as of the step (after the fills of the previous step's orders):
    what it measures itself by is the supervisor's business, not the agent's.
    """

    bars: tuple[Bar, ...]
    portfolio: Portfolio


@dataclass(frozen=True, slots=True)
class StepAgents:
    """Tell every live agent the step's bars with its ledger portfolio; answers the agents told.

    Their answers go to ``collector`` (``actors/_step.py``), not back through the supervisor: the driver
    waits for them there, once.
    """

    bars: tuple[Bar, ...]
    collector: StepCollector


@dataclass(frozen=True, slots=True)
class OpenStep:
    """Move the ``SimClock`` to ``moment`` and open the step's atomic block (``SetTime`` + ``BeginAtomic``).

    One command, checked whole before either happens: no block may be open, and the clock may not go back.
    """

    moment: datetime


@dataclass(frozen=True, slots=True)
class CloseStep:
    """Record the step's closes (``MarksRecorded``) and end its atomic block, in one command."""

    marks: Marks


@dataclass(frozen=True, slots=True)
class StartRun:
    """Record a simulation run's manifest (``SimulationStarted``); answers the event."""

    manifest: tuple[tuple[str, Any], ...]
    """The manifest's items, frozen; rebuilt into a dict by the supervisor."""


@dataclass(frozen=True, slots=True)
class Rehearse:
    """Asked of an agent on resume: replay steps it already took, to rebuild its strategy's state.

    Each step is the bars and the ledger portfolio it was given then; the strategy sees them exactly as
    it did, and the answer is the orders of the last step (the ones still waiting to fill). Nothing is
    emitted: the log already holds what these steps did.
    """

    steps: tuple[tuple[tuple[Bar, ...], Portfolio], ...]


@dataclass(frozen=True, slots=True)
class GetMetrics:
    """Asked of the supervisor: answer every live agent's ``AgentMetrics`` from the performance book.

    ``lifetime`` False gives each agent's current stint in its tier (what evolution judges), True its
    whole life (what a leaderboard shows).
    """

    lifetime: bool = False


@dataclass(frozen=True, slots=True)
class ChangeTier:
    """Told by the supervisor after a graduation, so the agent knows the tier it trades in."""

    tier: Tier


AgentFailurePolicy = Literal["kill", "restart"]
"""What the supervisor does when an agent's strategy raises: kill it (default) or restart it."""
