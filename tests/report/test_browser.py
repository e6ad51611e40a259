"""The report in a real browser: headless Chromium loads the written file, its DOM holds the plots and every
table row, and a screenshot of it is not blank."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib import image

from edgebench.report import write_report
from edgebench.results import COLUMNS
from tests.report.test_report import _row

CHROMIUM = shutil.which("chromium")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync")  # fmt: skip

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium not installed; .ci/run installs the Debian package chromium"
)


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    command = [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)


def test_chromium_renders_the_plots_and_the_table(tmp_path: Path) -> None:
    rows = [_row(c, "onnxruntime", "fp32", acc, ms) for c, acc, ms in [("a", 95.0, 1.0), ("b", 97.0, 1.8)]]
    rows.append(_row("broken", "onnxruntime", "fp32", None, None, error="ConfigError: no weights", source=""))
    page = write_report(pd.DataFrame(rows, columns=COLUMNS), tmp_path / "report.html", budget_ms=2.0)
    dom = _chromium(tmp_path, "--dump-dom", page.as_uri()).stdout
    assert dom.count("<svg") == 1 and "ConfigError: no weights" in dom
    assert len(dom.split('<table id="rows"')[1].split("</table>")[0].split("<tr")) - 2 == 3  # header + 3 rows
    png = tmp_path / "shot.png"
    _chromium(tmp_path, f"--screenshot={png}", "--window-size=1280,1400", page.as_uri())
    pixels = image.imread(png)[..., :3]
    assert pixels.std() > 0.05  # not a blank page
    colours = {tuple(p) for p in (pixels.reshape(-1, 3) * 255).astype(np.uint8)[::97]}
    assert len(colours) > 20  # text, lines and markers in several colours
