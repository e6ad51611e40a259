"""A wheel carries what the package finds at run time: device profiles, search spaces, the report template and the
shipped teacher; installed alone (no source tree beside it), it lists devices, shows one and predicts a model."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from this tree, installed (without dependencies: this environment has them) into a folder."""
    tmp = tmp_path_factory.mktemp("wheel")
    # two xdist workers may each build (pytest 9 with xdist 3.8 ignores xdist_group), and two concurrent `pip wheel`
    # runs of one tree collide in its build/ folder: one at a time, by a lock in the folder the workers share
    with (tmp_path_factory.getbasetemp().parent / "wheel.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp / "dist"),
                                str(ROOT)], capture_output=True, text=True)  # fmt: skip
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = (tmp / "dist").glob("edgebench-*.whl")
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(tmp / "site"),
                    str(wheel)], check=True, capture_output=True)  # fmt: skip
    return tmp / "site"


def edgebench(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The installed copy's CLI, run from outside the source tree."""
    env = {**os.environ, "PYTHONPATH": str(site), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "edgebench", *args], cwd=site.parent, env=env, capture_output=True,
                          text=True, timeout=300)  # fmt: skip


def test_the_installed_copy_is_the_wheels(installed: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(installed)}
    where = subprocess.run([sys.executable, "-c", "import edgebench; print(edgebench.__file__)"], cwd=installed.parent,
                           env=env, capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert where.startswith(str(installed))
    package = installed / "edgebench"
    assert {p.name for p in (package / "devices" / "profiles").glob("*.yaml")} >= {"myriadx.yaml", "rpi5.yaml"}
    assert (package / "searching" / "spaces" / "mbv2-cifar.yaml").is_file()
    assert list((package / "weights" / "teachers").glob("*/weights.pt"))
    assert len(list((package / "weights" / "baselines").glob("*/*/weights.pt"))) == 4  # the default task's widths


def test_a_wheel_install_lists_shows_and_predicts(installed: Path, tiny_onnx: Path) -> None:
    devices = edgebench(installed, "devices")
    assert devices.returncode == 0 and "myriadx" in devices.stdout and "rpi5" in devices.stdout, devices.stderr
    shown = edgebench(installed, "devices", "show", "myriadx")
    assert shown.returncode == 0 and "name: myriadx" in shown.stdout, shown.stderr
    predicted = edgebench(installed, "predict", str(tiny_onnx), "--device", "myriadx")
    assert predicted.returncode == 0 and "ms on myriadx openvino fp16" in predicted.stdout, predicted.stderr
