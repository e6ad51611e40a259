"""One place decides where a device's numbers come from: the Target its profile's connection names."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from edgebench.backends.base import Artifact
from edgebench.devices import get_device
from edgebench.exceptions import UnreachableDeviceError, UnsupportedError
from edgebench.target import Agent, Estimated, Local, source_of, target_for
from edgebench.testing.agent import host_as_board
from edgebench.types import Precision, Source

ROOT = Path(__file__).resolve().parents[1]


def test_each_connection_names_its_target_and_label() -> None:
    host, stick = target_for(get_device("host")), target_for(get_device("myriadx"))
    assert isinstance(host, Local) and host.source is Source.MEASURED and host.measures
    assert host.require_measurable() is host
    assert isinstance(stick, Estimated) and stick.source is Source.ESTIMATED and not stick.measures
    with pytest.raises(UnreachableDeviceError, match="'myriadx' is not attached to this machine"):
        stick.require_measurable()
    assert source_of(get_device("myriadx")) is Source.ESTIMATED


def test_an_agent_device_needs_its_token_before_any_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    board = get_device(str(host_as_board(tmp_path, "http://127.0.0.1:9", "EDGEBENCH_AGENT_TOKEN")))
    monkeypatch.delenv("EDGEBENCH_AGENT_TOKEN", raising=False)
    assert source_of(board) is Source.AGENT  # a listing needs no token
    with pytest.raises(UnreachableDeviceError, match=r"\$EDGEBENCH_AGENT_TOKEN is not set"):
        target_for(board)
    monkeypatch.setenv("EDGEBENCH_AGENT_TOKEN", "t")
    assert isinstance(target_for(board), Agent) and target_for(board).source is Source.AGENT


def test_a_local_profile_naming_another_processor_is_not_timed_here(tmp_path: Path) -> None:
    host = get_device("host")
    runtimes = [r.model_copy(update={"device": "GPU"}) if r.backend == "openvino" else r for r in host.runtimes]
    gpu = type(host).model_validate({**host.model_dump(), "runtimes": [r.model_dump() for r in runtimes]})
    artifact = Artifact(tmp_path / "m.xml", "openvino", Precision.FP32, (1, 3, 32, 32))
    with pytest.raises(UnsupportedError, match="runs openvino on GPU, which edgebench times only through an agent"):
        target_for(gpu).open(artifact, 1)


def test_no_module_but_the_target_reads_a_profiles_connection() -> None:
    """Whether a device is here, behind an agent or estimated is decided in target.py (and validated in devices/)."""
    readers = set()
    for path in (ROOT / "edgebench").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr == "connection":
                readers.add(str(path.relative_to(ROOT)))
    assert readers <= {"edgebench/target.py", "edgebench/devices/profile.py"}
