"""``performance``: what the arena made, as a trader reads it, computed from the event log alone.

One pass of the shared fold (``events.Fold``) over the log, so every figure is what the books say, never a
second opinion: no market data is regenerated and nothing is estimated. At the last event it reports:

* **NAV** (the treasury plus every live agent's cash and holdings at the latest marks), beside **capital
  at cost**, **funding**, **realized** and **unrealized P&L**, **fees** and **slippage** paid. The figures
  reconcile exactly, to the last minor unit, and ``PerformanceReport`` refuses to exist if they do not::

      nav == treasury + cash + holdings == capital_at_cost + unrealized_pnl
          == funding + realized_pnl - fees_paid + unrealized_pnl

* **NAV return** against an **equal-weight buy-and-hold** of the same market over the same period. The
  rule: the funding is split equally, in minor units (the remainder one unit each to the first symbols by
  name), across every symbol the log ever marks; each slice buys its symbol at the symbol's *first*
  recorded mark and is valued at its *last*, rounded half-even to 8 places per symbol. A symbol first
  marked late in the log is bought then (its slice waits as cash until it is); with no marks at all the
  benchmark is the funding itself, a return of zero. Fees and slippage are not charged to the benchmark:
  it is the market's own return, the bar the arena has to clear.
* **NAV by tier** and a row per **live agent**, sorted by equity (highest first, ties by id):

  - *P&L* is its equity minus the net capital it was given (every allocation minus every release), so
    moving capital in or out is never a gain or a loss; it always equals its realized P&L minus its
    fees plus its unrealized P&L.
  - *return* is that P&L over the gross capital allocated to it (zero if it was given none).
  - *max drawdown* is the largest fall, in money, of its P&L curve from the curve's running peak. The
    curve starts at zero when the agent is spawned and is sampled at every ``MarksRecorded`` while it
    lives. It is the equity curve with capital movements taken out: a release (which evolution makes
    every cycle) would otherwise read as a loss, and an allocation as a recovery.

Ratios are exact decimal fractions at 8 places (0.01 is 1%), rounded half-even once, from integer minor
units: the same log gives the same digits on every machine and in every decimal context.

Cost: O(events) for the fold and the sums, plus, at each ``MarksRecorded``, one equity per live agent
(O(its holdings)), so O(events + marks x live agents x symbols held) in time; memory is O(agents +
symbols), whatever the log's length (``events`` is consumed as a stream).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Final, Never

from pydantic import ConfigDict, Field, PlainSerializer, WithJsonSchema, model_validator

from events import (
    MONEY_SCALE,
    ZERO,
    AgentKilled,
    AgentSpawned,
    Balance,
    CapitalAllocated,
    CapitalConservationError,
    CapitalReleased,
    Fold,
    MarksRecorded,
    Tier,
    TradeExecuted,
    equity,
    format_money,
    from_minor,
    nav,
    to_minor,
    unrealized_pnl,
)

from ._validation import ValidatedModel

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from events import AgentEntry, Event

__all__ = [
    "AgentPerformance",
    "PerformanceReport",
    "RunningPerformance",
    "buy_and_hold_curve",
    "performance",
]

_ONE: Final = 10**MONEY_SCALE  # 1 as a fraction at 8 places, in minor units
_text = format_money

_Fraction = Annotated[
    Decimal,
    PlainSerializer(format_money, return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^-?\d+\.\d{8}$"}),
]
"""A ratio as an exact decimal fraction at 8 places (0.01 is 1%), written like an amount: ``0.01000000``."""


class _Figures(ValidatedModel):
    """A frozen report whose fields carry their docstrings (in the JSON schema too)."""

    model_config = ConfigDict(use_attribute_docstrings=True)


class AgentPerformance(_Figures):
    """One live agent's result: what it is worth, what it was given and what it made of it."""

    agent_id: str
    tier: Tier
    equity: Balance
    """Cash plus holdings at the latest marks (a holding never marked counts at cost)."""
    capital_allocated: Balance
    """Gross capital the treasury moved to it: every ``CapitalAllocated``, summed."""
    capital_released: Balance
    """Capital it moved back to the treasury: every ``CapitalReleased``, summed."""
    net_capital: Balance
    """``capital_allocated - capital_released``: what it was given, net."""
    pnl: Balance
    """``equity - net_capital``; always ``realized_pnl - fees_paid + unrealized_pnl``."""
    realized_pnl: Balance
    """Gains minus losses of everything it sold, before fees."""
    fees_paid: Balance
    """Every fee its fills paid."""
    unrealized_pnl: Balance
    """What its holdings would gain (or lose) if sold at the latest marks, before fees."""
    total_return: _Fraction
    """``pnl / capital_allocated`` as a fraction at 8 places (0.01 is 1%); zero if it was given nothing."""
    max_drawdown: Balance = Field(ge=0)
    """Largest fall of its P&L curve from the curve's running peak, in money (see the module docstring)."""
    trades: int = Field(ge=0)
    """Fills of either side."""

    @model_validator(mode="after")
    def _reconciles(self) -> AgentPerformance:
        net = self.capital_allocated - self.capital_released
        decomposed = self.realized_pnl - self.fees_paid + self.unrealized_pnl
        if not (self.net_capital == net and self.pnl == self.equity - net == decomposed):
            _unreconciled(
                f"agent {self.agent_id!r}",
                f"net capital {_text(self.net_capital)} (allocated minus released: {_text(net)}), "
                f"P&L {_text(self.pnl)} (equity minus net capital: {_text(self.equity - net)}; "
                f"realized minus fees plus unrealized: {_text(decomposed)})",
            )
        return self


