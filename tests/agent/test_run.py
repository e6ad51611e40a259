"""`edgebench run` on a device behind an agent: the converted artifact's accuracy is scored from outputs the agent
computes, its latency is the agent's (source ``agent``), and the row names the agent's CPU and runtime."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgebench.agent_client import AgentClient
from edgebench.exceptions import UnreachableDeviceError
from edgebench.results import ResultsTable, read_results
from edgebench.runner import RunCandidate, RunJob, execute, plan_jobs, run_jobs
from edgebench.testing.agent import loopback_agent
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


def test_a_run_whose_agent_stops_answering_stops_and_a_rerun_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV, TOKEN)
    data, checkpoint = two_class_npz_and_checkpoint(tmp_path, "student")
    candidates = [RunCandidate(name, "checkpoint", checkpoint) for name in ("a", "b", "c")]
    table = ResultsTable(tmp_path / "run")
    with loopback_agent(token=TOKEN) as running:
        board = str(board_profile(tmp_path, running.url, retries=0))
        pairs = [("onnxruntime", Precision.FP32)]
        rows = run_jobs(plan_jobs(candidates, board, pairs, f"npz:{data}", table.done(), repeats=5), table, 300)
        first = next(rows)
    assert first.status == "COMPLETE" and first.source == "agent"
    lost = f"agent {running.url} did not answer /info after 1 tries.*the 1 rows run so far are in .*run the other 2"
    with pytest.raises(UnreachableDeviceError, match=lost):
        next(rows)
    assert list(read_results(tmp_path / "run")["candidate"]) == ["a"]  # no FAILED row blames a candidate
    assert [j.candidate.name for j in plan_jobs(candidates, board, pairs, None, table.done())] == ["b", "c"]
