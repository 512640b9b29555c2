"""``arena islands`` (run islands of arenas on Ray) and ``arena verify RUN_DIR`` (audit a whole run).

An islands run leaves a directory: ``islands.json`` (its manifest) and ``island-<i>.db`` per island. The
summary names each island's head (seq and hash), live agents, NAV and migrations, then the verify of
every file and the cross-check of every migration, so the output alone says whether the run can be
trusted. ``arena verify RUN_DIR`` repeats both checks later, from the files alone.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from actors import cross_check, island_files, run_islands
from events import ValidationError, money
from store import verify
from trading import EvolutionPolicy

if TYPE_CHECKING:
    import argparse

    from actors import IslandsReport

__all__ = ["islands", "summary_lines", "verify_run_dir"]


def islands(args: argparse.Namespace) -> int:
    """Run ``arena islands`` with parsed arguments; 0 when every file verifies and every migration checks.

    Raises:
        ArenaError: an option refused the run, ray is missing, or an island died (the message names it
            and the resume command).

    """
    if args.resume and (args.policy is not None or args.cycle_days is not None or args.capital is not None):
        msg = (
            "--resume: a resumed islands run keeps the policy and capital of its manifest; drop --policy, "
            "--cycle-days and --capital"
        )
        raise ValidationError(msg, field="--resume", value=True)
    policy = None if args.resume else _policy(args)
    given = args.capital
    capital = None if given is None else money(given, field="--capital", allow_zero=False)
    say = None if args.quiet else _say
    report = run_islands(
        Path(args.dir),
        islands=args.islands,
        agents=args.agents,
        days=args.days,
        seed=args.seed,
        migrate_every=args.migrate_every,
        migrants=args.migrants,
        address=args.address,
        policy=policy,
        resume=args.resume,
        force=args.force,
        capital=capital,
        progress=say,
    )
    sys.stdout.write("\n".join(summary_lines(report)) + "\n")
    return 0 if report.ok else 1


def summary_lines(report: IslandsReport) -> list[str]:
    """Return the run's summary: one line per island, then each file's verify and the cross-check."""
    head = (
        f"islands run {report.run_dir}: {len(report.islands)} islands, {report.barriers} migration barriers, "
        f"{report.agent_steps:,} agent-steps in {report.elapsed:.1f} s"
    )
    lines = [head]
    lines.extend(
        f"  {island.name}: head {island.head_seq}:{island.head_hash}  agents {island.agents_alive}  "
        f"nav {island.nav}  cycles {island.cycles}  emigrated {island.emigrations}  "
        f"immigrated {island.immigrations}"
        for island in report.islands
    )
    lines.extend(f"verify: {text}" for _, _, text in report.verified)
    lines.append(str(report.audit))
    return lines


def verify_run_dir(path: Path, *, expected_head: object) -> int:
    """Verify every island file of a run directory and cross-check its migrations; 0 when all hold.

    Raises:
        ValidationError: ``--expected-head`` was given (it names one file's head), or the directory holds
            no island file.

    """
    if expected_head is not None:
        msg = (
            f"--expected-head: {str(path)!r} is a run directory of several logs; pass one island's file "
            "(RUN_DIR/island-0.db) to check it against a head"
        )
        raise ValidationError(msg, field="--expected-head", value=expected_head)
    files = island_files(path)
    if not files:
        msg = f"verify: {str(path)!r} holds no island-<i>.db; pass a store file or an islands run directory"
        raise ValidationError(msg, field="path", value=str(path))
    status = 0
    for file in files.values():
        result = verify(file)
        sys.stdout.write(f"{result}\n")
        if not result.ok:
            status = 1
    if status:  # a file that does not verify cannot be cross-checked against: its events are suspect
        sys.stdout.write("migrations not cross-checked: a file above failed to verify\n")
        return status
    audit = cross_check(path)
    sys.stdout.write(f"{audit}\n")
    for mismatch in audit.mismatches:
        sys.stdout.write(f"  {mismatch}\n")
    return 0 if audit.ok else 1


def _policy(args: argparse.Namespace) -> EvolutionPolicy:
    policy = EvolutionPolicy.from_file(args.policy) if args.policy is not None else EvolutionPolicy()
    if args.cycle_days is not None:
        data = {**policy.to_json_dict(), "cycle_days": args.cycle_days}
        policy = EvolutionPolicy.from_mapping(data, subject=f"--cycle-days {args.cycle_days}")
    return policy


def _say(line: str) -> None:
    sys.stderr.write(f"arena: islands: {line}\n")
