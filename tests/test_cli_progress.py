"""``arena simulate``'s progress: plain lines for a log file, a bar for a terminal, none with ``--quiet``."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from actors import Arena, Progress, SimClock, run_simulation
from actors.cli import main
from actors.cli._format import duration, progress_line, progress_postfix
from actors.cli._progress import Bar, Lines, progress_display, style_of
from trading import SyntheticFeed

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 120  # seconds for one command; each here simulates 2 agents for 2 days (well under 1 s)
START = datetime(2026, 1, 1, tzinfo=UTC)
RUN = ("simulate", "--db", "a.db", "--agents", "2", "--days", "2", "--seed", "3")
LINE = re.compile(
    r"arena: progress: step (?P<step>[\d,]+)/48 \((?P<percent>\d+)%\), "
    r"(?P<moment>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ), [\d,]+ agent-steps/s, [\d,]+ events/s, "
    r"nav (?P<nav>[\d,]+\.\d{8}), eta (?P<eta>\d+:\d\d:\d\d)"
)


def simulate_into_files(*options: str, cwd: Path) -> tuple[int, str, str]:
    """Run ``arena simulate`` with stdout and stderr redirected to files, as a service or ``nohup`` does."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    out, err = cwd / "out.log", cwd / "err.log"
    with out.open("w") as stdout, err.open("w") as stderr:
        done = subprocess.run(  # noqa: S603  (our own interpreter and module, fixed arguments)
            [sys.executable, "-m", "actors.cli", *RUN, *options],
            cwd=cwd,
            env=env,
            stdout=stdout,
            stderr=stderr,
            timeout=TIMEOUT,
            check=False,
        )
    return done.returncode, out.read_text(), err.read_text()


def progress(steps: int, *, total: int | None = 48, agents: int = 2, events: int = 100) -> Progress:
    return Progress(
        steps=steps,
        total_steps=total,
        bars=steps * 5,
        events=events,
        agents=agents,
        moment=START + timedelta(hours=steps),
        nav=Decimal("1000012.5"),
    )


def interrupted_after_five_steps(stream: io.StringIO) -> None:
    with progress_display(stream, style="bar", every=10, start_seq=0) as show:
        assert show is not None
        show(progress(5))
        raise KeyboardInterrupt


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


# --- the command, its stderr in a file ------------------------------------------------------------------


def test_simulate_into_a_log_file_writes_one_plain_line_per_interval_in_the_documented_shape(
    tmp_path: Path,
) -> None:
    status, out, err = simulate_into_files("--progress-every", "0", cwd=tmp_path)

    assert status == 0, err
    lines = err.splitlines()
    matches = [LINE.fullmatch(line) for line in lines]
    assert all(matches), lines
    assert [int(m["step"]) for m in matches if m] == list(range(1, 49))  # 0 seconds: a line every step
    last = matches[-1]
    assert last is not None
    assert (last["percent"], last["moment"], last["eta"]) == ("100", "2026-01-03T00:00:00Z", "0:00:00")
    assert "\r" not in err
    assert "arena: progress" not in out
    assert out.startswith("simulated 48 steps")


def test_simulate_with_a_short_interval_writes_lines_in_the_same_shape(tmp_path: Path) -> None:
    status, _, err = simulate_into_files("--progress-every", "0.01", cwd=tmp_path)

    assert status == 0, err
    lines = err.splitlines()
    assert len(lines) >= 1
    assert all(LINE.fullmatch(line) for line in lines), lines


def test_simulate_with_quiet_writes_no_progress_at_all(tmp_path: Path) -> None:
    status, out, err = simulate_into_files("--quiet", "--progress-every", "0", cwd=tmp_path)

    assert status == 0, err
    assert err == ""
    assert out.startswith("simulated 48 steps")


def test_simulate_refuses_quiet_with_progress_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)

    status = main([*RUN, "--quiet", "--progress"])

    out, err = capsys.readouterr()
    assert (status, out) == (2, "")
    assert re.fullmatch(
        r"arena simulate: error: argument --progress: not allowed with argument --quiet; "
        r"see 'arena simulate --help'\n",
        err,
    ), err
    assert not (tmp_path / "a.db").exists()


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("-1", r"'-1' is not a number of seconds; pass ASCII digits such as 10 or 0\.5"),
        ("ten", r"'ten' is not a number of seconds; pass ASCII digits such as 10 or 0\.5"),
        ("nan", r"'nan' is not a number of seconds; pass ASCII digits such as 10 or 0\.5"),
        ("inf", r"'inf' is not a number of seconds; pass ASCII digits such as 10 or 0\.5"),
        ("1e3", r"'1e3' is not a number of seconds; pass ASCII digits such as 10 or 0\.5"),
        (".5", r"'\.5' is not a number of seconds; pass ASCII digits such as 10 or 0\.5"),
        ("86401", r"86401 is not a number of seconds from 0 to 86400"),
        ("9" * 400, r"9{19}\.\.\. is not a number of seconds from 0 to 86400"),
    ],
)
def test_simulate_refuses_a_progress_interval_that_is_not_seconds_in_range(
    value: str, why: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)

    status = main([*RUN, "--progress-every", value])

    out, err = capsys.readouterr()
    assert (status, out) == (2, "")
    assert err.count("\n") == 1, err
    assert re.fullmatch(
        rf"arena simulate: error: argument --progress-every: {why}; see 'arena simulate --help'\n", err
    ), err
    assert not (tmp_path / "a.db").exists()