class PerformanceReport(_Figures):
    """The arena's result at ``seq``, reconciled to the minor unit (the module docstring states the rules).

    Built by ``performance``. Building one whose figures disagree, by even one minor unit, raises
    ``CapitalConservationError``: a report that does not add up is never handed out to be printed.
    """

    seq: int = Field(ge=0)
    """Seq of the last event the figures include (0 for an empty log)."""
    arena_id: str | None
    """The arena's id, from ``ArenaOpened`` (None for an empty log)."""
    nav: Balance
    """Net asset value at the latest marks: ``treasury + cash + holdings``."""
    treasury: Balance
    """Free capital, allocated to no agent."""
    cash: Balance
    """Every agent's cash (a killed one holds some only inside its kill)."""
    holdings: Balance
    """Every agent's holdings at the latest marks (at cost where a symbol was never marked)."""
    capital_at_cost: Balance
    """The treasury, every agent's cash and every holding at what it cost: ``funding + realized - fees``."""
    funding: Balance
    """What ``ArenaOpened`` brought in."""
    realized_pnl: Balance
    """Gains minus losses of every sale, before fees."""
    unrealized_pnl: Balance
    """What every holding would gain (or lose) if sold at the latest marks, before fees."""
    fees_paid: Balance
    """Every fee paid."""
    slippage_paid: Balance = Field(ge=0)
    """What fills paid for moving off the market price: every ``TradeExecuted.slippage``, summed. Already
    inside the P&L (it is in the fill prices); shown so that the cost of trading is visible."""
    nav_return: _Fraction
    """``nav / funding - 1`` as a fraction at 8 places; zero before any funding."""
    buy_and_hold: Balance
    """What the equal-weight buy-and-hold of the funding is worth at the latest marks."""
    buy_and_hold_return: _Fraction
    """``buy_and_hold / funding - 1`` as a fraction at 8 places; zero before any funding."""
    excess_return: _Fraction
    """``nav_return - buy_and_hold_return``: what the arena made over the market (negative: under it)."""
    symbols: tuple[str, ...]
    """Every symbol the log marks, by name: the buy-and-hold's basket."""
    nav_by_tier: dict[Tier, Balance]
    """Equity of the live agents of each tier; every tier is present. With the treasury, sums to NAV."""
    agents_by_tier: dict[Tier, int]
    """Live agents in each tier; every tier is present."""
    agents: tuple[AgentPerformance, ...]
    """Every live agent, by equity (highest first), ties by id."""
    winding_down: Balance = ZERO
    """Equity of killed agents still selling what they held: nonzero only at a seq inside a kill (between
    its ``AgentKilled`` and the release of the proceeds), where it is still value on the books."""

    @model_validator(mode="after")
    def _reconciles(self) -> PerformanceReport:
        at_marks = self.treasury + self.cash + self.holdings
        at_cost = self.capital_at_cost + self.unrealized_pnl
        booked = self.funding + self.realized_pnl - self.fees_paid + self.unrealized_pnl
        by_tier = self.treasury + self.winding_down + sum(self.nav_by_tier.values(), ZERO)
        by_agent = self.treasury + self.winding_down + sum((agent.equity for agent in self.agents), ZERO)
        if not self.nav == at_marks == at_cost == booked == by_tier == by_agent:
            _unreconciled(
                f"seq {self.seq}",
                f"NAV {_text(self.nav)} vs treasury + cash + holdings {_text(at_marks)} vs capital at cost "
                f"+ unrealized {_text(at_cost)} vs funding + realized - fees + unrealized {_text(booked)} "
                f"vs treasury + NAV by tier {_text(by_tier)} vs treasury + agents' equity {_text(by_agent)}",
                seq=self.seq,
                total=self.capital_at_cost,
                free=self.treasury,
            )
        return self


