"""``arena``: the command line. Simulate an arena, then verify, replay, report on, trace and export its log.

This is the boundary where errors meet people: every ``ArenaError`` and ``OSError`` becomes one line,
``arena: error: ...``, on stderr and a non-zero exit status; so does a malformed command line. A
traceback means a bug in the runtime. Exit statuses: 0 success, 1 a store that fails verification,
2 any other error (bad options, unreadable or foreign files, refused runs, a store that cannot be
written: read-only, full, or held by another writer), 130 interrupted.

Results go to stdout and nothing else does; the progress bar and log messages go to stderr. Without
``-v`` the runtime's log records (warnings and errors) wait for the command's end and are then printed
one line each, without tracebacks, below the progress bar rather than across it; but when the command
fails they are dropped, because its one ``arena: error:`` line already says what failed (a writer
failure is otherwise reported four times over, with tracebacks, as the writer, the backlog, the
supervisor and the closing arena each log it). ``-v`` prints every record at once, tracebacks included,
and info records too; ``-vv`` adds debug records.

Every number on the command line is in ASCII digits and in the range its ``--help`` states, and whole
but for ``--progress-every``'s seconds (``10``, ``0.5``); anything else is a usage error naming the
range, never an ``OverflowError`` from deep in a run. Every subcommand's ``--help`` says what it does,
each option with its default, and one example (``_command``).
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import textwrap
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, NoReturn

from actors import FORMATS, FRAMES
from events import ArenaError

from ._dashboard import LOCALHOST, dashboard
from ._evaluate import evaluate_store
from ._export import export
from ._inspect import lineage, replay, report, verify_store
from ._islands import islands
from ._simulate import DEFAULT_CAPITAL, DEFAULT_PROGRESS_EVERY, MAX_AGENTS, MAX_DAYS, simulate

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = ["main"]

logger = logging.getLogger(__name__)

_USAGE_ERROR = 2
_INTERRUPTED = 130  # the shell's convention for a process ended by SIGINT
_LOGGERS: Final = ("actors", "events", "store", "trading", "pykka")
_INT_MIN: Final = -(2**63)  # the runtime's int range: SQLite's INTEGER
_INT_MAX: Final = 2**63 - 1
_WHOLE: Final = re.compile(r"-?[0-9]+")  # ASCII only: int() also reads '1_000', ' 7 ', '+7' and other scripts
_SECONDS: Final = re.compile(r"[0-9]+(?:\.[0-9]+)?")  # no sign, exponent, nan or inf
_LONGEST: Final = 19  # digits of 2**63: longer is out of every range (and int() refuses 4301 digits)


class _Log(logging.Handler):
    """The runtime's log records on stderr, as the command line shows them (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter("arena: %(levelname)s: %(message)s"))
        self._verbose = 0
        self._held: list[logging.LogRecord] = []
        self._levels: dict[str, int] = {}

    def begin(self, verbose: int) -> None:
        """Attach to the runtime's loggers for one run of ``main``: WARNING and up, or more with ``-v``."""
        self._verbose = verbose
        self._held = []
        level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
        for name in _LOGGERS:
            package = logging.getLogger(name)
            self._levels[name] = package.level
            package.addHandler(self)
            package.setLevel(level)

    def end(self, *, failed: bool) -> None:
        """Print the held records, one line each, unless the command ``failed``; then detach."""
        self.acquire()
        try:
            held, self._held = self._held, []
        finally:
            self.release()
        if not failed:
            for record in held:
                sys.stderr.write(self._line(record))
        for name, level in self._levels.items():
            package = logging.getLogger(name)
            package.removeHandler(self)
            package.setLevel(level)
        self._levels = {}

    def emit(self, record: logging.LogRecord) -> None:
        """Write ``record`` (called under the handler's lock, from whichever thread logged it)."""
        try:
            if self._verbose:
                sys.stderr.write(self.format(record) + "\n")  # sys.stderr now: tests swap it between runs
            else:
                self._held.append(record)
        except Exception:  # noqa: BLE001  (logging's contract: a handler reports its own failure, never raises)
            self.handleError(record)

    @staticmethod
    def _line(record: logging.LogRecord) -> str:
        return f"arena: {record.levelname.lower()}: {' '.join(record.getMessage().split())}\n"


_LOG = _Log()


