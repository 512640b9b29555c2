"""Value on the books: random fill sequences keep every unit, every cost and every fee accounted for."""

from __future__ import annotations

import decimal
from collections import defaultdict
from decimal import Decimal
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from events import (
    EXTERNAL,
    FEES,
    PNL,
    TREASURY,
    CapitalReleased,
    LogBuilder,
    TradeExecuted,
    agent_account,
    cost_of_sale,
    market_account,
    position_account,
    postings,
    units_account,
    value_at,
)

MINOR = 10**8
SYMBOLS = ("BTC", "ETH")

quantities = st.integers(min_value=1, max_value=5 * MINOR).map(lambda n: Decimal(n) / MINOR)
prices = st.integers(min_value=1, max_value=1000 * MINOR).map(lambda n: Decimal(n) / MINOR)
fees = st.integers(min_value=0, max_value=MINOR).map(lambda n: Decimal(n) / MINOR)


def reference_half_even(value: Fraction) -> int:
    """Round a non-negative fraction to the nearest integer, ties to even: written apart from events."""
    floor = value.numerator // value.denominator
    rest = value - floor
    if rest > Fraction(1, 2) or (rest == Fraction(1, 2) and floor % 2):
        return floor + 1
    return floor


class ReferenceBook:
    """An independent average-cost book in exact fractions of minor units: the arithmetic by hand."""

    def __init__(self) -> None:
        self.quantity: dict[str, int] = defaultdict(int)
        self.cost: dict[str, int] = defaultdict(int)
        self.realized = 0

    def buy(self, symbol: str, quantity: int, price: int) -> None:
        self.quantity[symbol] += quantity
        self.cost[symbol] += reference_half_even(Fraction(quantity * price, MINOR))

    def sell(self, symbol: str, quantity: int, price: int) -> None:
        held, cost = self.quantity[symbol], self.cost[symbol]
        out = cost if quantity == held else reference_half_even(Fraction(cost * quantity, held))
        self.realized += reference_half_even(Fraction(quantity * price, MINOR)) - out
        self.quantity[symbol] -= quantity
        self.cost[symbol] -= out


@st.composite
def trading_logs(draw: st.DrawFn) -> tuple[LogBuilder, ReferenceBook]:
    """A funded agent's random buys and sells (never short), marks, and sometimes a kill at the end."""
    log = LogBuilder(seed=draw(st.integers(0, 2**16)))
    log.open("1000000")
    log.spawn("a")
    log.allocate("a", "500000")
    book = ReferenceBook()
    for _ in range(draw(st.integers(1, 25))):
        symbol = draw(st.sampled_from(SYMBOLS))
        held = log.holding("a", symbol)
        action = draw(st.sampled_from(["buy", "sell", "mark"] if held else ["buy", "mark"]))
        price = draw(prices)
        if action == "mark":
            log.mark({symbol: price})
            continue
        quantity = draw(quantities) if action == "buy" else min(draw(quantities), held)
        fee = draw(fees)
        if action == "buy" and value_at(quantity, price) + fee > log.allocation("a"):
            continue
        if action == "sell" and value_at(quantity, price) < fee:
            fee = Decimal(0)
        log.trade("a", action, quantity, price, fee, symbol=symbol)
        getattr(book, action)(symbol, int(quantity * MINOR), int(price * MINOR))
    return log, book


@given(trading_logs())
def test_every_event_posts_money_and_each_symbols_units_summing_to_exactly_zero(built):
    log, _ = built
    for event in log.events:
        legs = postings(event)
        money = sum((leg.amount for leg in legs if leg.unit == "money"), Decimal(0))
        units: dict[str | None, Decimal] = defaultdict(Decimal)
        for leg in legs:
            if leg.unit == "quantity":
                units[leg.symbol] += leg.amount

        assert money == 0
        assert all(total == 0 for total in units.values())


@given(trading_logs())
def test_the_ledger_balances_are_the_books_and_quantities_are_conserved_per_symbol(built):
    log, _ = built
    balances: dict[str, Decimal] = defaultdict(Decimal)
    for event in log.events:
        for leg in postings(event):
            balances[leg.account] += leg.amount
    state = log.state
    agent = state.agents["a"]

    assert balances[TREASURY] == state.treasury
    assert balances[agent_account("a")] == agent.allocation
    assert balances[EXTERNAL] == -state.funding
    assert balances[FEES] == state.fees_paid
    assert balances[PNL] == -state.realized_pnl
    for symbol in SYMBOLS:
        held = agent.positions.get(symbol, Decimal(0))
        assert balances[units_account("a", symbol)] == held >= 0
        assert balances[market_account(symbol)] == -held
        assert balances[position_account("a", symbol)] == agent.cost_basis.get(symbol, Decimal(0))


