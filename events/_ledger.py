"""Double-entry postings: the effect of each event on the accounts, every unit summing to exactly zero.

Accounts for everything of value, in two units. In money:

* ``treasury``: the arena's free capital;
* ``agent:<id>``: an agent's cash;
* ``position:<id>:<symbol>``: what an agent's holding of a symbol cost (carried at cost);
* ``fees``: every fee paid, ever;
* ``pnl``: the market's side of realized gains and losses; its balance is minus the realized P&L;
* ``external``: where funding came from; its balance is minus the funding.

In quantity: ``units:<id>:<symbol>`` (what an agent holds) against ``market:<symbol>`` (its mirror).

Ids and symbols are percent-escaped inside account names (``%`` as ``%25``, ``:`` as ``%3A``), so no two
agents' or symbols' accounts can ever share a name, whatever characters the ids hold.

Internal accounts (treasury, cash, positions, holdings, fees) never go below zero; the mirrors
(``external``, ``pnl``, ``market:*``) hold the other side. Because every event's money legs sum to zero,
``treasury + cash + positions at cost + fees + pnl + external == 0`` at every seq, which is the
conservation of value: capital at cost ``== funding + realized P&L - fees``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal

from ._agents import AgentKilled
from ._capital import ArenaOpened, CapitalAllocated, CapitalReleased
from ._trading import TradeExecuted

if TYPE_CHECKING:
    from decimal import Decimal

    from ._base import Event

__all__ = [
    "EXTERNAL",
    "FEES",
    "PNL",
    "TREASURY",
    "Posting",
    "Unit",
    "account_agent",
    "agent_account",
    "is_mirror",
    "market_account",
    "position_account",
    "postings",
    "units_account",
]

TREASURY: Final = "treasury"
EXTERNAL: Final = "external"
FEES: Final = "fees"
PNL: Final = "pnl"
_AGENT_PREFIX: Final = "agent:"
_MARKET_PREFIX: Final = "market:"

Unit = Literal["money", "quantity"]
"""What a posting's amount counts: money at 8 places, or units of a symbol at 8 places."""


def _escape(part: str) -> str:
    return part.replace("%", "%25").replace(":", "%3A")


def agent_account(agent_id: str) -> str:
    """Return the ledger account that holds ``agent_id``'s cash."""
    return _AGENT_PREFIX + _escape(agent_id)


def position_account(agent_id: str, symbol: str) -> str:
    """Return the money account that carries ``agent_id``'s holding of ``symbol`` at cost."""
    return f"position:{_escape(agent_id)}:{_escape(symbol)}"


def units_account(agent_id: str, symbol: str) -> str:
    """Return the quantity account of ``agent_id``'s holding of ``symbol``."""
    return f"units:{_escape(agent_id)}:{_escape(symbol)}"


def market_account(symbol: str) -> str:
    """Return the quantity account that mirrors every agent's holding of ``symbol``."""
    return _MARKET_PREFIX + _escape(symbol)


def account_agent(account: str) -> str | None:
    """Return the agent id of a cash account (``agent:<id>``), or None for any other account."""
    if not account.startswith(_AGENT_PREFIX):
        return None
    return account[len(_AGENT_PREFIX) :].replace("%3A", ":").replace("%25", "%")


def is_mirror(account: str) -> bool:
    """Whether ``account`` holds the other side of the books (and so may go below zero)."""
    return account in {EXTERNAL, PNL} or account.startswith(_MARKET_PREFIX)


@dataclass(frozen=True, slots=True)
class Posting:
    """One leg of a movement: ``amount`` is added to ``account`` (negative means taken from it)."""

    account: str
    amount: Decimal
    agent_id: str | None = None
    """The agent the account belongs to, if any (stored in its own column, never parsed from names)."""
    symbol: str | None = None
    """The symbol of a position, holding or market account."""
    unit: Unit = "money"


def postings(event: Event) -> list[Posting]:
    """Return the double-entry postings of ``event``; each unit's amounts sum to exactly zero.

    Events that move nothing (spawns, graduations, checks, marks, rejections) post nothing, and neither
    do legs of zero (a killed agent that held no cash, a fee of zero).
    """
    match event:
        case ArenaOpened(total_capital=amount):
            return _legs((EXTERNAL, None, -amount), (TREASURY, None, amount))
        case CapitalAllocated(agent_id=agent_id, amount=amount):
            return _legs((TREASURY, None, -amount), (agent_account(agent_id), agent_id, amount))
        case (
            CapitalReleased(agent_id=agent_id, amount=amount)
            | AgentKilled(agent_id=agent_id, capital_released=amount)
        ):
            return _legs((agent_account(agent_id), agent_id, -amount), (TREASURY, None, amount))
        case TradeExecuted():
            return _fill(event)
        case _:
            return []


def _fill(fill: TradeExecuted) -> list[Posting]:
    agent_id, symbol = fill.agent_id, fill.symbol
    cash = Posting(agent_account(agent_id), fill.cash_delta, agent_id)
    fee = Posting(FEES, fill.fee)
    held, market = units_account(agent_id, symbol), market_account(symbol)
    sign = 1 if fill.side == "buy" else -1
    legs = [
        cash,
        Posting(position_account(agent_id, symbol), sign * fill.cost, agent_id, symbol),
        fee,
        Posting(PNL, -fill.realized_pnl),
        Posting(held, sign * fill.quantity, agent_id, symbol, "quantity"),
        Posting(market, -sign * fill.quantity, None, symbol, "quantity"),
    ]
    return [leg for leg in legs if leg.amount]


def _legs(*legs: tuple[str, str | None, Decimal]) -> list[Posting]:
    return [Posting(account, amount, agent_id) for account, agent_id, amount in legs if amount]
