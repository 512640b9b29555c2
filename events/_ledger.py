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

``postings`` is the meaning; ``ledger_legs`` is the same legs as the store's rows want them (amounts in
minor units, no ``Posting`` objects), for the store's append and its audit, which turn every event of a
log into legs. It remembers the account names of each agent and symbol, so the escaping and formatting
is paid once per account, not once per leg.

Internal accounts (treasury, cash, positions, holdings, fees) never go below zero; the mirrors
(``external``, ``pnl``, ``market:*``) hold the other side. Because every event's money legs sum to zero,
``treasury + cash + positions at cost + fees + pnl + external == 0`` at every seq, which is the
conservation of value: capital at cost ``== funding + realized P&L - fees``.
"""

from __future__ import annotations

import decimal
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal

from ._agents import AgentKilled
from ._capital import ArenaOpened, CapitalAllocated, CapitalReleased
from ._money import MONEY_SCALE, from_minor
from ._trading import TradeExecuted

if TYPE_CHECKING:
    from decimal import Decimal

    from ._base import Event

__all__ = [
    "EXTERNAL",
    "FEES",
    "PNL",
    "TREASURY",
    "Leg",
    "Posting",
    "Unit",
    "account_agent",
    "agent_account",
    "is_mirror",
    "ledger_legs",
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
_MIRRORS: Final = frozenset((EXTERNAL, PNL))
"""The named mirrors, as a constant: a set display of names would be rebuilt at every call."""

Unit = Literal["money", "quantity"]
"""What a posting's amount counts: money at 8 places, or units of a symbol at 8 places."""
Leg = tuple[str, int, "str | None", "str | None", Unit]
"""``(account, amount, agent_id, symbol, unit)``: a ``Posting`` with its amount in integer minor units."""

_NAMES_KEPT: Final = 1 << 17
"""Agents' and symbols' account names ``ledger_legs`` remembers before it starts afresh (a bound, not a
tuning knob: a name is cheap to rebuild)."""
_AGENT_NAMES: dict[str, str] = {}
_TRADE_NAMES: dict[tuple[str, str], tuple[str, str, str, str]] = {}
_MINOR_CONTEXT: Final = decimal.Context(prec=40, rounding=decimal.ROUND_HALF_EVEN)
"""Wide enough that every amount an event holds scales to minor units exactly (as ``to_minor``)."""


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
    return account in _MIRRORS or account.startswith(_MARKET_PREFIX)


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
    do legs of zero (a killed agent that held no cash, a fee of zero). The rules are ``ledger_legs``'s,
    the one place that says which legs an event has; this is that in ``Posting`` form.
    """
    return [
        Posting(account, from_minor(units), agent_id, symbol, unit)
        for account, units, agent_id, symbol, unit in ledger_legs(event)
    ]


def ledger_legs(event: Event) -> list[Leg]:
    """Return the legs of ``event`` as ``(account, minor units, agent_id, symbol, unit)`` tuples, in order.

    The double-entry rules themselves (``postings`` is this in ``Posting`` form), as plain tuples because
    the store turns them into rows and the verifier compares them with rows: no ``Posting`` is built, the
    amounts are scaled with a positional context (keyword arguments make ``Decimal.scaleb`` several times
    slower), and account names come from a cache.
    """
    match event:
        case TradeExecuted():
            return _fill_legs(event)
        case ArenaOpened(total_capital=amount):
            return _move(EXTERNAL, None, TREASURY, None, amount)
        case CapitalAllocated(agent_id=agent_id, amount=amount):
            return _move(TREASURY, None, _agent_name(agent_id), agent_id, amount)
        case (
            CapitalReleased(agent_id=agent_id, amount=amount)
            | AgentKilled(agent_id=agent_id, capital_released=amount)
        ):
            return _move(_agent_name(agent_id), agent_id, TREASURY, None, amount)
        case _:
            return []


def _move(
    source: str, source_agent: str | None, target: str, target_agent: str | None, amount: Decimal
) -> list[Leg]:
    units = _minor(amount)
    if not units:
        return []
    return [(source, -units, source_agent, None, "money"), (target, units, target_agent, None, "money")]


def _fill_legs(fill: TradeExecuted) -> list[Leg]:
    agent_id, symbol = fill.agent_id, fill.symbol
    names = _TRADE_NAMES.get((agent_id, symbol))
    if names is None:
        if len(_TRADE_NAMES) >= _NAMES_KEPT:
            _TRADE_NAMES.clear()
        names = _TRADE_NAMES[agent_id, symbol] = (
            agent_account(agent_id),
            position_account(agent_id, symbol),
            units_account(agent_id, symbol),
            market_account(symbol),
        )
    cash, position, held, market = names
    cost, quantity, fee, pnl = _minor(fill.cost), _minor(fill.quantity), fill.fee, fill.realized_pnl
    if fill.side != "buy":
        cost, quantity = -cost, -quantity
    legs: list[Leg] = [
        (cash, _minor(fill.cash_delta), agent_id, None, "money"),
        (position, cost, agent_id, symbol, "money"),
        (FEES, _minor(fee) if fee else 0, None, None, "money"),
        (PNL, -_minor(pnl) if pnl else 0, None, None, "money"),  # a buy realizes nothing: skip the scaling
        (held, quantity, agent_id, symbol, "quantity"),
        (market, -quantity, None, symbol, "quantity"),
    ]
    return [leg for leg in legs if leg[1]]


def _agent_name(agent_id: str) -> str:
    name = _AGENT_NAMES.get(agent_id)
    if name is None:
        if len(_AGENT_NAMES) >= _NAMES_KEPT:
            _AGENT_NAMES.clear()
        name = _AGENT_NAMES[agent_id] = agent_account(agent_id)
    return name


def _minor(amount: Decimal) -> int:
    return int(amount.scaleb(MONEY_SCALE, _MINOR_CONTEXT))
