"""``arena``: the command line. Simulate an arena, then verify, replay, report on and trace its log.

This is the boundary where errors meet people: every ``ArenaError`` and ``OSError`` becomes one line,
``arena: error: ...``, on stderr and a non-zero exit status; so does a malformed command line. A
traceback means a bug in the runtime. Exit statuses: 0 success, 1 a store that fails verification,
2 any other error (bad options, unreadable or foreign files, refused runs), 130 interrupted.

Results go to stdout and nothing else does; the progress bar and log messages go to stderr.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import TYPE_CHECKING, NoReturn

from events import ArenaError

from ._inspect import lineage, replay, report, verify_store
from ._simulate import DEFAULT_CAPITAL, simulate

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = ["main"]

logger = logging.getLogger(__name__)

_USAGE_ERROR = 2
_INTERRUPTED = 130  # the shell's convention for a process ended by SIGINT

_HANDLER = logging.StreamHandler(sys.stderr)
_HANDLER.setFormatter(logging.Formatter("arena: %(levelname)s: %(message)s"))


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line naming the fix, like every other error of the CLI."""

    def error(self, message: str) -> NoReturn:
        """Print ``arena <command>: error: <message>`` and where to look, then exit with status 2."""
        self.exit(_USAGE_ERROR, f"{self.prog}: error: {message}; see '{self.prog} --help'\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``arena`` command line with ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, or a usage error already printed
        return e.code if isinstance(e.code, int) else _USAGE_ERROR
    _configure_logging(args.verbose)
    command: Callable[[argparse.Namespace], int] = args.command
    try:
        return command(args)
    except ArenaError as e:
        return _fail(str(e))
    except OSError as e:
        if isinstance(e, BrokenPipeError):  # `arena replay ... | head`: the reader has all it wanted
            _silence_stdout()
            return 0
        where = f": {e.filename}" if e.filename else ""
        return _fail(f"{e.strerror or e}{where}")
    except KeyboardInterrupt:
        sys.stderr.write("arena: interrupted\n")
        return _INTERRUPTED


def _fail(message: str) -> int:
    sys.stderr.write(f"arena: error: {message}\n")
    return _USAGE_ERROR


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush does not raise again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _configure_logging(verbose: int) -> None:
    """Send the runtime's log records to stderr, once per process however often ``main`` runs."""
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    _HANDLER.setStream(sys.stderr)  # the stderr of this call: tests swap it between calls
    for name in ("actors", "events", "store"):
        package = logging.getLogger(name)
        if _HANDLER not in package.handlers:
            package.addHandler(_HANDLER)
        package.setLevel(level)


def _parser() -> _Parser:
    parser = _Parser(
        prog="arena",
        description="Run evolving trading agents against a capital ledger, and audit the log they leave.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log more (-vv for debug)")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    sim = commands.add_parser(
        "simulate", help="run a simulation into a store file", description=simulate.__doc__
    )
    sim.set_defaults(command=simulate)
    sim.add_argument("--db", required=True, metavar="PATH", help="the store file to create (or --resume)")
    sim.add_argument("--agents", type=_positive, metavar="N", help="agents to spawn in a new arena")
    sim.add_argument("--days", type=_positive, required=True, metavar="D", help="days of market to simulate")
    sim.add_argument("--seed", type=_whole, metavar="S", help="seeds the market, genomes and evolution")
    sim.add_argument(
        "--capital", metavar="C", help=f"funding of a new arena, exact (default {DEFAULT_CAPITAL:,})"
    )
    sim.add_argument("--data", metavar="CSV", help="market data file (default: a synthetic market)")
    sim.add_argument("--start", metavar="DATE", help="skip --data bars before this date or ISO time")
    sim.add_argument("--cycle-days", type=_whole, metavar="K", help="days between evolution cycles")
    sim.add_argument("--policy", metavar="FILE", help="evolution policy, .json or .toml")
    sim.add_argument("--top", type=_non_negative, default=5, metavar="N", help="top agents to list")
    sim.add_argument("--progress", action="store_true", help="draw the progress bar even if not a TTY")
    existing = sim.add_mutually_exclusive_group()
    existing.add_argument("--resume", action="store_true", help="continue the arena stored at --db")
    existing.add_argument("--force", action="store_true", help="replace the arena stored at --db")

    check = commands.add_parser(
        "verify",
        help="audit a store file",
        description=(
            "Re-derive the hash chain, ledger and state of a store file from the file alone. Exit 0 when "
            "it checks out, 1 at the first failing seq, 2 when the file is not a readable Arena store."
        ),
    )
    check.set_defaults(command=verify_store)
    check.add_argument("path", metavar="PATH")
    check.add_argument(
        "--expected-head", metavar="SEQ:HASH", help="the head printed by simulate: detects a cut-off log"
    )

    log = commands.add_parser(
        "replay", help="print the events of a store", description="Print stored events in seq order."
    )
    log.set_defaults(command=replay)
    log.add_argument("path", metavar="PATH")
    log.add_argument("--agent", metavar="ID", help="only events about this agent")
    log.add_argument(
        "--type", dest="types", action="extend", nargs="+", metavar="T", help="only events of these types"
    )
    log.add_argument("--from-seq", type=_whole, metavar="N", help="start at this seq")
    log.add_argument("--json", action="store_true", help="one canonical JSON object per line")

    capital = commands.add_parser(
        "report",
        help="capital, NAV, P&L and agents at any seq",
        description=(
            "Print the arena as its log records it, at the head or as of --at-seq: capital at cost, NAV "
            "and P&L reconciled to the last digit, returns against an equal-weight buy-and-hold, NAV by "
            "tier and the live agents by equity."
        ),
    )
    capital.set_defaults(command=report)
    capital.add_argument("path", metavar="PATH")
    capital.add_argument(
        "--at-seq",
        "--seq",
        dest="at_seq",
        type=_whole,
        metavar="N",
        help="as of this seq (default: the head)",
    )
    capital.add_argument(
        "--top", type=_non_negative, default=20, metavar="N", help="live agents to list (default 20)"
    )

    tree = commands.add_parser(
        "lineage", help="an agent's ancestors and descendants", description=lineage.__doc__
    )
    tree.set_defaults(command=lineage)
    tree.add_argument("path", metavar="PATH")
    tree.add_argument("agent", metavar="AGENT")
    return parser


def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        msg = f"{text!r} is not a whole number"
        raise argparse.ArgumentTypeError(msg) from None


def _positive(text: str) -> int:
    value = _whole(text)
    if value < 1:
        msg = f"{value} is not a whole number >= 1"
        raise argparse.ArgumentTypeError(msg)
    return value


def _non_negative(text: str) -> int:
    value = _whole(text)
    if value < 0:
        msg = f"{value} is not a whole number >= 0"
        raise argparse.ArgumentTypeError(msg)
    return value
