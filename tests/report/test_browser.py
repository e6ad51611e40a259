"""The report in a real browser: headless Chromium loads the written file, its DOM holds the plots and every
table row, a click on a column header sorts the table, and a screenshot of the page is not blank."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib import image

from edgebench.reporting import write_report
from edgebench.results import COLUMNS
from tests.report.test_report import _row

CHROMIUM = shutil.which("chromium")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync")  # fmt: skip

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium not installed; .ci/run installs the Debian package chromium"
)


@pytest.fixture
def page(tmp_path: Path) -> Path:
    rows = [_row(c, "onnxruntime", "fp32", acc, ms) for c, acc, ms in [("a", 97.0, 1.0), ("b", 95.0, 1.8)]]
    rows.append(_row("broken", "onnxruntime", "fp32", None, None, error="ConfigError: no weights", source=""))
    return write_report(pd.DataFrame(rows, columns=COLUMNS), tmp_path / "report.html", budget_ms=2.0)


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    command = [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)


def _candidates(dom: str) -> list[str]:
    """The candidate column of the full table, top to bottom."""
    table = dom.split('<table id="rows"')[1].split("</table>")[0]
    return re.findall(r'<tr class="[^"]*">\s*<td class="l">([^<]*)</td>', table)


def test_chromium_loads_the_plots_and_every_row(page: Path, tmp_path: Path) -> None:
    dom = _chromium(tmp_path, "--dump-dom", page.as_uri()).stdout
    assert dom.count("<svg") == 1 and "ConfigError: no weights" in dom
    assert _candidates(dom) == ["a", "b", "broken"]  # fastest first, the failed row (no latency) last


def test_a_click_on_a_header_sorts_the_table(page: Path, tmp_path: Path) -> None:
    header = "Array.from(document.querySelectorAll('#rows th')).find(th => th.textContent === 'top1_pct')"
    click = f"<script>{header}.click();</script>"  # ascending
    clicked = tmp_path / "clicked.html"
    clicked.write_text(page.read_text(encoding="utf-8").replace("</body>", f"{click}\n</body>"), encoding="utf-8")
    dom = _chromium(tmp_path, "--dump-dom", clicked.as_uri()).stdout
    assert _candidates(dom) == ["b", "a", "broken"]  # 95 %, 97 %, no accuracy last
    twice = clicked.read_text(encoding="utf-8").replace(click, click * 2)  # descending
    clicked.write_text(twice, encoding="utf-8")
    assert _candidates(_chromium(tmp_path, "--dump-dom", clicked.as_uri()).stdout) == ["a", "b", "broken"]


def test_a_screenshot_of_the_page_is_not_blank(page: Path, tmp_path: Path) -> None:
    png = tmp_path / "shot.png"
    _chromium(tmp_path, f"--screenshot={png}", "--window-size=1280,2000", page.as_uri())
    pixels = image.imread(png)[..., :3]
    assert pixels.shape[:2] == (2000, 1280)
    assert pixels.std() > 0.05  # not a blank page
    colours = {tuple(p) for p in (pixels.reshape(-1, 3) * 255).astype(np.uint8)[::97]}
    assert len(colours) > 20  # text, lines and markers in several colours
