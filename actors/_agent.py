"""One pykka actor per live agent: its strategy and its tier.

An agent decides, it never moves capital: it answers ``OnBars`` with orders and the supervisor fills them
against the ledger. Its portfolio arrives with every step (the ledger's cash, positions and average
costs), so an agent cannot drift from the books; what it keeps itself is only what the ledger does not
know: the strategy's rolling windows. Its performance is not its own to report: the supervisor's
``PerformanceBook`` measures it from the ledger's marks, flows and fills.

Crash isolation: anything the strategy does wrong while handling a step is caught here and told to the
supervisor as ``AgentCrashed`` — an exception of any kind (``SystemExit`` and ``KeyboardInterrupt``
included: escaping ``on_receive`` they would make pykka stop every actor of every arena in the process),
or an answer that is not an ``Order`` (or None). The step answers no orders, and
the supervisor records ``AgentFailed`` and applies its policy. Other agents and the arena carry on.

Agents run on the supervisor's ``ActorPool`` (``_pooled``): a few shared worker threads, not one thread
per agent, so 100,000 agents fit in one process; its attributes are ``__slots__``, as the pooled core's,
so an agent holds no instance ``__dict__``. Workers are daemon threads, so a process that forgets
``Arena.close()`` can still exit; an agent started without a pool runs on a thread of its own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pykka

from events import ArenaError
from trading import Genome, Order, Strategy, make_strategy

from ._messages import AgentCrashed, ChangeTier, OnBars, Rehearse
from ._pooled import PooledActor

if TYPE_CHECKING:
    from types import TracebackType

    from events import Tier
    from trading import Bar, Portfolio

    from ._pooled import ActorPool

__all__ = ["AgentActor", "StrategyFactory"]

logger = logging.getLogger(__name__)

StrategyFactory = Callable[[Genome], Strategy]
"""Builds an agent's strategy from its genome; ``make_strategy`` unless the arena was given another."""


class AgentActor(PooledActor):
    """A live agent: holds its tier and the strategy it builds from its genome.

    The genome is let go once the strategy is built (``on_start``): the ledger keeps every agent's genome
    (``AgentEntry.genome``, what a restart parses again), and a parsed ``Genome`` costs about 800 B per
    agent, 80 MB in an arena of 100,000.

    Messages: ``OnBars`` (asked, answers ``tuple[Order, ...]``), ``ChangeTier`` (told by the supervisor
    after a promotion or demotion).

    Args:
        agent_id: The ledger's id for this agent.
        genome: The parameters its strategy trades with.
        tier: The tier it trades in.
        supervisor: Told ``AgentCrashed`` when the strategy raises.
        incarnation: Tells a restarted agent's reports apart from its predecessor's.
        strategy_factory: Builds the strategy from the genome (tests inject one that raises).
        pool: The worker threads it runs on (the supervisor's); None for a thread of its own.

    """

    __slots__ = (
        "_crashed",
        "_factory",
        "_genome",
        "_incarnation",
        "_strategy",
        "_supervisor",
        "agent_id",
        "tier",
    )

    def __init__(
        self,
        agent_id: str,
        genome: Genome,
        tier: Tier,
        *,
        supervisor: pykka.ActorRef[Any],
        incarnation: int = 0,
        strategy_factory: StrategyFactory = make_strategy,
        pool: ActorPool | None = None,
    ) -> None:
        super().__init__(pool=pool)
        self.agent_id = agent_id
        self._genome: Genome | None = genome
        self.tier = tier
        self._supervisor = supervisor
        self._incarnation = incarnation
        self._factory = strategy_factory
        self._strategy: Strategy | None = None
        self._crashed = False

    def on_start(self) -> None:
        """Build the strategy on the agent's worker (a factory that raises is a crash, reported)."""
        try:
            genome, self._genome = self._genome, None
            if genome is not None:
                self._strategy = self._factory(genome)
        except BaseException as e:  # noqa: BLE001  (user strategy code: SystemExit included, it is a crash)
            self._crash(e)

    def on_receive(self, message: Any) -> Any:  # noqa: ANN401  (pykka's signature: replies are any value)
        """Answer a step with orders, or metrics; take tier changes."""
        match message:
            case OnBars():
                return self._step(message)
            case Rehearse(steps=steps):
                return self._rehearse(steps)
            case ChangeTier(tier=tier):
                self.tier = tier
                return None
            case _:
                return super().on_receive(message)

    def on_failure(
        self,
        exception_type: type[BaseException] | None,  # noqa: ARG002  (pykka's hook signature)
        exception_value: BaseException | None,
        traceback: TracebackType | None,  # noqa: ARG002  (pykka already logged it)
    ) -> None:
        """Report an error that escaped a told message, so the supervisor applies the failure policy."""
        if exception_value is not None:
            self._crash(exception_value)

    def _step(self, message: OnBars) -> tuple[Order, ...]:
        if self._crashed or self._strategy is None:
            return ()
        try:
            return self._trade(message)
        except BaseException as e:  # noqa: BLE001  (crash isolation: report, answer no orders, stay answerable)
            self._crash(e)
            return ()

    def _rehearse(self, steps: tuple[tuple[tuple[Bar, ...], Portfolio], ...]) -> tuple[Order, ...]:
        """Replay steps already taken; a strategy that raises now did not raise then: not deterministic."""
        orders: tuple[Order, ...] = ()
        for bars, portfolio in steps:
            try:
                orders = self._trade(OnBars(bars, portfolio))
            except Exception as e:
                msg = (
                    f"agent {self.agent_id}: its strategy raised {type(e).__name__} ({e}) while replaying a "
                    "step it had taken without error; a strategy must be a deterministic function of the "
                    "bars and portfolios it is shown for a run to resume"
                )
                raise ArenaError(msg) from e
        return orders

    def _trade(self, message: OnBars) -> tuple[Order, ...]:
        strategy = self._strategy
        if strategy is None:
            return ()
        portfolio = message.portfolio
        orders: list[Order] = []
        for bar in message.bars:
            order = strategy.on_bar(bar, portfolio)
            if order is None:
                continue
            if not isinstance(order, Order):
                msg = f"strategy answered {order!r} for the bar of {bar.symbol!r}; expected an Order or None"
                raise TypeError(msg)
            orders.append(order)
        return tuple(orders)

    def _crash(self, error: BaseException) -> None:
        self._crashed = True
        logger.warning("agent %s: strategy raised %s: %s", self.agent_id, type(error).__name__, error)
        report = AgentCrashed(self.agent_id, type(error).__name__, str(error), self._incarnation)
        try:
            self._supervisor.tell(report)
        except pykka.ActorDeadError:
            logger.debug("agent %s: supervisor is gone; crash not reported", self.agent_id)
