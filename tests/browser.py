"""What the tests that need a real browser share: finding it (or skipping, or failing under CI), a session.

The browser is Debian's ``chromium`` with ``chromium-driver``, found by the same rule ``arena report --png``
uses (``actors.cli._png.find_browser``: ``$ARENA_CHROMIUM`` / ``$ARENA_CHROMEDRIVER``, ``PATH``,
``/usr/bin``). Without it a test skips, saying how to install it, unless ``ARENA_REQUIRE_BROWSER=1``
(set by ``.ci/run``, which installs it): there a missing browser is a failure.
"""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import contextmanager
from typing import TYPE_CHECKING

import pytest

from actors.cli._png import BROWSER_INSTALL, Browser, find_browser
from events import ArenaError

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

INSTALL = f"needs Debian's chromium and chromium-driver: {BROWSER_INSTALL}"
TIMEOUT = 180  # generous: a wait that ends as soon as its condition holds, never a timing threshold


def browser_or_skip() -> Browser:
    """Return the browser; skip the test without one, or fail it under ``ARENA_REQUIRE_BROWSER=1``."""
    try:
        return find_browser()
    except ArenaError as e:
        if os.environ.get("ARENA_REQUIRE_BROWSER") == "1":
            pytest.fail(f"ARENA_REQUIRE_BROWSER=1 but the browser is missing ({e}); {INSTALL}")
        pytest.skip(INSTALL)


def arena(*args: object, log: Path) -> subprocess.Popen[str]:
    """Start ``arena ARGS`` in a process of its own, stdout piped, stderr into the file ``log``.

    Not a pipe for stderr: a server's warnings, never read, would fill it and block the server.
    """
    with log.open("w", encoding="utf-8") as errors:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(  # noqa: S603  (our own interpreter and module, fixed arguments)
            [sys.executable, "-m", "actors.cli", *map(str, args)],
            text=True,
            stdout=subprocess.PIPE,
            stderr=errors,
        )


@contextmanager
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    """Yield a list to put started processes in; on the way out stop those still running and reap all."""
    started: list[subprocess.Popen[str]] = []
    try:
        yield started
    finally:
        for process in started:
            if process.poll() is None:
                process.terminate()
            process.communicate(timeout=TIMEOUT)  # and close its pipes
