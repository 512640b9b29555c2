"""``verify`` proves the books of value: fills at cost, marks, conservation checks, and the identities.

Tampering here edits what the ledger values (a fill's price, a mark, a check's figures); the last tests
plant a bug in ``events.postings`` on both the writing and the auditing side, so the ledger is
self-consistent and balanced but no longer the fold's books, which only the identities can see. The
``closed`` store's shape is described in ``tests/store/arena_log.py``.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from events import (
    FEES,
    PNL,
    TradeExecuted,
    agent_account,
    market_account,
    position_account,
    postings,
    to_minor,
)
from store import Head, verify
from tests.store.arena_log import LAST, SNAPSHOT
from tests.store.tampering import column, edit_data, failing, rechain, tamper

MARK = 20
"""Seq of the scenario's ``MarksRecorded``."""
BUY = 8
"""Seq of a1's first buy: 2 XYZ at 10.5 with a fee of 0.01; seq 9 sells 1 of them at 11."""


def test_a_repriced_fill_that_keeps_its_amounts_no_longer_decodes(closed):
    edit_data(closed, BUY, price="10.00000000")
    rechain(closed)

    seq, reason = failing(closed)

    assert seq == BUY
    assert reason.startswith(
        "data does not decode: event 'TradeExecuted' field '(event)': Value error, TradeExecuted: "
        "cash_delta -21.01000000 does not match buy of 2.00000000 at 10.00000000"
    )


def test_a_fill_repriced_with_its_amounts_and_chain_recomputed_is_caught_by_its_ledger_rows(closed):
    edit_data(
        closed,
        BUY,
        price="10.00000000",
        market_price="10.00000000",
        cash_delta="-20.01000000",
        cost="20.00000000",
    )
    rechain(closed)

    assert failing(closed) == (
        BUY,
        (
            "ledger row entry_id 9 posts -2101000000 to 'agent:a1', but the event posts -2001000000 to "
            "'agent:a1' (minor units of 1e-8)"
        ),
    )


def test_a_repriced_fill_in_a_rewritten_ledger_is_caught_where_its_cost_is_next_taken_out(store, path, log):
    """A forger who writes the whole file anew (chain and ledger) still cannot make the sale's cost agree."""
    log.scenario()
    events = log.take()
    buy = events[BUY - 1]
    assert isinstance(buy, TradeExecuted)
    cheaper = TradeExecuted.model_validate(
        {**buy.model_dump(), "price": "10", "market_price": "10", "cash_delta": "-20.01", "cost": "20"}
    )

    store.append([*events[: BUY - 1], cheaper, *events[BUY:]])

    seq, reason = failing(path)
    assert seq == BUY + 1
    assert reason == (
        f"the event contradicts the log before it: event seq {BUY + 1} (TradeExecuted): takes out cost "
        "10.50000000; average cost of the units sold is 10.00000000; the event contradicts the log before "
        "it and was not applied"
    )


def test_a_killed_agent_that_buys_with_its_liquidation_proceeds_is_caught_at_the_buy(store, path, log):
    """The ledger cannot see it (the dead agent's cash covers the buy); the fold can."""
    log.scenario()
    events = log.take()
    kill, sale, proceeds = events[LAST - 4], events[LAST - 3], events[LAST - 2]
    assert [e.event_type for e in (kill, sale, proceeds)] == [
        "AgentKilled",
        "TradeExecuted",
        "CapitalReleased",
    ]
    assert sale.caused_by == proceeds.caused_by == kill.event_id
    bought = TradeExecuted.model_validate(
        {
            **sale.model_dump(),
            "seq": proceeds.seq,
            "event_id": proceeds.event_id,
            "side": "buy",
            "quantity": "1",
            "cash_delta": "-10.5",
            "cost": "10.5",
            "realized_pnl": "0",
        }
    )

    store.append([*events[: proceeds.seq - 1], bought])

    seq, reason = failing(path)
    assert seq == proceeds.seq
    assert reason.endswith(
        "buys for agent 'a3', which was killed; the dead only sell what they hold; the event "
        "contradicts the log before it and was not applied"
    )


def test_an_edited_mark_breaks_the_chain_at_its_seq(closed):
    tamper(closed, ("UPDATE events SET data = replace(data, '10.75', '12.00') WHERE seq = ?", (MARK,)))

    seq, reason = failing(closed)

    assert seq == MARK
    assert reason.startswith("hash chain breaks")


def test_an_edited_mark_with_a_recomputed_chain_is_caught_by_the_next_snapshot(closed):
    edit_data(closed, MARK, marks={"XYZ": "12.00000000"})
    rechain(closed)

    assert failing(closed) == (
        SNAPSHOT,
        "snapshot #1 differs from the fold of the log in ['marks', 'head_hash']",
    )


