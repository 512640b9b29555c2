"""Value at the marks: an agent's equity, the arena's NAV and its unrealized P&L, from the books alone.

A holding is worth its quantity at the symbol's latest recorded mark (``MarksRecorded``), rounded
half-even to 8 places per holding; a holding whose symbol has never been marked is carried at cost, so
value is never invented and never dropped. NAV is the treasury plus every agent's equity, and
``NAV == capital at cost + unrealized P&L`` exactly, by construction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from ._money import ZERO
from ._positions import value_at

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from decimal import Decimal

__all__ = ["Books", "equity", "holdings_value", "nav", "unrealized_pnl"]


class Books(Protocol):
    """What valuation reads of an agent: ``AgentRecord`` and ``AgentEntry`` both have it."""

    @property
    def allocation(self) -> Decimal:
        """Cash."""
        ...

    @property
    def positions(self) -> Mapping[str, Decimal]:
        """Units per symbol."""
        ...

    @property
    def cost_basis(self) -> Mapping[str, Decimal]:
        """Cost per symbol."""
        ...


def holdings_value(agent: Books, marks: Mapping[str, Decimal]) -> Decimal:
    """Return what ``agent``'s holdings are worth at ``marks`` (at cost where a symbol has no mark)."""
    total = ZERO
    for symbol, quantity in agent.positions.items():
        mark = marks.get(symbol)
        total += agent.cost_basis.get(symbol, ZERO) if mark is None else value_at(quantity, mark)
    return total


def equity(agent: Books, marks: Mapping[str, Decimal]) -> Decimal:
    """Return ``agent``'s equity: its cash plus its holdings at ``marks``."""
    return agent.allocation + holdings_value(agent, marks)


def nav(treasury: Decimal, agents: Iterable[Books], marks: Mapping[str, Decimal]) -> Decimal:
    """Return the net asset value: the treasury plus every agent's equity."""
    return treasury + sum((equity(agent, marks) for agent in agents), ZERO)


def unrealized_pnl(agents: Iterable[Books], marks: Mapping[str, Decimal]) -> Decimal:
    """Return what the holdings would gain (or lose) if sold at ``marks``, before fees."""
    return sum(
        (holdings_value(agent, marks) - sum(agent.cost_basis.values(), ZERO) for agent in agents), ZERO
    )
