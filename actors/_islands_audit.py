"""Cross-check the migrations of an islands run: every immigration against the emigration it names.

Each island's log is self-contained and verified on its own (``store.verify``); what no single file can
show is that two of them agree. An ``AgentImmigrated`` in ``island-j.db`` names its source island, the
seq of the source's ``AgentEmigrated`` and the source's chain hash at that seq. ``cross_check`` reads every
island's file through the store's read-only API (never raw SQL: the schema is the store's business),
recomputes each chain hash from the events' canonical JSON, and checks for every immigration that:

* the source island has a file in the run directory, and its log has an ``AgentEmigrated`` at that seq;
* the source's hash at that seq is the one the immigration names (so the source log was not rewritten
  at or before it);
* the emigration was bound for this island, with the same genome, agent, fitness text and barrier;
* no emigration is received twice, and the immigrant's ``AgentSpawned`` follows, ``caused_by`` the
  immigration, with the same genome.

An emigration nobody has received yet is not a failure (a run stopped between the two halves of a
barrier); it is counted as ``pending``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final

from events import (
    GENESIS_HASH,
    AgentEmigrated,
    AgentImmigrated,
    AgentSpawned,
    ValidationError,
    canonical_json,
    chain_hash,
)
from store import SQLiteEventStore

if TYPE_CHECKING:
    import os
    from collections.abc import Iterator

    from events import AnyEvent

__all__ = [
    "ISLAND_FILE",
    "MigrationAudit",
    "MigrationMismatch",
    "cross_check",
    "island_files",
    "island_name",
]

ISLAND_FILE: Final = "island-{index}.db"
"""Each island's store in the run directory: ``island-0.db``, ``island-1.db``, ..."""

_ISLAND_FILE: Final = re.compile(r"island-(0|[1-9][0-9]{0,5})\.db")


def island_name(index: int) -> str:
    """Return island ``index``'s name, as its migrations record it: ``island-0``, ``island-1``, ..."""
    return f"island-{index}"


