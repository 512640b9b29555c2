from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from events import ValidationError
from trading import BrokerConfig, Fill, Order, Rejection, execute

Q = Decimal("0.00000001")
DEFAULT = BrokerConfig()


def money(value: Decimal) -> Decimal:
    return value.quantize(Q, rounding=ROUND_HALF_EVEN)


def buy(quantity: str, symbol: str = "BTC") -> Order:
    return Order(symbol, "buy", Decimal(quantity))


def sell(quantity: str, symbol: str = "BTC") -> Order:
    return Order(symbol, "sell", Decimal(quantity))


def test_buy_fills_above_the_open_and_pays_notional_plus_fee():
    fill = execute(buy("1"), open_price=Decimal(100), cash=Decimal(1000), position=Decimal(0), config=DEFAULT)

    assert fill == Fill(
        symbol="BTC",
        side="buy",
        quantity=Decimal("1.00000000"),
        requested_quantity=Decimal("1.00000000"),
        price=Decimal("100.05000000"),
        fee=Decimal("0.10005000"),
        cash_delta=Decimal("-100.15005000"),
        market_price=Decimal("100.00000000"),
        cost=Decimal("100.05000000"),
    )
    assert fill.notional == Decimal("100.05000000")


def test_sell_fills_below_the_open_and_receives_notional_minus_fee():
    fill = execute(sell("2"), open_price=Decimal(100), cash=Decimal(0), position=Decimal(2), config=DEFAULT)

    assert isinstance(fill, Fill)
    assert (fill.price, fill.fee, fill.cash_delta) == (
        Decimal("99.95"),
        Decimal("0.1999"),
        Decimal("199.7001"),
    )
    assert fill.notional == Decimal("199.90000000")


def test_every_amount_is_rounded_half_even_to_eight_places():
    # price 33.333333 * 1.0005 = 33.3499996665; notional 0.3 * 33.34999967 = 10.004999901; fee 0.010004999901
    fill = execute(
        buy("0.3"), open_price=Decimal("33.333333"), cash=Decimal(100), position=Decimal(0), config=DEFAULT
    )

    assert isinstance(fill, Fill)
    assert (fill.price, fill.fee, fill.cash_delta) == (
        Decimal("33.34999967"),
        Decimal("0.01000500"),
        Decimal("-10.01500490"),
    )
    assert all(v.as_tuple().exponent == -8 for v in (fill.quantity, fill.price, fill.fee, fill.cash_delta))


@pytest.mark.parametrize(("open_price", "fee"), [("0.000001", "0"), ("0.000003", "0.00000002")])
def test_a_fee_exactly_half_way_rounds_to_even(open_price, fee):
    config = BrokerConfig(slippage_bps=Decimal(0), fee_bps=Decimal(50))

    fill = execute(
        buy("1"), open_price=Decimal(open_price), cash=Decimal(1), position=Decimal(0), config=config
    )

    assert isinstance(fill, Fill)
    assert fill.fee == Decimal(fee)


def test_zero_slippage_and_fee_fill_exactly_at_the_open():
    config = BrokerConfig(slippage_bps=Decimal(0), fee_bps=Decimal(0))

    fill = execute(
        buy("3"), open_price=Decimal("12.5"), cash=Decimal(100), position=Decimal(0), config=config
    )

    assert isinstance(fill, Fill)
    assert (fill.price, fill.fee, fill.cash_delta) == (Decimal("12.5"), Decimal(0), Decimal("-37.5"))


def test_a_buy_beyond_the_cash_shrinks_to_the_largest_affordable_quantity():
    fill = execute(
        buy("100"), open_price=Decimal(100), cash=Decimal(1000), position=Decimal(0), config=DEFAULT
    )

    assert isinstance(fill, Fill)
    assert fill.quantity == Decimal("9.98501748")
    assert fill.requested_quantity == Decimal(100)
    assert -fill.cash_delta <= Decimal(1000)
    one_more = money((fill.quantity + Q) * fill.price)
    assert one_more + money(one_more * Decimal("0.001")) > Decimal(1000)


def test_a_buy_that_cannot_afford_the_smallest_quantity_is_rejected():
    result = execute(buy("1"), open_price=Decimal(100), cash=Decimal(0), position=Decimal(0), config=DEFAULT)

    assert isinstance(result, Rejection)
    assert result.requested_quantity == Decimal(1)
    assert result.reason.startswith(
        "buy BTC: cash 0.00000000 cannot pay for even 0.00000001 at 100.05000000 plus 10 bps fee;"
    )


def test_a_sell_beyond_the_position_shrinks_to_the_position():
    fill = execute(
        sell("5"), open_price=Decimal(100), cash=Decimal(0), position=Decimal("1.5"), config=DEFAULT
    )

    assert isinstance(fill, Fill)
    assert fill.quantity == Decimal("1.5")
    assert fill.requested_quantity == Decimal(5)


def test_a_sell_with_nothing_held_is_rejected():
    result = execute(
        sell("1"), open_price=Decimal(100), cash=Decimal(10), position=Decimal(0), config=DEFAULT
    )

    assert result == Rejection(
        "BTC",
        "sell",
        Decimal(1),
        "sell BTC: nothing is held (position 0.00000000) and agents cannot sell short; buy first",
    )


