"""``arena report DB --png DIR``: the report's main charts as PNG images, for papers and READMEs.

The images are the HTML page's charts (``_html.main_charts``: the same figures, the same drawing, so an
image never disagrees with the page), without their toolbars, one file each (``PNG_FILES``). Bokeh
renders a chart to an image only in a browser (``bokeh.io.export_png`` drives one through Selenium), so
``--png`` needs Chromium and its driver: Debian's ``chromium`` and ``chromium-driver``, found as
``$ARENA_CHROMIUM`` / ``$ARENA_CHROMEDRIVER`` when set, else on ``PATH``, else in ``/usr/bin`` (the ones
the browser test uses). One headless browser renders every chart, then quits.

Safety. Everything is checked before the log is read: the folder (a file is refused; a missing folder is
created, but only in an existing one), the images already there (refused without ``--force``, which
replaces only the images ``--png`` writes, never any other file), bokeh, selenium, Pillow and the browser
(a missing one is an error naming it and the ``apt-get`` line that installs it). The images are rendered
into a temporary folder beside them and moved into place only once all of them exist, so a failure
leaves no image and no half set.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from events import ArenaError, ValidationError

from ._html import INSTALL, PNG_CHARTS, main_charts, need_bokeh

if TYPE_CHECKING:
    from collections.abc import Iterator

    from trading import PerformanceReport

__all__ = [
    "BROWSER_INSTALL",
    "CHROMEDRIVER_ENV",
    "CHROMIUM_ENV",
    "PNG_FILES",
    "Browser",
    "check_png",
    "chrome",
    "find_browser",
    "write_pngs",
]

PNG_FILES: Final = tuple(f"{name}.png" for name in PNG_CHARTS)
"""The images ``--png`` writes, in this order: NAV vs buy-and-hold, drawdown, capital by tier, top agents."""
CHROMIUM_ENV: Final = "ARENA_CHROMIUM"
"""Set to the Chromium executable to use instead of the one on ``PATH``."""
CHROMEDRIVER_ENV: Final = "ARENA_CHROMEDRIVER"
"""Set to the chromedriver executable to use instead of the one on ``PATH``."""
BROWSER_INSTALL: Final = "apt-get install chromium chromium-driver"
_CHROMIUM: Final = ("Chromium", CHROMIUM_ENV, ("chromium", "chromium-browser"))
_DRIVER: Final = ("chromedriver", CHROMEDRIVER_ENV, ("chromedriver",))
_FALLBACK: Final = Path("/usr/bin")
_WINDOW: Final = "--window-size=1400,1000"
_EXPORT_TIMEOUT: Final = 60  # seconds bokeh waits for a chart to render; a 2,000-point line takes < 1


@dataclass(frozen=True, slots=True)
class Browser:
    """A Chromium executable and the chromedriver that drives it."""

    chromium: Path
    chromedriver: Path


def _find(what: str, variable: str, names: tuple[str, ...]) -> Path:
    override = os.environ.get(variable)
    if override:
        path = Path(override)
        if not (path.is_file() and os.access(path, os.X_OK)):
            msg = (
                f"${variable}: {override!r} is not an executable file; point it at {what}, or unset it to "
                f"use the one on PATH ({BROWSER_INSTALL})"
            )
            raise ArenaError(msg)
        return path
    for name in names:
        found = shutil.which(name) or (
            str(_FALLBACK / name) if os.access(_FALLBACK / name, os.X_OK) else None
        )
        if found:
            return Path(found)
    msg = (
        f"--png: {what} is needed to render the charts and was not found (not on PATH, not in {_FALLBACK}, "
        f"${variable} unset); install it: {BROWSER_INSTALL}, or set ${variable} to it"
    )
    raise ArenaError(msg)


def find_browser() -> Browser:
    """Return the Chromium and chromedriver to render with (the module docstring says where they are found).

    Raises:
        ArenaError: either is missing, or an override names no executable file.

    """
    return Browser(chromium=_find(*_CHROMIUM), chromedriver=_find(*_DRIVER))


@contextmanager
def chrome(browser: Browser, *flags: str) -> Iterator[Any]:
    """Yield a headless Chrome session of ``browser`` (Selenium's ``webdriver.Chrome``), quit on the way out.

    Raises:
        ArenaError: selenium is not installed.

    """
    try:
        from selenium import webdriver  # noqa: PLC0415  (the report extra, only when a browser is needed)
        from selenium.webdriver.chrome.service import Service  # noqa: PLC0415
    except ImportError:
        raise _needs("selenium") from None
    options = webdriver.ChromeOptions()
    options.binary_location = str(browser.chromium)
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", _WINDOW, *flags):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # what a test reads of the console
    driver = webdriver.Chrome(service=Service(str(browser.chromedriver)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def check_png(out: str, *, force: bool) -> tuple[Path, Browser]:
    """Return ``out`` as a folder that can take the images, and the browser to render them, before reading.

    Raises:
        ValidationError: ``out`` is a file, is in no existing folder, or holds images ``--png`` writes and
            ``force`` is false.
        ArenaError: bokeh, pandas, selenium or Pillow is not installed, or the browser is missing.

    """
    path = Path(out)
    if path.exists() and not path.is_dir():
        msg = f"--png: {out!r} is a file; pass the folder to write the images into, e.g. {path.parent}"
        raise ValidationError(msg, field="--png", value=out)
    if not path.exists() and not path.parent.is_dir():
        msg = f"--png: {out!r} is in no existing folder ({str(path.parent)!r}); create the folder first"
        raise ValidationError(msg, field="--png", value=out)
    there = [name for name in PNG_FILES if (path / name).exists()]
    if there and not force:
        held = ", ".join(there)
        msg = f"--png: {out!r} already holds {held}; pass --force to replace them, or another folder"
        raise ValidationError(msg, field="--png", value=out)
    need_bokeh("--png", "rendering the charts")
    for module, name in (("selenium", "selenium"), ("PIL", "Pillow")):
        try:
            __import__(module)
        except ImportError:
            raise _needs(name) from None
    return path, find_browser()


def _needs(name: str) -> ArenaError:
    msg = f"--png: rendering the charts needs {name}, which is not installed; install the report extra: "
    msg += INSTALL
    return ArenaError(msg)


def write_pngs(out: str, source: str, *, result: PerformanceReport, force: bool) -> list[Path]:
    """Write the main charts of the store at ``source`` as of ``result.seq`` into ``out``; return the images.

    Raises:
        ValidationError, ArenaError: as ``check_png`` says.
        StoreError: the file is not a readable store.
        OSError: an image could not be written (none is left behind).

    """
    from bokeh.io import export_png  # noqa: PLC0415  (the optional extra)

    path, browser = check_png(out, force=force)
    charts = main_charts(source, result)
    home = path if path.is_dir() else path.parent
    staging = Path(tempfile.mkdtemp(prefix=".arena-png.", dir=home))
    try:
        with chrome(browser) as driver:
            for (name, chart), file in zip(charts.items(), PNG_FILES, strict=True):
                chart.toolbar_location = None  # an image has nothing to click
                export_png(chart, filename=str(staging / file), webdriver=driver, timeout=_EXPORT_TIMEOUT)
                if not (staging / file).is_file():
                    msg = f"--png: the browser rendered no image of the {name} chart; nothing was written"
                    raise ArenaError(msg)
        path.mkdir(exist_ok=True)
        written = []
        mask = os.umask(0)  # mkdtemp's folder is private; the images get the mode of any new file
        os.umask(mask)
        for file in PNG_FILES:
            (staging / file).chmod(0o666 & ~mask)
            (staging / file).replace(path / file)
            written.append(path / file)
        return written
    finally:
        shutil.rmtree(staging, ignore_errors=True)
