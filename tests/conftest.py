"""Fixtures every test shares: no actor and no thread outlives its test; every event is built checked.

Checking mode (``events/_fast.py``) validates every event the supervisor builds without validation and
encodes every event both ways; set in the environment too, so CLI runs in child processes check as well.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING

import pykka
import pytest

os.environ["ARENA_CHECK_EVENTS"] = "1"

import events  # after the environment, which the events package reads on import

events.check_events(True)

if TYPE_CHECKING:
    from collections.abc import Iterator

STOP_TIMEOUT = 30.0


@pytest.fixture(autouse=True)
def _no_leftover_actors_or_threads() -> Iterator[None]:
    """Stop whatever a test left running, then fail the test if a thread it started is still alive."""
    before = set(threading.enumerate())

    yield

    pykka.ActorRegistry.stop_all(timeout=STOP_TIMEOUT)
    leaked = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    for thread in leaked:
        thread.join(timeout=STOP_TIMEOUT)
    still = [t.name for t in leaked if t.is_alive()]
    assert not still, f"threads left running after the test: {still}"
