"""The Python API: at the top of the package without importing torch, keyword-only, typed budgets whose errors
name the parameter, typed results with ``to_dataframe()``, and files only where ``out=`` is given."""

from __future__ import annotations

import importlib
import pkgutil
import random
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

import edgebench
from edgebench.distill import TrainConfig
from edgebench.exceptions import ConfigError, UnsupportedError
from edgebench.searching.space import load_space

TINY32 = Path(__file__).parent / "search" / "tiny32.yaml"


def test_import_edgebench_is_light_and_the_api_is_at_the_top() -> None:
    code = ("import sys, edgebench; light = 'torch' not in sys.modules; "
            "print(light, callable(edgebench.search), edgebench.prune.__module__)")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["True", "True", "edgebench.api.pruning"]
    assert set(edgebench.__all__) >= {"get_device", "bench", "build_lut", "predict", "search", "prune", "run", "report"}


def test_arguments_are_keyword_only_and_a_bad_budget_names_its_parameter() -> None:
    with pytest.raises(TypeError, match="positional"):
        edgebench.search("myriadx", 15)  # type: ignore[misc]
    for bad in (0, -3.0, "15ms"):
        with pytest.raises(ConfigError, match=f"budget_ms must be a positive number of milliseconds, not {bad!r}"):
            edgebench.prune(device="myriadx", budget_ms=bad)  # type: ignore[arg-type]


def test_predict_takes_an_arch_spec_and_a_profile_object(tmp_path: Path) -> None:
    stick = edgebench.get_device("myriadx")
    arch = load_space(TINY32).sample(random.Random(0))
    prediction, meta = edgebench.predict(arch, device=stick, space=str(TINY32), cache_dir=tmp_path)
    assert prediction.latency_ms > 0 and prediction.source == "estimated" and meta.device == "myriadx"


def test_a_search_without_out_writes_nothing_and_returns_its_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(0)
    y = np.arange(40) % 2
    x = (rng.integers(0, 120, (40, 32, 32, 3)) + 120 * y[:, None, None, None]).astype(np.uint8)
    np.savez(tmp_path / "shades.npz", x=x, y=y)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    found = edgebench.search(device="myriadx", budget_ms=1000, space=str(TINY32), data=f"npz:{tmp_path / 'shades.npz'}",
                             loss="ce", trials=2, baseline=False, proxy=TrainConfig(epochs=1, augment=False),
                             cache_dir=tmp_path / "cache")  # fmt: skip
    assert list(work.iterdir()) == [] and found.out_dir is None and found.storage is None
    table = found.to_dataframe()
    assert len(table) == 2 and (table["status"] == "COMPLETE").all() and (table["latency_source"] == "estimated").all()
    assert all(Path(c).is_dir() for c in table["checkpoint"])  # kept (in a temporary folder) for `run`


def test_errors_name_parameters_as_python_spells_them(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedError, match="runs openvino only at fp16, not fp32; choose precision='fp16'"):
        edgebench.build_lut("myriadx", precision="fp32", cache_dir=tmp_path)
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="give a new or empty out=, or overwrite=True to clear it"):
        edgebench.search(device="myriadx", budget_ms=15, data="digits", loss="ce", out=tmp_path / "taken")


def test_no_module_of_the_package_hides_an_api_function_of_the_same_name() -> None:
    for module in pkgutil.walk_packages(edgebench.__path__, "edgebench."):
        if not module.name.endswith("__main__"):
            importlib.import_module(module.name)  # importing a submodule sets it as an attribute of its package
    assert [name for name in edgebench._API if not callable(getattr(edgebench, name))] == []


def test_bench_without_a_work_dir_leaves_no_converted_files_behind(
    tiny_onnx: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    (record,) = edgebench.bench(tiny_onnx, device="host", backends=["onnxruntime"], repeats=5).records
    assert record.status == "COMPLETE" and record.median_ms is not None and not list(tmp_path.iterdir())
