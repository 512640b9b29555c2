"""``trading.performance``: the arena's result from its log alone, reconciled to the minor unit."""

from __future__ import annotations

import decimal
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from events import (
    ZERO,
    CapitalAllocated,
    CapitalConservationError,
    CapitalReleased,
    EventSourcingError,
    LogBuilder,
    MarksRecorded,
    Tier,
    TradeExecuted,
    fold,
    trade_cash_delta,
)
from trading import AgentPerformance, PerformanceReport, performance

if TYPE_CHECKING:
    from events import Event, Side

SYMBOLS = ("AAA", "BBB", "CCC")
CENT = Decimal("0.01")
EIGHT = Decimal("1E-8")
CHOICES = (
    "spawn",
    "allocate",
    "allocate",
    "release",
    "trade",
    "trade",
    "trade",
    "mark",
    "mark",
    "kill",
    "graduate",
)
"""What a random log does next; trades and marks weighted up, so most logs hold positions across marks."""


def d(text: str) -> Decimal:
    return Decimal(text).quantize(EIGHT)


def row(report: PerformanceReport, agent_id: str) -> AgentPerformance:
    return next(agent for agent in report.agents if agent.agent_id == agent_id)


# --- random logs ----------------------------------------------------------------------------------------


@st.composite
def marked_logs(draw: st.DrawFn, *, max_steps: int = 40) -> list[Event]:
    """Valid logs with several symbols, marks (some symbols first marked late), slippage, flows, kills.

    Each symbol's price walks by up to 10% a mark, so gains stay far inside the largest amount; fills
    happen at the walk's price (the market price) plus or minus up to 0.5% of slippage.
    """
    log = LogBuilder(draw(st.integers(0, 2**32)))
    log.open(draw(st.integers(1_000, 10**8)) * CENT)
    market = {symbol: draw(st.integers(100, 100_000)) * CENT for symbol in SYMBOLS}
    for _ in range(draw(st.integers(0, max_steps))):
        alive = log.alive()
        choice = draw(st.sampled_from(CHOICES))
        if choice == "mark":
            symbols = draw(st.lists(st.sampled_from(SYMBOLS), min_size=1, max_size=3, unique=True))
            for symbol in symbols:
                moved = market[symbol] * (100 + draw(st.integers(-10, 10))) / 100
                market[symbol] = max(CENT, moved.quantize(CENT))
            log.mark({symbol: market[symbol] for symbol in symbols})
            continue
        if choice == "spawn" or not alive:
            log.spawn(f"a{len(log.agent_ids()) + 1}")
            continue
        agent = draw(st.sampled_from(alive))
        cash = log.allocation(agent)
        if choice == "allocate" and log.treasury >= CENT:
            log.allocate(agent, draw(st.integers(1, int(log.treasury / CENT))) * CENT)
        elif choice == "release" and cash >= CENT:
            log.release(agent, draw(st.integers(1, int(cash / CENT))) * CENT)
        elif choice == "trade":
            _trade(draw, log, agent, market)
        elif choice == "kill":
            for symbol in SYMBOLS:  # sold at the market first: the dead hold nothing
                if log.holding(agent, symbol):
                    log.trade(agent, "sell", log.holding(agent, symbol), market[symbol], "0", symbol=symbol)
            log.kill(agent)
        elif choice == "graduate" and log.tier(agent) != Tier.ARENA:
            log.graduate(agent)
    return log.events


def _trade(draw: st.DrawFn, log: LogBuilder, agent: str, market: dict[str, Decimal]) -> None:
    """Buy with part of the agent's cash, or sell part of a holding, off the market price by some slippage."""
    symbol = draw(st.sampled_from(SYMBOLS))
    held = log.holding(agent, symbol)
    side: Side = "sell" if held > 0 and draw(st.booleans()) else "buy"
    slipped = market[symbol] * (1000 + draw(st.integers(-5, 5))) / 1000
    price = max(CENT, slipped.quantize(CENT))
    fee = draw(st.integers(0, 100)) * CENT
    if side == "sell":
        quantity = (held * draw(st.sampled_from([Decimal("0.3"), Decimal(1)]))).quantize(EIGHT)
    else:
        budget = max(ZERO, log.allocation(agent) - fee)
        quantity = (budget / 2 / price).quantize(EIGHT, rounding=decimal.ROUND_DOWN)
    if quantity > 0 and log.allocation(agent) + trade_cash_delta(side, quantity, price, fee) >= 0:
        log.trade(agent, side, quantity, price, fee, symbol=symbol, market_price=market[symbol])


