"""``arena dashboard`` in a real browser: headless Chromium follows a simulation running in another process.

The arena's page: the event count and the NAV chart's last point advance, the latest decisions *in the
DOM* follow the data as kills and promotions happen (they once did not: a DataTable redraws only when its
view's indices change, and 20 decisions replaced by 20 others changed none), and the final figures equal
``arena report``'s. The agent page of the leaderboard's top agent, opened from its link: its equity curve's
last point advances. No console errors on either. Screenshots go under the test's tmp dir (paths printed).

Needs Debian's ``chromium`` and ``chromium-driver`` (``tests/browser.py``: skipped without them, saying how
to install them, unless ``ARENA_REQUIRE_BROWSER=1``, set by ``.ci/run``, where that is a failure).
"""

from __future__ import annotations

import re
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import pytest

from actors.cli._dashboard_tracker import DECISIONS_SHOWN
from actors.cli._png import chrome
from tests.browser import TIMEOUT, arena, browser_or_skip, processes

if TYPE_CHECKING:
    from pathlib import Path

FIGURES = re.compile(r"seq (\d+) \| events (\d+) \| nav (\S+) \|")
READ = """
const doc = window.Bokeh && Bokeh.documents && Bokeh.documents[0];
if (!doc) { return null; }
const figures = doc.get_model_by_name('figures');
const source = doc.get_model_by_name('nav-source');
const navs = source ? source.data.nav : [];
return [figures ? figures.text : null, navs.length, navs.length ? navs[navs.length - 1] : null];
"""
ROWS = """
const doc = window.Bokeh && Bokeh.documents && Bokeh.documents[0];
const table = doc && doc.get_model_by_name(arguments[0]);
const view = table && Bokeh.index.find_one(table);
if (!view) { return null; }
const rows = [...view.shadow_el.querySelectorAll('.slick-row')]
  .sort((a, b) => parseFloat(a.style.top) - parseFloat(b.style.top));
const first = rows.length ? rows[0] : null;
const link = first ? first.querySelector('a') : null;
return {
  data: table.source.data[arguments[1]],
  dom: rows.map((row) => [...row.querySelectorAll('.slick-cell')].map((cell) => cell.textContent)),
  href: link ? link.href : null,
};
"""
CURVE = """
const doc = window.Bokeh && Bokeh.documents && Bokeh.documents[0];
const source = doc && doc.get_model_by_name('agent-equity-source');
if (!source || !source.data.seq.length) { return null; }
const n = source.data.seq.length;
return [n, source.data.seq[n - 1], doc.get_model_by_name('agent-heading').text];
"""
ATTEMPTS = 5  # agents the test follows, one after the other, until one lives long enough to watch


