"""``arena verify``, ``replay``, ``report`` and ``lineage``: read a store file, never write it.

Each opens the store read-only (``verify`` does not even trust the store's own reader: it audits the file
from scratch), so they are safe to run on a live arena's file, on a copy, or on a file under suspicion.
"""

from __future__ import annotations

import re
import sys
from bisect import bisect_right
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final, TypeVar

from actors import breakdown_of
from events import (
    AgentDemoted,
    AgentGraduated,
    AgentKilled,
    AgentMutated,
    AgentSpawned,
    ArenaState,
    MarksRecorded,
    SimulationStarted,
    UnknownAgentError,
    ValidationError,
    canonical_json,
    fold,
    format_timestamp,
)
from store import SQLiteEventStore, verify
from trading import performance

from ._format import agent_lines, amount, breakdown_lines, event_line, headline_lines, nav_by_tier_lines
from ._html import check_html, write_html
from ._islands import verify_run_dir
from ._png import check_png, write_pngs
from ._target import read_target

if TYPE_CHECKING:
    import argparse
    from collections.abc import Iterator, Mapping
    from datetime import datetime

    from events import AgentEntry, AgentRecord, AnyEvent, Event
    from store import Head
    from trading import PerformanceReport

__all__ = [
    "Life",
    "ReportText",
    "ancestors",
    "first_event",
    "judged_fitness",
    "lineage",
    "reading",
    "record_life",
    "replay",
    "report",
    "report_text",
    "run_lines",
    "verify_store",
]

_MAX_SEQ: Final = 2**63 - 1  # the largest seq a log can reach: SQLite's largest INTEGER
_SEQ_DIGITS: Final = len(str(_MAX_SEQ))
_HEAD: Final = re.compile(r"([0-9]+):([0-9a-f]{64})")  # [0-9], not \d: ASCII digits only
_MAX_WORKERS: Final = 256  # --workers: more processes than any machine this runs on has cores


@contextmanager
def reading(store: SQLiteEventStore, **filters: object) -> Iterator[Iterator[AnyEvent]]:
    """Yield ``store.read(**filters)`` and close it on the way out, before the store itself is closed.

    A read holds a cursor; abandoned (the first event was all we wanted, or stdout closed under us) it
    would otherwise be closed by the garbage collector after the store, and fail noisily there.
    """
    events = store.read(**filters)  # type: ignore[arg-type]  # the filters are read()'s keyword arguments
    try:
        yield events
    finally:
        close = getattr(events, "close", None)
        if close is not None:
            close()


def first_event(store: SQLiteEventStore, **filters: object) -> AnyEvent | None:
    """Return the first event matching ``filters``, or None, leaving no cursor open."""
    with reading(store, **filters) as events:
        return next(events, None)


def verify_store(args: argparse.Namespace) -> int:
    """Audit a store file: 0 when it checks out, 1 at the first failing seq, 2 when it is not a store.

    Raises:
        ValidationError: ``--expected-head`` is not ``SEQ:HASH``, or ``--workers`` is no number of processes.

    """
    workers = _workers(args.workers)
    if Path(args.path).is_dir():  # an islands run: every island's file, then every migration between them
        return verify_run_dir(Path(args.path), expected_head=args.expected_head)
    expected = _expected_head(args.expected_head)
    result = verify(args.path, expected_head=expected, workers=workers)
    if result.ok:
        _say(str(result), *(f"warning: {warning}" for warning in result.warnings))
        return 0
    if result.first_failing_seq is None:  # the file as a whole: missing, not SQLite, another format
        sys.stderr.write(f"arena: error: {result}\n")
        return 2
    _say(str(result), f"last good event: seq {result.head.seq} hash {result.head.hash}")
    return 1


