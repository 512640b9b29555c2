"""Islands of arenas: several populations on one market, meeting at barriers to swap their fittest genomes.

An ``Island`` owns one ``Arena`` on ``RUN_DIR/island-<i>.db`` and drives it with ``run_simulation``, leg by
leg. Every island trades the same market (one ``SyntheticFeed``: the run's seed and start) with a seed of
its own, ``derive_seed(seed, "island:<i>")``. ``run_islands`` runs every island to the next barrier
concurrently (an island's leg stops after the step in which its cycle count reaches ``barrier *
migrate_every``; every island reaches it at the same simulated step, since cycles follow simulated time),
then migrates on a ring, island ``i`` sending to ``i + 1 mod N``: first every island emigrates, in island
order, then every island immigrates, in island order; then the next leg. Migration happens only there, so
each island's log (its head hash) is a function of the manifest, whatever order the islands' processes
ran in. Islands run as Ray actors (``actors/_islands_ray.py``, the only module that imports ray), one
process each, locally or on a cluster.

**Resume.** Every island operation is idempotent against its log: a leg whose barrier the island's log has
already reached runs nothing (each step is an atomic block, so a log ends at a step); an emigration or
immigration already recorded at a barrier is answered from the log (an ``Emigrant`` is rebuilt from the
``AgentEmigrated``, its hash recomputed from the chain); an island whose log has moved past a barrier's
step (a later step's marks) did that barrier's migration, even one that sent nothing. So resuming is
replaying the protocol from the first barrier on reopened islands: what is recorded is skipped, the rest
runs, and the logs end as an uninterrupted run's.

**Faults.** When an island's process dies during a round (``ray.exceptions.RayActorError``), the others
finish theirs (every future of the round is waited for before anything is decided), every island still
alive closes its arena (its log ends at its last complete step), and ``run_islands`` raises an
``IslandDiedError`` naming the dead islands and the resume command.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Protocol

from events import (
    GENESIS_HASH,
    AgentEmigrated,
    AgentImmigrated,
    ArenaError,
    EvolutionCycleStarted,
    canonical_json,
    chain_hash,
    format_money,
    money,
)
from trading import steps

from ._arena import Arena
from ._clock import SimClock
from ._driver import derive_seed, run_simulation
from ._islands_audit import ISLAND_FILE, MigrationAudit, island_name
from ._islands_manifest import (
    SYNTHETIC_START,
    IslandsManifest,
)
from ._migration import Emigrant

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from datetime import datetime


__all__ = [
    "Island",
    "IslandDiedError",
    "IslandRounds",
    "IslandSummary",
    "IslandsReport",
    "LocalIslands",
    "drive_islands",
]

logger = logging.getLogger(__name__)


ISLAND_SNAPSHOT_EVERY: Final = 1_000
"""Events between two snapshots of an island's store (``Arena.open``'s default is 10,000). Snapshots sit
outside the hash chain, so this changes no head; it bounds what each per-leg read folds."""


class IslandDiedError(ArenaError):
    """An island's process died; the other islands finished their round and closed their logs."""

    def __init__(self, message: str, *, islands: tuple[str, ...], run_dir: str) -> None:
        super().__init__(message)
        self.islands = islands
        self.run_dir = run_dir


class IslandRounds(Protocol):
    """Islands that take calls in rounds: Ray actors (``actors/_islands_ray.py``) or ``LocalIslands``."""

    def round(self, method: str, arguments: Sequence[tuple[Any, ...]]) -> list[Any]:
        """Call ``Island.<method>(*arguments[i])`` on every island ``i``; answer in island order."""
        ...

    def summaries(self) -> tuple[IslandSummary, ...]:
        """Every island's summary, in island order."""
        ...

    def close(self) -> None:
        """Close every island's arena."""
        ...


class LocalIslands:
    """Every island in this process, called one after another.

    The baseline the benchmark measures Ray against, and a way to run the protocol without Ray.
    """

    def __init__(self, run_dir: Path, manifest: IslandsManifest) -> None:
        data = manifest.to_json_dict()
        self._islands = [Island(str(run_dir), index, data) for index in range(manifest.islands)]

    def round(self, method: str, arguments: Sequence[tuple[Any, ...]]) -> list[Any]:
        """Call ``method`` on each island in turn."""
        return [getattr(island, method)(*args) for island, args in zip(self._islands, arguments, strict=True)]

    def summaries(self) -> tuple[IslandSummary, ...]:
        """Every island's summary, in island order."""
        return tuple(island.summary() for island in self._islands)

    def close(self) -> None:
        """Close every island's arena."""
        for island in self._islands:
            island.close()


@dataclass(frozen=True, slots=True)
class IslandSummary:
    """One island at the end of a run (or of a round)."""

    name: str
    file: str
    head_seq: int
    head_hash: str
    agents_alive: int
    nav: str
    emigrations: int
    """``AgentEmigrated`` events in its log."""
    immigrations: int
    cycles: int
    agent_steps: int
    """Agent-steps this process drove (a resumed run counts only its own)."""
    finished: bool