@dataclass(frozen=True, slots=True)
class _Whole:
    """An argparse type: a whole number in ASCII digits from ``minimum`` to ``maximum``."""

    minimum: int
    maximum: int
    why: str = ""
    """Appended to the range in the refusal: where the limit comes from."""

    def __call__(self, text: str) -> int:
        """Return ``text`` as an int, or raise ``ArgumentTypeError`` naming the range."""
        if not _WHOLE.fullmatch(text):
            shown = text if len(text) <= _LONGEST + 1 else f"{text[:_LONGEST]}..."
            msg = f"{shown!r} is not a whole number; pass ASCII digits such as {max(self.minimum, 1)}"
            raise argparse.ArgumentTypeError(msg)
        value = int(text) if len(text.lstrip("-").lstrip("0")) <= _LONGEST else None
        if value is None or not self.minimum <= value <= self.maximum:
            shown = text if value is not None else f"{text[:_LONGEST]}... ({len(text)} digits)"
            msg = f"{shown} is not a whole number {self.range}{self.why}"
            raise argparse.ArgumentTypeError(msg)
        return value

    @property
    def range(self) -> str:
        """The range in words, as ``--help`` and the refusal state it."""
        names = {_INT_MIN: "-2**63", _INT_MAX: "2**63 - 1"}
        return f"from {names.get(self.minimum, self.minimum)} to {names.get(self.maximum, self.maximum)}"


@dataclass(frozen=True, slots=True)
class _Seconds:
    """An argparse type: seconds of wall clock from 0 to ``maximum``, digits with an optional fraction."""

    maximum: int

    def __call__(self, text: str) -> float:
        """Return ``text`` as a float, or raise ``ArgumentTypeError`` naming the range."""
        shown = text if len(text) <= _LONGEST + 1 else f"{text[:_LONGEST]}..."
        if not _SECONDS.fullmatch(text):
            msg = f"{shown!r} is not a number of seconds; pass ASCII digits such as 10 or 0.5"
            raise argparse.ArgumentTypeError(msg)
        value = float(text)  # digits only: at worst inf, which the range refuses
        if value > self.maximum:
            msg = f"{shown} is not a number of seconds {self.range}"
            raise argparse.ArgumentTypeError(msg)
        return value

    @property
    def range(self) -> str:
        """The range in words, as ``--help`` and the refusal state it."""
        return f"from 0 to {self.maximum}"


_SEED = _Whole(_INT_MIN, _INT_MAX)
_COUNT = _Whole(0, _INT_MAX)  # --cycle-days too: the policy holds it to its own range, and says so
_SEQ = _Whole(0, _INT_MAX)  # a seq as the store has them; each command checks it against the log
_PORT = _Whole(0, 65535, " (a TCP port)")
_DAYS = _Whole(1, MAX_DAYS, " (a century of market: a longer run would not finish)")
_AGENTS = _Whole(
    1,
    MAX_AGENTS,
    f" (each agent is an OS thread, and past {MAX_AGENTS:,} a run spends its time switching between them; "
    "the Arena API takes more)",
)
_PROGRESS_SECONDS = _Seconds(86_400)  # a day: a longer wait would print nothing in any run worth watching


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
    command: Callable[[argparse.Namespace], int] = args.command
    failed = False  # with its one `arena: error:` line, which says what the held log records would
    _LOG.begin(args.verbose)
    try:
        return command(args)
    except ArenaError as e:
        failed = True
        return _fail(str(e))
    except OSError as e:
        if isinstance(e, BrokenPipeError):  # `arena replay ... | head`: the reader has all it wanted
            _silence_stdout()
            return 0
        failed = True
        where = f": {e.filename}" if e.filename else ""
        return _fail(f"{e.strerror or e}{where}")
    except KeyboardInterrupt as e:  # SIGINT, or SIGTERM during a simulation (``Terminated``)
        sys.stderr.write("arena: interrupted\n")
        status: int = getattr(e, "status", _INTERRUPTED)
        return status
    finally:
        _LOG.end(failed=failed)


