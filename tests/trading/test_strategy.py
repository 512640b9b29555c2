from __future__ import annotations

import random
import statistics
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from events import MAX_MONEY, Side, ValidationError
from trading import BUILTIN_STRATEGIES, Bar, Genome, Order, Portfolio, make_strategy, random_genome
from trading._strategy import _Channel, _Rolling

SYMBOL = "BTC"
START = datetime(2024, 1, 1, tzinfo=UTC)


def bar(close: Decimal | str | float, index: int = 0, symbol: str = SYMBOL) -> Bar:
    price = Decimal(str(close))
    return Bar(
        timestamp=START + timedelta(hours=index),
        symbol=symbol,
        open=price,
        high=price,
        low=price,
        close=price,
        volume=Decimal(1),
    )


def replay(genome: Genome, closes: list[float], cash: Decimal = Decimal(1000)) -> list[tuple[int, Side]]:
    """Feed closes to a fresh strategy, filling every order at its bar's close; return (index, side)."""
    strategy = make_strategy(genome)
    held, entry = Decimal(0), Decimal(0)
    orders = []
    for index, close in enumerate(closes):
        positions = {SYMBOL: held} if held else {}
        entries = {SYMBOL: entry} if held else {}
        order = strategy.on_bar(bar(close, index), Portfolio(cash, positions, entries))
        if order is not None:
            orders.append((index, order.side))
            held, entry = (
                (order.quantity, Decimal(str(close))) if order.side == "buy" else (Decimal(0), Decimal(0))
            )
    return orders


def test_order_quantity_is_stored_with_exactly_eight_places():
    order = Order(SYMBOL, "buy", Decimal("1.5"))

    assert str(order.quantity) == "1.50000000"


@pytest.mark.parametrize(
    ("side", "quantity", "pattern"),
    [
        ("buy", Decimal(0), r"^quantity: Decimal\('0'\) is zero; pass an amount > 0$"),
        ("sell", Decimal(-1), r"^quantity: Decimal\('-1'\) is negative;"),
        ("buy", 0.5, r"^quantity: 0\.5 is a float, not an exact amount; pass Decimal\('0\.5'\)$"),
        ("buy", Decimal("NaN"), r"^quantity: Decimal\('NaN'\) is not a finite amount;"),
        ("buy", Decimal("0.000000001"), r"^quantity: Decimal\('1E-9'\) has more than 8 decimal places;"),
        ("buy", Decimal("1E+30"), r"^quantity: Decimal\('1E\+30'\) exceeds the largest amount"),
        ("short", Decimal(1), r"^order side 'short' is not a side; pass 'buy' or 'sell'$"),
    ],
)
def test_bad_orders_raise_validation_error(side, quantity, pattern):
    with pytest.raises(ValidationError, match=pattern):
        Order(SYMBOL, side, quantity)


@pytest.mark.parametrize(("cash", "shown"), [(Decimal(-1), r"Decimal\('-1'\)"), (10.0, r"10\.0")])
def test_portfolio_rejects_negative_or_float_cash(cash, shown):
    with pytest.raises(
        ValidationError, match=rf"^portfolio: cash must be a non-negative Decimal, got {shown};"
    ):
        Portfolio(cash)


def test_portfolio_is_a_read_only_copy_of_the_account():
    positions = {SYMBOL: Decimal(1)}
    portfolio = Portfolio(Decimal(10), positions)

    positions[SYMBOL] = Decimal(5)

    assert portfolio.positions[SYMBOL] == Decimal(1)
    with pytest.raises(TypeError):
        portfolio.positions[SYMBOL] = Decimal(2)  # type: ignore[index]


def test_crossover_buys_when_fast_average_crosses_above_and_sells_when_it_crosses_below():
    genome = BUILTIN_STRATEGIES["ma_crossover"].genome(fast_window=2, slow_window=5)
    closes = [10.0] * 5 + [11.0] * 5 + [10.0]

    orders = replay(genome, closes)

    assert orders == [(5, "buy"), (10, "sell")]


