"""``arena report DB --png DIR``: the main charts as valid images; refused paths leave nothing behind."""

from __future__ import annotations

import re
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
from PIL import Image

from actors.cli import main
from actors.cli._png import BROWSER_INSTALL, CHROMEDRIVER_ENV, CHROMIUM_ENV, PNG_FILES, Browser, find_browser
from tests.browser import browser_or_skip

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("png") / "arena.db"
    status = main(
        [
            *("simulate", "--db", str(path), "--agents", "6", "--days", "4"),
            *("--seed", "1", "--cycle-days", "1", "--quiet"),
        ]
    )
    assert status == 0
    return path


def one_line_error(capsys, pattern: str) -> str:
    out, err = capsys.readouterr()
    assert out == ""
    assert "Traceback" not in err
    assert err.count("\n") == 1, err
    assert re.match(pattern, err), err
    return err


def assert_chart_image(path: Path) -> None:
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE), path
    assert len(data) > 5_000, (path, len(data))  # a drawn chart, not a blank canvas
    with Image.open(path) as image:
        assert image.format == "PNG"
        width, height = image.size
        assert width >= 800, image.size
        assert height >= 250, image.size
        colors = image.convert("RGB").getcolors(maxcolors=1_000_000)
        assert colors is not None
        assert len(colors) > 20, path  # lines, axes, labels: many colours, not one


def test_png_writes_each_main_chart_as_a_valid_image_and_prints_their_paths(db, tmp_path, capsys):
    browser_or_skip()
    out = tmp_path / "charts"

    status = main(["report", str(db), "--png", str(out)])

    assert status == 0
    assert capsys.readouterr().out == "".join(f"wrote {out / name}\n" for name in PNG_FILES)
    assert sorted(p.name for p in out.iterdir()) == sorted(PNG_FILES)
    for name in PNG_FILES:
        assert_chart_image(out / name)


def test_png_with_html_writes_both_and_force_replaces_only_its_own_images(db, tmp_path, capsys):
    browser_or_skip()
    page = tmp_path / "report.html"
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    for name in PNG_FILES:
        (tmp_path / name).write_bytes(b"old")

    status = main(["report", str(db), "--html", str(page), "--png", str(tmp_path), "--force"])

    assert status == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"wrote {page}", *(f"wrote {tmp_path / name}" for name in PNG_FILES)]
    assert "arena-figures" in page.read_text(encoding="utf-8")
    for name in PNG_FILES:
        assert_chart_image(tmp_path / name)
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".arena-png.")]


def test_png_refuses_to_overwrite_images_already_there_without_force(db, tmp_path, capsys):
    (tmp_path / "nav.png").write_bytes(b"old")

    status = main(["report", str(db), "--png", str(tmp_path)])

    assert status == 2
    one_line_error(
        capsys, rf"^arena: error: --png: '{re.escape(str(tmp_path))}' already holds nav.png; pass --force"
    )
    assert [p.name for p in tmp_path.iterdir()] == ["nav.png"]
    assert (tmp_path / "nav.png").read_bytes() == b"old"


def test_png_refuses_a_file_or_a_path_in_no_folder_and_writes_nothing(db, tmp_path, capsys):
    (tmp_path / "a.png").write_bytes(b"x")

    assert main(["report", str(db), "--png", str(tmp_path / "a.png")]) == 2
    one_line_error(capsys, r"^arena: error: --png: '.*a\.png' is a file; pass the folder to write the images")
    assert main(["report", str(db), "--png", str(tmp_path / "no" / "charts")]) == 2
    one_line_error(capsys, r"^arena: error: --png: '.*charts' is in no existing folder")

    assert [p.name for p in tmp_path.iterdir()] == ["a.png"]


def test_png_without_a_browser_names_what_is_missing_and_how_to_install_it(db, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv(CHROMIUM_ENV, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr("actors.cli._png._FALLBACK", tmp_path / "empty")
    out = tmp_path / "charts"

    status = main(["report", str(db), "--png", str(out)])

    assert status == 2
    err = one_line_error(capsys, r"^arena: error: --png: Chromium is needed to render the charts and was not")
    assert f"install it: {BROWSER_INSTALL}, or set ${CHROMIUM_ENV}" in err
    assert list(tmp_path.iterdir()) == []


def test_a_browser_override_that_is_no_executable_is_named(db, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv(CHROMEDRIVER_ENV, str(tmp_path / "nowhere"))

    status = main(["report", str(db), "--png", str(tmp_path / "charts")])

    assert status == 2
    one_line_error(capsys, rf"^arena: error: \${CHROMEDRIVER_ENV}: '.*nowhere' is not an executable file;")
    assert list(tmp_path.iterdir()) == []


def test_png_without_selenium_names_the_extra_and_writes_nothing(db, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "selenium", None)  # what `import selenium` meets when not installed

    status = main(["report", str(db), "--png", str(tmp_path / "charts")])

    assert status == 2
    one_line_error(
        capsys, r"^arena: error: --png: rendering the charts needs selenium, which is not installed"
    )
    assert list(tmp_path.iterdir()) == []


def test_a_failed_render_leaves_no_image_and_no_temporary_folder(db, tmp_path, capsys, monkeypatch):
    @contextmanager
    def fake_chrome(_browser, *_flags):
        yield object()

    def refuse(*_args, **_kwargs):
        msg = "the browser crashed"
        raise OSError(msg)

    fake = Browser(chromium=Path("/bin/true"), chromedriver=Path("/bin/true"))
    monkeypatch.setattr("actors.cli._png.find_browser", lambda: fake)
    monkeypatch.setattr("actors.cli._png.chrome", fake_chrome)
    monkeypatch.setattr("bokeh.io.export_png", refuse)

    status = main(["report", str(db), "--png", str(tmp_path)])

    assert status == 2
    one_line_error(capsys, r"^arena: error: the browser crashed$")
    assert list(tmp_path.iterdir()) == []


def test_the_overrides_name_the_browser_and_its_driver(tmp_path, monkeypatch):
    for name, variable in (("my-chromium", CHROMIUM_ENV), ("my-driver", CHROMEDRIVER_ENV)):
        program = tmp_path / name
        program.write_text("#!/bin/sh\n", encoding="utf-8")
        program.chmod(0o755)
        monkeypatch.setenv(variable, str(program))

    assert find_browser() == Browser(chromium=tmp_path / "my-chromium", chromedriver=tmp_path / "my-driver")


def test_a_missing_browser_skips_saying_how_to_install_it_or_fails_under_ci(tmp_path, monkeypatch):
    for variable in (CHROMIUM_ENV, CHROMEDRIVER_ENV, "ARENA_REQUIRE_BROWSER"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr("actors.cli._png._FALLBACK", tmp_path)

    with pytest.raises(pytest.skip.Exception, match=re.escape(BROWSER_INSTALL)):
        browser_or_skip()
    monkeypatch.setenv("ARENA_REQUIRE_BROWSER", "1")
    with pytest.raises(pytest.fail.Exception, match=r"^ARENA_REQUIRE_BROWSER=1 but the browser is missing"):
        browser_or_skip()