def _workers(text: str | None) -> int | None:
    """Return ``--workers`` as a number of processes (None: verify's default), refusing anything else."""
    if text is None:
        return None
    digits = text.strip()
    if not (digits.isascii() and digits.isdecimal() and len(digits) <= len(str(_MAX_WORKERS))) or not (
        1 <= int(digits) <= _MAX_WORKERS
    ):
        cut = f"{text[:_SEQ_DIGITS]!r}... ({len(text)} characters)"
        shown = repr(text) if len(text) <= _SEQ_DIGITS else cut
        msg = (
            f"--workers: {shown} is not a number of processes; pass an int from 1 to {_MAX_WORKERS}, "
            "e.g. --workers 2"
        )
        raise ValidationError(msg, field="--workers", value=text)
    return int(digits)


def _say(*lines: str) -> None:
    sys.stdout.write("".join(f"{line}\n" for line in lines))


def _expected_head(text: str | None) -> tuple[int, str] | None:
    if text is None:
        return None
    found = _HEAD.fullmatch(text.strip().lower())
    if found is None:
        msg = (
            f"--expected-head: {text!r} is not SEQ:HASH; pass the head that 'arena simulate' printed, "
            "e.g. 2631:f044f536... (the seq, a colon, then the 64 hex digits of the hash)"
        )
        raise ValidationError(msg, field="--expected-head", value=text)
    digits = found.group(1).lstrip("0") or "0"
    if len(digits) > _SEQ_DIGITS or int(digits) > _MAX_SEQ:  # int() refuses 4301 digits: length first
        shown = (
            digits if len(digits) <= _SEQ_DIGITS + 1 else f"{digits[:_SEQ_DIGITS]}... ({len(digits)} digits)"
        )
        msg = (
            f"--expected-head: seq {shown} is beyond 2**63 - 1, the largest seq a log can reach; pass the "
            "head that 'arena simulate' printed"
        )
        raise ValidationError(msg, field="--expected-head", value=text)
    return int(digits), found.group(2)


def replay(args: argparse.Namespace) -> int:
    """Print the events matching the filters, one per line (or one JSON object per line), in seq order.

    Raises:
        ValidationError: a filter is malformed or names an unknown event type.
        UnknownAgentError: ``--agent`` names no agent of this arena.
        StoreError: the file is not a readable store.

    """
    if args.from_seq is not None and args.from_seq < 1:
        msg = f"--from-seq: {args.from_seq} is not a seq; pass an int >= 1 (the log starts at seq 1)"
        raise ValidationError(msg, field="--from-seq", value=args.from_seq)
    with SQLiteEventStore.open(args.path, readonly=True) as store:
        if args.agent is not None:
            _agent(store.load_state(), args.agent, args.path)
        write = sys.stdout.write
        with reading(store, agent_id=args.agent, event_types=args.types, from_seq=args.from_seq) as events:
            for event in events:
                write((canonical_json(event) if args.json else event_line(event)) + "\n")
    return 0


def report(args: argparse.Namespace) -> int:
    """Print the arena at the head, or as of ``--at-seq``: capital at cost, its result, NAV by tier, agents.

    The result is folded from the log up to that seq (``trading.performance``), never from market data:
    O(events) to read, plus one valuation per live agent at each recorded mark. With ``--html OUT`` the
    same text goes into one self-contained HTML page beside its charts (``actors/cli/_html.py``), with
    ``--png DIR`` the main charts into images (``actors/cli/_png.py``), and only the paths are printed.

    Raises:
        ValidationError: ``--at-seq`` is outside the log; ``--html`` names a folder, a path in no folder,
            or an existing file (without ``--force``); ``--png`` names a file, a path in no folder, or a
            folder holding its images (without ``--force``); ``--force`` comes without either.
        StoreError: the file is not a readable store.
        ArenaError: ``--html`` or ``--png`` without bokeh or pandas installed; ``--png`` without selenium,
            Pillow, Chromium or chromedriver.

    """
    html, png = getattr(args, "html", None), getattr(args, "png", None)
    if html is None and png is None and getattr(args, "force", False):
        msg = (
            "--force: it only replaces the files --html and --png write; pass --html OUT or --png DIR too, "
            "or drop --force"
        )
        raise ValidationError(msg, field="--force", value=True)
    if html is not None:
        check_html(html, force=args.force)  # before any reading: a refused page costs nothing
    if png is not None:
        check_png(png, force=args.force)  # and a missing browser neither
    text = report_text(args)
    if html is None and png is None:
        _say(*text.lines)
        return 0
    if html is not None:
        written = write_html(html, args.path, lines=text.lines, result=text.result, force=args.force)
        _say(f"wrote {written}")
    if png is not None:
        images = write_pngs(png, args.path, result=text.result, force=args.force)
        _say(*(f"wrote {image}" for image in images))
    return 0


