"""Migration between islands: what ``Arena.emigrate`` and ``Arena.immigrate`` check and emit.

Plain functions over an ``Emitter``, like ``_commands``: each checks everything that could refuse it
before emitting anything, so a refused migration changes nothing.

* **Emigration** copies the ``count`` fittest live agents' genomes out: the ranking is
  ``trading.fitness_ranking``, the planner's own (the policy's fitness shrunk by evidence, judged agents
  first, ties broken by id), over the supervisor's performance book as of the command. One
  ``AgentEmigrated`` per emigrant, fittest first; each ``Emigrant`` carries its event's seq and the
  chain hash at that seq, which the receiver records. The agents stay, with their capital.
* **Immigration** spawns each emigrant as a new ``simulation`` agent with no capital: one
  ``AgentImmigrated`` (a root: its cause is in another log), then the agent's ``AgentSpawned``, caused by
  it. The next evolution cycle's reallocation funds it as any new agent. A genome that does not fit this
  arena's strategies, an emigrant meant for another island or from another source, or emigrants of
  different barriers, are refused before anything is emitted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator

from events import (
    ISLAND_NAME_LIMIT,
    AgentEmigrated,
    AgentImmigrated,
    AgentSpawned,
    Tier,
    ValidationError,
    check_fitness_text,
)
from trading import fitness_ranking

from ._checks import INT_MAX, int_arg, shown
from ._commands import fresh_agent_id, spawn

if TYPE_CHECKING:
    from collections.abc import Mapping

    from trading import AgentMetrics, EvolutionPolicy, Strategies

    from ._emitter import Emitter

__all__ = ["Emigrant", "emigrants_arg", "emigrate", "immigrate", "island_arg"]


class Emigrant(BaseModel):
    """A genome on its way from one island to another: what the sender recorded, and where.

    Frozen and picklable, so it can cross processes (Ray) as it crosses threads. Rebuild one from a
    stored event with ``Emigrant.of``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    agent_id: str = Field(min_length=1, max_length=128)
    """The agent copied, in the sender's log."""
    genome: dict[str, JsonValue]
    """Its genome, as its ``AgentSpawned`` recorded it."""
    fitness: str
    """The fitness it was chosen by, as exact decimal text."""
    rank: int = Field(ge=1)
    """Its place among the barrier's emigrants, fittest first."""
    destination: str = Field(min_length=1, max_length=ISLAND_NAME_LIMIT)
    barrier: int = Field(ge=1)
    seq: int = Field(ge=1)
    """Seq of the sender's ``AgentEmigrated``."""
    hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    """The sender's chain hash at ``seq``."""

    @field_validator("fitness")
    @classmethod
    def _decimal_text(cls, value: str) -> str:
        return check_fitness_text(value)

    @classmethod
    def of(cls, event: AgentEmigrated, chain_hash: str) -> Emigrant:
        """Return the emigrant ``event`` recorded; ``chain_hash`` is the sender's hash at its seq."""
        return cls(
            agent_id=event.agent_id,
            genome=event.genome,
            fitness=event.fitness,
            rank=event.rank,
            destination=event.destination,
            barrier=event.barrier,
            seq=event.seq,
            hash=chain_hash,
        )


def island_arg(value: object, field: str) -> str:
    """Return ``value`` if it names an island: a non-empty text of at most ``ISLAND_NAME_LIMIT`` chars."""
    if not isinstance(value, str) or not value or len(value) > ISLAND_NAME_LIMIT:
        msg = (
            f"{field}: {shown(value)} is not an island name; pass a non-empty text of at most "
            f"{ISLAND_NAME_LIMIT} characters, e.g. 'island-1'"
        )
        raise ValidationError(msg, field=field, value=value)
    return value


