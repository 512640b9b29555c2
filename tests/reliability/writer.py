"""The writer a crash trial kills: a simulation through the public API that reports every acknowledged head.

Run as a script (``python tests/reliability/writer.py --db F ...``) with the repository on ``PYTHONPATH``.
It prints, each as one line, flushed at once so that the parent sees it before the next one is made:

- ``opening`` just before ``Arena.open`` (a new file: the schema is created next);
- ``ack SEQ HASH`` each time ``Arena.flush()`` returned, with the head it returned: from that moment the
  events up to ``SEQ`` are acknowledged, and a crash may not lose them;
- ``holding`` once ``--hold-after`` heads were acknowledged; it then waits for a line (or the end) on
  stdin, and closes the arena without simulating further;
- ``closing`` just before ``Arena.close()`` (which flushes, then checkpoints the WAL into the file), and
  ``closed`` after it.

``--max-file-size`` limits every file the writer writes (``RLIMIT_FSIZE``): a disk that fills up. An
``ArenaError`` is printed as one line on stderr (``writer: error: ...``) and exits with status 2.
"""

from __future__ import annotations

import argparse
import resource
import sys
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from actors import Arena, SimClock, run_simulation
from events import ArenaError
from trading import EvolutionPolicy, SyntheticFeed

if TYPE_CHECKING:
    from store import Head

START = datetime(2026, 1, 1, tzinfo=UTC)
CAPITAL = Decimal(1_000_000)


class Released(Exception):  # noqa: N818  (control flow: the parent released a holding writer)
    """The parent let a holding writer go: stop simulating and close."""


def say(line: str) -> None:
    sys.stdout.write(f"{line}\n")
    sys.stdout.flush()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", required=True)
    parser.add_argument("--agents", type=int, default=10)
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--synchronous", choices=["normal", "full"], default="normal")
    parser.add_argument("--snapshot-every", type=int, default=50)
    parser.add_argument("--flush-every", type=int, default=4, help="steps (hours) between two flushes")
    parser.add_argument("--hold-after", type=int, help="hold once this many heads were acknowledged")
    parser.add_argument("--max-file-size", type=int, help="RLIMIT_FSIZE in bytes: a disk that fills up")
    args = parser.parse_args()
    if args.max_file_size is not None:
        # a write past it fails with EFBIG (Python ignores SIGXFSZ), as one past a full disk fails
        resource.setrlimit(resource.RLIMIT_FSIZE, (args.max_file_size, args.max_file_size))
    acknowledged = 0

    def acknowledge(head: Head) -> None:
        nonlocal acknowledged
        say(f"ack {head.seq} {head.hash}")
        acknowledged += 1
        if acknowledged == args.hold_after:
            say("holding")
            sys.stdin.readline()
            raise Released

    try:
        say("opening")
        with Arena.open(
            args.db,
            total_capital=CAPITAL,
            synchronous=args.synchronous,
            snapshot_every=args.snapshot_every,
            seed=args.seed,
            clock=SimClock(START),
        ) as arena:
            try:
                acknowledge(arena.flush())
                feed = SyntheticFeed(seed=args.seed, start=START, days=args.days)
                run_simulation(
                    arena,
                    feed,
                    seed=args.seed,
                    agents=args.agents,
                    policy=EvolutionPolicy(cycle_days=1),
                    progress=lambda _: acknowledge(arena.flush()),
                    progress_every=args.flush_every,
                )
                acknowledge(arena.flush())
            except Released:
                pass
            say("closing")
        say("closed")
    except ArenaError as e:  # after a failed run the arena was closed on the way out, as a CLI does
        sys.stderr.write(f"writer: error: {e}\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