# --- the pieces ---------------------------------------------------------------------------------------


def test_the_driver_reports_nav_with_every_progress_call() -> None:
    seen: list[Progress] = []

    with Arena.open(None, total_capital=Decimal(1_000_000), seed=1, clock=SimClock(START)) as arena:
        run_simulation(
            arena, SyntheticFeed(seed=1, start=START, days=1), seed=1, agents=2, progress=seen.append
        )
        nav = arena.nav()

    assert seen
    assert seen[-1].nav == nav
    assert all(isinstance(p.nav, Decimal) for p in seen)


@pytest.mark.parametrize(
    ("quiet", "bar", "tty", "style"),
    [
        (False, False, False, "lines"),
        (False, False, True, "bar"),
        (False, True, False, "bar"),
        (True, False, True, "none"),
        (True, False, False, "none"),
    ],
)
def test_the_style_is_a_bar_on_a_terminal_or_asked_for_lines_elsewhere_and_nothing_when_quiet(
    quiet: bool, bar: bool, tty: bool, style: str
) -> None:
    assert style_of(quiet=quiet, bar=bar, tty=tty) == style


def test_a_plain_line_names_step_time_rates_nav_and_eta() -> None:
    line = progress_line(progress(12), agent_steps_per_s=2400.4, events_per_s=1310.6, eta=3725)

    assert line == (
        "arena: progress: step 12/48 (25%), 2026-01-01T12:00:00Z, 2,400 agent-steps/s, 1,311 events/s, "
        "nav 1,000,012.50000000, eta 1:02:05"
    )


def test_a_plain_line_of_a_run_of_unknown_length_has_no_total_and_no_eta() -> None:
    line = progress_line(progress(7, total=None), agent_steps_per_s=0, events_per_s=0, eta=None)

    assert line.startswith("arena: progress: step 7, 2026-01-01T07:00:00Z, ")
    assert line.endswith(", eta -")


def test_durations_keep_counting_hours_past_a_day() -> None:
    assert [duration(s) for s in (None, 0, 59.6, 3600, 90061)] == [
        "-",
        "0:00:00",
        "0:01:00",
        "1:00:00",
        "25:01:01",
    ]


def test_lines_print_at_most_one_line_per_interval_with_rates_over_it_and_the_eta_at_the_average_pace() -> (
    None
):
    clock, stream = FakeClock(), io.StringIO()
    lines = Lines(stream, every=10, start_seq=40, clock=clock)

    clock.now += 5
    lines(progress(1, agents=2, events=60))
    written_early = stream.getvalue()
    clock.now += 5
    lines(progress(12, agents=2, events=140))
    clock.now += 3
    lines(progress(20, agents=4, events=200))

    assert written_early == ""
    (only,) = stream.getvalue().splitlines()
    # 12 steps of 2 agents and 100 events (140 - 40) in 10 s; 36 steps left at 12 steps per 10 s
    assert only == progress_line(progress(12, events=140), agent_steps_per_s=2.4, events_per_s=10, eta=30)


def test_lines_every_zero_seconds_print_one_line_per_call() -> None:
    clock, stream = FakeClock(), io.StringIO()
    lines = Lines(stream, every=0, start_seq=0, clock=clock)

    lines(progress(1))
    lines(progress(2))

    assert len(stream.getvalue().splitlines()) == 2
    assert "0 agent-steps/s, 0 events/s" in stream.getvalue()  # no time passed: no rate, not a division


def test_the_terminal_bar_shows_steps_of_the_total_time_nav_agents_and_events() -> None:
    stream = io.StringIO()
    bar = Bar(stream)

    bar(progress(12))
    bar(progress(48))
    bar.close()

    final = stream.getvalue().split("\r")[-1]
    assert re.search(r"100%\|.*\| 48/48 \[", final), final
    assert final.endswith(f", {progress_postfix(progress(48))}]\n"), final
    assert (
        progress_postfix(progress(48)) == "2026-01-03T00:00:00Z, nav 1,000,012.50000000, 2 agents, 100 events"
    )


def test_the_bar_ends_its_line_when_the_run_is_interrupted_so_the_hint_starts_a_line_of_its_own() -> None:
    stream = io.StringIO()

    with pytest.raises(KeyboardInterrupt):
        interrupted_after_five_steps(stream)

    final = stream.getvalue().split("\r")[-1]
    assert re.search(r" 5/48 \[.*\]\n$", final), final


def test_a_bar_that_drew_nothing_writes_nothing_and_quiet_yields_no_callback() -> None:
    stream = io.StringIO()

    with progress_display(stream, style="bar", every=10, start_seq=0):
        pass
    with progress_display(stream, style="none", every=10, start_seq=0) as show:
        assert show is None

    assert stream.getvalue() == ""
