"""``arena evaluate``: the evolved population against the initial one and buy-and-hold, on unseen data.

The held-out window always starts where the arena's log ends, so an evaluation can never be run on the
bars evolution selected on: the synthetic market is the same path continued for ``--days`` more, a CSV
(``--data``) is read from the bar after the log's last event. Both populations come from the file alone:
the *initial* population is every agent spawned without a parent before the first evolution cycle, the
*evolved* one every agent alive at the end of the log.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from actors import BUY_AND_HOLD, evaluate
from events import AgentSpawned, EvolutionCycleStarted, Fold, ValidationError, money
from store import SQLiteEventStore
from trading import Genome

from ._inspect import reading
from ._simulate import DEFAULT_CAPITAL, history_of, market_after

if TYPE_CHECKING:
    import argparse
    from collections.abc import Iterator
    from datetime import datetime

    from actors import Evaluation
    from trading import Bar, MarketFeed

__all__ = ["evaluate_store", "populations_of"]


def evaluate_store(args: argparse.Namespace) -> int:
    """Replay the evolved and the initial population on held-out data; print the table (exit 0)."""
    path = Path(args.path)
    history = history_of(path)  # refuses a missing or empty store, naming it
    seed = history.seed
    if seed is None:
        msg = (
            f"{str(path)!r}: the arena was opened without a seed, so its market cannot be continued; "
            "evaluate an arena made by arena simulate"
        )
        raise ValidationError(msg, field="path", value=str(path))
    initial, evolved = populations_of(path)
    capital = DEFAULT_CAPITAL if args.capital is None else money(args.capital, field="--capital")
    market_after(args, history, seed)  # refuses a bad --data or --days before anything runs

    def held_out() -> MarketFeed:
        return _After(market_after(args, history, seed), history.last)

    result = evaluate({"evolved": evolved, "initial": initial}, held_out, seed=seed, capital=capital)
    sys.stdout.write("\n".join(table_lines(result, days=args.days, source=args.data)) + "\n")
    return 0


class _After:
    """The bars of ``feed`` strictly after ``moment``: the ones the arena never saw."""

    def __init__(self, feed: MarketFeed, moment: datetime) -> None:
        self._feed = feed
        self._moment = moment

    @property
    def symbols(self) -> tuple[str, ...]:
        return self._feed.symbols

    def __iter__(self) -> Iterator[Bar]:
        return (bar for bar in self._feed if bar.timestamp > self._moment)


def populations_of(path: Path) -> tuple[list[Genome], list[Genome]]:
    """Return the initial and the evolved populations' genomes, each in agent id order.

    Raises:
        ValidationError: the log has no agent, or a genome is not one the built-in strategies know.

    """
    state = Fold()
    initial: dict[str, Genome] = {}
    cycles = 0
    with SQLiteEventStore.open(path, readonly=True) as store, reading(store) as events:
        for event in events:
            state.apply(event)
            if isinstance(event, EvolutionCycleStarted):
                cycles += 1
            elif isinstance(event, AgentSpawned) and event.parent_id is None and cycles == 0:
                initial[event.agent_id] = Genome.from_json_dict(event.genome)
    evolved = {a: Genome.from_json_dict(e.genome) for a, e in state.agents.items() if e.alive}
    if not initial or not evolved:
        what = "no agent was spawned before the first cycle" if not initial else "no agent is alive"
        msg = f"{str(path)!r}: {what}; evaluate an arena that ran a simulation"
        raise ValidationError(msg, field="path", value=str(path))
    return [initial[k] for k in sorted(initial)], [evolved[k] for k in sorted(evolved)]


def table_lines(result: Evaluation, *, days: int, source: str | None) -> list[str]:
    """Return the evaluation as the table the command prints."""
    market = f"{source}" if source else "the synthetic market, continued"
    window = f"{result.first_bar.isoformat()} to {result.last_bar.isoformat()}, {result.bars} steps"
    header = (
        f"{'population':<14}{'agents':>7}{'return':>10}{'sharpe':>9}{'max dd':>9}{'trades':>8}"
        f"{'fees':>14}{'final NAV':>20}"
    )
    lines = [
        f"held-out data: {market}, the {days} days after the log ends ({window}, no cycles)",
        f"capital: {result.capital} per population",
        "",
        header,
    ]
    for row in result.rows:
        agents = "-" if row.name == BUY_AND_HOLD else str(row.agents)
        lines.append(
            f"{row.name:<14}{agents:>7}{row.total_return:>+10.2%}{row.sharpe:>9.2f}{row.max_drawdown:>9.1%}"
            f"{row.trades:>8}{row.fees:>14.2f}{row.final_nav:>20.2f}"
        )
    lines += ["", "sharpe: annualised from the bars' timestamps; buy-and-hold pays no fees"]
    return lines