def island_files(run_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """Return every island's store file in ``run_dir`` by island name, in island order."""
    found = {}
    for path in Path(run_dir).iterdir():
        match = _ISLAND_FILE.fullmatch(path.name)
        if match is not None and path.is_file():
            found[int(match.group(1))] = path
    return {island_name(index): found[index] for index in sorted(found)}


@dataclass(frozen=True, slots=True)
class MigrationMismatch:
    """One immigration that its source's log does not bear out."""

    file: str
    """The receiving island's file name."""
    seq: int
    """Seq of the ``AgentImmigrated`` in it."""
    source_file: str
    source_seq: int
    problem: str

    def __str__(self) -> str:
        where = f"{self.file} seq {self.seq} (AgentImmigrated) vs {self.source_file} seq {self.source_seq}"
        return f"{where}: {self.problem}"


@dataclass(frozen=True, slots=True)
class MigrationAudit:
    """What ``cross_check`` found across a run directory's island logs."""

    islands: tuple[str, ...]
    emigrations: int
    immigrations: int
    pending: int
    """Emigrations no island has received yet."""
    mismatches: tuple[MigrationMismatch, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """Whether every immigration checks out against its emigration."""
        return not self.mismatches

    def __str__(self) -> str:
        head = (
            f"{len(self.islands)} islands, {self.emigrations} emigrations, {self.immigrations} immigrations, "
            f"{self.pending} pending"
        )
        if self.ok:
            return f"migrations OK: {head}; every immigration matches its emigration"
        return f"migrations FAILED: {head}; {len(self.mismatches)} mismatches, first: {self.mismatches[0]}"


@dataclass(slots=True)
class _Log:
    """What one island's file says about migration, with the chain hash at each emigration."""

    file: str
    emigrations: dict[int, tuple[AgentEmigrated, str]] = field(default_factory=dict)
    immigrations: list[AgentImmigrated] = field(default_factory=list)
    spawns: dict[str, AgentSpawned] = field(default_factory=dict)


def cross_check(run_dir: str | os.PathLike[str]) -> MigrationAudit:
    """Check every immigration in ``run_dir``'s island files against its source's emigration record.

    Raises:
        ValidationError: ``run_dir`` is not a directory or holds no ``island-<i>.db``.
        StoreError: a file cannot be read as a store (``arena verify`` says what is wrong with it).

    """
    directory = Path(run_dir)
    if not directory.is_dir():
        msg = f"cross-check: {str(directory)!r} is not a directory; pass the run directory of 'arena islands'"
        raise ValidationError(msg, field="run_dir", value=str(directory))
    files = island_files(directory)
    if not files:
        msg = (
            f"cross-check: {str(directory)!r} holds no island-<i>.db; pass the run directory that "
            "'arena islands --dir' wrote"
        )
        raise ValidationError(msg, field="run_dir", value=str(directory))
    logs = {name: _read(path) for name, path in files.items()}
    mismatches: list[MigrationMismatch] = []
    received: set[tuple[str, int]] = set()
    immigrations = 0
    for name, log in logs.items():
        for arrived in log.immigrations:
            immigrations += 1
            problem = _problem(name, log, arrived, logs, received)
            if problem is not None:
                source = logs.get(arrived.source)
                source_file = source.file if source is not None else f"{arrived.source}.db"
                mismatches.append(
                    MigrationMismatch(log.file, arrived.seq, source_file, arrived.source_seq, problem)
                )
            received.add((arrived.source, arrived.source_seq))
    emigrations = sum(len(log.emigrations) for log in logs.values())
    pending = sum(1 for name, log in logs.items() for seq in log.emigrations if (name, seq) not in received)
    return MigrationAudit(
        islands=tuple(logs),
        emigrations=emigrations,
        immigrations=immigrations,
        pending=pending,
        mismatches=tuple(mismatches),
    )


def _read(path: Path) -> _Log:
    """Read one island's log in seq order, keeping its migrations and the chain hash at each emigration."""
    log = _Log(path.name)
    running = GENESIS_HASH
    with SQLiteEventStore.open(path, readonly=True) as store:
        events: Iterator[AnyEvent] = store.read()
        try:
            for event in events:
                running = chain_hash(running, canonical_json(event))
                match event:
                    case AgentEmigrated():
                        log.emigrations[event.seq] = (event, running)
                    case AgentImmigrated():
                        log.immigrations.append(event)
                    case AgentSpawned() if event.caused_by is not None:
                        log.spawns[event.agent_id] = event
                    case _:
                        pass
        finally:
            close = getattr(events, "close", None)
            if close is not None:
                close()
    return log


def _problem(
    name: str,
    log: _Log,
    arrived: AgentImmigrated,
    logs: dict[str, _Log],
    received: set[tuple[str, int]],
) -> str | None:
    """Return what is wrong with one immigration, or None when its source's log bears it out."""
    source = logs.get(arrived.source)
    if source is None:
        return f"names source island {arrived.source!r}, which has no file in the run directory"
    found = source.emigrations.get(arrived.source_seq)
    if found is None:
        return f"names seq {arrived.source_seq}, but {source.file} has no AgentEmigrated there"
    emigrated, at_seq = found
    checks = (
        (
            at_seq == arrived.source_hash,
            f"names hash {arrived.source_hash}, but {source.file}'s hash at that seq is {at_seq}",
        ),
        (
            emigrated.destination == name,
            f"the emigration was bound for {emigrated.destination!r}, not {name!r}",
        ),
        (
            emigrated.genome == arrived.genome,
            f"genome {arrived.genome} differs from the emigrated {emigrated.genome}",
        ),
        (
            emigrated.agent_id == arrived.source_agent_id,
            f"names source agent {arrived.source_agent_id!r}, but the emigration copied {emigrated.agent_id!r}",  # noqa: E501
        ),
        (
            emigrated.fitness == arrived.fitness,
            f"fitness {arrived.fitness} differs from the emigrated {emigrated.fitness}",
        ),
        (
            emigrated.barrier == arrived.barrier,
            f"barrier {arrived.barrier} differs from the emigrated {emigrated.barrier}",
        ),
        ((arrived.source, arrived.source_seq) not in received, "the emigration was already received once"),
    )
    for passed, problem in checks:
        if not passed:
            return problem
    spawned = log.spawns.get(arrived.agent_id)
    if spawned is None or spawned.caused_by != arrived.event_id or spawned.genome != arrived.genome:
        return f"no AgentSpawned of {arrived.agent_id!r} caused by it, with its genome, follows in {log.file}"
    return None
