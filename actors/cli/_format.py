"""Plain-text rendering for the CLI: amounts, tables, events and the simulation summary.

Kept apart from the commands so that what a user reads is decided in one place, and so that the commands
stay about what to do, not how it looks. Everything here is a pure function of values: no I/O.

Amounts print in full (``amount``: 8 places, thousands separators) and ratios as exact percentages
(``percent``: the report's 8-place fraction, shifted two places), so every figure a report prints can be
added up by hand and reconciles to the last digit.
"""

from __future__ import annotations

import json
from datetime import UTC
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING, Final

from events import MONEY_SCALE, Tier, format_money, format_timestamp

if TYPE_CHECKING:
    from collections.abc import Sequence

    from actors import AllocationBreakdown, Progress, SimulationReport
    from events import AnyEvent
    from trading import PerformanceReport

__all__ = [
    "agent_lines",
    "amount",
    "breakdown_lines",
    "duration",
    "event_line",
    "headline_lines",
    "nav_by_tier_lines",
    "percent",
    "progress_line",
    "progress_postfix",
    "summary_lines",
    "table",
]

_ENVELOPE: Final = frozenset({"event_type", "seq", "event_id", "timestamp", "agent_id", "caused_by"})
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


def percent(fraction: Decimal) -> str:
    """Return a fraction (0.01 is 1%) as a percentage with 6 places: ``1.250000%``, exact at 8 places."""
    return f"{fraction.scaleb(2):,.6f}%"


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
    if text == "-":  # nothing to count (the treasury's agents): sits in a column of numbers
        return True
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


def headline_lines(report: PerformanceReport) -> list[str]:
    """Return the arena's result, laid out as a sum a reader can check: funding to capital at cost to NAV.

    Then what trading cost beyond fees (slippage: inside the fill prices, so already in the P&L), the
    equal-weight buy-and-hold of the same symbols, and the returns of both.
    """
    basket = (
        f"equal weight from each first mark: {', '.join(report.symbols)}"
        if report.symbols
        else "no symbol marked yet: the funding, as cash"
    )
    figures = [
        ("  funding", amount(report.funding), ""),
        ("+ realized p&l", amount(report.realized_pnl), ""),
        ("- fees paid", amount(report.fees_paid), ""),
        ("= capital at cost", amount(report.capital_at_cost), ""),
        ("+ unrealized p&l", amount(report.unrealized_pnl), ""),
        ("= nav", amount(report.nav), ""),
        ("  slippage paid", amount(report.slippage_paid), "inside the fill prices, so already in the p&l"),
        ("  buy and hold", amount(report.buy_and_hold), basket),
        ("  nav return", percent(report.nav_return), ""),
        ("  buy-and-hold return", percent(report.buy_and_hold_return), ""),
        ("  return vs buy and hold", percent(report.excess_return), ""),
    ]
    width = max(len(label) for label, _, _ in figures)
    digits = max(len(value) for _, value, _ in figures)
    lines = [f"performance at seq {report.seq} (at the last marks, from the log alone):"]
    for label, value, note in figures:
        line = f"{label.ljust(width)}  {value.rjust(digits)}"
        lines.append(f"{line}  ({note})" if note else line)
    return lines


def nav_by_tier_lines(report: PerformanceReport) -> list[str]:
    """Return NAV by tier: each tier's live agents and their equity, then the treasury, then the whole."""
    rows: list[tuple[str, object, str]] = [
        (tier.value, report.agents_by_tier[tier], amount(report.nav_by_tier[tier])) for tier in Tier
    ]
    rows.append(("treasury", "-", amount(report.treasury)))
    rows.append(("all", sum(report.agents_by_tier.values()), amount(report.nav)))
    return ["nav by tier:", *table(("tier", "agents", "nav"), rows)]


