"""Devices that cannot be measured get LUTs priced by their cost model, labelled estimated end to end."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edgebench.cli import app
from edgebench.costmodel.kernels import module_kernels
from edgebench.costmodel.model import estimate, params_for
from edgebench.devices import get_device
from edgebench.lut.estimated import estimate_lut
from edgebench.lut.keys import arch_keys
from edgebench.lut.predictor import Predictor
from edgebench.lut.store import read_table
from edgebench.searching.space import SearchSpace
from edgebench.types import Precision

from .conftest import TINY_SPACE


def test_every_row_is_a_cost_model_estimate(tiny: SearchSpace, tmp_path: Path) -> None:
    myriadx = get_device("myriadx")
    result = estimate_lut(myriadx, "openvino", Precision.FP16, tiny, tmp_path)
    table = read_table(result.path)
    assert table.meta.source == "estimated" and set(table.rows["source"]) == {"estimated"}
    assert table.meta.note.startswith("calibrated on myriadx-openvino-fp16.csv") and "RMSPE 23.5 %" in table.meta.note
    params = params_for(myriadx, "openvino", Precision.FP16)
    assert table.meta.correction.overhead_ms == params.overhead_per_network_ms
    space = tiny.for_device(myriadx.channel_multiple)
    arch = space.sample(random.Random(1))
    keys = arch_keys(space, arch)
    by_hand = params.overhead_per_network_ms + sum(
        estimate(module_kernels(k.build().eval(), k.input_shape), params).latency_ms - params.overhead_per_network_ms
        for k in keys
    )
    prediction = Predictor(table, space).predict(arch)
    assert prediction.source == "estimated"
    assert prediction.latency_ms == pytest.approx(by_hand, rel=1e-4)
    assert not estimate_lut(myriadx, "openvino", Precision.FP16, tiny, tmp_path).built  # reused


@pytest.mark.parametrize("change", ["recalibrated", "threads", "priors"])
def test_a_table_priced_by_another_cost_model_is_estimated_again(
    tiny: SearchSpace, tmp_path: Path, change: str, caplog: pytest.LogCaptureFixture
) -> None:
    myriadx = get_device("myriadx")
    first = estimate_lut(myriadx, "openvino", Precision.FP16, tiny, tmp_path)
    if change == "recalibrated":
        changed = myriadx.model_copy(update={"cost_model": myriadx.cost_model.model_copy(update={"calibrations": ()})})
    elif change == "threads":
        changed = myriadx.model_copy(update={"threads": 2})
    else:
        network = myriadx.cost_model.overhead_per_network_ms.model_copy(update={"value": 9.0})
        cost = myriadx.cost_model.model_copy(update={"overhead_per_network_ms": network, "calibrations": ()})
        changed = myriadx.model_copy(update={"cost_model": cost})
    again = estimate_lut(changed, "openvino", Precision.FP16, tiny, tmp_path)
    assert again.built and "estimating it again" in caplog.text
    assert again.table.meta.fingerprint != first.table.meta.fingerprint
    assert not estimate_lut(changed, "openvino", Precision.FP16, tiny, tmp_path).built  # and then reused


def test_profile_command_estimates_an_unreachable_device_and_refuses_to_validate_it(
    runner: CliRunner, tmp_path: Path
) -> None:
    args = ["profile", "--device", "rpi4", "-b", "tflite", "--space", str(TINY_SPACE), "--cache-dir", str(tmp_path)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "estimated" in result.output
    refused = runner.invoke(app, [*args, "--validate", "3"])
    assert refused.exit_code == 2
    assert "cannot be validated by timing" in refused.output


def test_profile_defaults_to_the_precision_the_device_runs(runner: CliRunner, tmp_path: Path) -> None:
    args = ["profile", "--device", "myriadx", "--space", str(TINY_SPACE), "--cache-dir", str(tmp_path)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "luts" / "myriadx" / "tiny" / "openvino-fp16.csv").exists()
