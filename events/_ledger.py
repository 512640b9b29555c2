"""Double-entry postings: the effect of each event on the accounts, summing to exactly zero.

Three kinds of account: ``treasury`` (the arena's free capital), ``agent:<agent_id>`` (capital an agent
holds) and ``external`` (everything outside the arena: funding and market counterparties, fees included).
Treasury and agent accounts are internal and may never go negative; ``external`` mirrors them, so its
balance is always minus the arena's total capital.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from ._agents import AgentKilled
from ._capital import ArenaOpened, CapitalAllocated, CapitalReleased
from ._trading import TradeExecuted

if TYPE_CHECKING:
    from decimal import Decimal

    from ._base import Event

__all__ = ["EXTERNAL", "TREASURY", "Posting", "account_agent", "agent_account", "postings"]

TREASURY: Final = "treasury"
EXTERNAL: Final = "external"
_AGENT_PREFIX: Final = "agent:"


def agent_account(agent_id: str) -> str:
    """Return the ledger account that holds ``agent_id``'s capital."""
    return _AGENT_PREFIX + agent_id


def account_agent(account: str) -> str | None:
    """Return the agent id an account belongs to, or None for ``treasury`` and ``external``."""
    return account[len(_AGENT_PREFIX) :] if account.startswith(_AGENT_PREFIX) else None


@dataclass(frozen=True, slots=True)
class Posting:
    """One leg of a movement: ``amount`` is added to ``account`` (negative means taken from it)."""

    account: str
    amount: Decimal


def postings(event: Event) -> list[Posting]:
    """Return the double-entry postings of ``event``; their amounts sum to exactly zero.

    Events that move no capital (spawns, graduations, checks, rejections) post nothing, and neither do
    movements of zero (a killed agent that held nothing).
    """
    match event:
        case ArenaOpened(total_capital=amount):
            return _move(EXTERNAL, TREASURY, amount)
        case CapitalAllocated(agent_id=agent_id, amount=amount):
            return _move(TREASURY, agent_account(agent_id), amount)
        case CapitalReleased(agent_id=agent_id, amount=amount):
            return _move(agent_account(agent_id), TREASURY, amount)
        case AgentKilled(agent_id=agent_id, capital_released=amount):
            return _move(agent_account(agent_id), TREASURY, amount)
        case TradeExecuted(agent_id=agent_id, cash_delta=amount):
            return _move(EXTERNAL, agent_account(agent_id), amount)
        case _:
            return []


def _move(source: str, destination: str, amount: Decimal) -> list[Posting]:
    if not amount:
        return []
    return [Posting(source, -amount), Posting(destination, amount)]