@dataclass(frozen=True, slots=True)
class ReportText:
    """What ``arena report`` prints, with the seq and the result it was built from."""

    lines: list[str]
    seq: int
    result: PerformanceReport


def report_text(args: argparse.Namespace) -> ReportText:
    """Build ``arena report``'s lines without printing them (``report`` says what they hold)."""
    with SQLiteEventStore.open(args.path, readonly=True) as store:
        head = store.head()
        seq = head.seq if args.at_seq is None else _at_seq(args.at_seq, head)
        state = store.load_state() if seq == head.seq else _state_at(store, seq)
        event = first_event(store, from_seq=seq, to_seq=seq)
        with reading(store, to_seq=seq) as events:
            result = performance(events)
        started = first_event(store, event_types=["SimulationStarted"])
        last = first_event(store, from_seq=head.seq, to_seq=head.seq)
    when = f" ({format_timestamp(event.timestamp)})" if event is not None else ""
    run = (
        run_lines(started, last.timestamp if last is not None else None, read_target(Path(args.path)))
        if isinstance(started, SimulationStarted)
        else []
    )
    dead = sum(1 for agent in state.agents.values() if not agent.alive)
    lines = [
        f"arena {state.arena_id or '-'} at seq {seq} of {head.seq}{when}",
        f"evolution cycles: {state.cycle}; agents: {len(state.alive_agents())} alive, {dead} killed",
        *run,
        *breakdown_lines(breakdown_of(state)),
        "",
        *headline_lines(result),
        "",
        *nav_by_tier_lines(result),
        "",
        *agent_lines(result, top=args.top),
    ]
    return ReportText(lines=lines, seq=seq, result=result)


def run_lines(started: SimulationStarted, last: datetime | None, target: datetime | None) -> list[str]:
    """Return the run's manifest and whether it finished, as ``arena report`` prints them."""
    m = started.manifest
    market = m.get("market")
    market = market if isinstance(market, dict) else {}
    if market.get("kind") == "csv":
        digest = str(market.get("sha256"))[:16]
        data = f"csv {market.get('path')} ({market.get('size')} bytes, sha256 {digest}...)"
    else:
        data = (
            f"{market.get('kind')} market seed {market.get('seed')} from {market.get('start')}, "
            f"{market.get('interval_seconds')} s bars, symbols {market.get('symbols')}"
        )
    policy = m.get("policy")
    policy = policy if isinstance(policy, dict) else {}
    if target is None:
        status = "no target recorded beside the store"
    elif last is not None and last >= target:
        status = f"finished: its last step reached the target {format_timestamp(target)}"
    else:
        reached = format_timestamp(last) if last is not None else "-"
        status = f"not finished: at {reached}, target {format_timestamp(target)} (arena simulate --resume)"
    return [
        f"run (manifest at seq {started.seq}): seed {m.get('seed')}, {m.get('agents')} agents, {data}",
        (
            f"  policy: {policy.get('fitness')} fitness, cycles every {policy.get('cycle_days')} days; "
            f"evidence floor {m.get('min_trade_notional')}; evolve {m.get('evolve')}"
        ),
        f"  {status}",
    ]


def _at_seq(value: int, head: Head) -> int:
    if not 1 <= value <= head.seq:
        span = f"between 1 and {head.seq}" if head.seq else "none: the log is empty"
        msg = f"--at-seq: {value} is outside the log, which ends at seq {head.seq}; pass a seq {span}"
        raise ValidationError(msg, field="--at-seq", value=value)
    return value