def reference_drawdowns(events: list[Event]) -> dict[str, Decimal]:
    """Each agent's drawdown by brute force: refold the log up to every mark and read its books there."""
    flows: dict[str, Decimal] = {}
    peaks: dict[str, Decimal] = {}
    drawdowns: dict[str, Decimal] = {}
    for index, event in enumerate(events):
        if isinstance(event, CapitalAllocated):
            flows[event.agent_id] = flows.get(event.agent_id, ZERO) + event.amount
        elif isinstance(event, CapitalReleased):
            flows[event.agent_id] = flows.get(event.agent_id, ZERO) - event.amount
        elif isinstance(event, MarksRecorded):
            state = fold(events[: index + 1])
            for agent in state.alive_agents():
                pnl = state.equity(agent.agent_id) - flows.get(agent.agent_id, ZERO)
                peak = peaks[agent.agent_id] = max(peaks.get(agent.agent_id, ZERO), pnl)
                drawdowns[agent.agent_id] = max(drawdowns.get(agent.agent_id, ZERO), peak - pnl)
    return drawdowns


@settings(max_examples=150, deadline=None)
@given(marked_logs())
def test_nav_reconciles_exactly_to_the_books_on_any_log(events):
    report = performance(events)

    assert report.nav == report.treasury + report.cash + report.holdings
    assert report.nav == report.capital_at_cost + report.unrealized_pnl
    assert report.nav == report.funding + report.realized_pnl - report.fees_paid + report.unrealized_pnl
    assert report.nav == report.treasury + sum(report.nav_by_tier.values(), ZERO)
    assert report.cash + report.holdings == sum((agent.equity for agent in report.agents), ZERO)


@settings(max_examples=150, deadline=None)
@given(marked_logs())
def test_every_figure_agrees_with_the_shared_fold_and_the_events_themselves(events):
    state = fold(events)
    fills = [event for event in events if isinstance(event, TradeExecuted)]

    report = performance(events)

    assert (report.seq, report.arena_id) == (state.seq, state.arena_id)
    assert report.nav == state.nav()
    assert report.capital_at_cost == state.total_capital
    assert report.unrealized_pnl == state.unrealized_pnl()
    assert (report.realized_pnl, report.fees_paid) == (state.realized_pnl, state.fees_paid)
    assert report.slippage_paid == sum(
        (
            ((f.price - f.market_price).copy_abs() * f.quantity).quantize(
                EIGHT, rounding=decimal.ROUND_HALF_EVEN
            )
            for f in fills
        ),
        ZERO,
    )
    assert [agent.agent_id for agent in report.agents] == sorted(
        (agent.agent_id for agent in state.alive_agents()),
        key=lambda agent_id: (-state.equity(agent_id), agent_id),
    )
    assert report.agents_by_tier == state.tier_counts()


@settings(max_examples=100, deadline=None)
@given(marked_logs())
def test_each_agents_pnl_is_equity_less_net_capital_and_splits_into_realized_fees_and_unrealized(events):
    state = fold(events)
    given_net: dict[str, Decimal] = {}
    for event in events:
        if isinstance(event, CapitalAllocated):
            given_net[event.agent_id] = given_net.get(event.agent_id, ZERO) + event.amount
        elif isinstance(event, CapitalReleased):
            given_net[event.agent_id] = given_net.get(event.agent_id, ZERO) - event.amount

    report = performance(events)

    drawdowns = reference_drawdowns(events)
    for agent in report.agents:
        record = state.agents[agent.agent_id]
        assert agent.equity == state.equity(agent.agent_id)
        assert agent.net_capital == given_net.get(agent.agent_id, ZERO)
        assert agent.pnl == agent.equity - agent.net_capital
        assert agent.pnl == record.realized_pnl - record.fees_paid + agent.unrealized_pnl
        assert agent.max_drawdown == drawdowns.get(agent.agent_id, ZERO)
        assert agent.trades == record.trades
        assert agent.tier == record.tier


# --- buy and hold ---------------------------------------------------------------------------------------


def test_buy_and_hold_splits_the_funding_equally_and_holds_from_first_mark_to_last():
    log = LogBuilder()
    log.open("1000")
    log.mark({"AAA": "10", "BBB": "20"})
    log.mark({"AAA": "11"})
    log.mark({"AAA": "13", "BBB": "18"})

    report = performance(log.events)

    assert report.symbols == ("AAA", "BBB")
    assert report.buy_and_hold == d("1100")  # 500 * 13/10 + 500 * 18/20 = 650 + 450
    assert report.buy_and_hold_return == d("0.1")
    assert report.nav == d("1000")
    assert report.nav_return == ZERO
    assert report.excess_return == d("-0.1")