@dataclass(slots=True)
class _Curve:
    """One live agent's capital flows and the running peak and drawdown of its P&L curve."""

    allocated: Decimal = ZERO
    released: Decimal = ZERO
    peak: Decimal = ZERO  # the curve starts at zero at the spawn
    drawdown: Decimal = ZERO

    def sample(self, agent_equity: Decimal) -> None:
        pnl = agent_equity - (self.allocated - self.released)
        self.peak = max(self.peak, pnl)
        self.drawdown = max(self.drawdown, self.peak - pnl)


def performance(events: Iterable[Event]) -> PerformanceReport:
    """Fold ``events`` (a whole log, from seq 1, in seq order) once and report the arena's result at the end.

    Raises:
        EventSourcingError: an event contradicts the log before it (the shared fold refused it).

    """
    running = RunningPerformance()
    for event in events:
        running.apply(event)
    return running.report()


class RunningPerformance:
    """``performance`` fed one event at a time: its figures at any seq, for a reader that follows a log.

    ``performance(events)`` is this applied to every event, then ``report()``, so a live reader (the
    dashboard) and ``arena report`` share one rule for NAV, equity, P&L curves and the buy-and-hold, and
    agree at every seq. ``nav()`` and ``buy_and_hold()`` are the report's figures without building one
    (a chart wants them at every mark); ``report()`` costs O(agents) and can be called at any seq.
    """

    __slots__ = ("_curves", "_first_marks", "_fold", "_live_at_mark", "_slippage", "_winding")

    def __init__(self) -> None:
        self._fold = Fold()
        self._curves: dict[str, _Curve] = {}
        self._first_marks: dict[str, Decimal] = {}
        self._slippage = ZERO
        self._winding: set[str] = set()  # killed agents that may still hold cash or units
        self._live_at_mark = (0, ZERO)  # (seq of the last marks, the live agents' equity there)

    @property
    def fold(self) -> Fold:
        """The shared fold, as of the last event applied (read it, never apply to it directly)."""
        return self._fold

    @property
    def seq(self) -> int:
        """Seq of the last event applied (0 before any)."""
        return self._fold.seq

    def apply(self, event: Event) -> None:
        """Fold ``event``, the log's next one, and follow its effect on the curves.

        Raises:
            EventSourcingError: the event contradicts the log before it (the shared fold refused it).

        """
        working = self._fold
        working.apply(event)
        curves = self._curves
        match event:
            case AgentSpawned(agent_id=agent_id):
                curves[agent_id] = _Curve()
            case AgentKilled(agent_id=agent_id):
                del curves[agent_id]  # its wind-down (liquidation, release of the proceeds) follows
                self._winding.add(agent_id)
            case CapitalAllocated(agent_id=agent_id, amount=amount):
                curves[agent_id].allocated += amount
            case CapitalReleased(agent_id=agent_id, amount=amount) if agent_id in curves:
                curves[agent_id].released += amount
            case TradeExecuted():
                self._slippage += event.slippage
            case MarksRecorded(marks=marks):
                for symbol, price in marks.items():
                    self._first_marks.setdefault(symbol, price)
                live = ZERO
                for agent_id, curve in curves.items():
                    worth = equity(working.agents[agent_id], working.marks)
                    curve.sample(worth)
                    live += worth
                self._live_at_mark = (working.seq, live)  # nav() at these marks needs no second valuation
                agents = working.agents  # a dead agent once flat holds nothing, ever again
                self._winding = {a for a in self._winding if agents[a].allocation or agents[a].positions}
            case _:
                pass

    def live_agents(self) -> list[AgentEntry]:
        """Return the books of every live agent, in spawn order."""
        agents = self._fold.agents
        return [agents[agent_id] for agent_id in self._curves]

    def nav(self) -> Decimal:
        """Return the report's ``nav`` at this seq: the treasury plus every agent's equity at the marks.

        O(live agents + agents winding down), not O(every agent ever): a killed agent that is flat
        (no cash, no units) has an equity of exactly zero, so leaving it out is the same sum.
        """
        working = self._fold
        agents = working.agents
        seq, live = self._live_at_mark
        if seq == working.seq:  # at a mark: the live agents' equity was just valued, by the same rule
            winding = [agents[agent_id] for agent_id in self._winding]
            return nav(working.treasury + live, winding, working.marks)
        on_books = [agents[agent_id] for agent_id in (*self._curves, *self._winding)]
        return nav(working.treasury, on_books, working.marks)

    def buy_and_hold(self) -> Decimal:
        """Return the report's ``buy_and_hold`` at this seq."""
        return _buy_and_hold(self._fold.funding, self._first_marks, self._fold.marks)

    def report(self) -> PerformanceReport:
        """Return the report ``performance`` gives for the events applied so far."""
        return _report(self._fold, self._curves, self._first_marks, self._slippage)