def test_the_pages_follow_a_running_simulation_to_the_reports_figures(tmp_path: Path) -> None:
    browser = browser_or_skip()
    from selenium.webdriver.support.ui import WebDriverWait  # noqa: PLC0415  (once a browser is there)

    db = tmp_path / "arena.db"
    with processes() as started, chrome(browser, "--window-size=1200,2000") as driver:
        simulation = arena(
            *("simulate", "--db", db, "--agents", 30, "--days", 1000, "--cycle-days", 45, "--seed", 7),
            "--quiet",
            log=tmp_path / "simulate.log",
        )
        started.append(simulation)
        # the dashboard needs the file to exist: wait for the store's first commit (or the run's end)
        while not db.exists() and simulation.poll() is None:
            try:
                simulation.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                continue
        assert db.exists(), simulation.communicate()
        server = arena("dashboard", db, "--port", 0, log=tmp_path / "dashboard.log")
        started.append(server)
        assert server.stdout is not None
        line = server.stdout.readline()
        url = re.search(r"http://\S+/", line)
        assert url, (line, server.poll())
        wait = WebDriverWait(driver, TIMEOUT, poll_frequency=0.2)

        def figures(_driver: object) -> Any:
            read = driver.execute_script(READ)
            if not read or not read[0]:
                return None
            match = FIGURES.search(read[0])
            if match is None:
                return None
            return int(match[1]), int(match[2]), match[3], int(read[1]), read[2]

        def rows(table: str, field: str) -> Any:
            read: dict[str, Any] | None = driver.execute_script(ROWS, table, field)
            return read if read and read["data"] and read["dom"] else None

        driver.get(url.group(0))
        main = driver.current_window_handle
        first = wait.until(figures, "the figures line never showed")
        assert simulation.poll() is None, "the run ended before the page could watch it; make it longer"

        # the agent page of the leaderboard's top agent, through the link in its row; an agent killed
        # before its curve could advance is replaced by the top agent then
        driver.switch_to.new_window("tab")
        agent_tab = driver.current_window_handle
        for _ in range(ATTEMPTS):
            driver.switch_to.window(main)
            board: dict[str, Any] = wait.until(lambda _d: rows("board", "agent"), "no leaderboard row")
            top, href = board["data"][0], board["href"]
            assert href == f"{url.group(0)}?agent={top}", board
            driver.switch_to.window(agent_tab)
            driver.get(href)
            curve: list[Any] = wait.until(lambda _d: driver.execute_script(CURVE), "no equity curve")

            def advanced_or_killed(_driver: object, at: list[Any] = curve) -> Any:
                now: list[Any] | None = driver.execute_script(CURVE)
                if now and (now[1] > at[1] or "| killed |" in now[2]):
                    return now
                return "ended" if simulation.poll() is not None else None

            seen = wait.until(advanced_or_killed, "the agent's curve did not advance")
            assert seen != "ended", "the run ended before the agent page could watch it; make it longer"
            if seen[1] > curve[1]:
                break
        else:
            pytest.fail(f"each of {ATTEMPTS} top agents was killed before its curve advanced")
        assert seen[0] > curve[0]
        assert simulation.poll() is None, "the run ended before the agent page could watch it"
        agent_shot = tmp_path / "agent-page.png"
        driver.save_screenshot(str(agent_shot))
        print(f"screenshot: {agent_shot}")  # noqa: T201  (an artefact for a person to look at)
        agent_console = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]

        driver.switch_to.window(main)
        later = wait.until(
            lambda d: (now := figures(d)) and now[1] > first[1] and now[3] > first[3] and now,
            "the event count and the NAV curve did not advance",
        )
        assert later[4] is not None

        # the decisions table's rows in the DOM follow its data, also once it holds DECISIONS_SHOWN rows
        full = wait.until(
            lambda _d: (now := rows("decisions", "seq")) and len(now["data"]) == DECISIONS_SHOWN and now,
            f"the decisions table never held {DECISIONS_SHOWN} rows",
        )
        moved = wait.until(
            lambda _d: (
                (now := rows("decisions", "seq"))
                and now["data"][0] > full["data"][0]
                and now["dom"][0][0] == str(now["data"][0])
                and now
            ),
            "the decisions table's rows in the DOM did not follow its data",
        )
        assert len(moved["dom"][0]) == 5, moved  # seq, time, decision, agent, reason
        live_shot = tmp_path / "dashboard-live.png"
        driver.save_screenshot(str(live_shot))
        print(f"screenshot: {live_shot}")  # noqa: T201

        assert simulation.wait(timeout=TIMEOUT) == 0, (tmp_path / "simulate.log").read_text(encoding="utf-8")
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
        final = wait.until(
            lambda d: (now := figures(d)) and now[0] == int(head[2]) and now,
            "the page never reached the head",
        )
        assert (final[0], final[1], final[2]) == (int(head[2]), int(head[2]), nav[1])
        decided = wait.until(
            lambda _d: (now := rows("decisions", "seq")) and now["dom"][0][0] == str(now["data"][0]) and now,
            "the decisions table's rows in the DOM did not reach its data",
        )
        assert [row[0] for row in decided["dom"][:3]] == [str(seq) for seq in decided["data"][:3]]

        shot = tmp_path / "dashboard.png"
        driver.save_screenshot(str(shot))
        print(f"screenshot: {shot}")  # noqa: T201
        main_console = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        driver.switch_to.window(agent_tab)
        agent_console += [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert (main_console, agent_console) == ([], [])