def test_shorting_cannot_be_switched_on_because_no_agent_may_hold_a_negative_quantity():
    with pytest.raises(ValidationError, match=r"^BrokerConfig field 'allow_short': extra inputs are not"):
        BrokerConfig(allow_short=True)


def test_a_sale_takes_out_the_average_cost_of_the_units_sold_and_realizes_the_rest():
    config = BrokerConfig(slippage_bps=0, fee_bps=0)

    fill = execute(
        sell("1"),
        open_price=Decimal(120),
        cash=Decimal(0),
        position=Decimal(3),
        cost_basis=Decimal(300),
        config=config,
    )

    assert isinstance(fill, Fill)
    assert (fill.cost, fill.realized_pnl, fill.market_price) == (Decimal(100), Decimal(20), Decimal(120))


def test_a_buy_carries_its_notional_as_cost_and_realizes_nothing():
    fill = execute(
        Order("BTC", "buy", Decimal(1)),
        open_price=Decimal(100),
        cash=Decimal(1000),
        position=Decimal(0),
        config=DEFAULT,
    )

    assert isinstance(fill, Fill)
    assert fill.cost == fill.notional
    assert fill.realized_pnl == 0
    assert fill.market_price == Decimal(100)


def test_an_order_whose_notional_rounds_to_zero_is_rejected():
    result = execute(
        sell("0.00000001"), open_price=Decimal("0.5"), cash=Decimal(0), position=Decimal(1), config=DEFAULT
    )

    assert isinstance(result, Rejection)
    assert result.reason.startswith("sell BTC: 0.00000001 at 0.49975000 is worth less than 0.00000001")


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        (
            {"open_price": Decimal(0)},
            (
                r"^execute: open_price must be a positive finite Decimal, got Decimal\('0'\); "
                r"pass the next bar's open$"
            ),
        ),
        ({"open_price": 100.0}, r"^execute: open_price must be a positive finite Decimal, got 100\.0;"),
        ({"open_price": Decimal("Infinity")}, r"^execute: open_price must be a positive finite Decimal"),
        ({"cash": Decimal(-1)}, r"^cash: Decimal\('-1'\) is negative; pass an amount >= 0$"),
        ({"cash": 10.0}, r"^cash: 10\.0 is a float, not an exact amount;"),
        (
            {"position": Decimal("0.123456789")},
            r"^position: Decimal\('0\.123456789'\) has more than 8 decimal",
        ),
        (
            {"position": Decimal(-1)},
            r"^execute: position -1\.00000000 is short, but agents never hold a negative quantity;",
        ),
    ],
)
def test_bad_execution_inputs_raise_validation_error(kwargs, pattern):
    arguments = {"open_price": Decimal(100), "cash": Decimal(10), "position": Decimal(0), "config": DEFAULT}

    with pytest.raises(ValidationError, match=pattern):
        execute(buy("1"), **{**arguments, **kwargs})


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        (
            {"fee_bps": 2.5},
            r"^BrokerConfig field 'fee_bps': basis points must be exact, got the float 2\.5; ",
        ),
        (
            {"slippage_bps": Decimal(-1)},
            r"^BrokerConfig field 'slippage_bps': input should be greater than or",
        ),
        (
            {"fee_bps": Decimal(1001)},
            r"^BrokerConfig field 'fee_bps': .*got Decimal\('1001'\); pass a Decimal >= 0",
        ),
        ({"commission": 1}, r"^BrokerConfig field 'commission': extra inputs are not permitted;"),
    ],
)
def test_bad_broker_config_raises_validation_error(kwargs, pattern):
    with pytest.raises(ValidationError, match=pattern):
        BrokerConfig(**kwargs)


amounts = st.decimals(min_value=Decimal(0), max_value=Decimal(1_000_000), places=8)
prices = st.decimals(min_value=Decimal("0.000001"), max_value=Decimal(100_000), places=8)
quantities = st.decimals(min_value=Q, max_value=Decimal(10_000), places=8)
bps = st.decimals(min_value=Decimal(0), max_value=Decimal(1000), places=2)


@given(
    side=st.sampled_from(["buy", "sell"]),
    quantity=quantities,
    open_price=prices,
    cash=amounts,
    position=amounts,
    slippage=bps,
    fee_bps=bps,
)
def test_fills_never_overdraw_cash_and_their_arithmetic_is_exact(
    *, side, quantity, open_price, cash, position, slippage, fee_bps
):
    config = BrokerConfig(slippage_bps=slippage, fee_bps=fee_bps)

    result = execute(
        Order("X", side, quantity), open_price=open_price, cash=cash, position=position, config=config
    )

    if isinstance(result, Rejection):
        assert result.requested_quantity == quantity
        return
    slip = slippage / 10_000
    notional = money(result.quantity * result.price)
    assert cash + result.cash_delta >= 0
    assert 0 < result.quantity <= quantity
    assert result.fee == money(notional * fee_bps / 10_000)
    assert notional > 0
    if side == "buy":
        assert result.price == money(open_price * (1 + slip))
        assert result.cash_delta == -(notional + result.fee)
        if result.quantity < quantity:  # shrunk: one more unit would not have been affordable
            more = money((result.quantity + Q) * result.price)
            assert more + money(more * fee_bps / 10_000) > cash
    else:
        assert result.price == money(open_price * (1 - slip))
        assert result.cash_delta == notional - result.fee
        assert result.quantity <= position
    for value in (result.price, result.fee, result.cash_delta):
        assert value == value.quantize(Q)