def _fail(message: str) -> int:
    subject = message.removeprefix("arena: ")  # the runtime's own messages already name the arena
    sys.stderr.write(f"arena: error: {subject}\n")
    return _USAGE_ERROR


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush does not raise again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _parser() -> _Parser:
    parser = _Parser(
        prog="arena",
        description=_text(
            "Run evolving trading agents against an exactly-conserving capital ledger, and audit the "
            "hash-chained log they leave. Each command has its own help: arena COMMAND --help."
        ),
        epilog="Example:\n  arena simulate --db arena.db --agents 50 --days 30 --seed 7",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help=(
            "log more: every record at once, with tracebacks; -vv adds debug records (default: warnings "
            "and errors only, printed when the command ends)"
        ),
    )
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")
    _add_simulate(commands)
    _add_islands(commands)

    check = _command(
        commands,
        "verify",
        summary="audit a store file",
        about=(
            "Re-derive the hash chain, the ledger and the state of a store file from the file alone and "
            "check them against what it holds. Exit status 0 when it checks out, 1 at the first failing "
            "seq, 2 when the file is not a readable Arena store."
        ),
        example=(
            "arena verify arena.db --expected-head "
            "1503:572e31f55b6ac1b13fd5f5665d44bef1e3474ccf39b983428d4d8c4493d041c5"
        ),
    )
    check.set_defaults(command=verify_store)
    check.add_argument(
        "path",
        metavar="PATH",
        help="the store file to audit, or an islands run directory (every island's file and migrations)",
    )
    check.add_argument(
        "--workers",
        metavar="N",
        help=(
            "processes to audit a store file with: helpers check chain links, decoding and postings "
            "while one folds the log (default: the machine's cores, at most 4; 1 for one process)"
        ),
    )
    check.add_argument(
        "--expected-head",
        metavar="SEQ:HASH",
        help=(
            "the head arena simulate printed: also detects a log cut off before it (default: check the "
            "file as it stands)"
        ),
    )

    log = _command(
        commands,
        "replay",
        summary="print the events of a store",
        about=(
            "Print a store's events in seq order, one line each (seq, time, type, agent, payload), or as "
            "canonical JSON. Filters pick events, never change them. Reads the store read-only, so it "
            "runs beside a simulation still writing it."
        ),
        example="arena replay arena.db --type AgentKilled AgentGraduated",
    )
    log.set_defaults(command=replay)
    log.add_argument("path", metavar="PATH", help="the store file to read")
    log.add_argument("--agent", metavar="ID", help="only events about this agent (default: every event)")
    log.add_argument(
        "--type",
        dest="types",
        action="extend",
        nargs="+",
        metavar="T",
        help="only events of these types, such as TradeExecuted (default: every type)",
    )
    log.add_argument(
        "--from-seq", type=_SEQ, metavar="N", help="start at this seq, 1 to 2**63 - 1 (default 1)"
    )
    log.add_argument(
        "--json",
        action="store_true",
        help="print one canonical JSON object per line, as the store hashes it (default: aligned text)",
    )

    capital = _command(
        commands,
        "report",
        summary="capital, NAV, P&L and agents at any seq",
        about=(
            "Print the arena as its log records it, at the head or as of --at-seq: capital at cost, NAV "
            "and P&L reconciled to the last digit, returns against an equal-weight buy-and-hold, NAV by "
            "tier and the live agents by equity. Reads the store read-only. With --html, the same text and "
            "its charts (NAV against buy-and-hold, drawdown, capital by tier, the top agents' equity, "
            "each cycle's decisions, the best agent's lineage) go into one offline HTML file; with --png, "
            "the first four charts go into PNG images (rendered by a headless Chromium)."
        ),
        example="arena report arena.db --at-seq 500 --top 10",
    )
    capital.set_defaults(command=report)
    capital.add_argument("path", metavar="PATH", help="the store file to read")
    capital.add_argument(
        "--at-seq",
        "--seq",
        dest="at_seq",
        type=_SEQ,
        metavar="N",
        help="as of this seq, 1 to the head (default: the head)",
    )
    capital.add_argument(
        "--top", type=_COUNT, default=20, metavar="N", help="live agents to list (default 20)"
    )
    capital.add_argument(
        "--html",
        metavar="OUT",
        help=(
            "write the report and its charts to one self-contained, offline HTML file instead, and print "
            "its path; needs the report extra: pip install 'arena-runtime[report]' (default: print text)"
        ),
    )
    capital.add_argument(
        "--png",
        metavar="DIR",
        help=(
            "write the main charts as images into DIR (created if missing): nav.png, drawdown.png, "
            "capital_by_tier.png, top_agents.png; needs the report extra and Debian's chromium and "
            "chromium-driver: apt-get install chromium chromium-driver (default: no images)"
        ),
    )
    capital.add_argument(
        "--force",
        action="store_true",
        help=(
            "with --html or --png: replace an existing file at OUT, or the images already in DIR "
            "(default: refuse to overwrite them)"
        ),
    )

    tree = _command(
        commands,
        "lineage",
        summary="an agent's ancestors and descendants",
        about=(
            "Print an agent's ancestors, oldest first, and its descendants, with the mutation of each "
            "birth. Each ancestor also shows its fitness at its last judged decision, its tier history "
            "(each move's seq, time and reason) and its lifetime (spawned, killed, and the bars it lived "
            "through)."
        ),
        example="arena lineage arena.db a-000042",
    )
    tree.set_defaults(command=lineage)
    tree.add_argument("path", metavar="PATH", help="the store file to read")
    tree.add_argument("agent", metavar="AGENT", help="the agent's id, as replay and report print it")

    _add_evaluate(commands)

    live = _command(
        commands,
        "dashboard",
        summary="a live web page of a running or finished arena",
        about=(
            "Serve a page that follows the store as it grows, updating every second: NAV and capital at "
            "cost against buy-and-hold, capital by tier, events per second and by type, the leaderboard, "
            "the latest kills, promotions and demotions with their reasons, and the evolution cycles. "
            "Reads the store read-only, so it runs beside a simulation still writing it and never blocks "
            "it; serves every asset itself (works offline). Stop it with Ctrl-C. Needs the report extra: "
            "pip install 'arena-runtime[report]'."
        ),
        example="arena dashboard arena.db --port 5006",
    )
    live.set_defaults(command=dashboard)
    live.add_argument("path", metavar="DB", help="the store file to follow")
    live.add_argument(
        "--host",
        default=LOCALHOST,
        metavar="ADDRESS",
        help=(
            f"the address to listen on; any other than {LOCALHOST} exposes the page to the network, "
            f"unauthenticated, and prints a warning (default {LOCALHOST})"
        ),
    )
    live.add_argument(
        "--port",
        type=_PORT,
        default=5006,
        metavar="N",
        help=f"the port to listen on, {_PORT.range}; 0 picks any free one (default 5006)",
    )

    tables = _command(
        commands,
        "export",
        summary="write the log's results as csv or parquet tables",
        about=(
            "Write the store's results as tables, one file per frame (events, fills, equity, nav, cycles, "
            "agents), money exact: parquet decimal128(38, 8), csv decimal text at 8 places. Reads the "
            "store read-only, so it runs beside a simulation still writing it; writes all files or none. "
            "Needs the analysis extra: pip install 'arena-runtime[analysis]'."
        ),
        example="arena export arena.db --format parquet --out results --frames nav,fills",
    )
    tables.set_defaults(command=export)
    tables.add_argument("path", metavar="DB", help="the store file to read")
    tables.add_argument(
        "--format", dest="file_format", required=True, choices=FORMATS, help="csv or parquet (required)"
    )
    tables.add_argument(
        "--out", required=True, metavar="DIR", help="the folder to write, created if missing (required)"
    )
    tables.add_argument(
        "--frames", metavar="NAMES", help=f"comma-separated, from {','.join(FRAMES)} (default: all)"
    )
    tables.add_argument(
        "--force",
        action="store_true",
        help="replace files of the same names in DIR (default: refuse to overwrite any)",
    )
    return parser


