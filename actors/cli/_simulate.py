"""``arena simulate``: build the market and the arena from the command line, run the driver, summarise.

Everything that can refuse the run (the options, the policy file, the market data, an existing store) is
checked before the store is touched, so a refused run never leaves a half-made file behind nor removes
the one that was there.

A new arena is opened with its ``SimClock`` at the market's opening time, so its first event is stamped
there. Resuming reads the arena's first and last events: the synthetic market is regenerated from the
arena's own seed and start (the same path, continued), and the run covers ``--days`` after the last event.
"""

from __future__ import annotations

import argparse
import math
import shlex
import signal
import sqlite3
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Final

from actors import Arena, SimClock, run_simulation
from events import ArenaError, ArenaOpened, ValidationError, money
from store import FORMAT_NAME, SQLiteEventStore, WriterLock, remove_store
from trading import BrokerConfig, CsvFeed, EvolutionPolicy, SyntheticFeed, infer_interval, performance, steps

from ._format import summary_lines
from ._inspect import first_event, reading
from ._progress import progress_display, style_of
from ._resume import Plan, Window, resume_plan
from ._target import read_options, remove_target, until_after, write_target

if TYPE_CHECKING:
    from collections.abc import Iterator

    from trading import MarketFeed, PerformanceReport

__all__ = [
    "DEFAULT_CAPITAL",
    "DEFAULT_PROGRESS_EVERY",
    "MAX_AGENTS",
    "MAX_DAYS",
    "SYNTHETIC_START",
    "History",
    "history_of",
    "market_after",
    "simulate",
]

DEFAULT_CAPITAL: Final = Decimal(1_000_000)
"""Funding of a new arena when ``--capital`` is not given."""

DEFAULT_PROGRESS_EVERY: Final = 10.0
"""Seconds of wall clock between two plain progress lines when stderr is not a terminal
(``--progress-every``): a line a log can hold for a run of days, yet one soon after a short run starts."""

MAX_AGENTS: Final = 2_000
"""Most live agents a run may have: ``--agents``, and a policy's ``population``.

Every agent is an OS thread. Measured on 2 cores: 2,000 agents start in 1.6 s and step at 2,800
agent-steps/s (0.7 s per hourly step); 5,000 start in 6.3 s and step at 2,100 (2.4 s per step); 20,000
take 63 s just to start, and a billion, once accepted, climbed past 12,000 threads before failing.
Past a few thousand a run spends its time switching threads, so the command line stops at 2,000; the
``Arena`` API takes more for a caller that knows its machine."""

MAX_DAYS: Final = 36_500
"""Most days of market one run may cover (``--days``): a century, which no run finishes anyway, and far
inside ``datetime``'s year 9999."""

SYNTHETIC_START: Final = datetime(2026, 1, 1, tzinfo=UTC)
"""When the synthetic market of a new arena opens: fixed, so a seed alone names a whole run."""

_HOUR: Final = timedelta(hours=1)
_SQLITE_MAGIC: Final = b"SQLite format 3\x00"


@dataclass(frozen=True, slots=True)
class History:
    """What resuming needs from an existing arena's log."""

    seed: int | None
    opened: datetime
    last: datetime
    only_opened: bool = False
    """The log holds ``ArenaOpened`` alone: no run has begun in it."""


class Terminated(KeyboardInterrupt):
    """A second SIGTERM (or SIGINT) while a stop is pending: stop now, the unfinished step discarded."""

    status = 143  # 128 + SIGTERM, the shell's convention


class StopRequest:
    """Set by SIGINT or SIGTERM; the driver reads it after each step and ends the run there.

    The first signal only sets the flag, so the run stops at a step boundary with nothing discarded:
    raising from a signal handler can land anywhere, even in a weakref callback that swallows it and
    lets the run go on. A second signal, for the impatient, raises at once (the close then discards the
    unfinished step: the log still ends at a step).
    """

    def __init__(self) -> None:
        self.signal: int | None = None

    def __call__(self) -> bool:
        return self.signal is not None

    @property
    def status(self) -> int:
        """The exit status the shell expects for the signal: 130 for SIGINT, 143 for SIGTERM."""
        return 128 + (self.signal or signal.SIGINT)


