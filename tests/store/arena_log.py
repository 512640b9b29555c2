"""The store tests' builder: ``LogBuilder`` plus the one small arena whose shape the tests pin."""

from __future__ import annotations

from typing import TYPE_CHECKING

from events import LogBuilder

if TYPE_CHECKING:
    from events import Event

LAST = 34
"""Seq of the scenario's last event.

The scenario's shape, which the tamper tests rely on: 34 events and 86 ledger rows. Seq 5-7 allocate
(ledger entries 3-8); 8-19 are fills in buy/sell pairs (a buy posts 5 rows, a sale 6: seq 8 is entries
9-13, seq 9 entries 14-19); seq 20 records a mark; the ``filled`` store has a snapshot at seq 22; an
evolution cycle runs at 25-29; seq 30 releases some of a1's cash; seq 31 kills a3, seq 32 sells the
holding it still had and seq 33 releases the proceeds, both caused by the kill; a conservation check is
last.
"""
SNAPSHOT = 22
"""Seq of the ``filled`` store's snapshot."""
ENTRIES = 86
"""Ledger rows of the scenario."""


class ArenaLog(LogBuilder):
    """``LogBuilder`` with ``scenario``: the store tests tamper with its events by seq (see test_verify)."""

    def scenario(self, agents: int = 3, rounds: int = 2) -> list[Event]:
        """A realistic small arena: open, spawn and fund agents, trade, mark, promote, fail, cycle, kill.

        Every agent ends the trading rounds holding units, so the kill is followed by a sale of a holding.
        """
        opened = self.open()
        spawns = [self.spawn(f"a{i}", caused_by=opened) for i in range(1, agents + 1)]
        for spawn in spawns:
            self.allocate(spawn.agent_id, "1000", caused_by=spawn)
        for _ in range(rounds):
            for spawn in spawns:
                buy = self.trade(spawn.agent_id, "buy", caused_by=spawn)
                self.trade(spawn.agent_id, "sell", quantity="1", price="11", caused_by=buy)
        self.mark({"XYZ": "10.75"})
        self.graduate("a1")
        self.fail("a2")
        self.reject_trade("a2")
        self.reject_allocation()
        self.cycle("a1", f"a{agents + 1}")
        self.release("a1", "10")
        self.kill(f"a{agents}")
        self.check()
        return self.events