def agent_lines(report: PerformanceReport, *, top: int) -> list[str]:
    """Return the ``top`` live agents by equity (ties by id), then how many more there are."""
    agents = report.agents
    if not agents:
        return ["live agents by equity: none"]
    shown = agents[:top]
    rows = [
        (
            agent.agent_id,
            agent.tier.value,
            amount(agent.equity),
            amount(agent.pnl),
            percent(agent.total_return),
            amount(agent.max_drawdown),
            agent.trades,
        )
        for agent in shown
    ]
    header = ("agent", "tier", "equity", "p&l", "return", "drawdown", "trades")
    lines = [f"live agents by equity (top {len(shown)} of {len(agents)}):"]
    if shown:
        lines += [
            "  (p&l: equity less the capital given, net of releases; return: p&l over the capital allocated;",
            "   drawdown: the largest fall of the p&l from its peak, sampled at every mark)",
            *table(header, rows),
        ]
    if len(agents) > len(shown):
        lines.append(f"  ... and {len(agents) - len(shown)} more; pass --top N to list them")
    return lines


def progress_line(
    progress: Progress, *, agent_steps_per_s: float, events_per_s: float, eta: float | None
) -> str:
    """Return one plain progress line for a log file: step, simulated time, throughput, NAV, time left.

    ``arena: progress: step 120/480 (25%), 2026-01-06T00:00:00Z, 2,400 agent-steps/s, 1,310 events/s,
    nav 1,000,012.50000000, eta 0:00:07``. The rates are per wall-clock second and ``eta`` is wall-clock
    seconds left (None, shown as ``-``, when the run's length is unknown): the reader's clock, never the
    log's. Prefixed like the runtime's log lines, so one ``grep arena:`` finds both.
    """
    total = progress.total_steps
    if total:
        step = f"step {progress.steps:,}/{total:,} ({min(progress.steps, total) * 100 // total}%)"
    else:
        step = f"step {progress.steps:,}"
    return (
        f"arena: progress: {step}, {_moment(progress)}, {agent_steps_per_s:,.0f} agent-steps/s, "
        f"{events_per_s:,.0f} events/s, nav {amount(progress.nav)}, eta {duration(eta)}"
    )


def progress_postfix(progress: Progress) -> str:
    """Return what the progress bar shows beside its own count, rate and ETA: time, NAV, agents, events."""
    return (
        f"{_moment(progress)}, nav {amount(progress.nav)}, {progress.agents:,} agents, "
        f"{progress.events:,} events"
    )


def duration(seconds: float | None) -> str:
    """Return wall-clock seconds as ``H:MM:SS`` (hours past 24 keep counting), or ``-`` for None."""
    if seconds is None:
        return "-"
    whole = max(round(seconds), 0)
    return f"{whole // 3600}:{whole // 60 % 60:02}:{whole % 60:02}"


def _moment(progress: Progress) -> str:
    """Return the simulated time of the last step, to the second: what a progress display needs."""
    if progress.moment is None:
        return "-"
    return progress.moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def summary_lines(
    report: SimulationReport, performance: PerformanceReport, *, path: str, elapsed: float
) -> list[str]:
    """Return what ``arena simulate`` prints: the run, its events, cycles, capital, result, top agents, head.

    ``performance`` is the arena's result read back from the store after the run: the same figures
    ``arena report`` prints for the file, so the two can never disagree.
    """
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
    lines += ["", *breakdown_lines(report.breakdown), "", *headline_lines(performance), ""]
    if report.top_agents:
        # equity from the books (holdings valued at the recorded marks), as `arena report` shows it, not the
        # agent's own tracker: the tracker values holdings unrounded, so it can differ by a minor unit
        books = {agent.agent_id: agent.equity for agent in performance.agents}
        rows = [
            (
                agent.agent_id,
                agent.tier.value,
                agent.generation,
                agent.strategy,
                f"{agent.fitness:.2f}",
                f"{agent.metrics.total_return:.2%}",
                f"{agent.metrics.max_drawdown:.2%}",
                agent.metrics.trade_count,
                amount(books.get(agent.agent_id, agent.metrics.equity)),
            )
            for agent in report.top_agents
        ]
        header = ("agent", "tier", "depth", "strategy", "fitness", "twr", "tw drawdown", "trades", "equity")
        lines += [
            "top agents (depth = generations from a spawned ancestor):",
            *table(header, rows),
            "  (twr, tw drawdown: time-weighted, as evolution ranks them; arena report: p&l on capital)",
            "",
        ]
    lines += [
        f"head: seq {report.head_seq} hash {report.head_hash}",
        f"check it later: arena verify {path} --expected-head {report.head_seq}:{report.head_hash}",
    ]
    return lines