@given(trading_logs())
def test_realized_pnl_is_the_closed_lot_arithmetic_of_an_independent_average_cost_book(built):
    log, book = built
    agent = log.state.agents["a"]

    assert log.state.realized_pnl == Decimal(book.realized) / MINOR
    for symbol in SYMBOLS:
        assert agent.positions.get(symbol, Decimal(0)) == Decimal(book.quantity[symbol]) / MINOR
        assert agent.cost_basis.get(symbol, Decimal(0)) == Decimal(book.cost[symbol]) / MINOR


@given(trading_logs())
def test_cash_plus_holdings_at_the_marks_is_funding_plus_realized_plus_unrealized_less_fees(built):
    log, _ = built
    state = log.state

    assert state.treasury + state.allocated_capital == state.total_capital
    assert state.total_capital == state.funding + state.realized_pnl - state.fees_paid
    assert state.nav() == state.funding + state.realized_pnl + state.unrealized_pnl() - state.fees_paid


@given(trading_logs(), prices)
def test_killing_an_agent_with_holdings_sells_them_and_loses_no_value_beyond_the_sale(built, price):
    log, _ = built
    held = dict(log.state.agents["a"].positions)
    if held:
        log.mark(dict.fromkeys(held, price))
    nav_before = log.state.nav()

    killed = log.kill("a", price=price)

    state = log.state
    after = log.events[log.events.index(killed) + 1 :]
    sales = [e for e in after if isinstance(e, TradeExecuted)]
    assert len(sales) == len(held)
    assert all(e.caused_by == killed.event_id and e.agent_id == "a" for e in after)
    assert [type(e) for e in after[len(sales) :]] in ([], [CapitalReleased])  # one release of the proceeds
    assert state.agents["a"].positions == {}
    assert state.agents["a"].allocation == 0
    assert state.treasury == state.nav()  # the only agent is dead: all value is back in the treasury
    assert state.nav() == nav_before  # sold at the mark, with no fee: value unchanged to the last digit


def test_selling_everything_takes_out_exactly_the_whole_cost():
    assert cost_of_sale(Decimal(3), Decimal("10.00000001"), Decimal(3)) == Decimal("10.00000001")


def test_a_partial_sale_takes_out_average_cost_rounded_half_even_in_minor_units():
    # 1/3 of 0.00000002 is 0.0000000066..., rounds to 0.00000001; 1/2 of 0.00000001 ties to even (0)
    assert cost_of_sale(Decimal(3), Decimal("0.00000002"), Decimal(1)) == Decimal("0.00000001")
    assert cost_of_sale(Decimal(2), Decimal("0.00000001"), Decimal(1)) == Decimal(0)
    assert cost_of_sale(Decimal(2), Decimal("0.00000003"), Decimal(1)) == Decimal("0.00000002")


def test_ids_and_symbols_holding_colons_never_share_an_account():
    assert position_account("a", "b:X") != position_account("a:b", "X")
    assert units_account("a", "b:X") != units_account("a:b", "X")
    assert position_account("a:", ":X") != position_account("a", "::X")
    assert agent_account("a:b%3A") == "agent:a%3Ab%253A"


WIDE = decimal.Context(prec=100)
signed_amounts = st.integers(min_value=-(10**22) * MINOR, max_value=10**22 * MINOR).map(
    lambda n: Decimal(n).scaleb(-8, context=WIDE)
)


@given(signed_amounts, signed_amounts)
def test_value_at_is_the_exact_product_rounded_half_even_to_the_minor_unit_signs_included(quantity, price):
    exact = Fraction(quantity) * Fraction(price) * MINOR
    magnitude = reference_half_even(abs(exact))
    expected = Decimal(magnitude if exact >= 0 else -magnitude).scaleb(-8, context=WIDE)
    value = value_at(quantity, price)
    assert value == expected
    assert value.as_tuple().exponent == -8
    assert str(value) != "-0E-8"  # a zero has one text: format_money never writes -0.00000000
