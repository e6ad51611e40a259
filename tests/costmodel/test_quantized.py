from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import ValidationError
from torch import nn

from edgebench.costmodel.int8_probe import DEPTHS, Halves, Residual, probe_int8
from edgebench.costmodel.kernels import module_kernels
from edgebench.costmodel.model import INT8_RULES, estimate, params_for, rules_for
from edgebench.costmodel.probe import ChainTimer, SplitUnit
from edgebench.costmodel.quantized import Int8Role, int8_role
from edgebench.costmodel.roles import ROLES, SHUFFLE_OF_MAPS
from edgebench.costmodel.runtime_probe import INT8_ELEMENTS, RuntimeRates
from edgebench.devices import DeviceProfile, get_device, load_profile, save_profile
from edgebench.devices.profile import Runtime
from edgebench.exceptions import ConfigError
from edgebench.nets.blocks import SqueezeExcite
from edgebench.types import KernelKind, Precision

RATES = {"depthwise_gflops": 40.0, "odd_depthwise_gflops": 20.0, "stem_ns": 1.0, "pool_gelems": 2.0,
         "island_gelems": 2.5, "binary_gelems": 3.0, "concat_gelems": 3.0, "shuffle_gelems": 5.0,
         "reduction_half_depth": 32.0}  # fmt: skip


def _with_int8(profile: DeviceProfile, backend: str = "onnxruntime", **rates: float | None) -> DeviceProfile:
    stated = {name: v for name, v in (RATES | rates).items() if v is not None}
    int8 = {name: {"value": v, "source": "test"} for name, v in stated.items()} | {"channel_multiple": 16}
    runtimes = tuple(
        Runtime.model_validate({**r.model_dump(), "int8": int8}) if r.backend == backend else r
        for r in profile.runtimes
    )
    return profile.model_copy(update={"runtimes": runtimes})


