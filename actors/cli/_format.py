"""Plain-text rendering for the CLI: amounts, tables, events and the simulation summary.

Kept apart from the commands so that what a user reads is decided in one place, and so that the commands
stay about what to do, not how it looks. Everything here is a pure function of values: no I/O.
"""

from __future__ import annotations

import json
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING, Final

from events import MONEY_SCALE, Tier, format_money, format_timestamp

if TYPE_CHECKING:
    from collections.abc import Sequence

    from actors import AllocationBreakdown, Progress, SimulationReport
    from events import AnyEvent

__all__ = [
    "amount",
    "breakdown_lines",
    "event_line",
    "progress_line",
    "summary_lines",
    "table",
]

_ENVELOPE: Final = frozenset({"event_type", "seq", "event_id", "timestamp", "agent_id", "caused_by"})
_BAR_WIDTH: Final = 30
_QUANTUM: Final = Decimal(1).scaleb(-MONEY_SCALE)


def amount(value: Decimal) -> str:
    """Return an amount with thousands separators and 8 places: ``1,250.50000000``.

    Ledger amounts have exactly 8 places already; derived figures (equity: units times a price) are
    rounded half-even to 8 for display.
    """
    text = format_money(value.quantize(_QUANTUM, rounding=ROUND_HALF_EVEN))
    sign, digits = ("-", text[1:]) if text.startswith("-") else ("", text)
    whole, _, places = digits.partition(".")
    return f"{sign}{int(whole):,}.{places}"


def table(header: Sequence[str], rows: Sequence[Sequence[object]], *, indent: str = "  ") -> list[str]:
    """Return aligned lines: text columns left-aligned, numbers (and amounts) right-aligned."""
    cells = [[str(cell) for cell in row] for row in [header, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    numeric = [all(_numeric(row[i]) for row in cells[1:]) and len(cells) > 1 for i in range(len(header))]
    lines = []
    for row in cells:
        parts = [
            cell.rjust(width) if right else cell.ljust(width)
            for cell, width, right in zip(row, widths, numeric, strict=True)
        ]
        lines.append(indent + "  ".join(parts).rstrip())
    return lines


def _numeric(text: str) -> bool:
    return text.replace(",", "").replace(".", "").replace("-", "").replace("%", "").isdigit()


def event_line(event: AnyEvent) -> str:
    """Return one event as one line: seq, time, type, agent, then its payload as ``key=value`` pairs."""
    payload = event.model_dump(mode="json", exclude=set(_ENVELOPE))
    details = " ".join(f"{key}={_value(value)}" for key, value in sorted(payload.items()))
    agent = event.agent_id or "-"
    stamp = format_timestamp(event.timestamp)
    return f"{event.seq:>8}  {stamp}  {event.event_type:<24}  {agent:<10}  {details}".rstrip()


def _value(value: object) -> str:
    if isinstance(value, str):
        return value if value and " " not in value else json.dumps(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def breakdown_lines(breakdown: AllocationBreakdown) -> list[str]:
    """Return the capital at a seq: total, free, allocated, then agents and capital per tier."""
    lines = [
        f"capital at seq {breakdown.seq}:",
        f"  total      {amount(breakdown.total_capital)}",
        f"  free       {amount(breakdown.free_capital)}",
        f"  allocated  {amount(breakdown.allocated_capital)}",
    ]
    rows = [(tier.value, breakdown.agents_by_tier[tier], amount(breakdown.by_tier[tier])) for tier in Tier]
    rows.append(("all", sum(breakdown.agents_by_tier.values()), amount(breakdown.allocated_capital)))
    return [*lines, *table(("tier", "agents", "capital"), rows)]


def progress_line(progress: Progress, elapsed: float) -> str:
    """Return a one-line progress bar: steps, bars, events written and agents alive."""
    total = progress.total_steps
    if total:
        done = min(progress.steps, total)
        filled = done * _BAR_WIDTH // total
        bar = f"[{'#' * filled}{'.' * (_BAR_WIDTH - filled)}] {done}/{total} steps"
    else:
        bar = f"{progress.steps} steps"
    return (
        f"{bar}  {progress.bars:,} bars  {progress.events:,} events  {progress.agents} agents alive  "
        f"{elapsed:.1f}s"
    )


def summary_lines(report: SimulationReport, *, path: str, elapsed: float) -> list[str]:
    """Return what ``arena simulate`` prints: the run, its events, cycles, capital, top agents, head."""
    first = format_timestamp(report.first_step) if report.first_step else "-"
    last = format_timestamp(report.last_step) if report.last_step else "-"
    rate = report.agent_steps / elapsed if elapsed > 0 else 0.0
    lines = [
        (
            f"simulated {report.steps:,} steps ({report.bars:,} bars, {report.agent_steps:,} agent-steps) "
            f"from {first} to {last} in {elapsed:.1f}s ({rate:,.0f} agent-steps/s)"
        ),
        f"orders: {report.orders:,} filled or rejected, {report.lapsed_orders:,} lapsed",
        "",
        f"events written: {report.events_written:,} (seq {report.start_seq + 1} to {report.head_seq})",
        *table(("type", "count"), [(kind, f"{n:,}") for kind, n in report.events_by_type.items()]),
        "",
    ]
    killed = sum(len(cycle.killed) for cycle in report.cycles)
    bred = sum(len(cycle.children) for cycle in report.cycles)
    graduated = sum(len(cycle.graduated) for cycle in report.cycles)
    lines.append(
        f"evolution: {len(report.cycles)} cycles; {killed} killed, {bred} bred, {graduated} graduated; "
        f"{report.agents_alive} agents alive"
    )
    lines += ["", *breakdown_lines(report.breakdown), ""]
    if report.top_agents:
        rows = [
            (
                agent.agent_id,
                agent.tier.value,
                agent.generation,
                agent.family,
                f"{agent.fitness:.2f}",
                f"{agent.metrics.total_return:.2%}",
                f"{agent.metrics.max_drawdown:.2%}",
                agent.metrics.trade_count,
                amount(agent.metrics.equity),
            )
            for agent in report.top_agents
        ]
        header = ("agent", "tier", "depth", "family", "fitness", "return", "drawdown", "trades", "equity")
        lines += ["top agents (depth = generations from a spawned ancestor):", *table(header, rows), ""]
    lines += [
        f"head: seq {report.head_seq} hash {report.head_hash}",
        f"check it later: arena verify {path} --expected-head {report.head_seq}:{report.head_hash}",
    ]
    return lines
