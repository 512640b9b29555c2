"""Migration events: their shape, their fold (no postings, no capital), their canonical JSON."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import given
from pydantic import ValidationError as PydanticValidationError

from events import (
    AgentEmigrated,
    AgentImmigrated,
    EventSourcingError,
    LogBuilder,
    canonical_json,
    check_fitness_text,
    fold,
    parse_event,
    postings,
)
from tests.strategies import EVENT_STRATEGIES

NOW = datetime(2026, 1, 2, tzinfo=UTC)


def emigrated(**fields):
    payload = {
        "seq": 3,
        "event_id": uuid.UUID(int=3),
        "timestamp": NOW,
        "agent_id": "a1",
        "genome": {"strategy": "momentum", "params": {}},
        "fitness": "0.25",
        "rank": 1,
        "destination": "island-1",
        "barrier": 1,
    }
    return AgentEmigrated(**{**payload, **fields})


def open_log():
    log = LogBuilder(seed=1)
    log.open(capital="1000")
    log.spawn("a1")
    log.allocate("a1", "100")
    return log


def test_an_emigration_moves_no_capital_and_leaves_the_agent_alive():
    log = open_log()
    before = log.state

    event = log.emigrate("a1", destination="island-1", barrier=2)

    assert postings(event) == []
    after = log.state
    assert after.agents["a1"].alive
    assert (after.treasury, after.total_capital) == (before.treasury, before.total_capital)
    assert after.agents["a1"].allocation == before.agents["a1"].allocation


def test_an_immigration_precedes_the_spawn_it_causes_and_posts_nothing():
    log = open_log()

    arrived, spawned = log.immigrate("b7", source="island-0", source_seq=9, source_agent_id="a3")

    assert postings(arrived) == []
    assert spawned.caused_by == arrived.event_id
    assert spawned.genome == arrived.genome
    assert log.state.agents["b7"].allocation == 0
    assert fold(log.events) == log.state


def test_the_fold_refuses_an_emigration_of_a_killed_agent():
    log = open_log()
    log.kill("a1")
    fields = {"genome": {}, "fitness": "1", "rank": 1, "destination": "x", "barrier": 1}
    event = log.make(AgentEmigrated, agent_id="a1", **fields)

    with pytest.raises(EventSourcingError, match=r"\(AgentEmigrated\): names agent 'a1', which was killed"):
        fold([event], log.state)


def test_the_fold_refuses_an_immigration_naming_an_existing_agent_as_a_newcomer():
    log = open_log()
    event = log.make(
        AgentImmigrated,
        agent_id="a1",
        source="island-0",
        source_seq=1,
        source_hash="0" * 64,
        source_agent_id="z",
        genome={},
        fitness="1",
        barrier=1,
    )

    with pytest.raises(EventSourcingError, match=r"names agent 'a1' as a newcomer, but it already exists"):
        fold([event], log.state)


@pytest.mark.parametrize("text", ["inf", "NaN", "-Infinity", "abc", ""])
def test_fitness_must_be_the_text_of_a_finite_decimal(text):
    with pytest.raises(PydanticValidationError, match="fitness"):
        emigrated(fitness=text)


def test_fitness_text_is_kept_digit_for_digit():
    assert emigrated(fitness="0.30000000000000004").fitness == "0.30000000000000004"
    assert check_fitness_text("-1e-05") == "-1e-05"


def test_an_immigration_names_a_sha256_hash_or_is_refused():
    with pytest.raises(PydanticValidationError, match="source_hash"):
        AgentImmigrated(
            seq=2,
            event_id=uuid.UUID(int=2),
            timestamp=NOW,
            agent_id="b1",
            source="island-0",
            source_seq=1,
            source_hash="not-a-hash",
            source_agent_id="a1",
            genome={},
            fitness="1",
            barrier=1,
        )


@pytest.mark.parametrize(("field", "value"), [("barrier", 0), ("rank", 0), ("destination", "")])
def test_an_emigration_refuses_an_out_of_range_field(field, value):
    with pytest.raises(PydanticValidationError, match=field):
        emigrated(**{field: value})


@given(EVENT_STRATEGIES[AgentEmigrated] | EVENT_STRATEGIES[AgentImmigrated])
def test_migration_events_round_trip_through_canonical_json(event):
    assert parse_event(canonical_json(event)) == event
