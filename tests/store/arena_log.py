"""The store tests' builder: ``LogBuilder`` plus the one small arena whose shape the tests pin."""

from __future__ import annotations

from typing import TYPE_CHECKING

from events import LogBuilder

if TYPE_CHECKING:
    from events import Event


class ArenaLog(LogBuilder):
    """``LogBuilder`` with ``scenario``: the store tests tamper with its events by seq (see test_verify)."""

    def scenario(self, agents: int = 3, rounds: int = 2) -> list[Event]:
        """A realistic small arena: open, spawn and fund agents, trade, promote, fail, cycle, kill, check."""
        opened = self.open()
        spawns = [self.spawn(f"a{i}", caused_by=opened) for i in range(1, agents + 1)]
        for spawn in spawns:
            self.allocate(spawn.agent_id, "1000", caused_by=spawn)
        for _ in range(rounds):
            for spawn in spawns:
                buy = self.trade(spawn.agent_id, "buy", caused_by=spawn)
                self.trade(spawn.agent_id, "sell", quantity="1", price="11", caused_by=buy)
        self.graduate("a1")
        self.fail("a2")
        self.reject_trade("a2")
        self.reject_allocation()
        self.cycle("a1", f"a{agents + 1}")
        self.release("a1", "10")
        self.kill(f"a{agents}")
        self.check()
        return self.events