def _text(paragraphs: str) -> str:
    """Wrap a description to 78 columns, paragraph by paragraph (they are kept verbatim, epilog too)."""
    wrapped = (textwrap.fill(part, width=78, break_on_hyphens=False) for part in paragraphs.split("\n\n"))
    return "\n\n".join(wrapped)


def _command(
    commands: argparse._SubParsersAction[_Parser], name: str, *, summary: str, about: str, example: str
) -> _Parser:
    """Add the subcommand ``name``: ``summary`` in ``arena --help``; ``about`` and ``example`` in its own.

    Every subcommand's help has this one shape (``tests/test_cli_help.py`` checks it): what it does, its
    options each with its default or "required", then one example command.
    """
    return commands.add_parser(
        name,
        help=summary,
        description=_text(about),
        epilog=f"Example:\n  {example}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def _add_simulate(commands: argparse._SubParsersAction[_Parser]) -> None:
    sim = _command(
        commands,
        "simulate",
        summary="run a simulation into a store file",
        about=(
            "Spawn --agents trading agents with seeded random genomes, fund them from --capital and drive "
            "them through --days of market (a synthetic one from --seed, or --data), with an evolution "
            "cycle every --cycle-days. Every decision and fill goes into the hash-chained log at --db; "
            "the summary on stdout ends with the head to check the file against later (arena verify). "
            "Stop it any time (Ctrl-C, kill): --resume continues the same run to the same head."
            "\n\n"
            "Progress goes to stderr: a bar on a terminal (or with --progress), otherwise one plain line "
            "every --progress-every seconds (step, simulated time, agent-steps/s, events/s, NAV, ETA), "
            "and nothing at all with --quiet."
        ),
        example="arena simulate --db arena.db --agents 50 --days 30 --seed 7",
    )
    sim.set_defaults(command=simulate)
    sim.add_argument(
        "--db", required=True, metavar="PATH", help="the store file to create, or to continue (required)"
    )
    sim.add_argument(
        "--agents",
        type=_AGENTS,
        metavar="N",
        help=f"agents to spawn in a new arena, {_AGENTS.range}, each an OS thread (required for a new run)",
    )
    sim.add_argument(
        "--days",
        type=_DAYS,
        metavar="D",
        help=(
            f"days of market to simulate, {_DAYS.range} (required for a new run); with --resume, days to "
            "extend a finished run by (default: an interrupted run continues to its own target)"
        ),
    )
    sim.add_argument(
        "--seed",
        type=_SEED,
        metavar="S",
        help=(
            f"seeds the market, genomes and evolution, {_SEED.range} (required for a new run; a resumed "
            "run keeps its own)"
        ),
    )
    sim.add_argument(
        "--capital",
        metavar="C",
        help=f"funding of a new arena, an exact amount such as 250000.50 (default {DEFAULT_CAPITAL:,})",
    )
    sim.add_argument(
        "--data",
        metavar="CSV",
        help=(
            "market data, rows of timestamp,symbol,open,high,low,close,volume (default: a synthetic "
            "market from --seed)"
        ),
    )
    sim.add_argument(
        "--start",
        metavar="DATE",
        help="skip --data bars before this date or ISO time (default: from the file's first bar)",
    )
    sim.add_argument(
        "--cycle-days",
        type=_COUNT,
        metavar="K",
        help="days between evolution cycles, 1 to 366 (default: the policy's, 5 in the built-in one)",
    )
    sim.add_argument(
        "--policy", metavar="FILE", help="evolution policy, .json or .toml (default: the built-in one)"
    )
    sim.add_argument(
        "--top", type=_COUNT, default=5, metavar="N", help="top agents to list in the summary (default 5)"
    )
    shown = sim.add_mutually_exclusive_group()
    shown.add_argument(
        "--progress",
        action="store_true",
        help="draw the progress bar even when stderr is not a terminal (default: only on a terminal)",
    )
    shown.add_argument(
        "--quiet",
        action="store_true",
        help="print no progress at all; warnings and errors still print (default: off)",
    )
    sim.add_argument(
        "--progress-every",
        type=_PROGRESS_SECONDS,
        default=DEFAULT_PROGRESS_EVERY,
        metavar="SECONDS",
        help=(
            f"seconds between two plain progress lines when stderr is not a terminal, "
            f"{_PROGRESS_SECONDS.range}; 0 prints one every step (default {DEFAULT_PROGRESS_EVERY:g})"
        ),
    )
    existing = sim.add_mutually_exclusive_group()
    existing.add_argument(
        "--resume",
        action="store_true",
        help=(
            "continue the run stored at --db from its recorded manifest; no other option needed "
            "(default: start a new run)"
        ),
    )
    existing.add_argument(
        "--force",
        action="store_true",
        help="replace the arena stored at --db (default: refuse an existing file)",
    )
    sim.add_argument(
        "--accept-loss",
        action="store_true",
        help=(
            "with --resume: continue a store whose log lost events a flush had acknowledged (its receipt "
            "says how many), and record the shorter log as the new receipt (default: refuse such a store)"
        ),
    )


_ISLANDS = _Whole(1, 1024, " (one process each)")


def _add_islands(commands: argparse._SubParsersAction[_Parser]) -> None:
    run = _command(
        commands,
        "islands",
        summary="run islands of arenas on Ray, migrating their fittest genomes",
        about=(
            "Run --islands arenas as Ray actors (one process each; local Ray unless --address names a "
            "cluster), every one on the same synthetic market from --seed with its own derived seed, "
            "each in RUN_DIR/island-<i>.db. Every --migrate-every evolution cycles the islands meet at a "
            "barrier and each sends copies of its --migrants fittest genomes to the next island on a "
            "ring (i to i+1); the sender records AgentEmigrated, the receiver AgentImmigrated naming the "
            "sender's seq and hash. The same seed gives every island the same head. Prints each "
            "island's head, agents, NAV and migrations, then verifies every file and cross-checks every "
            "migration (as arena verify RUN_DIR does). If an island's process dies the others finish "
            "their round and the run stops with the command that resumes it. Needs "
            "pip install 'arena-runtime[distributed]'."
        ),
        example="arena islands --islands 4 --agents 50 --days 30 --seed 7 --migrate-every 1 --dir run",
    )
    run.set_defaults(command=islands)
    run.add_argument("--dir", required=True, metavar="RUN_DIR", help="the run directory (required)")
    run.add_argument(
        "--islands",
        type=_ISLANDS,
        metavar="N",
        help=f"islands, {_ISLANDS.range} (required for a new run)",
    )
    run.add_argument(
        "--agents",
        type=_AGENTS,
        metavar="A",
        help=(
            f"agents each island starts with and keeps as its population, {_AGENTS.range} "
            "(required for a new run)"
        ),
    )
    run.add_argument(
        "--days", type=_DAYS, metavar="D", help=f"days of market, {_DAYS.range} (required for a new run)"
    )
    run.add_argument(
        "--seed",
        type=_SEED,
        metavar="S",
        help=f"seeds the market and every island, {_SEED.range} (required for a new run)",
    )
    run.add_argument(
        "--migrate-every",
        type=_Whole(1, _INT_MAX),
        metavar="K",
        help="evolution cycles between two migration barriers (default 1)",
    )
    run.add_argument(
        "--migrants", type=_COUNT, metavar="M", help="genomes each island sends per barrier (default 2)"
    )
    run.add_argument(
        "--cycle-days",
        type=_COUNT,
        metavar="K",
        help="days between evolution cycles, 1 to 366 (default: the policy's, 5 in the built-in one)",
    )
    run.add_argument(
        "--policy", metavar="FILE", help="evolution policy, .json or .toml (default: the built-in one)"
    )
    run.add_argument(
        "--capital",
        metavar="C",
        help=f"funding of each island, an exact amount (default {DEFAULT_CAPITAL:,})",
    )
    run.add_argument(
        "--address",
        metavar="ray://HOST:PORT",
        help="a Ray cluster, whose nodes have this package installed (default: Ray on this machine)",
    )
    run.add_argument(
        "--quiet", action="store_true", help="print no per-leg progress on stderr (default: off)"
    )
    existing = run.add_mutually_exclusive_group()
    existing.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in --dir from its islands.json; no other option needed (default: a new run)",
    )
    existing.add_argument(
        "--force", action="store_true", help="replace an islands run in --dir (default: refuse one)"
    )


