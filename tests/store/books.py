"""The ledger a state implies: what ``balances()`` must say, account by account, after any prefix of a log.

Written from the fold's figures and the account-name functions of ``events``, never from the ledger, so
comparing the two checks the store's books against the one fold.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from events import (
    EXTERNAL,
    FEES,
    PNL,
    TREASURY,
    agent_account,
    market_account,
    position_account,
    units_account,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from events import ArenaState


def books_of(state: ArenaState) -> dict[str, Decimal]:
    """Return every non-zero balance ``state`` implies (and the arena's own four accounts, even at zero)."""
    books = {
        TREASURY: state.treasury,
        EXTERNAL: -state.funding,
        PNL: -state.realized_pnl,
        FEES: state.fees_paid,
    }
    markets: dict[str, Decimal] = {}
    for agent_id, record in state.agents.items():
        books[agent_account(agent_id)] = record.allocation
        for symbol, quantity in record.positions.items():
            books[units_account(agent_id, symbol)] = quantity
            books[position_account(agent_id, symbol)] = record.cost_basis[symbol]
            markets[symbol] = markets.get(symbol, Decimal(0)) - quantity
    books.update({market_account(symbol): units for symbol, units in markets.items()})
    return books


def differences(balances: Mapping[str, Decimal], state: ArenaState) -> dict[str, tuple[Decimal, Decimal]]:
    """Return ``{account: (balance, implied)}`` wherever the two disagree (an absent account is zero)."""
    implied = books_of(state)
    return {
        account: (balances.get(account, Decimal(0)), implied.get(account, Decimal(0)))
        for account in sorted(set(balances) | set(implied))
        if balances.get(account, Decimal(0)) != implied.get(account, Decimal(0))
    }
