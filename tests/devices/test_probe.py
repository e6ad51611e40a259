"""`edgebench devices probe`: the host profile's priors probed on this CPU, and a warning where a profile's priors
were probed on another one."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from edgebench import api
from edgebench.api import probing
from edgebench.cli import app
from edgebench.costmodel.runtime_probe import RuntimeRates
from edgebench.devices import get_device, load_profile, save_profile
from edgebench.devices.local import cpu_label, cpu_model, vector_isa
from tests.test_cli import one_line_error
from tests.test_cli_costmodel import ARCHS


def test_probing_writes_a_host_profile_whose_priors_name_this_cpu(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "host.yaml"
    result = runner.invoke(app, ["devices", "probe", "-o", str(path), "-b", "onnxruntime", "--runs", "20"])
    assert result.exit_code == 0, result.output
    probed = load_profile(path)
    assert cpu_model() in probed.processor and probed.cost_model.calibrations == ()
    peak = probed.cost_model.peak_gflops["fp32"]
    assert peak.source.startswith(f"probed on {cpu_model()} (onnxruntime") and peak.value > 0
    own = probed.runtime("onnxruntime")
    assert own.conv_gflops is not None and own.conv_gflops.source.startswith(f"probed on {cpu_model()}")
    assert own.int8 is not None and own.int8.stem_ns.source.startswith(f"probed on {cpu_model()}")  # INT8 kernels too
    shipped = get_device("host").runtime("openvino")
    assert probed.runtime("openvino") == shipped  # a backend not asked for keeps the shipped figures
    assert api.foreign_priors(probed) is None


def test_priors_probed_on_another_cpu_are_named_and_a_typo_is_refused(runner: CliRunner, tmp_path: Path) -> None:
    host = get_device("host")
    elsewhere = host.model_copy(update={"processor": "local CPU (probed: Some Other CPU 9000, AVX2)"})
    warning = api.foreign_priors(elsewhere)
    assert warning is not None and "probed on Some Other CPU 9000, AVX2, not on this CPU" in warning
    assert "edgebench devices probe" in warning
    other_isa = "AVX2" if vector_isa() == "AVX-512" else "AVX-512"  # the same model name, other vector units
    same_name = host.model_copy(update={"processor": f"local CPU (probed: {cpu_model()}, {other_isa})"})
    assert f"not on this CPU ({cpu_label()})" in (api.foreign_priors(same_name) or "")
    assert api.foreign_priors(get_device("rpi5")) is None  # a board's priors are not a local probe's
    line = one_line_error(runner.invoke(app, ["devices", "probe", "-o", str(tmp_path / "h.yaml"), "-b", "tensorrt"]))
    assert "backends: the host runs onnxruntime" in line and "not tensorrt" in line
    assert not (tmp_path / "h.yaml").exists()


def test_calibrating_priors_from_another_cpu_warns(runner: CliRunner, tmp_path: Path) -> None:
    profile, csv = tmp_path / "host.yaml", tmp_path / "mine.csv"
    elsewhere = get_device("host").model_copy(update={"processor": "local CPU (probed: Some Other CPU 9000, AVX2)"})
    save_profile(elsewhere, profile, [])
    csv.write_text("arch_str,N,lat\n" + "".join(f"{a},1,{1 + i / 10}\n" for i, a in enumerate(ARCHS)))
    args = ["calibrate", "-d", str(profile), "-m", str(csv), "--latency-column", "lat", "-b", "onnxruntime"]
    result = runner.invoke(app, [*args, "-o", str(tmp_path / "out.yaml")], terminal_width=300)
    assert result.exit_code == 0, result.output
    assert "warning: 'host' has priors probed on Some Other CPU 9000" in " ".join(result.output.split())


def test_a_crashed_backend_probe_loses_only_its_own_rates(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    host = get_device("host")
    probed = host.model_copy(update={"processor": f"{cpu_model()} (probed here)"})
    rates = {"Sigmoid": {"value": 9.5, "source": "probed here", "note": "measured"}}

    def runtime_probe(profile: object, backend: str, runs: int) -> RuntimeRates:
        if backend == "openvino":
            raise RuntimeError("openvino crashed mid-probe")
        return RuntimeRates(backend, rates, {})

    monkeypatch.setattr(probing, "probe", lambda backend, runs: None)
    monkeypatch.setattr(probing, "with_probed_priors", lambda profile, found: probed)
    monkeypatch.setattr(probing, "probe_runtime", runtime_probe)
    path = tmp_path / "host.yaml"
    with pytest.raises(RuntimeError, match="openvino crashed"):
        api.probe_host(path, backends=["onnxruntime", "openvino"])
    kept = load_profile(path)  # written whole after the CPU and after ONNX Runtime
    assert kept.processor == probed.processor
    assert kept.runtime("onnxruntime").op_gelems["Sigmoid"].value == 9.5
    assert kept.runtime("openvino") == host.runtime("openvino")
    assert list(tmp_path.iterdir()) == [path]  # no temp file left beside it


def test_a_probe_reports_its_figures_and_keeps_the_header_it_is_given(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    host = get_device("host")
    cpu = SimpleNamespace(summary=lambda: "dense 3x3 conv 99 GFLOP/s")
    monkeypatch.setattr(probing, "probe", lambda backend, runs: cpu)
    monkeypatch.setattr(probing, "with_probed_priors", lambda profile, found: host)
    monkeypatch.setattr(probing, "probe_runtime", lambda profile, backend, runs: RuntimeRates(backend, {}, {}))
    path, lines = tmp_path / "host.yaml", []
    api.probe_host(path, backends=["onnxruntime"], figures=lines.append, header=["the shipped header"])
    assert lines[0] == "dense 3x3 conv 99 GFLOP/s" and lines[1].startswith("onnxruntime ops as networks have them")
    assert path.read_text().startswith("# the shipped header\n")