def test_an_edited_mark_with_a_recomputed_chain_and_no_snapshot_needs_the_recorded_head(closed, log):
    """Marks value holdings but move nothing: no posting and no later event of the file depends on them.

    So a forger who recomputes the chain (and drops the derived snapshots) leaves a file that adds up;
    only a head recorded elsewhere shows that the log is not the one that was written.
    """
    recorded = Head(log.fold.seq, log.fold.head_hash)
    edit_data(closed, MARK, marks={"XYZ": "12.00000000"})
    rechain(closed)
    tamper(closed, "DELETE FROM arena_state")

    alone = verify(closed)
    seq, reason = failing(closed, expected_head=recorded)

    assert alone.ok
    assert seq == LAST
    assert reason.startswith(f"diverged: the hash at seq {LAST} is ")


def test_a_conservation_check_whose_figures_are_not_the_books_is_caught_at_its_seq(closed):
    # Still balanced in itself (free + allocated == total == funding + realized_pnl - fees), so it decodes.
    edit_data(closed, LAST, funding="1000001.00000000", total="1000003.88000000", free="997911.96000000")
    rechain(closed)

    assert failing(closed) == (
        LAST,
        (
            "CapitalConservationCheck records total 1000003.88000000, but the books at its seq say "
            "1000002.88000000"
        ),
    )


def test_a_ledger_row_in_the_wrong_unit_is_reported_at_its_seq(closed):
    tamper(
        closed,
        "UPDATE accounts SET unit = 'quantity' WHERE account_id = "
        "(SELECT account_id FROM capital_ledger WHERE entry_id = 9)",
    )
    first = column(
        closed,
        "SELECT min(seq) FROM capital_ledger WHERE account_id = "
        "(SELECT account_id FROM capital_ledger WHERE entry_id = 9)",
    )
    entry = column(
        closed,
        "SELECT min(entry_id) FROM capital_ledger WHERE account_id = "
        "(SELECT account_id FROM capital_ledger WHERE entry_id = 9)",
    )

    # An account's unit is stored once, so the first of its rows reports it.
    assert failing(closed) == (
        first,
        (
            f"ledger row entry_id {entry}: agent_id, symbol and unit are ('a1', None, 'quantity'), the "
            "posting's are ('a1', None, 'money')"
        ),
    )


def fees_into_pnl(event):
    """A bug: fees posted to the P&L account. Balanced and never negative, but not the fold's books."""
    return [dataclasses.replace(leg, account=PNL) if leg.account == FEES else leg for leg in postings(event)]


def cash_skimmed_into_the_position(event):
    """A bug: a buy's position at cost gets one minor unit more, the cash one less."""
    legs = postings(event)
    if not isinstance(event, TradeExecuted) or event.side != "buy":
        return legs
    nudge = {agent_account(event.agent_id): -1, position_account(event.agent_id, event.symbol): 1}
    return [
        dataclasses.replace(leg, amount=leg.amount + nudge.get(leg.account, 0) * Decimal("1E-8"))
        for leg in legs
    ]


def market_of_another_symbol(event):
    """A bug: the market side of a fill lands on another symbol's market account."""
    return [
        dataclasses.replace(leg, account=market_account("OTHER"))
        if leg.account.startswith("market:")
        else leg
        for leg in postings(event)
    ]


@pytest.mark.parametrize(
    ("buggy", "reason"),
    [
        (fees_into_pnl, "ledger balance of 'pnl' is 1000000, minus the realized P&L is 0 (minor units)"),
        (
            cash_skimmed_into_the_position,
            "ledger balance of 'agent:a1' is 97898999999, the fold says 97899000000 (minor units)",
        ),
        (
            market_of_another_symbol,
            (
                "ledger balance of 'market:XYZ' is 0, but agents hold 200000000 of 'XYZ': a market "
                "account is minus the units held (minor units)"
            ),
        ),
    ],
)
def test_postings_that_balance_but_are_not_the_folds_books_are_caught_at_the_first_fill(
    monkeypatch, store, log, buggy, reason
):
    monkeypatch.setattr("store._batch.ledger_legs", legs_of(buggy))
    monkeypatch.setattr("store._links.ledger_legs", legs_of(buggy))
    log.scenario()

    store.append(log.take()[:BUY])

    assert failing(store.path) == (BUY, reason)


def legs_of(buggy):
    """The store's view of buggy ``postings``: ``ledger_legs`` is ``postings`` in minor units."""

    def legs(event):
        return [(p.account, to_minor(p.amount), p.agent_id, p.symbol, p.unit) for p in buggy(event)]

    return legs


def without_fees_and_markets(event):
    """A bug: a fill's fee and market legs are lost, so neither its money nor its units balance."""
    return [leg for leg in postings(event) if leg.account != FEES and not leg.account.startswith("market:")]


def test_postings_that_do_not_balance_are_reported_as_a_bug_in_events(monkeypatch, store, log):
    monkeypatch.setattr("store._batch.ledger_legs", legs_of(without_fees_and_markets))
    monkeypatch.setattr("store._links.ledger_legs", legs_of(without_fees_and_markets))
    log.scenario()

    store.append(log.take()[:BUY])

    assert failing(store.path) == (
        BUY,
        (
            "postings(event) do not balance (money by -1000000, 'XYZ' by 200000000 units, minor units): a "
            "bug in events.postings"
        ),
    )
