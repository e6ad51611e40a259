"""`edgebench devices new NAME --like TEMPLATE`: a strict profile whose every number says it is a copied prior,
which estimates as the template's priors do and which `calibrate` then fits."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from edgebench.cli import app
from edgebench.costmodel.model import params_for
from edgebench.devices import get_device, load_profile
from edgebench.devices.derive import COPIED_NOTE
from edgebench.target import source_of
from edgebench.types import Precision, Source
from tests.test_cli import one_line_error
from tests.test_cli_costmodel import ARCHS


def _sourced(node: object) -> list[dict[str, object]]:
    if isinstance(node, dict):
        own = [node] if {"value", "source"} <= node.keys() else []
        return own + [s for v in node.values() for s in _sourced(v)]
    return [s for v in node for s in _sourced(v)] if isinstance(node, list) else []


def test_a_new_device_copies_the_priors_and_says_so(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["devices", "new", "rpi5-lab", "--like", "rpi5", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    path = tmp_path / "rpi5-lab.yaml"
    new, rpi5 = load_profile(path), get_device("rpi5")
    assert new.name == "rpi5-lab" and new.cost_model.calibrations == () and source_of(new) is Source.ESTIMATED
    numbers = _sourced(new.cost_model.model_dump(mode="json"))
    assert len(numbers) > 10 and all(n["note"] == COPIED_NOTE for n in numbers)
    assert all(str(n["source"]).startswith("copied from rpi5: ") for n in numbers)
    assert path.read_text().startswith("# rpi5-lab: started from rpi5")
    # It estimates as the template's uncalibrated priors do, at the same threads.
    copied = params_for(new, "tflite", Precision.FP32, 1)
    priors = params_for(rpi5, "tflite", Precision.FP32, 1, calibrated=False)
    assert (copied.efficiency, copied.overhead_per_network_ms) == (priors.efficiency, priors.overhead_per_network_ms)


def test_a_new_device_is_ready_for_calibrate(runner: CliRunner, tmp_path: Path) -> None:
    assert runner.invoke(app, ["devices", "new", "board", "--like", "rpi5", "--dir", str(tmp_path)]).exit_code == 0
    csv = tmp_path / "m.csv"
    csv.write_text("arch_str,lat\n" + "".join(f"{a},{1 + i / 10}\n" for i, a in enumerate(ARCHS)))
    out = tmp_path / "fitted" / "board.yaml"
    args = ["calibrate", "-d", str(tmp_path / "board.yaml"), "-m", str(csv), "--latency-column", "lat", "-b", "tflite",
            "--threads", "1", "-o", str(out)]  # fmt: skip
    result = runner.invoke(app, args, terminal_width=200)
    assert result.exit_code == 0, result.output
    (cal,) = load_profile(out).cost_model.calibrations
    assert (cal.backend, cal.threads) == ("tflite", 1)


def test_a_host_template_gets_its_channel_block_written_out(tmp_path: Path) -> None:
    from edgebench import api

    path = api.new_device("x86-box", like="host", out_dir=tmp_path)
    new, host = load_profile(path), get_device("host")
    assert new.connection == "none"
    assert all(new.channel_block(b) == host.channel_block(b) for b in host.backends)
    assert all(isinstance(r.channel_block, int) for r in new.runtimes)
    assert all(isinstance(r.pixel_block, int) and new.pixel_block(r.backend) == host.pixel_block(r.backend)
               for r in new.runtimes)  # fmt: skip
    rates = [rate for r in new.runtimes for rate in (*r.op_gelems.values(), *r.weight_share.values())]  # probed
    rates += [r.large_depthwise.gflops for r in new.runtimes if r.large_depthwise]
    for r in new.runtimes:
        plain = r.plain_depthwise
        rates += [plain.gflops, plain.group_us, *([plain.input_gbps] if plain.input_gbps else [])] if plain else []
        rates += list(r.plain_layout.values())
        rates += [r.depthwise_stream.gouts, r.depthwise_stream.row_ns] if r.depthwise_stream else []
        rates += list(r.cache_gbps.values())
    assert len(rates) > sum(len(r.op_gelems) + len(r.weight_share) for r in new.runtimes)
    assert rates and all(r.note == COPIED_NOTE and r.source.startswith("copied from host: ") for r in rates)


@pytest.mark.parametrize(
    ("name", "message"),
    [("rpi5", "name 'rpi5' is a device already"), ("Bad_Name", "name 'Bad_Name' is not a profile name")],
)
def test_a_name_that_cannot_be_a_new_device_is_refused(
    runner: CliRunner, tmp_path: Path, name: str, message: str
) -> None:
    line = one_line_error(runner.invoke(app, ["devices", "new", name, "--like", "rpi5", "--dir", str(tmp_path)]))
    assert message in line and not list(tmp_path.iterdir())


def test_an_existing_file_is_never_overwritten(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "board.yaml").write_text("mine\n")
    line = one_line_error(runner.invoke(app, ["devices", "new", "board", "--like", "rpi5", "--dir", str(tmp_path)]))
    assert "board.yaml exists" in line and (tmp_path / "board.yaml").read_text() == "mine\n"
    unknown = one_line_error(runner.invoke(app, ["devices", "new", "b2", "--like", "nosuch", "--dir", str(tmp_path)]))
    assert "unknown device 'nosuch'" in unknown
