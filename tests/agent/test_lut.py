"""LUT builds through a real agent on loopback: the same blocks timed there and here agree to within what a unit
slip or a timed round trip would break (close agreement is a figure of benchmarks/agent_lut.py, not a unit test:
this VM's CPU drifts by tens of percent between minutes); killing the agent mid-build stops the build with every
timed window kept, and the rerun after a restart completes it. The build is the same for every runtime; each
runtime's artifacts running and timed through the agent are test_agent.py's (LiteRT's double conversion here cost
a minute of the suite)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edgebench.backends import get_backend
from edgebench.devices import load_profile
from edgebench.exceptions import UnreachableDeviceError
from edgebench.lut.builder import BuildSettings, build_lut
from edgebench.lut.keys import enumerate_keys
from edgebench.lut.store import LutId, LutTable, read_table
from edgebench.searching.space import load_space
from edgebench.testing.agent import standalone, start_agent
from edgebench.types import Precision
from tests.agent.conftest import ENV, TOKEN, board_profile
from tests.lut.conftest import TINY_SPACE

SETTINGS = BuildSettings(passes=3, window=20, warmup=3, networks=4, workers=1)
#: The local build, in a fresh process as the agent is: this test process's own state (hundreds of tests in) once
#: made every local row 30 % slower than the agent's, in all three rounds.
LOCAL_BUILD = """
import json, sys
from pathlib import Path
from edgebench.devices import get_device
from edgebench.lut.builder import BuildSettings, build_lut
from edgebench.searching.space import load_space
from edgebench.types import Precision
backend, space, cache, settings = sys.argv[1:]
result = build_lut(get_device("host"), backend, Precision.FP32, load_space(Path(space)), Path(cache),
                   BuildSettings(**json.loads(settings)), force=True)
print(result.path)
"""


def build_here(backend: str, cache: Path) -> LutTable:
    args = [backend, str(TINY_SPACE), str(cache), json.dumps(vars(SETTINGS))]
    done = subprocess.run([sys.executable, "-c", LOCAL_BUILD, *args], capture_output=True, text=True, check=True)
    return read_table(Path(done.stdout.strip().splitlines()[-1]))


def _share_artifacts(backend: str, space: str, root: Path) -> None:
    """The board's converted blocks as the local build's (the same CPU converts them the same): this test is about
    timing, not converting twice."""
    version = get_backend(backend).version()
    board, here = (LutId(device, backend, "fp32", space) for device in ("board", "host"))
    target = here.artifact_dir(root / "local", version)
    if not target.exists():
        shutil.copytree(board.artifact_dir(root / "remote", version), target)


def test_a_lut_built_through_the_agent_matches_one_built_here(
    agent: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = "onnxruntime"
    monkeypatch.setenv(ENV, TOKEN)
    space = load_space(TINY_SPACE)
    board = load_profile(board_profile(tmp_path, agent))
    remote = build_lut(board, backend, Precision.FP32, space, tmp_path / "remote", SETTINGS, force=True)
    _share_artifacts(backend, space.name, tmp_path)
    local = build_here(backend, tmp_path / "local")
    rows = remote.table.rows
    assert remote.failed == 0 and (local.rows["status"] == "COMPLETE").all()
    assert len(rows) == len(enumerate_keys(space)) and list(rows["label"]) == list(local.rows["label"])
    assert set(rows["source"]) == {"agent"} and remote.table.meta.source == "agent"
    assert (rows["count"] == SETTINGS.passes * SETTINGS.window).all()
    ratio = rows["latency_ms"].to_numpy() / local.rows["latency_ms"].to_numpy()
    # The same CPU timed two ways. A CI run once saw the agent's rows at 0.65x the local ones in three rounds,
    # so the bound is loose; it still fails on seconds taken for milliseconds (1000x) or on a loopback round trip
    # of a few hundred microseconds counted into blocks of tens of microseconds.
    assert 1 / 3 < float(np.median(ratio)) < 3, ratio
    assert ((ratio > 0.2) & (ratio < 5.0)).all(), ratio


class KillAfter:
    """Progress that kills the agent after ``n`` timing windows."""

    def __init__(self, process: object, n: int) -> None:
        self.process, self.n, self.timing, self.windows = process, n, False, 0

    def phase(self, name: str, total: int) -> None:
        self.timing = name.startswith("timing")

    def advance(self, n: int = 1) -> None:
        if self.timing:
            self.windows += n
            if self.windows == self.n:
                self.process.kill()  # type: ignore[attr-defined]
                self.process.wait()  # type: ignore[attr-defined]


def test_killing_the_agent_mid_build_loses_no_timed_window(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, TOKEN)
    space, settings = load_space(TINY_SPACE), BuildSettings(passes=2, window=5, warmup=1, networks=4, workers=1)
    command = standalone(tmp_path / "board")  # the single file a board runs, away from the edgebench package
    first = start_agent(command, TOKEN)
    board = load_profile(board_profile(tmp_path, first.url, retries=1))
    cache, killer = tmp_path / "cache", KillAfter(first.process, 7)
    lost = f"agent {first.url} did not answer /measure after 2 tries.*the 7 windows timed so far are kept"
    with pytest.raises(UnreachableDeviceError, match=lost):
        build_lut(board, "onnxruntime", Precision.FP32, space, cache, settings, progress=killer)
    restarted = start_agent(command, TOKEN, first.port)  # the same address, as a restarted board has
    try:
        result = build_lut(board, "onnxruntime", Precision.FP32, space, cache, settings)
    finally:
        restarted.stop()
    assert result.built and result.resumed_windows == 7 and result.failed == 0
    assert (result.table.rows["count"] == settings.passes * settings.window).all()
    assert result.table.meta.correction.networks == settings.networks
