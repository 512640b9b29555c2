"""Where event timestamps come from: the wall clock, or simulated time that a driver advances.

The supervisor stamps every event with ``clock.now()``. Injecting the clock keeps a seeded run
byte-identical (same seed, same simulated times, same log) and lets a simulation stamp its trades with the
time of the bar that caused them rather than the time the computer got round to it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

from events import ValidationError

__all__ = ["Clock", "SimClock", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    """Anything that says what time it is, as a timezone-aware datetime."""

    def now(self) -> datetime:
        """Return the current time, timezone-aware (events normalise it to UTC)."""
        ...


class SystemClock:
    """The wall clock, in UTC: the default for a live arena."""

    def now(self) -> datetime:
        """Return the current UTC time."""
        return datetime.now(UTC)


class SimClock:
    """Simulated time that only moves when told to, and never backwards.

    It is thread-safe by ownership rather than by locking: the arena hands it to the supervisor, and a
    driver moves it with ``Arena.set_time``, which is a command handled in the supervisor's mailbox, so
    every read and write happens on the supervisor's thread.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._now = _aware(start) if start is not None else datetime(2024, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        """Return the simulated time."""
        return self._now

    def set(self, moment: datetime) -> None:
        """Move simulated time to ``moment``.

        Raises:
            ValidationError: ``moment`` is naive or earlier than the current simulated time (a log whose
                timestamps went backwards would contradict itself).

        """
        moment = _aware(moment)
        if moment < self._now:
            msg = (
                f"clock: cannot move simulated time back from {self._now.isoformat()} to "
                f"{moment.isoformat()}; pass a time at or after the current one"
            )
            raise ValidationError(msg, field="moment", value=moment)
        self._now = moment


def _aware(moment: datetime) -> datetime:
    if not isinstance(moment, datetime) or moment.tzinfo is None or moment.utcoffset() is None:
        msg = (
            f"clock: {moment!r} is not a timezone-aware datetime; pass e.g. datetime(2024, 1, 1, tzinfo=UTC)"
        )
        raise ValidationError(msg, field="moment", value=moment)
    return moment.astimezone(UTC)
