"""Sixteen threads hammer one arena with random commands; afterwards the books and the log must be perfect."""

from __future__ import annotations

import random
import threading
from decimal import Decimal

import pytest

from events import (
    AgentNotAliveError,
    AllocationError,
    GraduationError,
    UnknownAgentError,
    ValidationError,
)
from store import verify
from tests.actors.support import assert_log_matches_state, open_arena

THREADS = 16
OPERATIONS = 2000
OWN_AGENTS = 6  # per thread: keeps agent actors (one thread each) in the low hundreds
REFUSALS = (AgentNotAliveError, AllocationError, GraduationError, UnknownAgentError, ValidationError)


class Client:
    """One thread's random walk over the API, remembering what the arena answered."""

    def __init__(self, arena, index: int, everyone: list[str]) -> None:
        self.arena = arena
        self.rng = random.Random(index)
        self.everyone = everyone  # appended to by every client: list.append is atomic, reads tolerate races
        self.mine: list[str] = []
        self.answered: list = []
        self.refused = 0

    def run(self) -> None:
        for _ in range(OPERATIONS):
            try:
                self.step()
            except REFUSALS:
                self.refused += 1

    def step(self) -> None:
        arena, rng = self.arena, self.rng
        roll = rng.random()
        if not self.mine or (roll < 0.08 and len(self.mine) < OWN_AGENTS):
            self._adopt(arena.spawn_agent())
        elif roll < 0.40:
            self.answered += arena.allocate_capital({self._anyone(): self._amount()})
        elif roll < 0.45:
            chosen = {self._anyone() for _ in range(3)}
            self.answered += arena.allocate_capital(dict.fromkeys(chosen, self._amount()))
        elif roll < 0.62:
            arena.release_capital(self._anyone(), rng.choice([None, self._amount()]))
        elif roll < 0.68:
            victim = rng.choice(self.mine)
            self.mine.remove(victim)
            arena.kill_agent(victim, "stress")
        elif roll < 0.76:
            agent = self._anyone()
            self.answered.append(rng.choice([arena.graduate_to_proving, arena.graduate_to_arena])(agent))
        elif roll < 0.79 and len(self.mine) < OWN_AGENTS:
            self._adopt(arena.mutate_agent(rng.choice(self.mine), seed=rng.randrange(1000)))
        elif roll < 0.83:
            assert arena.verify_capital_conservation().ok
        elif roll < 0.86:
            breakdown = arena.get_capital_allocation_breakdown()
            assert breakdown.free_capital + breakdown.allocated_capital == breakdown.total_capital
        elif roll < 0.93:
            arena.allocate_capital({self._anyone(): rng.choice([0.5, Decimal(-1), Decimal("1e-9")])})
        else:
            arena.release_capital(f"ghost-{rng.randrange(10)}")

    def _adopt(self, agent: str) -> None:
        self.mine.append(agent)
        self.everyone.append(agent)

    def _anyone(self) -> str:
        pool = self.mine if self.rng.random() < 0.7 else self.everyone
        return self.rng.choice(pool)

    def _amount(self) -> Decimal:
        return Decimal(self.rng.randrange(1, 5000)).scaleb(-2)


@pytest.mark.slow
def test_sixteen_threads_of_random_commands_leave_exact_books_and_a_clean_log(tmp_path):
    path = tmp_path / "stress.db"
    arena = open_arena(path, total_capital=Decimal(100_000), snapshot_every=5000)
    everyone: list[str] = []
    clients = [Client(arena, index, everyone) for index in range(THREADS)]
    errors: list[BaseException] = []

    def run(client: Client) -> None:
        try:
            client.run()
        except BaseException as e:  # noqa: BLE001  (reported below; a thread cannot raise into the test)
            errors.append(e)

    threads = [threading.Thread(target=run, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)

    assert errors == []
    events = assert_log_matches_state(arena)
    stored_ids = {e.event_id for e in events}
    answered = [e for client in clients for e in client.answered]
    assert all(e.event_id in stored_ids for e in answered)
    assert len({e.event_id for e in answered}) == len(answered)
    assert sum(client.refused for client in clients) > 0
    head = arena.flush()
    arena.close()
    report = verify(path, expected_head=head)
    assert report.ok, report
