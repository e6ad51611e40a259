"""`edgebench run` on a device behind an agent: the converted artifact's accuracy is scored from outputs the agent
computes, its latency is the agent's (source ``agent``), and the row names the agent's CPU and runtime."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgebench.agent_client import AgentClient
from edgebench.runner import RunCandidate, RunJob, execute
from edgebench.types import Precision
from tests.agent.conftest import ENV, TOKEN, board_profile
from tests.conftest import two_class_npz_and_checkpoint


@pytest.mark.parametrize("backend", ["onnxruntime", "openvino"])
def test_a_run_row_through_the_agent_scores_what_the_agent_computes(
    agent: str, backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV, TOKEN)
    data, checkpoint = two_class_npz_and_checkpoint(tmp_path, "student")
    candidate = RunCandidate("student", "checkpoint", checkpoint)
    board = str(board_profile(tmp_path, agent))
    remote = execute(RunJob(candidate, board, backend, Precision.FP32, f"npz:{data}", repeats=20))
    here = execute(RunJob(candidate, "host", backend, Precision.FP32, f"npz:{data}", repeats=20))
    facts = AgentClient(agent, TOKEN).info()
    assert remote.status == "COMPLETE" and remote.source == "agent" and remote.device == "board"
    assert remote.top1_pct == here.top1_pct and remote.parity_max_rel_err < 1e-3
    assert remote.cpu == facts["cpu"] and remote.backend_version == facts["runtimes"][backend]
    assert remote.p10_ms <= remote.median_ms <= remote.p90_ms and remote.predicted_source == "estimated"
