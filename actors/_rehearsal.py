"""Resuming a run: rebuild each live agent's strategy by replaying the steps it took, from the log.

An agent's strategy keeps rolling windows the ledger does not hold. Rather than snapshot arbitrary user
objects, a resumed run re-feeds them: the market is a pure function of the manifest and the ledger of
the log, so for every step a live agent took since it was (re)started, the driver rebuilds the bars and
the exact portfolio the agent was shown (its cash, positions and average costs just before that step's
``MarksRecorded``) and the agent's actor replays them through its fresh strategy (``Rehearse``). The
answer to the last step is the set of orders still waiting to fill at the next step's opens.

Which steps an agent took: a step is one ``MarksRecorded`` the driver wrote (no ``caused_by``) at a
step's time. An agent spawned before a step's marks was asked at that step (spawns happen in the cycle,
before the agents are asked); an agent restarted after a crash was asked from the step after the one it
crashed in, with a new strategy. This is the one requirement on strategies: a deterministic function of
the bars and portfolios they are shown (the built-in ones are).

Cost: one pass over the log and the feed up to the resume point, and one ``on_bar`` per live agent per
step it lived, as in the original run but with no events, no fills and no round trips per step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from events import AgentFailed, AgentSpawned, Fold, MarksRecorded, ValidationError
from trading import steps

from ._messages import Rehearse
from ._timeouts import FLUSH_TIMEOUT
from ._trades import portfolio_of

if TYPE_CHECKING:
    from collections.abc import Iterator
    from datetime import datetime

    import pykka

    from events import AnyEvent
    from trading import Bar, MarketFeed, Order, Portfolio

    from ._arena import Arena

__all__ = ["rehearse"]

_CHUNK = 256  # steps per Rehearse message: bounds what is in flight per agent, and the messages per run


def rehearse(arena: Arena, feed: MarketFeed, last_step: datetime) -> list[tuple[str, Order]]:
    """Bring every live agent's strategy to where it was after the step at ``last_step``.

    Returns the orders the agents placed at that step, in the driver's canonical order (agent id, then
    the agent's own order): they fill at the next step's opens, as in an uninterrupted run.

    Raises:
        ValidationError: the feed and the log disagree on the steps (not the run's market).
        ArenaError: a strategy raised while replaying a step it had taken without error.

    """
    refs = arena.floor.agent_refs()  # a halted agent has no actor: it was not asked, it is not replayed
    live = sorted(agent.agent_id for agent in arena.state().alive_agents() if agent.agent_id in refs)
    replay = _Replay(refs, _beginnings(arena, set(live)))
    log = arena.replay_events()
    try:
        for bars, state, marks_seq in _steps(log, feed, last_step):
            replay.step(bars, state, marks_seq)
    finally:
        close = getattr(log, "close", None)
        if close is not None:
            close()
    return replay.finish(live)


class _Replay:
    """The steps each live agent is due to replay, sent in chunks as they fill up."""

    def __init__(self, refs: dict[str, pykka.ActorRef[Any]], waiting: dict[str, tuple[int, bool]]) -> None:
        self._refs = refs
        self._waiting = waiting  # agent -> (seq its strategy began at, began by a restart)
        self._active: set[str] = set()
        self._chunks: dict[str, list[tuple[tuple[Bar, ...], Portfolio]]] = {a: [] for a in waiting}
        self._futures: dict[str, list[Any]] = {a: [] for a in waiting}

    def step(self, bars: tuple[Bar, ...], state: Fold, marks_seq: int) -> None:
        skip: set[str] = set()
        for agent_id, (seq, restart) in list(self._waiting.items()):
            if marks_seq > seq:  # its first step; a restart's is the next (it crashed in this one)
                del self._waiting[agent_id]
                self._active.add(agent_id)
                if restart:
                    skip.add(agent_id)
        for agent_id in sorted(self._active - skip):
            chunk = self._chunks[agent_id]
            chunk.append((bars, portfolio_of(state.agents[agent_id])))
            if len(chunk) == _CHUNK:
                self._send(agent_id)

    def finish(self, live: list[str]) -> list[tuple[str, Order]]:
        pending: list[tuple[str, Order]] = []
        for agent_id in live:
            if self._chunks.get(agent_id):
                self._send(agent_id)
            answer: tuple[Order, ...] = ()
            for future in self._futures.get(agent_id, []):
                answer = future.get(timeout=FLUSH_TIMEOUT)
            if agent_id in self._active:
                pending.extend((agent_id, order) for order in answer)
        return pending

    def _send(self, agent_id: str) -> None:
        chunk, self._chunks[agent_id] = self._chunks[agent_id], []
        self._futures[agent_id].append(self._refs[agent_id].ask(Rehearse(tuple(chunk)), block=False))


def _beginnings(arena: Arena, live: set[str]) -> dict[str, tuple[int, bool]]:
    """Return, per live agent, the seq its current strategy began at and whether that was a restart."""
    found: dict[str, tuple[int, bool]] = {}
    for event in arena.replay_events(event_types=["AgentSpawned", "AgentFailed"]):
        if isinstance(event, AgentSpawned) and event.agent_id in live:
            found[event.agent_id] = (event.seq, False)
        elif isinstance(event, AgentFailed) and event.agent_id in live and event.action == "restarted":
            found[event.agent_id] = (event.seq, True)
    return found


def _steps(
    log: Iterator[AnyEvent], feed: MarketFeed, last_step: datetime
) -> Iterator[tuple[tuple[Bar, ...], Fold, int]]:
    """Yield each driver step up to ``last_step``: its bars, the state agents saw, its marks' seq.

    The feed and the log's driver marks are merged in time order; feed bars before the run's first step
    came before the run and are skipped, any other step only one side has is a different market. The
    state is the fold just before the step's ``MarksRecorded`` (marks move no cash and no holding, so the
    agents' portfolios are the same after them).
    """
    state = Fold()
    marks = _driver_marks(log, state)
    mark = next(marks, None)
    stepped = False
    for moment, bars in steps(feed):
        if moment > last_step:
            return
        if mark is None:
            _mismatch(f"the feed has a step at {moment.isoformat()} that the log does not")
        elif moment < mark.timestamp and not stepped:
            continue
        elif moment != mark.timestamp:
            first, other = (moment, mark.timestamp) if moment < mark.timestamp else (mark.timestamp, moment)
            _mismatch(
                f"one of the feed and the log has a step at {first.isoformat()} before {other.isoformat()}"
            )
        else:
            stepped = True
            yield bars, state, mark.seq
            mark = next(marks, None)


def _driver_marks(log: Iterator[AnyEvent], state: Fold) -> Iterator[MarksRecorded]:
    """Fold ``log`` into ``state``, yielding each step's ``MarksRecorded`` just before folding it in."""
    for event in log:
        if isinstance(event, MarksRecorded) and event.caused_by is None:
            yield event
        state.apply(event)


def _mismatch(problem: str) -> None:
    msg = f"resume: {problem}; the market is not the one this run was recorded on"
    raise ValidationError(msg, field="feed", value=None)