@dataclass(frozen=True, slots=True)
class IslandsReport:
    """The result of ``run_islands``: every island's summary, every file's verify, the cross-check."""

    run_dir: str
    islands: tuple[IslandSummary, ...]
    barriers: int
    """Migration barriers the run passed."""
    verified: tuple[tuple[str, bool, str], ...]
    """Per island file: (name, ok, verify's report line)."""
    audit: MigrationAudit
    elapsed: float
    """Wall-clock seconds of this call, Ray's start-up included."""

    @property
    def ok(self) -> bool:
        """Whether every file verifies and every immigration cross-checks."""
        return all(ok for _, ok, _ in self.verified) and self.audit.ok

    @property
    def agent_steps(self) -> int:
        """Agent-steps every island drove in this call."""
        return sum(island.agent_steps for island in self.islands)


class Island:
    """One island: an ``Arena`` on ``RUN_DIR/island-<index>.db``, driven one leg at a time.

    A plain object; ``actors/_islands_ray.py`` makes it a Ray actor (one process). Opening reopens an
    existing file and reads from its log which barriers it has passed, so every method is idempotent
    (see the module docstring). ``exit_after_steps`` is for fault tests only: the process exits
    (``os._exit``) after that many steps of this process, as a crash would.
    """

    def __init__(
        self,
        run_dir: str,
        index: int,
        manifest: Mapping[str, Any],
        *,
        exit_after_steps: int | None = None,
        agent_workers: int | None = None,
    ) -> None:
        self._manifest = IslandsManifest.from_json_dict(manifest)
        self._index = index
        self.name = island_name(index)
        self._path = Path(run_dir) / ISLAND_FILE.format(index=index)
        self._seed = derive_seed(self._manifest.seed, f"island:{index}")
        self._policy = self._manifest.evolution_policy()
        self._feed = self._manifest.feed()
        self._last_step = max((moment for moment, _ in steps(self._feed)), default=None)
        self._exit_after = exit_after_steps
        self._steps = 0
        self._agent_steps = 0
        self._arena = Arena.open(
            self._path,
            total_capital=money(self._manifest.capital, field="capital", allow_zero=False),
            seed=self._seed,
            clock=SimClock(SYNTHETIC_START),
            agent_workers=agent_workers,
            # a reader (a resume's, a report's, a migration's reads) folds the tail since the last snapshot
            # when it opens: 10,000 events took 0.2 s a read, 1,000 a tenth
            snapshot_every=ISLAND_SNAPSHOT_EVERY,
        )
        self._emigrated: dict[int, tuple[Emigrant, ...]] = {}
        self._immigrated: dict[int, tuple[str, ...]] = {}
        self._passed: set[int] = set()
        self._last_event: datetime | None = None
        self._started = False
        """Whether the log records the run's start (``SimulationStarted``): a new run spawns agents once."""
        self._recover()

    # --- the protocol ----------------------------------------------------------------------------------

    def run_leg(self, barrier: int | None) -> int:
        """Run to ``barrier`` (its cycle count reached), or to the market's end for None; return the steps.

        Nothing runs when the log has reached the barrier already, or the market's end.
        """
        target = None if barrier is None else barrier * self._manifest.migrate_every
        arena = self._arena
        if self.finished() or (target is not None and arena.cycle() >= target):
            return 0
        new, self._started = not self._started, True  # the first leg of a new run spawns the population

        def stop() -> bool:
            self._steps += 1
            if self._exit_after is not None and self._steps >= self._exit_after:
                arena.flush()  # the step just ended is durable, then the process dies as a crash would
                os._exit(70)
            return target is not None and arena.cycle() >= target

        report = run_simulation(
            arena,
            self._feed,
            seed=self._seed,
            agents=self._manifest.agents if new else 0,
            policy=self._policy,
            stop=stop,
        )
        self._agent_steps += report.agent_steps
        self._last_event = report.last_step or self._last_event
        return report.steps

    def emigrate(self, barrier: int) -> tuple[Emigrant, ...]:
        """Send this barrier's emigrants to the next island on the ring, or answer them from the log."""
        if barrier in self._emigrated:
            return self._emigrated[barrier]
        if barrier in self._passed or self._manifest.islands < 2:  # noqa: PLR2004  (a ring needs two)
            return ()
        self._set_clock()
        destination = island_name((self._index + 1) % self._manifest.islands)
        sent = self._arena.emigrate(
            self._manifest.migrants, destination=destination, barrier=barrier, policy=self._policy
        )
        self._emigrated[barrier] = sent
        return sent

    def immigrate(self, barrier: int, emigrants: Sequence[Emigrant], source: str) -> tuple[str, ...]:
        """Spawn ``source``'s emigrants of ``barrier`` here, or answer the ids the log records."""
        if barrier in self._immigrated:
            return self._immigrated[barrier]
        if barrier in self._passed or not emigrants:
            return ()
        self._set_clock()
        arrived = self._arena.immigrate(tuple(emigrants), source=source, island=self.name)
        self._immigrated[barrier] = arrived
        return arrived

    def finished(self) -> bool:
        """Whether the log has reached the market's last step."""
        return self._last_step is None or (
            self._last_event is not None and self._last_event >= self._last_step
        )

    def summary(self) -> IslandSummary:
        """Flush and describe the island."""
        head = self._arena.flush()
        state = self._arena.state()
        return IslandSummary(
            name=self.name,
            file=self._path.name,
            head_seq=head.seq,
            head_hash=head.hash,
            agents_alive=len(state.alive_agents()),
            nav=format_money(self._arena.nav()),
            emigrations=sum(1 for _ in self._arena.replay_events(event_types=["AgentEmigrated"])),
            immigrations=sum(1 for _ in self._arena.replay_events(event_types=["AgentImmigrated"])),
            cycles=state.cycle,
            agent_steps=self._agent_steps,
            finished=self.finished(),
        )

    def close(self) -> None:
        """Close the arena: its log ends at its last complete step."""
        self._arena.close()

    # --- recovery --------------------------------------------------------------------------------------

    def _recover(self) -> None:
        """Read from the log which barriers this island has migrated at or moved past."""
        arena = self._arena
        if arena.head().seq <= 1:
            return
        self._started = any(True for _ in arena.replay_events(event_types=["SimulationStarted"]))
        last = None
        for event in arena.replay_events(from_seq=arena.head().seq):
            last = event
        self._last_event = None if last is None else last.timestamp
        self._set_clock()
        every = self._manifest.migrate_every
        cycle_seqs = {
            event.cycle: event.seq
            for event in arena.replay_events(event_types=["EvolutionCycleStarted"])
            if isinstance(event, EvolutionCycleStarted) and event.cycle % every == 0
        }
        marks = [event.seq for event in arena.replay_events(event_types=["MarksRecorded"])]
        for cycle, seq in cycle_seqs.items():
            later = sum(1 for mark in marks if mark > seq)
            if later >= 2:  # noqa: PLR2004  (the barrier step's own marks, then a later step's)
                self._passed.add(cycle // every)
        immigrated: dict[int, list[str]] = {}
        for event in arena.replay_events(event_types=["AgentImmigrated"]):
            if isinstance(event, AgentImmigrated):
                immigrated.setdefault(event.barrier, []).append(event.agent_id)
        self._immigrated = {barrier: tuple(ids) for barrier, ids in immigrated.items()}
        if any(True for _ in arena.replay_events(event_types=["AgentEmigrated"])):
            self._emigrated = self._recorded_emigrants()

    def _recorded_emigrants(self) -> dict[int, tuple[Emigrant, ...]]:
        """Rebuild every recorded emigrant, with the chain hash at its seq, in one pass over the log."""
        running = GENESIS_HASH
        found: dict[int, list[Emigrant]] = {}
        for event in self._arena.replay_events():
            running = chain_hash(running, canonical_json(event))
            if isinstance(event, AgentEmigrated):
                found.setdefault(event.barrier, []).append(Emigrant.of(event, running))
        return {barrier: tuple(emigrants) for barrier, emigrants in found.items()}

    def _set_clock(self) -> None:
        """Stamp migration events at the last step's time, on a reopened arena too (its clock is at start)."""
        if self._last_event is not None:
            self._arena.floor.set_time(self._last_event)


def drive_islands(
    pool: IslandRounds, manifest: IslandsManifest, say: Callable[[str], None] | None = None
) -> int:
    """Run every leg and migration of ``manifest`` on ``pool``'s islands, in order; return the barriers.

    Each call is a round over every island (``IslandRounds.round``): legs, then emigrations in island
    order, then immigrations in island order (island ``i`` receives from ``i - 1 mod N``).
    """
    names = [island_name(i) for i in range(manifest.islands)]
    barrier = 1
    while True:
        ran = pool.round("run_leg", [(barrier,)] * manifest.islands)
        finished = pool.round("finished", [()] * manifest.islands)
        if say is not None:
            say(f"leg {barrier}: {manifest.islands} islands ran {sum(ran)} steps")
        if all(finished):
            return barrier - 1
        if any(finished):  # pragma: no cover  (one market: every island reaches its end at the same step)
            alone = [name for name, done in zip(names, finished, strict=True) if done]
            msg = f"islands: {alone} reached the market's end alone; every island must trade the same market"
            raise ArenaError(msg)
        sent = pool.round("emigrate", [(barrier,)] * manifest.islands)
        arguments = [
            (barrier, sent[(i - 1) % manifest.islands], names[(i - 1) % manifest.islands])
            for i in range(manifest.islands)
        ]
        pool.round("immigrate", arguments)
        barrier += 1