def _state_at(store: SQLiteEventStore, seq: int) -> ArenaState:
    """Return the state as of ``seq``: the nearest snapshot at or before it, plus the events up to it."""
    base = store.snapshot(at_or_before=seq) or ArenaState()
    with reading(store, from_seq=base.seq + 1, to_seq=seq) as events:
        return fold(events, base)


_Record = TypeVar("_Record", "AgentRecord", "AgentEntry")
"""An agent's books: the frozen record of a state, or the fold's running entry."""

_LIFE_EVENTS: Final = [
    "AgentSpawned",
    "AgentGraduated",
    "AgentDemoted",
    "AgentKilled",
    "AgentMutated",
    "MarksRecorded",
]
"""What ``lineage`` reads: births, tier moves, deaths and mutations, and the marks that count bars."""


@dataclass(slots=True)
class Life:
    """What the log says of one ancestor: its birth, each tier move, its death, its last judged fitness.

    Built by ``record_life`` from the life events (``lineage`` here, the dashboard's agent page too).
    """

    spawned: AgentSpawned | None = None
    moves: list[AgentGraduated | AgentDemoted] = field(default_factory=list)
    killed: AgentKilled | None = None
    judged: AgentGraduated | AgentDemoted | AgentKilled | None = None
    """The last decision whose evidence holds a fitness."""


def lineage(args: argparse.Namespace) -> int:
    """Print an agent's ancestors (oldest first) and its descendants, with the mutation of each birth.

    Each ancestor also gets its fitness at its last judged decision (from the evidence its promotions,
    demotions and kill record), its tier history (each move's seq, time and reason) and its lifetime
    (spawned and killed times, and the bars, i.e. recorded marks, it lived through). One pass over the
    log's life events and marks.

    Raises:
        UnknownAgentError: no agent of this arena has the id.
        StoreError: the file is not a readable store.

    """
    with SQLiteEventStore.open(args.path, readonly=True) as store:
        state = store.load_state()
        agent = _agent(state, args.agent, args.path)
        chain = ancestors(state.agents, agent.agent_id)
        lives = {record.agent_id: Life() for record in chain}
        mutations: dict[str, dict[str, object]] = {}
        bars: list[int] = []  # seqs of every MarksRecorded, ascending: one per step of the market
        with reading(store, event_types=_LIFE_EVENTS) as events:
            for event in events:
                if isinstance(event, MarksRecorded):
                    bars.append(event.seq)
                elif isinstance(event, AgentMutated):
                    mutations[event.child_id] = dict(event.mutation)
                elif event.agent_id in lives:
                    record_life(lives[event.agent_id], event)
    children: dict[str, list[str]] = {}
    for other in state.agents.values():
        if other.parent_id is not None:
            children.setdefault(other.parent_id, []).append(other.agent_id)
    status = "alive" if agent.alive else "killed"
    lines = [
        (
            f"agent {agent.agent_id}: generation {agent.generation}, {agent.tier.value}, {status}, "
            f"cash {amount(agent.allocation)}"
        ),
        "ancestors (oldest first):",
    ]
    for record in reversed(chain):
        lines.append(_agent_line(record, mutations, depth=1))
        lines += _life_lines(record, lives[record.agent_id], bars, state.seq)
    lines.append("descendants:")
    below = _descendants(agent.agent_id, state, children, mutations, depth=1)
    lines += below or ["  (none)"]
    _say(*lines)
    return 0


def ancestors(agents: Mapping[str, _Record], agent_id: str) -> list[_Record]:
    """Return the agent ``agent_id`` of ``agents`` (it must be there), its parent, and so on to the first."""
    chain = [agents[agent_id]]
    while (parent := chain[-1].parent_id) is not None:
        chain.append(agents[parent])
    return chain


def record_life(life: Life, event: Event) -> None:
    """Add ``event`` (a life event of the agent ``life`` is about) to ``life``; others change nothing."""
    match event:
        case AgentSpawned():
            life.spawned = event
        case AgentGraduated() | AgentDemoted():
            life.moves.append(event)
        case AgentKilled():
            life.killed = event
        case _:
            return
    if isinstance(event, AgentGraduated | AgentDemoted | AgentKilled) and "fitness" in event.evidence:
        life.judged = event