def test_crossover_does_not_sell_what_it_does_not_hold():
    genome = BUILTIN_STRATEGIES["ma_crossover"].genome(fast_window=2, slow_window=5)
    closes = [10.0] * 5 + [9.0]

    orders = replay(genome, closes)

    assert orders == []


def test_crossover_does_not_buy_again_while_holding():
    genome = BUILTIN_STRATEGIES["ma_crossover"].genome(fast_window=2, slow_window=5)
    strategy = make_strategy(genome)
    holding = Portfolio(Decimal(1000), {SYMBOL: Decimal(1)}, {SYMBOL: Decimal(10)})

    orders = [strategy.on_bar(bar(close, i), holding) for i, close in enumerate([10.0] * 5 + [11.0])]

    assert orders == [None] * 6


def test_momentum_buys_a_breakout_and_sells_a_retreat_from_the_channel_high():
    genome = BUILTIN_STRATEGIES["momentum"].genome(lookback=3, entry_threshold=1.0, exit_threshold=0.5)
    # 102.5 clears 101 * 1.01; 103 stays above 102.5 * 0.995; 101.5 falls below 103 * 0.995
    closes = [100.0, 101.0, 100.0, 102.5, 103.0, 101.5]

    orders = replay(genome, closes)

    assert orders == [(3, "buy"), (5, "sell")]


def test_momentum_needs_the_close_strictly_above_the_threshold():
    genome = BUILTIN_STRATEGIES["momentum"].genome(lookback=3, entry_threshold=0.0)
    closes = [100.0, 100.0, 100.0, 100.0]

    orders = replay(genome, closes)

    assert orders == []


def test_momentum_sells_on_a_breakdown_below_the_channel_low():
    genome = BUILTIN_STRATEGIES["momentum"].genome(lookback=3, entry_threshold=0.0, exit_threshold=5.0)
    closes = [100.0, 100.0, 100.0, 101.0, 100.5, 99.0]

    orders = replay(genome, closes)

    assert orders == [(3, "buy"), (5, "sell")]


def test_mean_reversion_buys_a_low_z_score_and_sells_a_high_one():
    genome = BUILTIN_STRATEGIES["mean_reversion"].genome(lookback=4, entry_threshold=1.5, exit_threshold=0.5)
    # window 100,102,100,102: mean 101, std 1, so 99 is z=-2; then 101.5 is z=+0.58 over 102,100,102,99
    closes = [100.0, 102.0, 100.0, 102.0, 99.0, 101.5]

    orders = replay(genome, closes)

    assert orders == [(4, "buy"), (5, "sell")]


def test_mean_reversion_gives_no_signal_on_a_flat_window():
    genome = BUILTIN_STRATEGIES["mean_reversion"].genome(lookback=4, entry_threshold=0.5)
    closes = [100.0, 100.0, 100.0, 100.0, 90.0]

    orders = replay(genome, closes)

    assert orders == []


@pytest.mark.parametrize("family", ["ma_crossover", "momentum", "mean_reversion"])
@pytest.mark.parametrize(("close", "sells"), [("95", True), ("94.5", True), ("95.01", False)])
def test_every_family_sells_the_whole_position_at_the_stop_loss(family, close, sells):
    strategy = make_strategy(BUILTIN_STRATEGIES[family].genome(stop_loss=0.05))
    holding = Portfolio(Decimal(0), {SYMBOL: Decimal("2.5")}, {SYMBOL: Decimal(100)})

    order = strategy.on_bar(bar(close), holding)

    assert order == (Order(SYMBOL, "sell", Decimal("2.5")) if sells else None)


def test_buy_quantity_is_the_cash_fraction_over_the_close_floored_to_eight_places():
    genome = BUILTIN_STRATEGIES["mean_reversion"].genome(
        lookback=2, entry_threshold=0.5, position_fraction=0.3
    )
    strategy = make_strategy(genome)
    flat = Portfolio(Decimal(1000))

    orders = [strategy.on_bar(bar(close, i), flat) for i, close in enumerate([8, 10, 7])]

    assert orders[-1] == Order(SYMBOL, "buy", Decimal("42.85714285"))  # 300 / 7 = 42.857142857...


