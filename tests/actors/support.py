"""Helpers shared by the arena tests: arenas on simulated time, fakes that share real interfaces, checks."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from actors import Arena, SimClock
from events import Event, EventSourcingError, StoreError, fold
from store import SQLiteEventStore
from trading import Bar, Genome, Portfolio

if TYPE_CHECKING:
    from collections.abc import Sequence

    from events import ArenaState
    from store import Head
    from trading import Order

T0 = datetime(2024, 1, 1, tzinfo=UTC)
FUNDING = Decimal(1000)


def open_arena(path: Any = None, **options: Any) -> Arena:
    """An arena on simulated time, seeded, funded with 1000 unless told otherwise."""
    options.setdefault("total_capital", FUNDING)
    options.setdefault("seed", 1)
    options.setdefault("clock", SimClock(T0))
    return Arena.open(path, **options)


def stored(arena: Arena, **filters: Any) -> list[Event]:
    """Every stored event matching ``filters`` (after a flush)."""
    return list(arena.replay_events(**filters))


def assert_log_matches_state(arena: Arena) -> list[Event]:
    """The stored log is gapless, each event once, its fold equals the live state and conserves capital."""
    events = stored(arena)
    state = arena.state()

    assert [e.seq for e in events] == list(range(1, state.seq + 1))
    assert len({e.event_id for e in events}) == len(events)
    assert fold(events) == state
    assert_conserved(state)
    return events


def assert_conserved(state: ArenaState) -> None:
    """Free plus allocated (at cost) equals total, which is funding plus realized P&L less fees, exactly."""
    assert state.free_capital + state.allocated_capital == state.total_capital
    assert state.total_capital == state.funding + state.realized_pnl - state.fees_paid


def bar(symbol: str, close: str | Decimal, *, hour: int = 0) -> Bar:
    """A flat bar (open = high = low = close) at ``T0`` plus ``hour`` hours."""
    price = Decimal(close)
    moment = T0.replace(hour=hour % 24, day=1 + hour // 24)
    return Bar(
        timestamp=moment, symbol=symbol, open=price, high=price, low=price, close=price, volume=Decimal(1)
    )


class ScriptedStrategy:
    """A strategy that answers each bar from a script (an order, None, or an exception to raise)."""

    def __init__(self, script: Sequence[Order | Exception | None] = ()) -> None:
        self._script = list(script)
        self.seen: list[tuple[Bar, Portfolio]] = []

    def on_bar(self, bar: Bar, portfolio: Portfolio) -> Order | None:
        self.seen.append((bar, portfolio))
        step = self._script.pop(0) if self._script else None
        if isinstance(step, Exception):
            raise step
        return step


def raising_factory(error: Exception) -> Any:
    """A strategy factory whose strategies raise ``error`` on every bar."""

    def factory(genome: Genome) -> ScriptedStrategy:
        return ScriptedStrategy([error] * 1000)

    return factory


class FailingSink:
    """The real store behind the same interface, whose appends fail once ``fail`` is set.

    Pass ``sink_factory=lambda: sink``: the store is opened lazily, in the writer's thread, on the first
    call. ``gate`` holds ``append`` until it is set, so a test can keep the writer busy.
    """

    def __init__(self, path: Any = None) -> None:
        self._path = path
        self._store: SQLiteEventStore | None = None
        self.fail = threading.Event()
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()
        self.appends = 0

    def _opened(self) -> SQLiteEventStore:
        if self._store is None:
            self._store = SQLiteEventStore.open(self._path)
        return self._store

    def append(
        self, events: Sequence[Event], snapshot: Any = None, *, encoded: Any = None, hashes: Any = None
    ) -> Head:
        self.entered.set()
        if not self.gate.wait(timeout=30):
            msg = "test gate never opened"
            raise EventSourcingError(msg)
        if self.fail.is_set():
            msg = "disk full (simulated)"
            raise StoreError(msg, path="fake")
        self.appends += 1
        return self._opened().append(events, snapshot, encoded=encoded, hashes=hashes)

    def head(self) -> Head:
        return self._opened().head()

    def acknowledge(self, head: Head) -> None:
        self._opened().acknowledge(head)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
