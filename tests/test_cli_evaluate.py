"""``arena evaluate``: the evolved and the initial population replayed on the bars after the log ends."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from actors.cli import main
from actors.cli._evaluate import populations_of
from events import AgentSpawned, EvolutionCycleStarted, Fold
from store import SQLiteEventStore

if TYPE_CHECKING:
    from pathlib import Path


def run(*args: object, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = main([str(arg) for arg in args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture(scope="module")
def evolved_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("evaluate") / "arena.db"
    assert (
        main(
            [
                "simulate",
                "--db",
                str(path),
                "--agents",
                "8",
                "--days",
                "12",
                "--seed",
                "3",
                "--cycle-days",
                "3",
            ]
        )
        == 0
    )
    return path


def test_the_table_has_both_populations_and_the_benchmark_over_the_days_after_the_log(evolved_store, capsys):
    status, out, _ = run("evaluate", evolved_store, "--days", "3", capsys=capsys)

    assert status == 0
    assert "the 3 days after the log ends" in out
    assert "72 steps, no cycles" in out
    rows = {
        line.split()[0]: line.split()
        for line in out.splitlines()
        if re.match(r"^(evolved|initial|buy-and-hold) ", line)
    }
    assert set(rows) == {"evolved", "initial", "buy-and-hold"}
    assert rows["initial"][1] == "8"
    assert rows["buy-and-hold"][1] == "-"


def test_the_same_store_gives_the_same_table(evolved_store, capsys):
    first = run("evaluate", evolved_store, "--days", "2", capsys=capsys)
    second = run("evaluate", evolved_store, "--days", "2", capsys=capsys)

    assert first == second


def test_the_populations_come_from_the_file_alone(evolved_store):
    initial, evolved = populations_of(evolved_store)

    state = Fold()
    spawned_first: list[str] = []
    cycles = 0
    with SQLiteEventStore.open(evolved_store, readonly=True) as store:
        for event in store.read():
            state.apply(event)
            cycles += isinstance(event, EvolutionCycleStarted)
            if isinstance(event, AgentSpawned) and event.parent_id is None and not cycles:
                spawned_first.append(event.agent_id)
    assert len(initial) == len(spawned_first) == 8
    assert len(evolved) == len(state.freeze().alive_agents())
    assert cycles > 0


def test_a_missing_store_is_refused_with_a_clear_error(tmp_path, capsys):
    status, _, err = run("evaluate", tmp_path / "none.db", "--days", "2", capsys=capsys)

    assert status != 0
    assert "no arena at" in err
    assert not (tmp_path / "none.db").exists()
