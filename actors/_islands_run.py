"""``run_islands``: an islands run from its options to its verified, cross-checked logs, on Ray.

Checks the options and writes (or, resuming, reads and compares) ``RUN_DIR/islands.json``, starts one Ray
actor per island, drives the legs and barriers (``drive_islands``), collects every island's summary,
closes them all, then audits each file (``store.verify`` against the head the island reported) and
cross-checks every migration (``cross_check``). Ray itself is imported only when the run starts
(``actors/_islands_ray.py``).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from store import verify

from ._islands import IslandsReport, IslandSummary, drive_islands
from ._islands_audit import cross_check
from ._islands_manifest import DEFAULT_CAPITAL, new_manifest, resumed_manifest
from ._islands_ray import RayIslands

if TYPE_CHECKING:
    import os
    from collections.abc import Callable, Mapping
    from decimal import Decimal

    from trading import EvolutionPolicy

__all__ = ["run_islands"]


def run_islands(
    run_dir: str | os.PathLike[str],
    *,
    islands: int | None = None,
    agents: int | None = None,
    days: int | None = None,
    seed: int | None = None,
    migrate_every: int | None = None,
    migrants: int | None = None,
    address: str | None = None,
    policy: EvolutionPolicy | None = None,
    capital: Decimal | int | str | None = None,
    resume: bool = False,
    force: bool = False,
    exit_after_steps: Mapping[int, int] | None = None,
    progress: Callable[[str], None] | None = None,
) -> IslandsReport:
    """Run ``islands`` arenas as Ray actors on one market, migrating ``migrants`` genomes every barrier.

    Args:
        run_dir: The run directory: ``islands.json`` and ``island-<i>.db`` per island.
        islands: How many islands (1 runs no migration: a ring needs two).
        agents: Agents each island starts with; the policy's ``population`` is set to it unless given.
        days: Days of hourly synthetic market.
        seed: The market's seed; each island's arena seed is ``derive_seed(seed, "island:<i>")``.
        migrate_every: Evolution cycles between two barriers (1 by default).
        migrants: Genomes each island sends to the next at every barrier (2 by default).
        address: A Ray cluster (``ray://HOST:PORT`` or ``auto``); None starts Ray on this machine, unless
            the caller has initialised Ray already (then that Ray is used and left running).
        policy: Evolution rules (``cycle_days`` sets how often cycles, and so barriers, come).
        capital: Each island's funding; 1,000,000 by default.
        resume: Continue the run in ``run_dir`` from its manifest; the run options may be omitted, and
            any given must agree with it.
        force: Replace a run directory's earlier islands run.
        exit_after_steps: Fault tests only: ``{island: steps}`` makes that island's process exit after so
            many steps.
        progress: Told one line per leg (``"leg 2: 4 islands ran 96 steps"``).

    Raises:
        ValidationError: an option is malformed, the directory holds another run (without ``force``), or
            ``resume`` finds no manifest or one that differs from the options given.
        IslandDiedError: an island's process died; the others finished their round and closed cleanly.
        ArenaError: ray is not installed (``pip install arena-runtime[distributed]``), or an island
            refused a command.

    """
    began = time.perf_counter()
    directory = Path(run_dir)
    options = {
        "islands": islands,
        "agents": agents,
        "days": days,
        "seed": seed,
        "migrate_every": migrate_every,
        "migrants": migrants,
    }
    ray_islands = RayIslands(address=address, islands=islands or 1)  # ray missing: refused, nothing written
    if resume:
        manifest = resumed_manifest(directory, options)
    else:
        funding = DEFAULT_CAPITAL if capital is None else capital
        manifest = new_manifest(directory, options, policy=policy, capital=funding, force=force)
    ray_islands.islands = manifest.islands
    with ray_islands:
        pool = ray_islands.start(directory, manifest.to_json_dict(), exit_after_steps=exit_after_steps or {})
        try:
            barriers = drive_islands(pool, manifest, progress)
            summaries = pool.summaries()
        finally:
            pool.close()
    verified = tuple(_verify(directory, summary) for summary in summaries)
    return IslandsReport(
        run_dir=str(directory),
        islands=summaries,
        barriers=barriers,
        verified=verified,
        audit=cross_check(directory),
        elapsed=time.perf_counter() - began,
    )


def _verify(directory: Path, summary: IslandSummary) -> tuple[str, bool, str]:
    result = verify(directory / summary.file, expected_head=(summary.head_seq, summary.head_hash))
    return summary.name, result.ok, str(result)