def judged_fitness(life: Life) -> str:
    """Return the fitness at ``life``'s last judged decision, and which (``never judged`` without one)."""
    if life.judged is None:
        return "never judged"
    verb = {"AgentGraduated": "promotion", "AgentDemoted": "demotion", "AgentKilled": "kill"}
    return f"{life.judged.evidence['fitness']} at its {verb[life.judged.event_type]} (seq {life.judged.seq})"


def _life_lines(record: AgentRecord, life: Life, bars: list[int], head: int) -> list[str]:
    """Return one ancestor's fitness, tier history and lifetime, indented under its line."""
    judged = judged_fitness(life)
    lines = [f"      fitness: {judged}" if life.judged is None else f"      fitness {judged}", "      tiers:"]
    if life.spawned is not None:
        when = format_timestamp(life.spawned.timestamp)
        lines.append(f"        seq {life.spawned.seq}  {when}  spawned in {life.spawned.tier.value}")
    for move in life.moves:
        when = format_timestamp(move.timestamp)
        lines.append(
            f"        seq {move.seq}  {when}  {move.from_tier.value} -> {move.to_tier.value}: {move.reason}"
        )
    end = record.killed_seq if record.killed_seq is not None else head
    lived = bisect_right(bars, end) - bisect_right(bars, record.spawned_seq)
    born = f"seq {record.spawned_seq}"
    if life.spawned is not None:
        born = f"{format_timestamp(life.spawned.timestamp)} (seq {record.spawned_seq})"
    died = "alive"
    if life.killed is not None:
        killed = life.killed
        died = f"killed {format_timestamp(killed.timestamp)} (seq {killed.seq}: {killed.reason})"
    lines.append(f"      lifetime: spawned {born} -> {died}, {lived} bars")
    return lines


def _agent(state: ArenaState, agent_id: str, path: str) -> AgentRecord:
    found = state.agents.get(agent_id)
    if found is None:
        known = sorted(state.agents)
        sample = ", ".join(known[:3]) + (", ..." if len(known) > 3 else "")  # noqa: PLR2004  (a short hint)
        msg = (
            f"agent {agent_id!r}: no such agent in the arena at {path!r}; pass one of its {len(known)} "
            f"agent ids ({sample or 'it has none'})"
        )
        raise UnknownAgentError(msg, agent_id=agent_id)
    return found


def _descendants(
    agent_id: str,
    state: ArenaState,
    children: dict[str, list[str]],
    mutations: Mapping[str, Mapping[str, object]],
    *,
    depth: int,
) -> list[str]:
    lines: list[str] = []
    for child in sorted(children.get(agent_id, [])):
        lines.append(_agent_line(state.agents[child], mutations, depth=depth))
        lines += _descendants(child, state, children, mutations, depth=depth + 1)
    return lines


def _agent_line(record: AgentRecord, mutations: Mapping[str, Mapping[str, object]], *, depth: int) -> str:
    status = "alive" if record.alive else "killed"
    strategy = str(record.genome.get("strategy", record.genome.get("family", "?")))  # older genomes: family
    indent = "  " * depth
    line = (
        f"{indent}{record.agent_id}  generation {record.generation}  {strategy}  {record.tier.value}  "
        f"{status}"
    )
    if record.parent_id is not None:
        line += f"  bred from {record.parent_id}: {_mutation(mutations.get(record.agent_id, {}))}"
    return line


def _mutation(changes: Mapping[str, object]) -> str:
    parts = []
    for name, change in sorted(changes.items()):
        if isinstance(change, list) and len(change) == 2:  # noqa: PLR2004  ([old, new])
            parts.append(f"{name} {change[0]} -> {change[1]}")
        else:
            parts.append(f"{name} {change}")
    return ", ".join(parts) or "no parameter changed"
