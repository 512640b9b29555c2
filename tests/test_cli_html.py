"""``arena report DB --html OUT``: one offline page, its numbers exact, refused paths leave nothing behind."""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.cli import main
from actors.cli._html import INSTALL, MAX_POINTS, TITLES, picks
from store import SQLiteEventStore
from trading import buy_and_hold_curve, performance
from trading._performance import _buy_and_hold

ROOT = Path(__file__).resolve().parent.parent
FIGURES = re.compile(r'<script type="application/json" id="arena-figures">(.*?)</script>', re.DOTALL)
REPORT = re.compile(r'<pre id="arena-report">(.*?)</pre>', re.DOTALL)


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("html") / "arena.db"
    status = main(
        [
            *("simulate", "--db", str(path), "--agents", "6", "--days", "4"),
            *("--seed", "1", "--cycle-days", "1", "--quiet"),
        ]
    )
    assert status == 0
    return path


@pytest.fixture(scope="module")
def page(db, tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("page") / "report.html"
    assert main(["report", str(db), "--html", str(out)]) == 0
    return out.read_text(encoding="utf-8")


def figures_of(text: str) -> dict:
    found = FIGURES.search(text)
    assert found is not None
    return json.loads(found.group(1))


def report_of(db: Path, capsys, *args: str) -> str:
    assert main(["report", str(db), *args]) == 0
    return capsys.readouterr().out


def result_at(db: Path, seq: int | None = None):
    with SQLiteEventStore.open(db, readonly=True) as store:
        return performance(store.read(to_seq=seq))


def one_line_error(capsys, pattern: str) -> None:
    out, err = capsys.readouterr()
    assert out == ""
    assert "Traceback" not in err
    assert err.count("\n") == 1, err
    assert re.match(pattern, err), err


def test_html_writes_the_page_atomically_and_prints_only_its_path(db, tmp_path, capsys):
    out = tmp_path / "report.html"

    status = main(["report", str(db), "--html", str(out)])

    printed = capsys.readouterr()
    assert status == 0
    assert printed.out == f"wrote {out}\n"
    assert printed.err == ""
    assert sorted(path.name for path in tmp_path.iterdir()) == ["report.html"]  # no temporary left


def test_the_page_is_self_contained_with_bokeh_inlined(page):
    tags = re.findall(r"<(?:script|link|img|iframe)\b[^>]*>", page)

    assert tags
    assert not [tag for tag in tags if re.search(r"\b(?:src|href)\s*=", tag)], tags
    scripts = re.findall(r"<script>(.*?)</script>", page, re.DOTALL)
    assert max(len(script) for script in scripts) > 500_000  # BokehJS itself, not a loader
    assert "Bokeh.embed.embed_items" in page


def test_the_page_has_every_chart_title(page):
    for title in TITLES:
        assert title in page, title


def test_the_page_holds_the_report_text_as_arena_report_prints_it(db, page, capsys):
    text = report_of(db, capsys)

    found = REPORT.search(page)

    assert found is not None
    assert html.unescape(found.group(1)) + "\n" == text


def test_the_nav_curve_ends_at_the_reports_nav_to_the_digit(db, page, capsys):
    text = report_of(db, capsys)
    result = result_at(db)

    nav = figures_of(page)["nav"]

    assert Decimal(nav["nav"][-1]) == result.nav
    assert Decimal(nav["capital_at_cost"][-1]) == result.capital_at_cost
    assert f"{result.nav:,.8f}" in text
    assert nav["seq"][-1] == result.seq


def test_the_buy_and_hold_curve_ends_at_the_reports_and_follows_its_rule_at_every_mark(db, page):
    nav = figures_of(page)["nav"]
    with SQLiteEventStore.open(db, readonly=True) as store:
        marks = [event.seq for event in store.read(event_types=["MarksRecorded"])]

    assert Decimal(nav["buy_and_hold"][-1]) == result_at(db).buy_and_hold
    by_seq = dict(zip(nav["seq"], nav["buy_and_hold"], strict=True))
    for seq in (marks[0], marks[len(marks) // 2], marks[-1]):
        assert Decimal(by_seq[seq]) == result_at(db, seq).buy_and_hold, seq


def test_html_at_a_seq_draws_the_log_as_of_that_seq(db, tmp_path, capsys):
    out = tmp_path / "at.html"

    status = main(["report", str(db), "--at-seq", "100", "--html", str(out)])

    capsys.readouterr()
    figures = figures_of(out.read_text(encoding="utf-8"))
    result = result_at(db, 100)
    assert status == 0
    assert figures["seq"] == 100
    assert figures["nav"]["seq"][-1] == 100
    assert Decimal(figures["nav"]["nav"][-1]) == result.nav
    assert Decimal(figures["nav"]["buy_and_hold"][-1]) == result.buy_and_hold


def test_the_page_draws_the_top_agents_cycles_and_the_best_agents_lineage(db, page):
    figures = figures_of(page)
    result = result_at(db)

    assert [curve["agent_id"] for curve in figures["equity"]] == [a.agent_id for a in result.agents[:10]]
    assert Decimal(figures["equity"][0]["equity"][-1]) <= result.agents[0].equity + 1  # last mark vs head
    assert figures["cycles"]
    assert any(entry["kills"] or entry["promotions"] for entry in figures["cycles"])
    assert all(": " in reason for entry in figures["cycles"] for reason in entry["kills"])
    lineage = figures["lineage"]
    assert lineage["best"] == result.agents[0].agent_id
    assert lineage["best"] in [node["agent_id"] for node in lineage["nodes"]]
    assert float(figures["drawdown"]["max_drawdown"]) >= 0
    assert all(Decimal(value) <= 0 for value in figures["drawdown"]["drawdown"])


def test_html_refuses_to_overwrite_an_existing_file_without_force(db, tmp_path, capsys):
    out = tmp_path / "report.html"
    out.write_text("keep me", encoding="utf-8")

    status = main(["report", str(db), "--html", str(out)])

    assert status == 2
    one_line_error(capsys, r"^arena: error: --html: '.*report\.html' already exists; pass --force")
    assert out.read_text(encoding="utf-8") == "keep me"


def test_html_with_force_replaces_an_existing_file(db, tmp_path, capsys):
    out = tmp_path / "report.html"
    out.write_text("old", encoding="utf-8")

    status = main(["report", str(db), "--html", str(out), "--force"])

    capsys.readouterr()
    assert status == 0
    assert FIGURES.search(out.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("where", "pattern"),
    [
        ("", r"^arena: error: --html: '.*' is a folder; pass the path of the HTML file"),
        ("missing/report.html", r"^arena: error: --html: '.*report\.html' is in no existing folder"),
    ],
)
def test_html_refuses_a_folder_or_a_path_in_no_folder_and_writes_nothing(
    db, tmp_path, capsys, where, pattern
):
    out = tmp_path / where

    status = main(["report", str(db), "--html", str(out)])

    assert status == 2
    one_line_error(capsys, pattern)
    assert list(tmp_path.iterdir()) == []


def test_html_without_bokeh_names_the_extra_to_install_and_writes_nothing(db, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "bokeh", None)  # what `import bokeh` meets when it is not installed
    out = tmp_path / "report.html"

    status = main(["report", str(db), "--html", str(out)])

    assert status == 2
    one_line_error(capsys, r"^arena: error: --html: the HTML report needs bokeh, which is not installed")
    assert list(tmp_path.iterdir()) == []


def test_the_missing_extra_message_names_the_pip_command(db, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "bokeh", None)

    main(["report", str(db), "--html", str(tmp_path / "report.html")])

    assert capsys.readouterr().err.rstrip("\n").endswith(f"install the report extra: {INSTALL}")


def test_force_without_html_or_png_is_refused(db, capsys):
    status = main(["report", str(db), "--force"])

    assert status == 2
    one_line_error(
        capsys, r"^arena: error: --force: it only replaces the files --html and --png write; pass --html OUT"
    )


def test_html_on_a_file_that_is_not_a_store_fails_in_one_line_and_writes_nothing(tmp_path, capsys):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a store at all" * 100)
    out = tmp_path / "report.html"

    status = main(["report", str(junk), "--html", str(out)])

    assert status == 2
    _, err = capsys.readouterr()
    assert err.startswith("arena: error: ")
    assert "Traceback" not in err
    assert not out.exists()


def test_html_at_a_seq_outside_the_log_writes_nothing(db, tmp_path, capsys):
    out = tmp_path / "report.html"

    status = main(["report", str(db), "--at-seq", "999999", "--html", str(out)])

    assert status == 2
    one_line_error(capsys, r"^arena: error: --at-seq: 999999 is outside the log")
    assert not out.exists()


def test_a_failed_write_leaves_neither_the_page_nor_a_temporary_file(db, tmp_path, capsys, monkeypatch):
    out = tmp_path / "report.html"

    def refuse(self, target):
        raise OSError(28, "No space left on device", str(target))

    monkeypatch.setattr(Path, "replace", refuse)

    status = main(["report", str(db), "--html", str(out)])

    assert status == 2
    one_line_error(capsys, r"^arena: error: No space left on device")
    assert list(tmp_path.iterdir()) == []


def test_importing_the_command_line_does_not_load_bokeh():
    probe = "import sys, actors, actors.cli; print(sorted(m for m in sys.modules if m.startswith('bokeh')))"

    done = subprocess.run(  # noqa: S603  (our own interpreter running a fixed probe)
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    )

    assert done.stdout.strip() == "[]"


@given(
    count=st.integers(min_value=0, max_value=10 * MAX_POINTS), limit=st.integers(min_value=2, max_value=50)
)
def test_thinning_keeps_at_most_the_limit_in_order_with_both_ends(count, limit):
    kept = picks(count, limit)

    assert len(kept) == min(count, limit)
    assert kept == sorted(set(kept))
    if count:
        assert kept[0] == 0
        assert kept[-1] == count - 1


@given(
    funding=st.decimals(min_value=1, max_value=10**9, places=8),
    steps=st.lists(
        st.dictionaries(
            st.sampled_from(["AAA", "BBB", "CCC"]),
            st.decimals(min_value=Decimal("0.01"), max_value=10**5, places=8),
            min_size=1,
        ),
        min_size=1,
        max_size=6,
    ),
)
def test_the_buy_and_hold_curve_applies_the_performance_reports_rule_at_every_mark(funding, steps):
    curve = buy_and_hold_curve(funding, steps)

    assert len(curve) == len(steps)
    for end in range(1, len(steps) + 1):
        seen = steps[:end]
        first = {}
        latest = {}
        for step in seen:
            for symbol, price in step.items():
                first.setdefault(symbol, price)
                latest[symbol] = price
        if set(first) == {symbol for step in steps for symbol in step}:  # every symbol of the basket marked
            assert curve[end - 1] == _buy_and_hold(funding, first, latest)