@contextmanager
def stop_on_signals() -> Iterator[StopRequest]:
    """Turn SIGINT and SIGTERM into a ``StopRequest`` while the run goes on.

    Only the main thread can set a signal handler; elsewhere (an embedding test) signals keep theirs.
    """
    request = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield request
        return

    def handler(signum: int, frame: object) -> None:
        del frame
        if request.signal is not None:
            raise Terminated if signum == signal.SIGTERM else KeyboardInterrupt
        request.signal = signum

    previous = {signum: signal.signal(signum, handler) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield request
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def simulate(args: argparse.Namespace) -> int:
    """Run ``arena simulate`` with parsed arguments; return the exit status (0: the run completed).

    Raises:
        ArenaError: an option, the policy, the data or the store refused the run (the CLI prints it).
        KeyboardInterrupt: SIGINT or SIGTERM; the log ends at the last complete step, and the exact
            command that resumes the run has been printed.

    """
    path = Path(args.db)
    _check_options(args)
    plan = _resume(args, path) if args.resume else _new_run(args)
    capital = None if args.capital is None else money(args.capital, field="--capital", allow_zero=False)
    if not args.resume and capital is None:
        capital = DEFAULT_CAPITAL
    if not args.resume and path.exists():
        _clear(path, force=args.force)
    # before the store is opened: an interrupt before the run's first block leaves options to start from
    write_target(path, plan.until, options=None if args.resume else _options(args))
    style = style_of(
        quiet=bool(getattr(args, "quiet", False)),
        bar=bool(getattr(args, "progress", False)),
        tty=sys.stderr.isatty(),
    )
    every: float = getattr(args, "progress_every", DEFAULT_PROGRESS_EVERY)
    began = time.perf_counter()
    accept_loss = bool(getattr(args, "accept_loss", False))
    try:
        opened = Arena.open(
            path,
            total_capital=capital,
            seed=plan.seed,
            clock=SimClock(plan.clock_start),
            accept_loss=accept_loss,
        )
    except BaseException:
        if not args.resume:  # a refused new run leaves nothing behind, its target included
            remove_target(path)
        raise
    try:
        with (
            stop_on_signals() as stop,
            opened as arena,
            # closed before the arena: the bar's line ends before the hint, an error or a log record
            progress_display(sys.stderr, style=style, every=every, start_seq=arena.head().seq) as show,
        ):
            report = run_simulation(
                arena,
                plan.feed,
                seed=plan.seed,
                agents=plan.agents,
                policy=plan.policy,
                broker=plan.broker,
                total_steps=plan.total_steps,
                top=args.top,
                progress=show,
                progress_every=1,  # the display rate-limits itself by wall clock (see _progress)
                stop=stop,
            )
    except KeyboardInterrupt:  # a second signal: stopped at once, the unfinished step discarded
        sys.stderr.write(_resume_hint(path))
        raise
    elapsed = time.perf_counter() - began
    if report.stopped:  # the first signal: stopped after a complete step
        sys.stderr.write(_resume_hint(path))
        sys.stderr.write("arena: interrupted\n")
        return stop.status
    result = _performance(path)
    lines = summary_lines(report, result, path=str(path), elapsed=elapsed)
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


def _new_run(args: argparse.Namespace) -> Plan:
    """Return the plan of a new run: its market and target from the options."""
    policy = _policy(args)
    seed = _seed(args, None, Path(args.db))
    feed, clock_start, total_steps, until = _new_market(args, seed)
    return Plan(
        feed=feed,
        clock_start=clock_start,
        total_steps=total_steps,
        seed=seed,
        policy=policy,
        broker=BrokerConfig(),
        until=until,
        agents=args.agents,
    )


def _options(args: argparse.Namespace) -> dict[str, object]:
    """Return the options that define a new run, as ``_new_run`` reads them back."""
    return {name: getattr(args, name) for name in _RUN_OPTIONS}


_RUN_OPTIONS = ("db", "agents", "days", "seed", "capital", "data", "start", "cycle_days", "policy")


def _resume(args: argparse.Namespace, path: Path) -> Plan:
    history = history_of(path)
    if path.exists():
        with WriterLock.acquire(path):  # a store another process writes is refused first, naming its pid
            pass
    options = read_options(path)
    if history.only_opened and options is not None:
        # interrupted before the run's first block was durable: nothing of the run happened, so it
        # starts again from the options it was started with, into the arena already opened for it
        restart = argparse.Namespace(**{**vars(args), **options, "resume": False})
        return _new_run(restart)
    return resume_plan(args, path, history.last)


def _resume_hint(path: Path) -> str:
    """Say where the interrupted run's log ends and the exact command that continues it."""
    try:
        with SQLiteEventStore.open(path, readonly=True) as store:
            head = store.head()
        where = f"the log ends at seq {head.seq}, the last complete step"
    except ArenaError:
        where = "the log ends at its last complete step"
    command = shlex.join(["arena", "simulate", "--db", str(path), "--resume"])
    return f"arena: interrupted; {where}; resume the same run with:\n  {command}\n"


def _performance(path: Path) -> PerformanceReport:
    """Read the arena's result back from the store: what ``arena report`` will say of the same file."""
    with SQLiteEventStore.open(path, readonly=True) as store, reading(store) as events:
        return performance(events)


def _check_options(args: argparse.Namespace) -> None:
    if args.resume and args.agents is not None:
        msg = (
            f"--agents {args.agents}: a resumed arena keeps the agents it has (evolution breeds new ones); "
            "drop --agents when passing --resume"
        )
        raise ValidationError(msg, field="--agents", value=args.agents)
    if not args.resume and args.days is None:
        msg = "--days: a new run needs its length; pass e.g. --days 30"
        raise ValidationError(msg, field="--days", value=None)
    if not args.resume and args.agents is None:
        msg = (
            "--agents: a new arena needs its population; pass e.g. --agents 50 (or --resume an existing one)"
        )
        raise ValidationError(msg, field="--agents", value=None)
    if args.start is not None and args.data is None:
        msg = (
            f"--start {args.start}: only applies to --data; the synthetic market opens at "
            f"{SYNTHETIC_START.date().isoformat()}; drop --start or pass --data FILE"
        )
        raise ValidationError(msg, field="--start", value=args.start)


def _policy(args: argparse.Namespace) -> EvolutionPolicy:
    policy = EvolutionPolicy.from_file(args.policy) if args.policy is not None else EvolutionPolicy()
    if args.cycle_days is not None:
        data = {**policy.to_json_dict(), "cycle_days": args.cycle_days}
        policy = EvolutionPolicy.from_mapping(data, subject=f"--cycle-days {args.cycle_days}")
    if policy.population is not None and policy.population > MAX_AGENTS:
        msg = (
            f"policy file {args.policy!r}: population {policy.population} is above {MAX_AGENTS:,}, the most "
            "agents the command line runs (each is an OS thread); pass a population of at most "
            f"{MAX_AGENTS}, or use the Arena API for more"
        )
        raise ValidationError(msg, field="population", value=policy.population)
    return policy


def history_of(path: Path) -> History:
    if not path.exists():
        msg = f"--resume: no arena at {str(path)!r} to resume; drop --resume to start a new one there"
        raise ValidationError(msg, field="--resume", value=str(path))
    with SQLiteEventStore.open(path, readonly=True) as store:
        opened = first_event(store, to_seq=1)
        last = first_event(store, from_seq=store.head().seq)
    if not isinstance(opened, ArenaOpened) or last is None:
        msg = (
            f"--resume: the store {str(path)!r} holds no arena yet (its log does not start with "
            "ArenaOpened); drop --resume and pass --force to start a new arena there"
        )
        raise ValidationError(msg, field="--resume", value=str(path))
    seed = opened.config.get("seed")
    return History(
        seed=seed if isinstance(seed, int) else None,
        opened=opened.timestamp,
        last=last.timestamp,
        only_opened=last.seq == 1,
    )


def _seed(args: argparse.Namespace, history: History | None, path: Path) -> int:
    given: int | None = args.seed
    if history is None or history.seed is None:
        if given is None:
            what = "a new arena" if history is None else f"the arena at {str(path)!r} (opened without one)"
            msg = f"--seed: {what} needs a seed, so that the run can be repeated; pass e.g. --seed 1"
            raise ValidationError(msg, field="--seed", value=None)
        return given
    if given is not None and given != history.seed:
        msg = (
            f"--seed {given}: differs from the seed {history.seed} the arena at {str(path)!r} was opened "
            f"with; omit --seed when resuming, or pass --seed {history.seed}"
        )
        raise ValidationError(msg, field="--seed", value=given)
    return history.seed


def _new_market(args: argparse.Namespace, seed: int) -> tuple[MarketFeed, datetime, int | None, datetime]:
    """Return a new run's market, its clock's start, its steps and its target (the last step's time)."""
    days: int = args.days
    if args.data is not None:
        csv = CsvFeed(args.data, start=_start(args.start), days=days)
        first = next(iter(csv))  # CsvFeed refuses a window without bars, naming the file
        try:
            interval = infer_interval(csv, symbol=first.symbol)
        except ValidationError:
            interval = timedelta(seconds=1)  # one bar per symbol: any instant before it opens the market
        # read the whole window once before any file is made: a bad row refuses the run, not half of it
        total, last = 0, first.timestamp
        for moment, _ in steps(csv):
            total, last = total + 1, moment
        return csv, first.timestamp - interval, total, last
    until = until_after(SYNTHETIC_START, days)
    return SyntheticFeed(seed=seed, start=SYNTHETIC_START, days=days), SYNTHETIC_START, days * 24, until


def market_after(args: argparse.Namespace, history: History, seed: int) -> MarketFeed:
    """Return the market of the ``--days`` days after the log ends, for ``arena evaluate``.

    The synthetic market continued, or the ``--data`` file from the log's last event on (the bar at
    that time was seen; callers skip it).
    """
    days: int = args.days
    if args.data is not None:
        return CsvFeed(args.data, start=history.last, days=days)
    until = until_after(history.last, days)
    span = math.ceil((until - history.opened) / timedelta(days=1))
    return Window(SyntheticFeed(seed=seed, start=history.opened, days=span), until)


def _start(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None:
        try:
            moment = datetime.combine(date.fromisoformat(text), datetime.min.time())
        except ValueError:
            msg = f"--start: {text!r} is not a date; pass YYYY-MM-DD or an ISO time such as 2024-01-02T09:30"
            raise ValidationError(msg, field="--start", value=text) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _clear(path: Path, *, force: bool) -> None:
    """Remove an existing store for ``--force``; refuse without it, or when the file is not an arena's."""
    if not force:
        msg = (
            f"--db {str(path)!r}: the file exists; pass --resume to continue that arena, --force to replace "
            "it, or another --db path"
        )
        raise ValidationError(msg, field="--db", value=str(path))
    if not _replaceable(path):
        msg = (
            f"--db {str(path)!r}: --force replaces only Arena stores, and this file is not one; "
            "pass another --db path, or remove the file yourself if you mean to"
        )
        raise ValidationError(msg, field="--db", value=str(path))
    remove_store(path)  # under the writer lock: never while another process writes it, never a newer schema
    remove_target(path)


def _replaceable(path: Path) -> bool:
    """Whether ``path`` is an empty file or an SQLite file whose ``meta.format`` names an Arena store."""
    if not path.is_file():
        return False
    if path.stat().st_size == 0:
        return True
    with path.open("rb") as file:
        if file.read(len(_SQLITE_MAGIC)) != _SQLITE_MAGIC:
            return False
    try:
        connection = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)
        try:
            row = connection.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
        finally:
            connection.close()
    except sqlite3.Error:
        return False
    return row is not None and row[0] == FORMAT_NAME