class Net(nn.Module):
    """A stem, depthwise convs of 32 (a multiple of 16) and 24 channels, an average pool, a hard sigmoid alone and a
    residual add."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 32, 3, 2, 1), nn.ReLU())
        self.even = nn.Sequential(nn.Conv2d(32, 32, 3, 1, 1, groups=32), nn.ReLU(), nn.Conv2d(32, 24, 1))
        self.odd = nn.Sequential(nn.Conv2d(24, 24, 3, 1, 1, groups=24), nn.ReLU())
        self.pool = nn.AvgPool2d(3, 1, 1, count_include_pad=False)
        self.gate = nn.Sequential(nn.Conv2d(24, 24, 1), nn.Hardsigmoid())
        self.last = nn.Conv2d(24, 24, 1)

    def forward(self, x):  # type: ignore[no-untyped-def]
        y = self.odd(self.even(self.stem(x)))
        y = self.gate(self.pool(y))
        return y + self.last(y)


def test_int8_rates_price_a_runtimes_int8_kernels_in_its_int8_graph() -> None:
    host = get_device("host")
    rated = _with_int8(host)
    fp32_rules, int8_rules = rules_for(rated, "onnxruntime"), rules_for(rated, "onnxruntime", Precision.INT8)
    assert fp32_rules == rules_for(host, "onnxruntime", Precision.INT8)  # no int8 rates: the FP32 graph
    assert (int8_rules.channel_block, int8_rules.fuses, int8_rules.channels_last) == (1, {"Relu", "Clip"}, True)
    kernels = module_kernels(Net(), (1, 3, 64, 64), int8_rules)
    roles = [int8_role(k) for k in kernels if k.kind is not KernelKind.ELEMENTWISE or "Add" in k.ops]
    assert roles == [Int8Role.STEM, Int8Role.DEPTHWISE, Int8Role.OTHER, Int8Role.DEPTHWISE, Int8Role.POOL,
                     Int8Role.OTHER, Int8Role.ISLAND, Int8Role.OTHER, Int8Role.BINARY]  # fmt: skip
    params = params_for(rated, "onnxruntime", Precision.INT8, threads=1)
    assert params.reduction_half_depth == 32.0 != params_for(rated, "onnxruntime", Precision.FP32).reduction_half_depth
    assert INT8_RULES not in params.provenance
    assert INT8_RULES in params_for(host, "onnxruntime", Precision.INT8, threads=1).provenance
    fixed = params.overhead_per_layer_ms
    ms = {k.name: (k, t - fixed) for k, t in estimate(kernels, params).kernels}
    (even, even_ms), (odd, odd_ms) = (ms[n] for n in ("/even/even.0/Conv", "/odd/odd.0/Conv"))
    assert even_ms == pytest.approx(even.flops / 40e6, rel=1e-3)  # 32 channels: the multiple's rate
    assert odd_ms == pytest.approx(odd.flops / 20e6, rel=1e-3)  # 24: off it, at half
    pool, pool_ms = ms["/pool/AveragePool"]
    assert pool_ms == pytest.approx(pool.priced_elems / 2e6, rel=1e-3)
    island_ms = next(t for n, (_, t) in ms.items() if "HardSigmoid" in n)
    assert island_ms == pytest.approx(24 * 32 * 32 / 2.5e6, rel=1e-3)  # its elements at the islands' rate
    swish = module_kernels(nn.Sequential(nn.Conv2d(8, 8, 1), nn.Hardswish()), (1, 8, 16, 16), int8_rules)[-1]
    assert int8_role(swish) is Int8Role.HARD_SWISH  # a hard sigmoid in float and a multiply
    assert estimate([swish], params).latency_ms - params.overhead_per_network_ms - fixed == pytest.approx(
        8 * 16 * 16 * (1 / 2.5e6 + 1 / 3e6), rel=1e-3
    )
    slow = estimate(kernels, params_for(_with_int8(host, stem_ns=3.0), "onnxruntime", Precision.INT8, threads=1))
    stem_ms = next(t for k, t in slow.kernels if k.name == "/stem/stem.0/Conv") - ms["/stem/stem.0/Conv"][1] - fixed
    assert stem_ms == pytest.approx(2.0 * 32 * 32 * 3 * 9 / 1e6, rel=1e-3)  # 2 ns more per value it gathers
    wide = estimate(kernels, params_for(_with_int8(host, stem_pixel_ns=4.0), "onnxruntime", Precision.INT8, threads=1))
    stem_ms = next(t for k, t in wide.kernels if k.name == "/stem/stem.0/Conv") - ms["/stem/stem.0/Conv"][1] - fixed
    assert stem_ms == pytest.approx(4.0 * 32 * 32 / 1e6, rel=1e-3)  # and 4 ns per output pixel


def test_a_shuffle_of_concatenated_conv_outputs_is_a_gather_at_its_own_rate_and_one_after_a_split_is_not() -> None:
    rated = _with_int8(get_device("host"), gather_gelems=0.5)
    net = nn.Sequential(Halves(32, shuffle=True), SplitUnit(32, shuffle=True))
    kernels = module_kernels(net, (1, 32, 28, 28), rules_for(rated, "onnxruntime", Precision.INT8))
    shuffles = {k.name: k for k in kernels if k.ops == ("Transpose",) and not k.name.startswith("transpose ")}
    assert [(n, k.role, int8_role(k)) for n, k in shuffles.items()] == [
        ("/0/Transpose", SHUFFLE_OF_MAPS, Int8Role.GATHER),
        ("/1/Transpose", ROLES["Transpose"], Int8Role.SHUFFLE),
    ]
    elems = 32 * 28 * 28
    for profile, gather in ((rated, 0.5), (_with_int8(get_device("host")), 5.0)):  # unstated: the shuffles' rate
        params = params_for(profile, "onnxruntime", Precision.INT8, threads=1)
        ms = {k.name: t - params.overhead_per_layer_ms for k, t in estimate(kernels, params).kernels}
        assert ms["/0/Transpose"] == pytest.approx(elems / (gather * 1e6), rel=1e-3)
        assert ms["/1/Transpose"] == pytest.approx(elems / 5e6, rel=1e-3)


GATED = nn.Sequential(
    nn.Conv2d(32, 32, 3, padding=1, groups=32), nn.ReLU(), SqueezeExcite(32), nn.Conv2d(32, 32, 1),
    nn.AvgPool2d(3, 1, 1), Halves(32),
)  # fmt: skip


def _kernel_ms(profile: DeviceProfile, backend: str) -> dict[str, float]:
    params = params_for(profile, backend, Precision.INT8, threads=1)
    kernels = module_kernels(GATED, (1, 32, 28, 28), rules_for(profile, backend, Precision.INT8))
    return {k.name: t - params.overhead_per_layer_ms for k, t in estimate(kernels, params).kernels}


def test_a_runtime_that_keeps_its_fp32_graph_at_int8_states_only_its_own_kernels() -> None:
    host = get_device("host")
    elements = dict.fromkeys(("island_gelems", "binary_gelems", "concat_gelems", "shuffle_gelems"))
    rated = _with_int8(host, "openvino", gate_gelems=1.25, **elements)  # as the probe finds OpenVINO's
    assert rules_for(rated, "openvino", Precision.INT8) == rules_for(rated, "openvino")  # its FP32 graph
    stated, fp32_rules = _kernel_ms(rated, "openvino"), _kernel_ms(host, "openvino")
    gate = module_kernels(GATED, (1, 32, 28, 28), rules_for(rated, "openvino", Precision.INT8))
    assert [int8_role(k) for k in gate if k.gated] == [Int8Role.GATE]
    assert stated["/2/Mul"] == pytest.approx(32 * 28 * 28 / 1.25e6, rel=1e-3)  # the map at the gates' rate
    assert stated["/4/AveragePool"] == pytest.approx(32 * 28 * 28 * 9 / 2e6, rel=1e-3)
    assert [int8_role(k) for k in gate if k.ops == ("Concat",)] == [Int8Role.CONCAT]
    assert stated["/5/Concat"] == pytest.approx(fp32_rules["/5/Concat"], rel=1e-6)  # no rate: the FP32 rules' price
    ort = _kernel_ms(_with_int8(host), "onnxruntime")
    assert ort["/2/Mul"] == pytest.approx(32 * 28 * 28 / 3e6, rel=1e-3)  # no gate rate: the adds' (QLinearMul)
    with pytest.raises(ValidationError, match="gate_gelems"):
        _with_int8(host, "openvino", gate_gelems=0.0)


def test_a_profiles_int8_rates_are_saved_read_back_and_checked(tmp_path: Path) -> None:
    rated = _with_int8(get_device("host"))
    save_profile(rated, tmp_path / "host.yaml")
    again = load_profile(tmp_path / "host.yaml")
    assert again.runtime("onnxruntime").int8 == rated.runtime("onnxruntime").int8
    text = (tmp_path / "host.yaml").read_text()
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "host.yaml").write_text(text.replace("channel_multiple: 16", "channel_multiple: 0"))
    with pytest.raises(ConfigError, match=r"runtimes\.0\.int8\.channel_multiple"):
        load_profile(tmp_path / "bad" / "host.yaml")


def _timed_int8(monkeypatch: pytest.MonkeyPatch, slow_round: int, chains: int) -> None:
    """INT8 chains at fixed costs: depthwise convs at 40 GFLOP/s on multiples of 16 channels and 20 off them, a stem
    link 1 ns per value gathered and 2 a pixel, other convs at 400 GOP/s x K / (K + 32) by their input channels K
    (and 3 µs a conv at the depths the half-depth is fitted to), a pool 0.5 ns per window read, a hard sigmoid 0.4 ns,
    an add 0.25, a concatenation 0.3, a shuffle 0.1 (of convs' outputs 2.5) and a squeeze-excite gate 0.8 an
    element; every figure twice as slow in round ``slow_round`` (of ``chains`` chains a round)."""
    calls: list[int] = []

    def per_kernel_ms(self: ChainTimer, make: Callable[[], nn.Module], shape: tuple[int, ...]) -> float:
        assert self.precision is Precision.INT8
        m, pixels, elems = make(), shape[2] * shape[3], shape[1] * shape[2] * shape[3]
        calls.append(1)
        ms = 0.0
        gated = {id(c) for g in m.modules() if isinstance(g, SqueezeExcite) for c in g.modules()}  # in the gate's
        for c in (c for c in m.modules() if isinstance(c, nn.Conv2d) and id(c) not in gated):
            macs = c.in_channels // c.groups * c.out_channels * c.kernel_size[0] ** 2 * pixels
            if c.groups > 1:
                ms += 2 * macs / ((40 if c.in_channels % 16 == 0 else 20) * 1e6)
            elif c.in_channels == 3:
                ms += pixels * (2 + 3 * c.kernel_size[0] ** 2) * 1e-6
            else:
                ms += 2 * macs / (400e6 * c.in_channels / (c.in_channels + 32))
        ms += 0.003 if (shape[1], shape[2]) in DEPTHS.items() else 0.0  # a depth link's fixed cost
        ms += sum(9 * elems * 0.5e-6 for p in m.modules() if isinstance(p, nn.AvgPool2d))
        ms += sum(elems * 0.4e-6 for p in m.modules() if isinstance(p, nn.Hardsigmoid) and id(p) not in gated)
        ms += elems * 0.25e-6 if isinstance(m, Residual) else 0.0
        ms += elems * 0.3e-6 if isinstance(m, Halves) else 0.0
        ms += elems * 2.5e-6 if isinstance(m, Halves) and m.shuffle else 0.0
        ms += elems * 0.1e-6 if isinstance(m, SplitUnit) and m.shuffle else 0.0
        ms += sum(elems * 0.8e-6 for g in m.modules() if isinstance(g, SqueezeExcite))
        return ms * (2 if (len(calls) - 1) // chains == slow_round else 1)

    monkeypatch.setattr(ChainTimer, "per_kernel_ms", per_kernel_ms)
    monkeypatch.setattr(ChainTimer, "line", lambda *_: (0.004, 0.0008))  # the fixed costs' chains: 4 and 0.8 µs


#: What the probe finds from :func:`_timed_int8`'s costs: every runtime's kernels, then those of an INT8 graph of its
#: own (ONNX Runtime's), or its squeeze-excite gates (OpenVINO's, which keeps its FP32 graph).
COMMON = {"depthwise_gflops": 40.0, "odd_depthwise_gflops": 20.0, "channel_multiple": 16, "stem_ns": 1.0,
          "stem_pixel_ns": 2.0, "pool_gelems": 2.0, "reduction_half_depth": 32.0}  # fmt: skip
OWN_GRAPH = {"island_gelems": 2.5, "binary_gelems": 4.0, "concat_gelems": 3.33, "shuffle_gelems": 10.0,
             "gather_gelems": 0.4}  # fmt: skip
GATE = {"gate_gelems": 1.25}


@pytest.mark.parametrize(("backend", "own", "slow_round"), [
    ("onnxruntime", OWN_GRAPH, 0), ("onnxruntime", OWN_GRAPH, 4), ("openvino", GATE, 2),
])  # fmt: skip
def test_the_int8_probe_keeps_each_figures_median_round(
    monkeypatch: pytest.MonkeyPatch, backend: str, own: dict[str, float], slow_round: int
) -> None:
    _timed_int8(monkeypatch, slow_round, chains=12 + 2 * len(own))  # two chains an element rate
    found = probe_int8(backend, runs=1)
    fixed = found["overheads"]
    assert (fixed["layer_us"]["value"], fixed["call_us"]["value"]) == (0.8, 4.0) and "at int8" in fixed["call_us"][
        "source"
    ]
    values = {name: f["value"] if isinstance(f, dict) else f for name, f in found.items() if name != "overheads"}
    assert values == pytest.approx(COMMON | own, abs=0.01)
    assert "off the channel multiple" in found["odd_depthwise_gflops"]["source"]
    runtime = get_device("host").runtime(backend)
    assert Runtime.model_validate({**runtime.model_dump(), "int8": found}).int8 is not None  # a valid profile entry
    summary = RuntimeRates(backend, {}, {}, int8=found).summary()
    stated = [name for key, name in INT8_ELEMENTS.items() if f"{name} {values.get(key, 0):.2f}" in summary]
    assert stated == [INT8_ELEMENTS[key] for key in own]  # the element rates it has, and no others
    assert (
        "; INT8 depthwise convs at 40.0 GFLOP/s (20.0 off 16 channels), stems 1.00 ns a value and 2.0 a pixel"
        in summary
    )
