"""How ``arena simulate`` shows its progress on stderr: a bar for a person, plain lines for a log file.

``style_of`` picks one of three from the options and the stream:

- ``"bar"`` when stderr is a terminal, or with ``--progress`` (for a pipe a person still watches): a tqdm
  bar redrawn in place, with its own rate and ETA, and the simulated time, NAV, agents alive and events
  written beside them;
- ``"lines"`` otherwise (a log file, CI, a service's journal): one plain line (``progress_line``) at most
  every ``--progress-every`` seconds of wall clock, and none for a run shorter than that, so a log gets a
  readable line now and then instead of thousands of carriage returns;
- ``"none"`` with ``--quiet``: nothing, and the driver is not asked for progress at all.

The driver is asked for progress every step and the display rate-limits itself by wall clock (tqdm
redraws at most ten times a second), because steps range from a millisecond (2 agents) to 0.7 s (2,000):
no step count suits both. Wall-clock time here is for display only; the log's events carry simulated time.

tqdm over rich: it is one pure-Python package with no dependencies of its own, long maintained, and a
bar is all the command needs; rich would bring a rendering engine and its dependencies for one line.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import TYPE_CHECKING, Literal

from tqdm import tqdm

from ._format import progress_line, progress_postfix

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import TextIO

    from actors import Progress

__all__ = ["Bar", "Lines", "Style", "progress_display", "style_of"]

Style = Literal["bar", "lines", "none"]
"""What ``progress_display`` draws: a bar, plain lines, or nothing."""


def style_of(*, quiet: bool, bar: bool, tty: bool) -> Style:
    """Return what ``arena simulate`` draws: nothing if ``quiet``, a bar for ``bar`` or a TTY, else lines."""
    if quiet:
        return "none"
    return "bar" if bar or tty else "lines"


@contextmanager
def progress_display(
    stream: TextIO, *, style: Style, every: float, start_seq: int
) -> Iterator[Callable[[Progress], None] | None]:
    """Yield the driver's ``progress`` callback for ``style`` (None for ``"none"``), drawing on ``stream``.

    On the way out, however the run ended, a bar prints its last state and ends its line, so whatever
    is said next (the interrupt hint, an error, the held log records) starts on a line of its own.

    Args:
        stream: Where to draw: stderr.
        style: What to draw (``style_of``).
        every: Seconds of wall clock between two plain lines; 0 prints one every step.
        start_seq: The log's head before the run, so the first line's events/s counts this run's only.

    """
    if style == "none":
        yield None
        return
    display = Bar(stream) if style == "bar" else Lines(stream, every=every, start_seq=start_seq)
    try:
        yield display
    finally:
        display.close()


class _Tqdm(tqdm):  # type: ignore[type-arg]  # generic in its stubs only: tqdm[...] fails at run time
    """tqdm without its monitor thread, which only tunes bars updated less often than ours."""

    monitor_interval = 0


class Bar:
    """A tqdm bar: steps done of the run's total (a running count when the total is unknown)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._bar: _Tqdm | None = None  # made at the first step, which tells the total

    def __call__(self, progress: Progress) -> None:
        """Move the bar to ``progress.steps``; show the simulated time, NAV, agents and events beside it."""
        if self._bar is None:
            self._bar = _Tqdm(
                total=progress.total_steps, file=self._stream, unit="step", dynamic_ncols=True, leave=True
            )
        self._bar.set_postfix_str(progress_postfix(progress), refresh=False)
        self._bar.update(progress.steps - self._bar.n)

    def close(self) -> None:
        """Draw the last state and end the line (nothing if no step was drawn)."""
        if self._bar is not None:
            self._bar.close()


class Lines:
    """Plain progress lines, one at most every ``every`` seconds of wall clock (by ``clock``).

    Rates are over the span since the previous line (or since the display opened), so a line says how
    fast the run goes now; the ETA is the steps left at the whole run's average pace so far. Agent-steps
    are counted as the agents alive at each call times the steps since the one before: exact when the
    driver reports every step, as ``arena simulate`` asks it to.
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        every: float,
        start_seq: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream
        self._every = every
        self._clock = clock
        self._opened = self._last = clock()
        self._steps = 0
        self._agent_steps = 0
        self._last_agent_steps = 0
        self._last_events = start_seq

    def __call__(self, progress: Progress) -> None:
        """Count ``progress``; print a line if ``every`` seconds have passed since the last one."""
        self._agent_steps += progress.agents * max(progress.steps - self._steps, 0)
        self._steps = progress.steps
        now = self._clock()
        span = now - self._last
        if span < self._every:
            return
        elapsed = now - self._opened
        total = progress.total_steps
        eta = None
        if total is not None and progress.steps > 0:
            eta = max(total - progress.steps, 0) * elapsed / progress.steps
        line = progress_line(
            progress,
            agent_steps_per_s=(self._agent_steps - self._last_agent_steps) / span if span > 0 else 0.0,
            events_per_s=(progress.events - self._last_events) / span if span > 0 else 0.0,
            eta=eta,
        )
        self._stream.write(line + "\n")
        self._stream.flush()
        self._last = now
        self._last_agent_steps = self._agent_steps
        self._last_events = progress.events

    def close(self) -> None:
        """Nothing to end: every line is whole."""