def emigrants_arg(emigrants: object) -> tuple[Emigrant, ...]:
    """Return ``emigrants`` as a tuple if it is a list or tuple of ``Emigrant``, all of one barrier."""
    if not isinstance(emigrants, list | tuple) or not all(isinstance(e, Emigrant) for e in emigrants):
        msg = (
            f"emigrants: {shown(emigrants)} is not a sequence of Emigrant; pass what Arena.emigrate "
            "returned on the source island"
        )
        raise ValidationError(msg, field="emigrants", value=emigrants)
    barriers = sorted({e.barrier for e in emigrants})
    if len(barriers) > 1:
        msg = (
            f"emigrants: they come from barriers {barriers}; immigrate one barrier's emigrants at a time, "
            "in barrier order"
        )
        raise ValidationError(msg, field="emigrants", value=barriers)
    return tuple(emigrants)


def emigrate(
    em: Emitter,
    metrics: Mapping[str, AgentMetrics],
    policy: EvolutionPolicy,
    *,
    count: int,
    destination: str,
    barrier: int,
) -> tuple[Emigrant, ...]:
    """Emit one ``AgentEmigrated`` for each of the ``count`` fittest live agents; return the emigrants.

    Fewer than ``count`` are sent when fewer live agents have metrics (an agent that has not seen a mark
    yet cannot be ranked).

    Raises:
        ValidationError: ``count``, ``destination`` or ``barrier`` is malformed, or a fitness is not finite.

    """
    int_arg(count, "count", minimum=0, maximum=INT_MAX)
    island_arg(destination, "destination")
    int_arg(barrier, "barrier", minimum=1, maximum=INT_MAX)
    ranking = fitness_ranking(em.fold.freeze(), metrics, policy)
    emigrants: list[Emigrant] = []
    for rank, (agent_id, fitness, _) in enumerate(ranking[:count], start=1):
        emigrated = em.emit(
            AgentEmigrated,
            agent_id=agent_id,
            genome=em.alive(agent_id).genome,
            fitness=repr(fitness),  # the shortest text that reads back as the same float: exact, no rounding
            rank=rank,
            destination=destination,
            barrier=barrier,
        )
        emigrants.append(Emigrant.of(emigrated, em.fold.head_hash))
    return tuple(emigrants)


def immigrate(
    em: Emitter,
    emigrants: tuple[Emigrant, ...],
    *,
    source: str,
    island: str,
    strategies: Strategies,
) -> tuple[AgentSpawned, ...]:
    """Emit ``AgentImmigrated`` then the immigrant's ``AgentSpawned`` for each emigrant, in rank order.

    Raises:
        ValidationError: an emigrant is meant for another island than ``island``, or its genome does not
            fit ``strategies`` (each named), checked for all before anything is emitted.

    """
    island_arg(source, "source")
    island_arg(island, "island")
    for emigrant in emigrants:
        if emigrant.destination != island:
            msg = (
                f"immigrate: emigrant {emigrant.agent_id!r} of {source!r} (seq {emigrant.seq}) is bound for "
                f"{emigrant.destination!r}, not {island!r}; hand each island the emigrants addressed to it"
            )
            raise ValidationError(msg, field="destination", value=emigrant.destination)
    genomes = []
    for emigrant in emigrants:
        try:
            genomes.append(strategies.parse(emigrant.genome))
        except ValidationError as e:
            msg = (
                f"immigrate: the genome of agent {emigrant.agent_id!r} from {source!r} (seq {emigrant.seq}) "
                f"does not fit this arena's strategies: {e.msg}; open every island with the same strategies"
            )
            raise ValidationError(msg, field="genome", value=emigrant.genome) from e
    spawned: list[AgentSpawned] = []
    for emigrant, genome in zip(emigrants, genomes, strict=True):
        agent_id = fresh_agent_id(em)  # named by the immigration before its spawn creates it
        arrived = em.emit(
            AgentImmigrated,
            agent_id=agent_id,
            source=source,
            source_seq=emigrant.seq,
            source_hash=emigrant.hash,
            source_agent_id=emigrant.agent_id,
            genome=emigrant.genome,
            fitness=emigrant.fitness,
            barrier=emigrant.barrier,
        )
        spawned.append(
            spawn(em, genome=genome, tier=Tier.SIMULATION, cause=arrived.event_id, agent_id=agent_id)
        )
    return tuple(spawned)