def _add_evaluate(commands: argparse._SubParsersAction[_Parser]) -> None:
    held_out = _command(
        commands,
        "evaluate",
        summary="the evolved population vs the initial one and buy-and-hold, on unseen data",
        about=(
            "Replay the store's evolved population (every agent alive at the end) and its initial one "
            "(every agent spawned before the first cycle) on market data they never saw, with no "
            "evolution, each with the same capital, and print them against an equal-weight buy-and-hold "
            "of the same bars: return, annualised Sharpe ratio, maximum drawdown, trades and fees. The "
            "held-out window starts where the log ends: the synthetic market continued, or --data read "
            "from the bar after the log's last event."
        ),
        example="arena evaluate arena.db --days 30",
    )
    held_out.set_defaults(command=evaluate_store)
    held_out.add_argument("path", metavar="DB", help="the store file of the run to evaluate")
    held_out.add_argument(
        "--days",
        type=_DAYS,
        required=True,
        metavar="D",
        help=f"days of held-out market, {_DAYS.range} (required)",
    )
    held_out.add_argument(
        "--data",
        metavar="CSV",
        help="the market data file the arena was run on, continued (default: the synthetic market continued)",
    )
    held_out.add_argument(
        "--capital",
        metavar="C",
        help=f"funding of each population, an exact amount (default {DEFAULT_CAPITAL:,})",
    )
