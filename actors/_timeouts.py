"""Every timeout the runtime waits with, in one place.

pykka's ``ask()`` and ``Future.get()`` without a timeout may block forever; a deadlock must surface as a
clear error instead, so every wait in the runtime names one of these.
"""

from __future__ import annotations

from typing import Final

__all__ = ["ASK_TIMEOUT", "FLUSH_TIMEOUT", "STEP_TIMEOUT", "STOP_TIMEOUT"]

ASK_TIMEOUT: Final = 30.0
"""Seconds a caller waits for the supervisor to answer one command (it may be blocked by back-pressure)."""

FLUSH_TIMEOUT: Final = 120.0
"""Seconds a caller waits for every submitted event to become durable (a full backlog at fsync speed)."""

STEP_TIMEOUT: Final = 60.0
"""Seconds the simulation waits for every agent to answer one step."""

STOP_TIMEOUT: Final = 30.0
"""Seconds ``close()`` waits for each actor to stop."""
