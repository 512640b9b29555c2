"""``arena dashboard`` in a real browser: headless Chromium follows a simulation running in another process.

Needs Debian's ``chromium`` and ``chromium-driver``; without them this one test skips, saying how to
install them, unless ``ARENA_REQUIRE_BROWSER=1`` (set by ``.ci/run``, which installs them), where a
missing browser is a failure.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
INSTALL = "needs Debian's chromium and chromium-driver: apt-get install chromium chromium-driver"
TIMEOUT = 180  # generous: a wait that ends as soon as its condition holds, never a timing threshold
FIGURES = re.compile(r"seq (\d+) \| events (\d+) \| nav (\S+) \|")
READ = """
const doc = window.Bokeh && Bokeh.documents && Bokeh.documents[0];
if (!doc) { return null; }
const figures = doc.get_model_by_name('figures');
const source = doc.get_model_by_name('nav-source');
const navs = source ? source.data.nav : [];
return [figures ? figures.text : null, navs.length, navs.length ? navs[navs.length - 1] : null];
"""


def _browser_or_skip() -> None:
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    if not missing:
        return
    if os.environ.get("ARENA_REQUIRE_BROWSER") == "1":
        pytest.fail(f"ARENA_REQUIRE_BROWSER=1 but {', '.join(missing)} missing; {INSTALL}")
    pytest.skip(INSTALL)


def _arena(*args: object, **kwargs: object) -> subprocess.Popen[str]:
    process: subprocess.Popen[str] = subprocess.Popen(  # noqa: S603  (our own interpreter and module, fixed arguments)
        [sys.executable, "-m", "actors.cli", *map(str, args)],
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **kwargs,  # type: ignore[call-overload]
    )
    return process


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.terminate()
        process.communicate(timeout=TIMEOUT)  # and close its pipes


def test_the_page_follows_a_running_simulation_to_the_reports_figures(
    tmp_path: Path, processes: list[subprocess.Popen[str]]
) -> None:
    _browser_or_skip()
    from selenium import webdriver  # noqa: PLC0415  (only once the browser is known to be there)
    from selenium.webdriver.chrome.service import Service  # noqa: PLC0415
    from selenium.webdriver.support.ui import WebDriverWait  # noqa: PLC0415

    db = tmp_path / "arena.db"
    simulation = _arena("simulate", "--db", db, "--agents", 30, "--days", 300, "--seed", 7, "--quiet")
    processes.append(simulation)
    # the dashboard needs the file to exist: wait for the store's first commit (or the run's end)
    while not db.exists() and simulation.poll() is None:
        try:
            simulation.wait(timeout=0.05)
        except subprocess.TimeoutExpired:
            continue
    assert db.exists(), simulation.communicate()
    server = _arena("dashboard", db, "--port", 0)
    processes.append(server)
    assert server.stdout is not None
    line = server.stdout.readline()
    url = re.search(r"http://\S+/", line)
    assert url, (line, server.poll())

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1200,2000"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        driver.get(url.group(0))
        wait = WebDriverWait(driver, TIMEOUT, poll_frequency=0.2)

        def figures(_driver: object) -> tuple[int, int, str, int, float] | None:
            read = driver.execute_script(READ)
            if not read or not read[0]:
                return None
            match = FIGURES.search(read[0])
            if match is None:
                return None
            return int(match[1]), int(match[2]), match[3], int(read[1]), read[2]

        first = wait.until(figures)
        assert first is not None
        assert simulation.poll() is None, "the run ended before the page could watch it; make it longer"
        later = wait.until(lambda d: (now := figures(d)) and now[1] > first[1] and now[3] > first[3] and now)
        assert later is not None
        assert later[4] is not None
        assert simulation.wait(timeout=TIMEOUT) == 0, simulation.communicate()

        done = subprocess.run(  # noqa: S603  (our own interpreter and module, fixed arguments)
            [sys.executable, "-m", "actors.cli", "report", str(db)],
            capture_output=True,
            text=True,
            check=True,
        )
        head = re.search(r"at seq (\d+) of (\d+)", done.stdout)
        nav = re.search(r"^= nav\s+(\S+)$", done.stdout, re.MULTILINE)
        assert head, done.stdout
        assert nav, done.stdout
        final = wait.until(lambda d: (now := figures(d)) and now[0] == int(head[2]) and now)
        assert final is not None
        assert (final[0], final[1], final[2]) == (int(head[2]), int(head[2]), nav[1])

        shot = tmp_path / "dashboard.png"
        driver.save_screenshot(str(shot))
        print(f"screenshot: {shot}")  # noqa: T201  (the test's one artefact, for a person to look at)
        console = driver.get_log("browser")  # type: ignore[no-untyped-call]
        severe = [entry for entry in console if entry["level"] == "SEVERE"]
        assert severe == []
    finally:
        driver.quit()