def test_a_symbol_first_marked_late_gets_its_slice_at_that_mark_and_the_remainder_goes_by_name():
    log = LogBuilder()
    log.open("1000")
    log.mark({"BBB": "10", "CCC": "4"})
    log.mark({"AAA": "3", "BBB": "20"})
    log.mark({"AAA": "6"})

    report = performance(log.events)

    # 1000 / 3: AAA (first by name) gets 333.33333334, BBB and CCC 333.33333333 each
    assert report.symbols == ("AAA", "BBB", "CCC")
    assert report.buy_and_hold == d("666.66666668") + d("666.66666666") + d("333.33333333")
    assert report.buy_and_hold_return == d("0.66666667")  # 1666.66666667 / 1000 - 1, half-even


@settings(max_examples=100, deadline=None)
@given(
    st.integers(1, 10**17),
    st.lists(st.dictionaries(st.sampled_from(SYMBOLS), st.integers(1, 10**6), min_size=1), max_size=8),
)
def test_a_market_that_ends_where_it_started_leaves_the_benchmark_at_the_funding(funding_minor, walk):
    log = LogBuilder()
    log.open(Decimal(funding_minor) * EIGHT)
    first: dict[str, Decimal] = {}
    for marks in walk:
        log.mark({symbol: Decimal(cents) * CENT for symbol, cents in marks.items()})
        for symbol, cents in marks.items():
            first.setdefault(symbol, Decimal(cents) * CENT)
    if first:
        log.mark(first)  # every symbol back at its first mark

    report = performance(log.events)

    assert report.buy_and_hold == Decimal(funding_minor) * EIGHT
    assert report.buy_and_hold_return == ZERO
    assert report.symbols == tuple(sorted(first))


def test_buy_and_hold_rounds_half_even_per_symbol():
    log = LogBuilder()
    log.open("0.00000003")
    log.mark({"AAA": "2", "BBB": "2"})
    log.mark({"AAA": "3", "BBB": "1"})

    report = performance(log.events)

    # AAA: 2 minor units * 3/2 = 3; BBB: 1 minor unit * 1/2 = 0.5, half-even to 0
    assert report.buy_and_hold == d("0.00000003")


def test_without_marks_the_benchmark_is_the_funding_and_returns_are_zero():
    log = LogBuilder()
    log.open("500")
    log.spawn("a")
    log.allocate("a", "100")
    log.trade("a", "buy", "1", "10", "1")

    report = performance(log.events)

    assert report.symbols == ()
    assert report.buy_and_hold == d("500")
    assert report.buy_and_hold_return == ZERO
    assert report.holdings == d("10")  # never marked: carried at cost
    assert report.nav == d("499")
    assert report.nav_return == d("-0.002")
    assert report.excess_return == d("-0.002")


# --- agents ---------------------------------------------------------------------------------------------


def agent_log() -> LogBuilder:
    """Agent a: given 1000, buys 10 AAA at 10.10 (market 10, fee 1), rides 12 then 9, sells 5 at 11."""
    log = LogBuilder()
    log.open("10000")
    log.spawn("a")
    log.spawn("b", tier=Tier.PROVING)
    log.allocate("a", "1000")
    log.allocate("b", "300")
    log.mark({"AAA": "10"})
    log.trade("a", "buy", "10", "10.1", "1", symbol="AAA", market_price="10")
    log.mark({"AAA": "12"})  # a: cash 898, holding 120: P&L +18, the peak
    log.release("b", "100")  # a flow, not a loss
    log.mark({"AAA": "9"})  # a: holding 90: P&L -12, a drawdown of 30
    log.trade("a", "sell", "5", "11", "0.5", symbol="AAA", market_price="11.05")
    log.mark({"AAA": "10.5"})  # a: cash 952.5, holding 52.5: P&L 5
    return log


def test_each_agents_pnl_return_and_drawdown_follow_its_equity_net_of_capital_moves():
    report = performance(agent_log().events)

    a = row(report, "a")
    assert (a.equity, a.net_capital, a.pnl) == (d("1005"), d("1000"), d("5"))
    assert a.realized_pnl == d("4.5")  # sold 5 at 11 = 55 against an average cost of 50.5
    assert (a.fees_paid, a.unrealized_pnl) == (d("1.5"), d("2"))  # 5 held at 10.5 against a cost of 50.5
    assert a.total_return == d("0.005")
    assert a.max_drawdown == d("30")  # from +18 at the mark of 12 to -12 at the mark of 9
    assert a.trades == 2
    b = row(report, "b")
    assert (b.capital_allocated, b.capital_released, b.net_capital) == (d("300"), d("100"), d("200"))
    assert (b.equity, b.pnl, b.total_return, b.max_drawdown) == (d("200"), ZERO, ZERO, ZERO)


