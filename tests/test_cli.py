"""The CLI: listing, one-line errors with exit code 2 for every kind of bad input, and a real bench run."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import onnx
import pytest
from onnx import TensorProto, helper
from typer.testing import CliRunner

from edgebench.cli import app
from edgebench.devices.registry import SHIPPED_DIR

SHIPPED = {"host", "myriadx", "rpi4", "rpi5", "jetson-nano"}


def one_line_error(result) -> str:  # type: ignore[no-untyped-def]
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    assert "Traceback" not in result.output
    return lines[0]


def test_devices_lists_the_shipped_profiles_with_their_latency_source(runner: CliRunner) -> None:
    result = runner.invoke(app, ["devices"], terminal_width=200)
    assert result.exit_code == 0, result.output
    rows = {line.split("│")[1].strip(): line for line in result.output.splitlines() if line.startswith("│")}
    assert set(rows) >= SHIPPED
    assert "measured" in rows["host"] and "estimated" in rows["myriadx"]


def test_devices_show_prints_the_profile_with_provenance(runner: CliRunner) -> None:
    result = runner.invoke(app, ["devices", "show", "myriadx"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "kind: vpu" in result.output and "source:" in result.output and "fp16" in result.output


def test_unknown_device_suggests_the_closest(runner: CliRunner) -> None:
    line = one_line_error(runner.invoke(app, ["devices", "show", "myriad"], terminal_width=300))
    assert "unknown device 'myriad'" in line and "Did you mean 'myriadx'" in line


def test_broken_profile_names_file_and_field(runner: CliRunner, tmp_path: Path) -> None:
    text = (SHIPPED_DIR / "host.yaml").read_text()
    bad = tmp_path / "host.yaml"
    bad.write_text(text.replace("threads: 1", "threads: 1\nthreds: 2"))
    line = one_line_error(runner.invoke(app, ["devices", "show", str(bad)], terminal_width=300))
    assert str(bad) in line and "threds" in line


def test_broken_yaml_syntax_names_the_line(runner: CliRunner, tmp_path: Path, tiny_onnx: Path) -> None:
    bad = tmp_path / "host.yaml"
    bad.write_text("name: host\nruntimes: [onnxruntime\n")
    line = one_line_error(runner.invoke(app, ["bench", str(tiny_onnx), "--device", str(bad)], terminal_width=300))
    assert str(bad) in line and "line" in line and "YAML" in line


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--device", "nosuch"], "unknown device 'nosuch'"),
        (["--device", "host", "--backend", "onnxrt"], "Did you mean 'onnxruntime'"),
        (["--device", "host", "--precision", "int4"], "unknown precision 'int4'"),
        (["--device", "myriadx", "--backend", "openvino", "--precision", "int8"], "only at fp16"),
        (["--device", "myriadx", "--backend", "tflite"], "does not run backend 'tflite'"),
        (
            ["--device", "host", "--backend", "tflite", "--precision", "fp16"],
            "runs tflite only at fp32, int8, not fp16",
        ),
        (["--device", "rpi4"], "not attached to this machine"),
        (
            [],
            "'myriadx' is not attached to this machine (connection: none), so it cannot be measured here: "
            "--device host measures this machine",
        ),
    ],
)
def test_bad_bench_requests_fail_before_any_work(
    runner: CliRunner, tiny_onnx: Path, args: list[str], expected: str
) -> None:
    line = one_line_error(runner.invoke(app, ["bench", str(tiny_onnx), *args], terminal_width=300))
    assert expected in line


def test_a_file_that_is_not_a_model(runner: CliRunner, tmp_path: Path) -> None:
    junk = tmp_path / "weights.onnx"
    junk.write_bytes(b"\x00\x01 definitely not protobuf \xff" * 10)
    line = one_line_error(runner.invoke(app, ["bench", str(junk), "-d", "host"], terminal_width=300))
    assert str(junk) in line and "not a valid ONNX model" in line


def test_missing_model_file(runner: CliRunner, tmp_path: Path) -> None:
    line = one_line_error(runner.invoke(app, ["bench", str(tmp_path / "nope.onnx"), "-d", "host"], terminal_width=300))
    assert "no such model file" in line


def test_missing_optional_backend_names_the_pip_extra(
    runner: CliRunner, tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "openvino", None)  # import openvino now raises ImportError
    line = one_line_error(
        runner.invoke(app, ["bench", str(tiny_onnx), "-d", "host", "-b", "openvino"], terminal_width=300)
    )
    assert "backend 'openvino' is not installed" in line and "pip install 'edgebench[openvino]'" in line


def test_debug_shows_the_traceback(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--debug", "devices", "show", "myriad"], terminal_width=300)
    assert result.exit_code == 2 and "Traceback" in result.output


def _einsum_model(path: Path, ir_version: int) -> Path:
    node = helper.make_node("Einsum", ["x", "x"], ["y"], equation="bchw,bchw->bc", name="weird")
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=ir_version), path)
    return path


def test_a_model_nothing_can_run_as_reference_is_refused(runner: CliRunner, tmp_path: Path) -> None:
    path = _einsum_model(tmp_path / "future.onnx", ir_version=14)  # ONNX Runtime reads up to 13
    line = one_line_error(
        runner.invoke(app, ["bench", str(path), "-d", "host", "-b", "onnxruntime"], terminal_width=300)
    )
    assert "future.onnx: no reference to check parity against" in line and "'Einsum'" in line


@pytest.mark.slow
def test_an_op_the_backend_cannot_run_is_a_failed_row(runner: CliRunner, tmp_path: Path) -> None:
    path = _einsum_model(tmp_path / "einsum.onnx", ir_version=8)
    result = runner.invoke(
        app,
        ["bench", str(path), "-d", "host", "-b", "onnxruntime", "-b", "tflite", "--json", str(tmp_path / "r.json")],
        terminal_width=300,
    )
    assert result.exit_code == 1
    assert "Einsum" in result.output and "weird" in result.output
    ort_row, tflite_row = json.loads((tmp_path / "r.json").read_text())
    assert tflite_row["status"] == "FAILED" and "Einsum" in tflite_row["error"]
    assert ort_row["status"] == "COMPLETE" and ort_row["parity_reference"] == "onnxruntime"


@pytest.mark.slow
def test_bench_all_backends_fp32_and_int8(runner: CliRunner, tiny_onnx: Path, tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    result = runner.invoke(
        app,
        [
            "bench",
            str(tiny_onnx),
            "--device",
            "host",
            "--backend",
            "all",
            "-p",
            "fp32",
            "-p",
            "int8",
            "--repeats",
            "20",
            "--json",
            str(out),
        ],
        terminal_width=200,
    )
    assert result.exit_code == 0, result.output
    records = json.loads(out.read_text())
    assert {(r["backend"], r["precision"]) for r in records} == {
        (b, p) for b in ("onnxruntime", "openvino", "tflite") for p in ("fp32", "int8")
    }
    for r in records:
        assert r["status"] == "COMPLETE" and r["source"] == "measured" and r["device"] == "host"
        assert r["schema_version"] == 1 and r["threads"] == 1 and r["input_shape"] == [1, 3, 16, 16]
        assert r["count"] == 20 == len(r["samples_ms"]) and 0 < r["p10_ms"] <= r["median_ms"] <= r["p90_ms"]
        assert r["parity_max_rel_err"] <= {"fp32": 1e-3, "int8": 0.1}[r["precision"]]
        assert r["parity_reference"] == "onnxruntime"  # the user's own file, not edgebench's import of it
        assert r["backend_version"][0].isdigit()


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["bench", "m.onnx", "--threads", "-3"], "--threads"),
        (["bench", "m.onnx", "--repeats", "0"], "--repeats"),
        (["bench", "m.onnx", "--warmup", "-1"], "--warmup"),
        (["run", "x", "--threads", "0"], "--threads"),
        (["profile", "--passes", "0"], "--passes"),
        (["profile", "--workers", "0"], "--workers"),
        (["agent", "serve", "--port", "70000"], "--port"),
    ],
)
def test_numeric_options_out_of_range_are_argument_errors(runner: CliRunner, args: list[str], option: str) -> None:
    result = runner.invoke(app, args, terminal_width=200)
    assert result.exit_code == 2 and f"Invalid value for '{option}'" in result.output, result.output


@pytest.mark.parametrize(
    "args",
    [
        ["profile", "--device", "rpi5"],
        ["search", "--device", "myriadx", "--latency", "15ms", "--method", "oneshot"],
        ["prune", "--device", "rpi5", "--latency", "1ms"],
        ["estimator"],
    ],
)
def test_a_cache_that_cannot_be_written_fails_in_one_line_before_any_work(
    runner: CliRunner, tmp_path: Path, args: list[str]
) -> None:
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache folder should be")
    result = runner.invoke(app, [*args, "--cache-dir", str(blocker)], terminal_width=300)
    line = one_line_error(result)
    assert f"cache {blocker} cannot be written" in line and "EDGEBENCH_CACHE or --cache-dir" in line


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["bench", "{tmp}", "-d", "host"], "a folder, not a model file; give an .onnx file"),
        (["bench", "resnet18-0.25-cifar", "--device", "myriadx", "--precision", "int8"],
         "runs none of its installed backends at int8 (openvino at fp16); choose one of those"),
    ],
)  # fmt: skip
def test_refusals_say_what_to_give_instead(runner: CliRunner, tmp_path: Path, args: list[str], message: str) -> None:
    line = one_line_error(runner.invoke(app, [a.format(tmp=tmp_path) for a in args], terminal_width=300))
    assert message in line


def test_a_name_that_looks_like_an_emoji_code_is_printed_as_written(runner: CliRunner) -> None:
    line = one_line_error(runner.invoke(app, ["bench", "/no/such/:one:.onnx", "-d", "host"], terminal_width=300))
    assert "/no/such/:one:.onnx: no such model file" in line


def _visible_options() -> list[tuple[str, str, tuple[str, ...], str]]:
    """(command, parameter, its visible spellings, help) of every option of every command."""
    import typer.main

    found = []

    def walk(command: Any, path: str) -> None:  # typer's own click
        for p in command.params:
            if p.param_type_name == "option" and not p.hidden:
                found.append((path, p.name or "", tuple(p.opts), p.help or ""))
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, f"{path} {name}".strip())

    walk(typer.main.get_command(app), "")
    return found


def test_every_spelling_means_one_thing_in_every_command() -> None:
    meaning: dict[str, set[str]] = {}
    for _, name, opts, _ in _visible_options():
        for opt in opts:
            meaning.setdefault(opt, set()).add(name)
    assert meaning["-l"] == {"latency"} and meaning["-d"] == {"device"} and meaning["-o"] <= {"out_dir", "out_file"}
    assert "--output" not in meaning and "--calibration" not in meaning
    defaults = {c for c, _, o, h in _visible_options() if "--device" in o and "Default myriadx" in h}
    assert defaults == {"bench", "profile", "predict", "prune", "search", "run"}  # calibrate names the one it fits


def test_an_old_spelling_still_works_and_says_its_new_one(runner: CliRunner, tiny_onnx: Path, tmp_path: Path) -> None:
    missing = tmp_path / "quant.npy"
    args = ["bench", str(tiny_onnx), "-d", "host", "-b", "onnxruntime", "-p", "int8", "--calibration", str(missing)]
    result = runner.invoke(app, args, terminal_width=300)
    deprecated, error = result.output.strip().splitlines()
    assert deprecated.startswith("deprecated: --calibration is now --quant-data") and result.exit_code == 2
    assert error.startswith("error:") and str(missing) in error  # the old spelling's value was the one used
    both = ["bench", str(tiny_onnx), "-d", "host", "--calibration", "q.npy", "--quant-data", "q.npy"]
    assert "--calibration is the old spelling of --quant-data: give --quant-data only" in one_line_error(
        runner.invoke(app, both, terminal_width=300)
    )
