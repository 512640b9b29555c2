"""The supervisor's agent actors: one per live agent, started on spawn, stopped on kill.

The supervisor never waits on an agent (an agent may be busy telling it about a crash), so every stop and
every message here is fire-and-forget. Each start is numbered (its incarnation), so a crash report from an
actor that a restart already replaced is recognised as stale.

Incarnations live in memory and restart at 0 when an arena reopens: they only tell a current actor from a
replaced one, never how often an agent failed. That count is the ledger's (``AgentEntry.failures``, one
per ``AgentFailed``), which the supervisor weighs against ``MAX_RESTARTS``, so a reopened arena restarts
or kills a crashing agent on exactly the failure an uninterrupted one would.

The actors share one ``ActorPool`` of ``workers`` threads, created with the pool and shut down (workers
joined) by ``stop_all`` after every agent has stopped, so a closed arena leaves no agent thread behind.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import pykka
from pykka._envelope import Envelope

from events import ValidationError

from . import _timeouts
from ._agent import AgentActor
from ._messages import OnBars
from ._pooled import ActorPool

if TYPE_CHECKING:
    from collections.abc import Mapping
    from contextlib import AbstractContextManager

    from events import Tier
    from trading import Bar, Genome, Portfolio, Strategies

    from ._agent import StrategyFactory
    from ._step import StepCollector

__all__ = ["AgentPool"]

logger = logging.getLogger(__name__)


class AgentPool:
    """Start, message and stop the agent actors of one supervisor; used only on its thread.

    Args:
        supervisor: Told ``AgentCrashed`` by the agents.
        strategy_factory: Builds each agent's strategy; None for ``strategies.build``.
        strategies: Parses each stored genome (and builds its strategy, unless ``strategy_factory``).
        workers: Threads the agents share; None for ``default_workers()``.

    """

    def __init__(
        self,
        supervisor: pykka.ActorRef[Any],
        strategy_factory: StrategyFactory | None,
        strategies: Strategies,
        *,
        workers: int | None = None,
    ) -> None:
        self._threads = ActorPool(workers, name="AgentWorker")
        self._supervisor = supervisor
        self._factory = strategy_factory or strategies.build  # one bound method for all, not one each (64 B)
        self._strategies = strategies
        self._refs: dict[str, pykka.ActorRef[Any]] = {}
        self._incarnations: dict[str, int] = {}

    def batched(self) -> AbstractContextManager[None]:
        """Start (and message) many agents in the body; their first turns are scheduled together after it."""
        return self._threads.batched()

    def start(self, agent_id: str, genome: dict[str, Any], tier: Tier, parsed: Genome | None = None) -> None:
        """Start an actor for ``agent_id``, replacing (stopping) any it has; a bad genome is logged.

        ``parsed`` is the genome already checked by the caller (a spawn), which saves parsing it again.
        """
        self.stop(agent_id)
        try:
            parsed = self._strategies.parse(genome) if parsed is None else parsed
        except ValidationError:
            logger.exception(
                "agent %s: stored genome does not fit the arena's strategies; no actor started", agent_id
            )
            return
        incarnation = self._incarnations.get(agent_id, -1) + 1
        self._incarnations[agent_id] = incarnation
        self._refs[agent_id] = AgentActor.start(
            agent_id,
            parsed,
            tier,
            supervisor=self._supervisor,
            incarnation=incarnation,
            strategy_factory=self._factory,
            pool=self._threads,
        )

    def is_current(self, agent_id: str, incarnation: int) -> bool:
        """Whether ``incarnation`` is the running actor of ``agent_id`` (not one stopped or replaced)."""
        return agent_id in self._refs and self._incarnations.get(agent_id) == incarnation

    def incarnation(self, agent_id: str) -> int | None:
        """Return the incarnation of the running actor of ``agent_id``, or None if it has none."""
        return self._incarnations.get(agent_id) if agent_id in self._refs else None

    def stop(self, agent_id: str) -> None:
        """Stop the actor of ``agent_id`` if it has one, without waiting."""
        ref = self._refs.pop(agent_id, None)
        if ref is not None:
            ref.stop(block=False)

    def tell(self, agent_id: str, message: object) -> None:
        """Tell the actor of ``agent_id`` ``message``, if it is still running."""
        ref = self._refs.get(agent_id)
        if ref is None:
            return
        try:
            ref.tell(message)
        except pykka.ActorDeadError:
            logger.debug("agent %s stopped before hearing %r", agent_id, message)

    def tell_step(
        self, bars: tuple[Bar, ...], portfolios: Mapping[str, Portfolio], collector: StepCollector
    ) -> tuple[str, ...]:
        """Tell every running agent with a portfolio the step's bars, its answer going to ``collector``.

        One batch for all of them (``ActorPool.deliver``): no future, no wake-up per agent. Returns the
        agents told, sorted.
        """
        refs = self._refs
        asked = collector.expect(agent_id for agent_id in refs if agent_id in portfolios)
        self._threads.deliver(
            [
                (refs[agent_id], Envelope(OnBars(bars, portfolios[agent_id]), collector.reply(agent_id)))
                for agent_id in asked
            ]
        )
        return asked

    def refs(self) -> dict[str, pykka.ActorRef[Any]]:
        """Return the running actors by agent id."""
        return dict(self._refs)

    def stop_all(self) -> None:
        """Stop every actor and wait for each, then join the workers (agents never wait on the supervisor)."""
        refs = tuple(self._refs.values())
        self._refs.clear()
        self._threads.stop_actors(refs, timeout=_timeouts.STOP_TIMEOUT)  # one batch, one deadline
        self._threads.shutdown(timeout=_timeouts.STOP_TIMEOUT)  # read now: tests shorten it