def test_the_headline_adds_up_the_agents_and_counts_slippage_apart():
    report = performance(agent_log().events)

    assert report.treasury == d("8800")
    assert report.cash == d("952.5") + d("200")
    assert report.holdings == d("52.5")
    assert report.nav == d("10005")
    assert report.capital_at_cost == d("10003")  # 10000 + 4.5 realized - 1.5 fees
    assert report.unrealized_pnl == d("2")
    assert report.slippage_paid == d("1.25")  # 10 * 0.10 on the buy, 5 * 0.05 on the sale
    assert report.nav_return == d("0.0005")
    assert report.buy_and_hold == d("10500")  # AAA from 10 to 10.5
    assert report.excess_return == d("-0.0495")
    assert report.nav_by_tier == {Tier.SIMULATION: d("1005"), Tier.PROVING: d("200"), Tier.ARENA: ZERO}
    assert report.agents_by_tier == {Tier.SIMULATION: 1, Tier.PROVING: 1, Tier.ARENA: 0}


def test_agents_are_listed_by_equity_then_id_and_the_dead_are_left_out():
    log = LogBuilder()
    log.open("1000")
    for agent in ("c", "b", "a", "d"):
        log.spawn(agent)
    log.allocate("c", "100")
    log.allocate("b", "200")
    log.allocate("a", "100")
    log.allocate("d", "300")
    log.kill("d")

    report = performance(log.events)

    assert [agent.agent_id for agent in report.agents] == ["b", "a", "c"]


def test_an_agent_never_given_capital_has_a_return_of_zero_and_a_drawdown_from_nothing():
    log = LogBuilder()
    log.open("1000")
    log.spawn("a")
    log.mark({"AAA": "1"})

    (agent,) = performance(log.events).agents

    assert (agent.equity, agent.pnl, agent.total_return, agent.max_drawdown) == (ZERO, ZERO, ZERO, ZERO)


def test_the_drawdown_curve_starts_at_zero_at_the_spawn():
    log = LogBuilder()
    log.open("1000")
    log.spawn("a")
    log.allocate("a", "100")
    log.trade("a", "buy", "10", "10", "0", symbol="AAA")
    log.mark({"AAA": "8"})  # the first sample is already 20 under where the agent started

    (agent,) = performance(log.events).agents

    assert agent.max_drawdown == d("20")


# --- edges and refusals ---------------------------------------------------------------------------------


def test_an_empty_log_reports_zeros():
    report = performance([])

    assert (report.seq, report.arena_id, report.nav, report.funding) == (0, None, ZERO, ZERO)
    assert (report.nav_return, report.buy_and_hold_return, report.agents) == (ZERO, ZERO, ())


def test_the_log_is_read_once_as_a_stream():
    events = agent_log().events

    assert performance(iter(events)) == performance(events)


def test_the_report_is_json_with_amounts_and_ratios_at_eight_places():
    data = performance(agent_log().events).model_dump(mode="json")

    assert data["nav"] == "10005.00000000"
    assert data["nav_return"] == "0.00050000"
    assert data["agents"][1]["total_return"] == "0.00000000"


def test_a_log_the_fold_refuses_raises_the_folds_error():
    log = LogBuilder()
    log.open("1000")
    log.spawn("a")

    with pytest.raises(EventSourcingError, match=r"^event seq 2 \(AgentSpawned\): seq 2 does not follow 0"):
        performance(log.events[1:])


def test_a_report_whose_figures_do_not_reconcile_cannot_be_built():
    figures = performance(agent_log().events).model_dump()

    with pytest.raises(
        CapitalConservationError, match=r"^seq 12: the performance figures do not reconcile: NAV"
    ):
        PerformanceReport.model_validate({**figures, "nav": d("10005.00000001")})


def test_an_agent_row_whose_pnl_does_not_reconcile_cannot_be_built():
    figures = row(performance(agent_log().events), "a").model_dump()

    with pytest.raises(
        CapitalConservationError, match=r"^agent 'a': the performance figures do not reconcile"
    ):
        AgentPerformance.model_validate({**figures, "pnl": d("6")})


def test_the_report_reconciles_at_every_seq_inside_a_kill_and_counts_the_wind_down():
    b = LogBuilder(seed=1)
    b.open("10000")
    b.spawn("a")
    b.allocate("a", "1000")
    b.trade("a", "buy", "10", "10", "0")
    b.mark({"XYZ": "12"})
    b.kill("a", price="12")

    reports = [performance(b.events[:cut]) for cut in range(1, len(b.events) + 1)]

    killed = next(n for n, e in enumerate(b.events) if e.event_type == "AgentKilled")
    assert reports[killed].winding_down == Decimal(120)  # its 10 units at 12, cash already returned
    assert reports[killed].agents == ()
    assert {r.nav for r in reports[killed:]} == {Decimal(10020)}
    assert reports[-1].winding_down == 0
