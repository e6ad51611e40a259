"""Real LUT builds on ONNX Runtime over the tiny space: rows, metadata, caching, resume after kill -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edgebench.cli import app
from edgebench.devices import get_device
from edgebench.exceptions import UnreachableDeviceError
from edgebench.lut.builder import BuildResult, BuildSettings, build_lut
from edgebench.lut.keys import enumerate_keys
from edgebench.lut.store import read_table
from edgebench.searching.space import SearchSpace
from edgebench.types import Precision
from tests.lut.conftest import TINY_SPACE

SETTINGS = BuildSettings(passes=2, window=3, warmup=1, networks=4, workers=1)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[BuildResult, Path]:
    from edgebench.searching.space import load_space

    cache = tmp_path_factory.mktemp("cache")
    result = build_lut(get_device("host"), "onnxruntime", Precision.FP32, load_space(TINY_SPACE), cache, SETTINGS)
    return result, cache


def test_build_writes_every_key_with_its_statistics(built: tuple[BuildResult, Path], tiny: SearchSpace) -> None:
    result, cache = built
    rows, meta = result.table.rows, result.table.meta
    assert result.built and result.failed == 0
    assert len(rows) == len(enumerate_keys(tiny)) == 12
    assert (rows["count"] == SETTINGS.passes * SETTINGS.window).all()
    assert (rows["p10_ms"] <= rows["median_ms"]).all() and (rows["median_ms"] <= rows["p90_ms"]).all()
    assert set(rows["source"]) == {"measured"} and meta.source == "measured"
    assert (meta.device, meta.backend, meta.precision, meta.space, meta.threads) == (
        "host",
        "onnxruntime",
        "fp32",
        "tiny",
        1,
    )
    assert meta.correction.networks == SETTINGS.networks
    assert read_table(result.path).meta == meta
    assert not (result.path.with_suffix(".journal.jsonl")).exists()
    assert result.path == cache / "luts" / "host" / "tiny" / "onnxruntime-fp32.csv"


def test_a_finished_lut_is_reused(built: tuple[BuildResult, Path], tiny: SearchSpace) -> None:
    result, cache = built
    again = build_lut(get_device("host"), "onnxruntime", Precision.FP32, tiny, cache, SETTINGS)
    assert not again.built and again.table.meta == result.table.meta


def test_an_unreachable_device_refuses_instead_of_inventing_numbers(tiny: SearchSpace, tmp_path: Path) -> None:
    with pytest.raises(UnreachableDeviceError, match="'myriadx' is not attached"):
        build_lut(get_device("myriadx"), "openvino", Precision.FP16, tiny, tmp_path)


def test_predict_command_reads_the_lut(built: tuple[BuildResult, Path], tiny: SearchSpace, tmp_path: Path) -> None:
    import random

    cache = built[1]
    arch = tmp_path / "arch.json"
    arch.write_text(tiny.sample(random.Random(0)).to_json())
    args = ["predict", str(arch), "-d", "host", "--space", str(TINY_SPACE), "-b", "onnxruntime",
            "--cache-dir", str(cache), "--json"]  # fmt: skip
    out = CliRunner().invoke(app, args, terminal_width=300)
    assert out.exit_code == 0, out.output
    record = json.loads(out.output)
    assert record["source"] == "predicted" and len(record["blocks"]) in (4, 5)  # a LUT sum is never "measured"
    assert record["latency_ms"] == pytest.approx(record["overhead_ms"] + sum(b["ms"] for b in record["blocks"]))


def test_predict_without_a_lut_says_how_to_build_it(tiny: SearchSpace, tmp_path: Path) -> None:
    import random

    arch = tmp_path / "arch.json"
    arch.write_text(tiny.sample(random.Random(0)).to_json())
    args = ["predict", str(arch), "-d", "host", "--space", str(TINY_SPACE), "--cache-dir", str(tmp_path)]
    out = CliRunner().invoke(app, args, terminal_width=300)
    assert out.exit_code == 2
    assert "no LUT for host onnxruntime fp32 and space 'tiny'" in out.output
    assert "edgebench profile --device host --backend onnxruntime --precision fp32" in out.output


@pytest.mark.slow
def test_a_killed_build_resumes_with_every_row_once(tmp_path: Path) -> None:
    passes, window = 150, 20
    cmd = [
        sys.executable, "-m", "edgebench", "profile", "--device", "host", "-b", "onnxruntime", "--space",
        str(TINY_SPACE), "--cache-dir", str(tmp_path), "--passes", str(passes), "--window", str(window),
        "--workers", "1", "--networks", "4",
    ]  # fmt: skip
    journal = tmp_path / "luts" / "host" / "tiny" / "onnxruntime-fp32.journal.jsonl"
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if journal.exists() and journal.read_text().count('"pass"') >= 200:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the build finished before it could be killed; make it longer"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    windows_before = journal.read_text().count('"pass"')
    assert windows_before >= 200 and not journal.with_suffix("").with_suffix(".csv").exists()

    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    kept = int(rerun.stderr.split("resumed, kept ")[1].split()[0])
    assert windows_before - 1 <= kept <= windows_before  # the line the kill cut short is the only loss
    table = read_table(tmp_path / "luts" / "host" / "tiny" / "onnxruntime-fp32.csv")
    assert len(table.rows) == 12 and table.rows["label"].is_unique
    assert (table.rows["status"] == "COMPLETE").all()
    assert (table.rows["count"] == passes * window).all()  # no window lost, none timed twice
    assert not journal.exists()