def test_no_buy_when_the_quantity_would_be_zero():
    genome = BUILTIN_STRATEGIES["mean_reversion"].genome(
        lookback=2, entry_threshold=0.5, position_fraction=0.01
    )

    orders = replay(genome, [8.0, 10.0, 7.0], cash=Decimal("0.00000001"))

    assert orders == []


def test_each_symbol_keeps_its_own_window():
    genome = BUILTIN_STRATEGIES["ma_crossover"].genome(fast_window=2, slow_window=5)
    strategy = make_strategy(genome)
    flat = Portfolio(Decimal(1000))
    rising = [10.0] * 5 + [11.0]

    orders = []
    for i, close in enumerate(rising):
        orders.append(strategy.on_bar(bar(close, i, "BTC"), flat))
        orders.append(strategy.on_bar(bar(1000.0 - i, i, "ETH"), flat))

    assert [(o.symbol, o.side) for o in orders if o is not None] == [("BTC", "buy")]


closes_lists = st.lists(
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal(100_000), places=2), min_size=1, max_size=120
)


@given(st.integers(min_value=0, max_value=2**32 - 1), closes_lists, st.data())
def test_strategies_only_buy_when_flat_within_budget_and_only_sell_everything_held(seed, closes, data):
    genome = random_genome(random.Random(seed))
    strategy = make_strategy(genome)
    cash = Decimal(1000)

    for index, close in enumerate(closes):
        held = data.draw(st.sampled_from([Decimal(0), Decimal("0.5")]))
        portfolio = Portfolio(cash, {SYMBOL: held} if held else {}, {SYMBOL: close} if held else {})
        order = strategy.on_bar(bar(close, index), portfolio)

        if order is None:
            continue
        if order.side == "sell":
            assert held > 0
            assert order.quantity == held
        else:
            assert held == 0
            assert order.quantity * close <= cash * Decimal(str(genome.params["position_fraction"]))
        assert order.quantity == order.quantity.quantize(Decimal("0.00000001"))


@given(st.integers(min_value=0, max_value=2**32 - 1), closes_lists)
def test_the_same_genome_and_bars_give_the_same_orders(seed, closes):
    genome = random_genome(random.Random(seed))
    first, second = make_strategy(genome), make_strategy(genome)
    flat = Portfolio(Decimal(1000))

    a = [first.on_bar(bar(c, i), flat) for i, c in enumerate(closes)]
    b = [second.on_bar(bar(c, i), flat) for i, c in enumerate(closes)]

    assert a == b


prices = st.floats(min_value=0.01, max_value=100_000, allow_nan=False)


@given(st.integers(min_value=2, max_value=30), st.lists(prices, min_size=1, max_size=200))
def test_rolling_mean_and_std_match_a_full_recomputation(size, values):
    window = _Rolling(size)

    for value in values:
        window.push(value)

    last = values[-size:]
    assert window.full() == (len(values) >= size)
    assert window.mean() == pytest.approx(statistics.fmean(last), rel=1e-9)
    assert window.std() == pytest.approx(statistics.pstdev(last), rel=1e-6, abs=1e-6 * max(last))


@given(st.integers(min_value=2, max_value=30), st.lists(prices, min_size=1, max_size=200))
def test_channel_high_and_low_match_the_last_values(size, values):
    channel = _Channel(size)

    for value in values:
        channel.push(value)

    assert channel.high() == max(values[-size:])
    assert channel.low() == min(values[-size:])


def test_a_buy_at_a_near_zero_price_is_capped_at_the_largest_recordable_amount():
    genome = BUILTIN_STRATEGIES["mean_reversion"].genome(
        lookback=2, entry_threshold=0.5, position_fraction=1.0
    )
    strategy = make_strategy(genome)
    rich = Portfolio(Decimal(1_000_000))

    orders = [strategy.on_bar(bar(close, i), rich) for i, close in enumerate(["8", "10", "0.00000001"])]

    assert orders[-1] == Order(SYMBOL, "buy", MAX_MONEY)