def _report(
    working: Fold, curves: Mapping[str, _Curve], first_marks: Mapping[str, Decimal], slippage: Decimal
) -> PerformanceReport:
    rows = sorted(
        (_row(working.agents[agent_id], curve, working.marks) for agent_id, curve in curves.items()),
        key=lambda row: (-row.equity, row.agent_id),
    )
    nav_by_tier = dict.fromkeys(Tier, ZERO)
    agents_by_tier = dict.fromkeys(Tier, 0)
    for row in rows:
        nav_by_tier[row.tier] += row.equity
        agents_by_tier[row.tier] += 1
    # each figure from its own source (valuation, the fold's running totals), so the report's
    # reconciliation check compares independent sums rather than one sum rearranged
    # every agent's books, the killed ones' included: inside a kill's wind-down (between AgentKilled and
    # the release of its proceeds) a dead agent still holds cash or units, and they are still value
    live = list(working.agents.values())
    cash = sum((agent.allocation for agent in live), ZERO)
    worths = sum((equity(agent, working.marks) for agent in live), ZERO)
    holdings = worths - cash
    winding_down = worths - sum((row.equity for row in rows), ZERO)
    funding = working.funding
    benchmark = _buy_and_hold(funding, first_marks, working.marks)
    worth = nav(working.treasury, live, working.marks)
    nav_return, benchmark_return = _ratio(worth - funding, funding), _ratio(benchmark - funding, funding)
    return PerformanceReport(
        seq=working.seq,
        arena_id=working.arena_id,
        nav=worth,
        treasury=working.treasury,
        cash=cash,
        holdings=holdings,
        capital_at_cost=working.total_capital,
        funding=funding,
        realized_pnl=working.realized_pnl,
        unrealized_pnl=unrealized_pnl(live, working.marks),
        fees_paid=working.fees_paid,
        slippage_paid=slippage,
        nav_return=nav_return,
        buy_and_hold=benchmark,
        buy_and_hold_return=benchmark_return,
        excess_return=nav_return - benchmark_return,
        symbols=tuple(sorted(first_marks)),
        nav_by_tier=nav_by_tier,
        agents_by_tier=agents_by_tier,
        agents=tuple(rows),
        winding_down=winding_down,
    )


def _row(agent: AgentEntry, curve: _Curve, marks: Mapping[str, Decimal]) -> AgentPerformance:
    worth = equity(agent, marks)
    net = curve.allocated - curve.released
    pnl = worth - net
    return AgentPerformance(
        agent_id=agent.agent_id,
        tier=agent.tier,
        equity=worth,
        capital_allocated=curve.allocated,
        capital_released=curve.released,
        net_capital=net,
        pnl=pnl,
        realized_pnl=agent.realized_pnl,
        fees_paid=agent.fees_paid,
        unrealized_pnl=worth - agent.capital_at_cost,
        total_return=_ratio(pnl, curve.allocated),
        max_drawdown=curve.drawdown,
        trades=agent.trades,
    )


def _buy_and_hold(
    funding: Decimal, first_marks: Mapping[str, Decimal], last_marks: Mapping[str, Decimal]
) -> Decimal:
    """Return the equal-weight buy-and-hold's worth at ``last_marks`` (the rule is the module docstring's)."""
    return buy_and_hold_curve(funding, [first_marks, last_marks])[-1]


def buy_and_hold_curve(funding: Decimal, marks: Sequence[Mapping[str, Decimal]]) -> list[Decimal]:
    """Return the equal-weight buy-and-hold's worth at each of ``marks``: the curve ``performance`` ends on.

    ``marks`` are the log's ``MarksRecorded`` marks in seq order; the basket is every symbol they name.
    """
    symbols = sorted({symbol for step in marks for symbol in step})
    if not symbols:
        return [funding for _ in marks]
    share, remainder = divmod(to_minor(funding), len(symbols))
    stakes = {symbol: share + (1 if index < remainder else 0) for index, symbol in enumerate(symbols)}
    first: dict[str, int] = {}
    latest: dict[str, int] = {}
    curve = []
    for step in marks:
        for symbol, price in step.items():
            first.setdefault(symbol, to_minor(price))
            latest[symbol] = to_minor(price)
        worth = sum(
            _divide(stake * latest[symbol], first[symbol]) if symbol in first else stake
            for symbol, stake in stakes.items()
        )
        curve.append(from_minor(worth))
    return curve


def _ratio(numerator: Decimal, denominator: Decimal) -> Decimal:
    """Return ``numerator / denominator`` as a fraction at 8 places, rounded half-even; zero over zero."""
    if not denominator:
        return ZERO
    return from_minor(_divide(to_minor(numerator) * _ONE, to_minor(denominator)))


def _divide(numerator: int, denominator: int) -> int:
    """Return ``numerator / denominator`` rounded half-even to an integer, exactly (``denominator > 0``)."""
    quotient, remainder = divmod(abs(numerator), denominator)
    if 2 * remainder > denominator or (2 * remainder == denominator and quotient % 2 == 1):
        quotient += 1
    return quotient if numerator >= 0 else -quotient


def _unreconciled(
    subject: str,
    figures: str,
    *,
    seq: int | None = None,
    total: Decimal | None = None,
    free: Decimal | None = None,
) -> Never:
    # not a ValueError, so pydantic lets it through unchanged: a broken invariant, not a malformed argument
    msg = (
        f"{subject}: the performance figures do not reconcile: {figures}; they must agree to the minor "
        "unit, so this is a bug in whatever built them: build the report with trading.performance(events)"
    )
    raise CapitalConservationError(msg, seq=seq, total=total, free=free)
