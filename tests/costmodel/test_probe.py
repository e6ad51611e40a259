import datetime
import functools
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from torch import nn

from edgebench.costmodel.depthwise_probe import (
    DEPTHWISE_MAP,
    DEPTHWISE_SIDES,
    STREAM_MAPS,
    STRIDED_MAPS,
    WIDE_MAPS,
    probe_depthwise_stream,
    probe_large_depthwise,
    probe_wide_depthwise,
)
from edgebench.costmodel.kernels import module_kernels
from edgebench.costmodel.layouts import FILTER_SET
from edgebench.costmodel.map_probe import (
    LARGE_MAP_DEPTHWISE,
    LARGE_MAP_PAIR,
    LARGE_MAP_SIDES,
    MEMORY_BOUND,
    probe_large_maps,
)
from edgebench.costmodel.model import READS, CostParams, KernelTable, params_for, rules_for
from edgebench.costmodel.overhead_probe import SHAPE, probe_overheads
from edgebench.costmodel.plain_probe import (
    PAIR_SIDE,
    PLAIN_CHANNELS,
    PLAIN_PAIR,
    PLAIN_SIDES,
    probe_plain_depthwise,
    probe_plain_layout,
)
from edgebench.costmodel.probe import (
    CHAIN,
    CONV_EFFICIENCY,
    WEIGHT_CHANNELS,
    ChainTimer,
    Probe,
    probe,
    with_probed_priors,
)
from edgebench.costmodel.runtime_probe import (
    DENSE,
    DENSE_CONV,
    DENSE_FLOPS,
    GATE_MAPS,
    PROBED_LINKS,
    WEIGHT_PROBES,
    RuntimeRates,
    _elems_per_link,
    probe_cache_streams,
    probe_channel_scale,
    probe_conv_rate,
    probe_filter_pass,
    probe_weight_shares,
    with_runtime_rates,
)
from edgebench.devices import DeviceProfile, get_device, load_profile, save_profile
from edgebench.devices.profile import CacheLevel, Runtime
from edgebench.exceptions import BusyMachineError, ConfigError
from edgebench.types import KernelKind, Precision, WeightRead

FOUND = Probe(
    cpu="Test CPU", backend="onnxruntime", date=datetime.date(2026, 12, 4), dense_gflops=90.0,
    pointwise_gflops={16: 50.0, 64: 80.0}, depthwise_gflops=30.0, depthwise_stream_gbps=20.0,
    relu_gbps={0.25: 80.0, 64.0: 25.0}, sigmoid_gelems=2.5, weights_gbps={0.7: 30.0, 11.5: 40.0, 184.5: 20.0},
)  # fmt: skip


def test_probed_figures_become_the_host_profiles_priors_with_their_sources(tmp_path: Path) -> None:
    host = get_device("host")
    probed = with_probed_priors(host, FOUND)
    cost = probed.cost_model
    core = 90.0 / CONV_EFFICIENCY
    assert cost.peak_gflops[Precision.FP32].value == pytest.approx(core * cost.cores, abs=0.01)
    assert cost.efficiency[KernelKind.DEPTHWISE_CONV].value == pytest.approx(30.0 / core, abs=0.01)
    assert cost.stream_ceiling[KernelKind.DEPTHWISE_CONV].value == pytest.approx(20.0 / 80.0, abs=0.01)
    assert cost.memory_bandwidth_gbps.value == 20.0  # the largest chain: past every cache
    # K0 solves 50 = R x 16 / (16 + K0) and 80 = R x 64 / (64 + K0)
    k0 = cost.reduction_half_depth.value if cost.reduction_half_depth else 0.0
    rate = 80.0 * (64 + k0) / 64
    assert rate * 16 / (16 + k0) == pytest.approx(50.0, rel=0.01)
    # the wide 1x1 conv's efficiency without its reduction depth's cost, which the model adds back
    assert cost.efficiency[KernelKind.POINTWISE_CONV].value == pytest.approx(rate / core, abs=0.01)
    assert cost.exp_gelems is not None and cost.exp_gelems.value == 2.5
    assert "Test CPU" in cost.peak_gflops[Precision.FP32].source and not cost.calibrations
    assert cost.efficiency[KernelKind.LINEAR] == host.cost_model.efficiency[KernelKind.LINEAR]  # not probed: kept
    save_profile(probed, tmp_path / "host.yaml")
    again = load_profile(tmp_path / "host.yaml")
    assert params_for(again, "onnxruntime", Precision.FP32) == params_for(probed, "onnxruntime", Precision.FP32)


def _timed_convs(monkeypatch: pytest.MonkeyPatch, dense_slow_in: set[int]) -> None:
    """Chains a probe times at fixed rates (GFLOP/s: dense 3x3 100, depthwise 50, 1x1 80), the dense conv three
    times slower in the rounds ``dense_slow_in`` (counted from 0)."""
    rounds = iter(range(100))

    def per_kernel_ms(self: ChainTimer, make: Callable[[], nn.Module], shape: tuple[int, ...]) -> float:
        m = make()
        if not isinstance(m, nn.Conv2d) or (m.groups > 1 and m.kernel_size != (5, 5)):
            return 0.01  # the streams, the sigmoid and the weight chains: not what this checks
        flops = 2 * m.out_channels * shape[2] * shape[3] * m.in_channels // m.groups * m.kernel_size[0] ** 2
        if m.groups > 1:
            return flops / 50e6
        if m.kernel_size == (3, 3):
            return flops / 100e6 * (3 if next(rounds) in dense_slow_in else 1)
        return flops / 80e6

    monkeypatch.setattr(ChainTimer, "per_kernel_ms", per_kernel_ms)


def test_a_probe_keeps_the_median_round_and_refuses_rates_a_busy_machine_gave(monkeypatch: pytest.MonkeyPatch) -> None:
    _timed_convs(monkeypatch, dense_slow_in={1})  # one busy round of three: its median holds
    found = probe(runs=1)
    assert found.dense_gflops == pytest.approx(100.0) and found.depthwise_gflops == pytest.approx(50.0)
    _timed_convs(monkeypatch, dense_slow_in={0, 1, 2})  # busy throughout: the others outrun its peak
    with pytest.raises(BusyMachineError, match=r"depthwise conv at 1\.35x and a 1x1 conv at .*x the 37\.0 GFLOP/s "
                       r"peak its dense conv \(33\.3 GFLOP/s\) sets: the machine was busy; probe again"):  # fmt: skip
        probe(runs=1)


def test_a_runtimes_probed_rates_go_in_its_profile_and_bad_ones_are_refused(tmp_path: Path) -> None:
    found = {"Swish": {"value": 0.84, "source": "probed"}, "HardSwish": {"value": 7.3, "source": "probed"}}
    shares = {"conv": {"value": 0.45, "source": "probed"}}
    host = get_device("host")
    stream = {"gouts": {"value": 2.1, "source": "probed"}, "row_ns": {"value": 0.3, "source": "probed"}}
    rates = RuntimeRates("openvino", found, shares, depthwise_stream=stream)
    assert rates.summary() == (
        "openvino ops as networks have them, Gelem/s: Swish 0.84, HardSwish 7.30; weights read at 0.45 of the "
        "bandwidth by conv; depthwise convs at 2.10 G outputs/s + 0.30 ns per row"
    )
    rated = with_runtime_rates(host, rates)
    assert rated.runtime("openvino").depthwise_stream is not None
    assert {n: r.value for n, r in rated.runtime("openvino").op_gelems.items()} == {
        "Swish": 0.84,
        "HardSwish": 7.3,
    }
    assert rated.runtime("onnxruntime") == host.runtime("onnxruntime")  # another runtime keeps its own
    saved = tmp_path / "host.yaml"
    save_profile(rated, saved)
    params = params_for(load_profile(saved), "openvino", Precision.FP32)
    assert params.op_gelems["Swish"] == 0.84 and params.weight_share == {WeightRead.CONV: 0.45}
    for bad, match in (
        (saved.read_text().replace("  Swish:", "  Mish:"), r"(?i)runtimes.1.op_gelems.*maps ops .*unknown: mish"),
        (saved.read_text().replace("value: 0.45", "value: 0.0"), r"(?i)runtimes.1.weight_share.*shares in \(0, 4\]"),
    ):
        (tmp_path / "bad").mkdir(exist_ok=True)
        (tmp_path / "bad" / "host.yaml").write_text(bad)
        with pytest.raises(ConfigError, match=match):
            load_profile(tmp_path / "bad" / "host.yaml")


def test_a_runtimes_fixed_costs_are_a_chains_time_besides_its_links_and_replace_the_priors(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    lines = {
        Precision.FP32: [(0.0021, 0.00036), (0.0022, 0.00035), (0.0090, 0.0011)],
        Precision.INT8: [(0.003, 0.0005)] * 3,
    }

    def line(self: ChainTimer, chain: Callable[[int], nn.Module], shape: tuple[int, ...]) -> tuple[float, float]:
        assert shape == SHAPE and len(list(chain(2).children())) == 2
        return lines[self.precision].pop(0)

    monkeypatch.setattr(ChainTimer, "line", line)
    found = probe_overheads("onnxruntime")
    assert (found["layer_us"]["value"], found["call_us"]["value"]) == (0.36, 2.2)  # each the median round's
    rates = RuntimeRates("onnxruntime", {}, {}, overheads=found)
    assert "kernels 0.36 µs and calls 2.2 µs besides their work" in rates.summary()
    host = get_device("host")
    save_profile(with_runtime_rates(host, rates), tmp_path / "host.yaml")
    rated = load_profile(tmp_path / "host.yaml")

    def fixed(profile: DeviceProfile, precision: Precision) -> tuple[float, float]:
        params = params_for(profile, "onnxruntime", precision, calibrated=False)
        return params.overhead_per_layer_ms, params.overhead_per_network_ms

    cm = host.cost_model
    assert fixed(host, Precision.FP32) == (cm.overhead_per_layer_ms.value, cm.overhead_per_network_ms.value)
    assert fixed(rated, Precision.FP32) == fixed(rated, Precision.INT8) == pytest.approx((0.00036, 0.0022))  # no INT8
    stated = {"value": 1.0, "source": "test"}
    int8 = dict.fromkeys(("depthwise_gflops", "odd_depthwise_gflops", "stem_ns", "pool_gelems"), stated)
    int8 |= {"reduction_half_depth": stated, "channel_multiple": 16}
    int8["overheads"] = probe_overheads("onnxruntime", Precision.INT8)
    own = Runtime.model_validate({**rated.runtime("onnxruntime").model_dump(), "int8": int8})
    quantized = rated.model_copy(update={"runtimes": (own, *(r for r in rated.runtimes if r is not own))})
    assert fixed(quantized, Precision.INT8) == pytest.approx((0.0005, 0.003))
    assert fixed(quantized, Precision.FP32) == pytest.approx((0.00036, 0.0022))


def test_the_weight_share_probe_recovers_the_share_a_runtime_reads_at(monkeypatch: pytest.MonkeyPatch) -> None:
    host = get_device("host")
    # the machine now: memory at 0.8 of the profile's bandwidth, cores 30 % slower, and a runtime adding its reads to
    # its multiply-adds (not of OVERLAPS_WEIGHTS) reading dense conv, 1x1 conv, 1x1 conv on one pixel and linear
    # weights at 0.4, 0.7, 0.3 and 0.5 of that bandwidth
    prior = params_for(host, "onnxruntime", Precision.FP32, 1, calibrated=False)
    truth = replace(prior, bandwidth_gbps=0.8 * prior.bandwidth_gbps,
                    weight_share={WeightRead.CONV: 0.4, WeightRead.POINTWISE_CONV: 0.7,
                                  WeightRead.ONE_PIXEL_CONV: 0.3, WeightRead.LINEAR: 0.5})  # fmt: skip
    slower = 1.3

    def per_link(make: Callable[[], nn.Module], shape: tuple[int, ...], reads: WeightRead, params: CostParams) -> float:
        table = KernelTable.of([module_kernels(nn.Sequential(*(make() for _ in range(CHAIN))), shape,
                                               rules_for(host, "onnxruntime"))])  # fmt: skip
        return float(table.kernel_ms(params)[table.reads == READS.index(reads)].mean())  # not transposes

    wide = max(WEIGHT_CHANNELS)  # the bandwidth chain first
    times = [wide * wide * 4 / (truth.bandwidth_gbps * 1e6)]
    for reads, link in WEIGHT_PROBES.items():
        with_reads = per_link(link.make, link.shape, reads, truth)
        reading = with_reads - per_link(link.make, link.shape, reads, replace(truth, weight_share={reads: 1e9}))
        times.append(slower * (with_reads - reading) + reading)
    monkeypatch.setattr(ChainTimer, "per_kernel_ms", lambda *_: times.pop(0))
    # the runtime's compute-bound reference conv, its chain's weights (1.6 MB) partly past a 0.5 MB L2
    conv_gflops = DENSE_FLOPS / (slower * per_link(DENSE_CONV, DENSE, WeightRead.CONV, truth)) / 1e6
    found = probe_weight_shares(host, "onnxruntime", conv_gflops)
    assert {reads: share["value"] for reads, share in found.items()} == pytest.approx(
        {"conv": 0.4, "pointwise_conv": 0.7, "one_pixel_conv": 0.3, "linear": 0.5}, abs=0.01
    )
    assert {share["note"] for share in found.values()} == {"measured"}


def test_the_weight_share_probe_leaves_out_a_kind_whose_weights_the_first_cache_level_holds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    host = get_device("host")
    l2, l3 = host.cost_model.caches

    def with_caches(*caches: CacheLevel) -> DeviceProfile:
        return host.model_copy(update={"cost_model": host.cost_model.model_copy(update={"caches": caches})})

    huge = {"size_mb": l3.size_mb.model_copy(update={"value": 1000.0})}
    monkeypatch.setattr(ChainTimer, "per_kernel_ms", lambda *_: 1.0)
    kinds = {"conv", "pointwise_conv", "one_pixel_conv", "linear"}
    assert probe_weight_shares(host, "onnxruntime", 100.0).keys() == kinds
    # a VM reporting a host-wide L3 (480 MiB on one Xeon) that holds every chain: the reads past L2 are still timed
    assert probe_weight_shares(with_caches(l2, l3.model_copy(update=huge)), "onnxruntime", 100.0).keys() == kinds
    assert (
        probe_weight_shares(with_caches(l2.model_copy(update=huge)), "onnxruntime", 100.0) == {}
    )  # L2 holds every chain
    times = [1.0, *[1e4] * len(kinds)]  # the bandwidth's chain, then chains far slower than their reads explain
    monkeypatch.setattr(ChainTimer, "per_kernel_ms", lambda *_: times.pop(0))
    assert probe_weight_shares(host, "onnxruntime", 100.0) == {}  # shares under MIN_WEIGHT_SHARE: none stated


@pytest.mark.parametrize(
    ("backend", "expected"),
    [
        # ONNX Runtime: its fused sigmoid is one kernel, and so is its swish (QuickGelu); its shuffle closing a
        # split unit runs in NCHW, without reorders (a pool's elements are its window reads: 9 per output of a 3x3)
        ("onnxruntime", {"Sigmoid": 1, "Swish": 1, "HardSwish": 1, "Clip": 1, "Transpose": 1, "AveragePool": 9}),
        ("openvino", {"Sigmoid": 1, "Swish": 1, "HardSwish": 1, "Clip": 1, "Transpose": 1, "AveragePool": 9}),
        # its swish adds a multiply, which its rate would wrongly absorb, so that is not probed; NCHW and back
        # around the shuffle
        ("tflite", {"Sigmoid": 1, "Swish": 0, "HardSwish": 1, "Clip": 1, "Transpose": 3, "MaxPool": 9}),
    ],
)
def test_an_op_is_probed_only_where_its_link_adds_nothing_else_and_per_element_it_writes(
    backend: str, expected: dict[str, int]
) -> None:
    rules, elems = rules_for(get_device("host"), backend), 96 * 8 * 8
    for name, links in expected.items():
        link = PROBED_LINKS[name]
        with_op, without = functools.partial(link.with_op, 96), functools.partial(link.without, 96)
        assert _elems_per_link(with_op, without, (1, 96, 8, 8), rules, name) == links * elems, name


def test_a_channel_shuffle_is_timed_where_networks_have_it_closing_a_split_unit() -> None:
    link = PROBED_LINKS["Transpose"]
    x = torch.randn(1, 8, 4, 4)
    unit, plain = link.with_op(8), link.without(8)
    plain.load_state_dict(unit.state_dict())
    y, z = unit(x), plain(x)
    assert torch.equal(y[:, 0::2], z[:, :4]) and torch.equal(y[:, 1::2], z[:, 4:])  # the halves interleaved
    assert torch.equal(z[:, :4], x[:, :4])  # the kept half passes through


@pytest.mark.parametrize(
    ("gflops", "expected"),
    [((34.0, 26.0, 3.4, 3.6), (25, 3.5)), ((44.0, 40.0, 34.0, 31.0), None), ((34.0, 30.0, 28.0, 3.0), (49, 3.0))],
)
def test_the_slower_depthwise_path_starts_at_the_first_size_under_a_share_of_the_3x3s_rate(
    monkeypatch: pytest.MonkeyPatch, gflops: tuple[float, ...], expected: tuple[int, float] | None
) -> None:
    c, hw = DEPTHWISE_MAP
    times = [2 * c * hw * hw * k * k / (rate * 1e6) for k, rate in zip(DEPTHWISE_SIDES, gflops, strict=True)]
    monkeypatch.setattr(ChainTimer, "per_kernel_ms", lambda *_: times.pop(0))
    found = probe_large_depthwise("onnxruntime")
    got = found and (found["above_taps"], found["gflops"]["value"])
    assert got == (pytest.approx(expected) if expected else None)


def test_unblocked_depthwise_convs_are_solved_for_a_cost_per_channel_and_a_rate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    c, (small, large) = PLAIN_CHANNELS, (side * side for side in PLAIN_SIDES)
    times = [c * (0.5 + 18 * px / 9e3) / 1e3 for px in (small, large)]  # 0.5 µs per channel, taps at 9 GFLOP/s
    side = PLAIN_SIDES[-1]
    strided = 4 * c * side * side / 4.0 / 1e6  # a stride-2 conv's input at 4 GB/s
    monkeypatch.setattr(ChainTimer, "per_kernel_ms", lambda *_: times.pop(0))
    monkeypatch.setattr(ChainTimer, "per_link_ms", lambda *_: strided)
    found = probe_plain_depthwise(get_device("host"), "onnxruntime")
    assert found is not None
    got = found["gflops"]["value"], found["group_us"]["value"], found["input_gbps"]["value"]
    assert got == pytest.approx((9.0, 0.5, 4.0))
    assert probe_plain_depthwise(get_device("host"), "tflite") is None  # no channel block: every conv runs as is


def test_unblocked_convs_and_pools_are_rated_against_blocked_ones_of_nearly_the_same_work(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (plain, blocked), px = PLAIN_PAIR, PAIR_SIDE * PAIR_SIDE
    # 1x1 convs: the plain one at 0.8 of the blocked one's 100 GFLOP/s; 3x3 ones at 0.6; max pools at 0.3 of 40 Gelem/s
    times = [2 * c * c * k * k * px / (rate * 1e6) for k, share in ((1, 0.8), (3, 0.6))
             for c, rate in ((plain, 100 * share), (blocked, 100))]  # fmt: skip
    times += [9 * c * px / (rate * 1e6) for c, rate in ((plain, 40 * 0.3), (blocked, 40))]
    monkeypatch.setattr(ChainTimer, "per_kernel_ms", lambda *_: times.pop(0))
    found = probe_plain_layout(get_device("host"), "onnxruntime")
    shares = {"pointwise_conv": 0.8, "conv": 0.6, "pooling": 0.3}
    assert {kind: share["value"] for kind, share in found.items()} == shares
    assert probe_plain_layout(get_device("host"), "tflite") == {}
    rated = with_runtime_rates(get_device("host"), RuntimeRates("onnxruntime", {}, {}, plain_layout=found))
    got = params_for(rated, "onnxruntime", Precision.FP32, 1).plain_layout
    assert got == {KernelKind(kind): share for kind, share in shares.items()}
    assert "0.60 of the blocked rate (conv)" in RuntimeRates("onnxruntime", {}, {}, plain_layout=found).summary()


def _blocked(block: int) -> DeviceProfile:
    """The shipped host profile with ONNX Runtime's channel block set to ``block``."""
    host = get_device("host")
    runtimes = tuple(
        r.model_copy(update={"channel_block": block}) if r.backend == "onnxruntime" else r for r in host.runtimes
    )
    return host.model_copy(update={"runtimes": runtimes})


@pytest.mark.parametrize(("block", "cost"), [(8, 6.0), (16, 0.5), (8, 0.0)])
def test_a_blocked_convs_pass_over_its_input_is_solved_from_one_block_against_a_filter_set(
    monkeypatch: pytest.MonkeyPatch, block: int, cost: float
) -> None:
    profile, gflops = _blocked(block), 100.0
    half_depth = profile.cost_model.reduction_half_depth
    k0 = half_depth.value if half_depth else 0.0
    share = [1.0, (cost + FILTER_SET) / (FILTER_SET * (cost + 1))]  # of the full rate: a filter set, one block
    times = []
    for c in (block, FILTER_SET * block):  # ms per conv at 32x32, slowed by the short reduction as the model prices it
        times.append(2 * c * c * 9 * 32 * 32 * (1 + k0 / (9 * c)) / (gflops * share[c == block] * 1e6))
    monkeypatch.setattr(ChainTimer, "per_kernel_ms", lambda *_: times.pop(0))
    found = probe_filter_pass(profile, "onnxruntime")
    assert found is not None and found["value"] == pytest.approx(cost, abs=0.01)
    assert probe_filter_pass(profile, "openvino") is None  # no channel block


def test_a_profiles_filter_pass_sets_what_part_filled_filter_sets_cost(tmp_path: Path) -> None:
    profile = _blocked(8)

    def conv_lanes(on: DeviceProfile) -> list[float]:
        convs = nn.Sequential(*(nn.Conv2d(16, 16, 3, padding=1) for _ in range(2)))
        ks = module_kernels(convs, (1, 16, 16, 16), rules_for(on, "onnxruntime"))
        return [k.lanes_used for k in ks if k.kind is KernelKind.CONV]

    assert conv_lanes(profile) == [pytest.approx(20 / 32)] * 2  # none stated: block 8's, 2 x (6 + 4) / (4 x (6 + 2))
    rates = replace(RuntimeRates("onnxruntime", {}, {}), filter_pass={"value": 2.0, "source": "test"})
    save_profile(with_runtime_rates(profile, rates), tmp_path / "host.yaml")
    probed = load_profile(tmp_path / "host.yaml")
    assert conv_lanes(probed) == [pytest.approx(12 / 16)] * 2  # 2 x (2 + 4) / (4 x (2 + 2))


def test_a_runtimes_own_dense_conv_rate_sets_its_conv_efficiency(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(ChainTimer, "per_kernel_ms", lambda *_: 2 * 64 * 64 * 9 * 32 * 32 / 80e6)  # 80 GFLOP/s
    found = probe_conv_rate("tflite")
    assert found["value"] == pytest.approx(80.0) and "3x3 convs at 64x32x32" in found["source"]
    host = with_runtime_rates(get_device("host"), RuntimeRates("tflite", {}, {}))  # LiteRT with no rate of its own
    before = params_for(host, "tflite", Precision.FP32, 1, calibrated=False)
    save_profile(
        with_runtime_rates(host, replace(RuntimeRates("tflite", {}, {}), conv_gflops=found)), tmp_path / "host.yaml"
    )
    after = params_for(load_profile(tmp_path / "host.yaml"), "tflite", Precision.FP32, 1, calibrated=False)
    assert after.peak_gflops == before.peak_gflops  # the CPU's peak stays: the runtime's conv reaches less of it
    assert after.peak_gflops * after.efficiency[KernelKind.CONV] == pytest.approx(80.0, rel=1e-3)
    assert after.efficiency[KernelKind.POINTWISE_CONV] == before.efficiency[KernelKind.POINTWISE_CONV]
    assert params_for(host, "onnxruntime", Precision.FP32, 1, calibrated=False).efficiency == before.efficiency


@pytest.mark.parametrize(("gouts", "row_ns"), [(2.9, 3.2), (2.1, 0.0)])
def test_depthwise_convs_are_solved_for_a_cost_per_output_and_per_output_row(
    monkeypatch: pytest.MonkeyPatch, gouts: float, row_ns: float
) -> None:
    times = [c * side * (side / gouts + row_ns) / 1e6 for c, side in STREAM_MAPS]  # ms per conv
    strided = [4 * c * side * side / gbps / 1e6 for (c, side), gbps in zip(STRIDED_MAPS, (40.0, 50.0), strict=True)]
    monkeypatch.setattr(ChainTimer, "per_kernel_ms", lambda *_: times.pop(0))
    monkeypatch.setattr(ChainTimer, "per_link_ms", lambda *_: strided.pop(0))
    found = probe_depthwise_stream("onnxruntime")
    assert (found["gouts"]["value"], found["row_ns"]["value"]) == pytest.approx((gouts, row_ns), abs=0.01)
    assert found["input_gbps"]["value"] == pytest.approx(45.0)  # the mean of the two maps' input rates
    assert "stride-2 3x3 depthwise convs at 192x28x28, 40.0 GB/s of input" in found["input_gbps"]["source"]
    rates = RuntimeRates("onnxruntime", {}, {}, depthwise_stream=found)
    assert rates.summary().endswith("ns per row, reading their input at 45.0 GB/s at least")
    rated = with_runtime_rates(get_device("host"), rates)
    assert params_for(rated, "onnxruntime", Precision.FP32, 1).depthwise_reads == pytest.approx(45.0)


@pytest.mark.parametrize(("ns", "l1_mb", "stated"), [((0.46, 0.70), 0.03125, True), ((0.50, 0.36), 0.03125, False),
                                               ((0.46, 0.70), None, False)])  # fmt: skip
def test_wide_depthwise_convs_rereads_are_stated_where_they_run_slower_per_output_past_the_l1(
    monkeypatch: pytest.MonkeyPatch, ns: tuple[float, float], l1_mb: float | None, stated: bool
) -> None:
    times = [n * c * side * side / 1e6 for n, (c, side) in zip(ns, WIDE_MAPS, strict=True)]  # ms per conv
    monkeypatch.setattr(ChainTimer, "per_kernel_ms", lambda *_: times.pop(0))
    monkeypatch.setattr("edgebench.costmodel.depthwise_probe.cache_mb", lambda level: l1_mb)
    found = probe_wide_depthwise("tflite")
    if not stated:  # the wide one keeps up (OpenVINO's did), or no L1 size to state
        assert found is None
        return
    assert found is not None
    assert (found["above_kb"]["value"], found["gbps"]["value"]) == pytest.approx((32.0, 76 / 0.70), rel=1e-3)
    rated = with_runtime_rates(get_device("host"), RuntimeRates("tflite", {}, {}, wide_depthwise=found))
    assert params_for(rated, "tflite", Precision.FP32, 1).wide_depthwise == pytest.approx((32.0, 76 / 0.70), rel=1e-3)
    assert "re-read them at 109 GB/s" in RuntimeRates("tflite", {}, {}, wide_depthwise=found).summary()


def _spilling(bytes_per_pixel: int, convs: int, above_mb: float | None, gbps: float) -> list[float]:
    """A chain link's ms at each of LARGE_MAP_SIDES: 60 ns a pixel, and each conv's bytes past the threshold."""
    return [60e-6 * side * side + (convs * max(0.0, bytes_per_pixel * side * side / 1e6 - above_mb) / gbps
            if above_mb is not None else 0.0) for side in LARGE_MAP_SIDES]  # fmt: skip


@pytest.mark.parametrize(("above_mb", "gbps"), [(8.0, 11.0), (12.0, 20.0)])
def test_large_maps_are_fitted_as_the_bytes_past_a_threshold_at_a_rate(
    monkeypatch: pytest.MonkeyPatch, above_mb: float, gbps: float
) -> None:
    c, e = LARGE_MAP_PAIR
    times = _spilling((c + e) * 4, 2, above_mb, gbps)
    monkeypatch.setattr(ChainTimer, "per_link_ms", lambda *_: times.pop(0))
    found = probe_large_maps("openvino")
    assert found is not None and "kinds" not in found  # the 1x1 convs spill: every kind does
    assert (found["above_mb"]["value"], found["gbps"]["value"]) == pytest.approx((above_mb, gbps), rel=1e-3)
    assert "224x224 " in found["gbps"]["source"] and found["gbps"]["note"] == "measured"
    assert "1x1 conv pairs" in found["gbps"]["source"] and "(openvino, 1 thread" in found["gbps"]["source"]
    rates = RuntimeRates("openvino", {}, {}, large_maps=found)
    assert f"activations past {above_mb:.0f} MB a kernel streamed at {gbps:.1f} GB/s" in rates.summary()
    rated = with_runtime_rates(get_device("host"), rates)
    assert params_for(rated, "openvino", Precision.FP32, 1).large_maps == pytest.approx((above_mb, gbps), rel=1e-3)
    assert params_for(rated, "openvino", Precision.FP32, 1).large_map_kinds == frozenset()


@pytest.mark.parametrize("depthwise_spill", [True, False])
def test_where_the_conv_pairs_keep_up_depthwise_chains_state_large_maps_for_the_memory_bound_kinds(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, depthwise_spill: bool
) -> None:
    d = LARGE_MAP_DEPTHWISE
    times = _spilling(0, 2, None, 0.0) + _spilling(2 * d * 4, 1, 10.0 if depthwise_spill else None, 15.0)
    monkeypatch.setattr(ChainTimer, "per_link_ms", lambda *_: times.pop(0))
    found = probe_large_maps("onnxruntime")
    assert not times  # both chains timed at every side
    if not depthwise_spill:  # ONNX Runtime's blocked 1x1 convs ran 56-57 ns a pixel at every side
        assert found is None
        return
    assert found is not None
    assert (found["above_mb"]["value"], found["gbps"]["value"]) == pytest.approx((10.0, 15.0), rel=1e-3)
    assert f"3x3 depthwise convs of {d} channels" in found["gbps"]["source"]
    rates = RuntimeRates("onnxruntime", {}, {}, large_maps=found)
    assert "(depthwise_conv, pooling, elementwise, activation kernels)" in rates.summary()
    rated = with_runtime_rates(get_device("host"), rates)
    p = params_for(rated, "onnxruntime", Precision.FP32, 1)
    assert p.large_maps == pytest.approx((10.0, 15.0), rel=1e-3) and p.large_map_kinds == frozenset(MEMORY_BOUND)
    save_profile(rated, tmp_path / "host.yaml")  # the kinds are written and read back
    read_back = load_profile(tmp_path / "host.yaml").runtime("onnxruntime").large_maps
    assert read_back == rated.runtime("onnxruntime").large_maps


@pytest.mark.parametrize(("gouts", "channel_ns", "stated"), [(8.0, 15.7, True), (16.0, 0.0, True), (300.0, 0.5, False)])
def test_gate_multiplies_are_solved_for_a_cost_per_output_and_per_channel_unless_the_chain_fused(
    monkeypatch: pytest.MonkeyPatch, gouts: float, channel_ns: float, stated: bool
) -> None:
    times = [(c * side * side / gouts + c * channel_ns) / 1e6 for c, side in GATE_MAPS]  # ms per multiply
    monkeypatch.setattr(ChainTimer, "per_link_ms", lambda *_: times.pop(0))
    found = probe_channel_scale(get_device("host"), "onnxruntime")  # L2 at 68.5 GB/s: fused past 34 G outputs/s
    if not stated:
        assert found is None
        return
    assert found is not None
    assert (found["gouts"]["value"], found["channel_ns"]["value"]) == pytest.approx((gouts, channel_ns), abs=0.01)
    assert "gate multiplies at 96x56x56" in found["gouts"]["source"]
    rated = with_runtime_rates(get_device("host"), RuntimeRates("onnxruntime", {}, {}, channel_scale=found))
    assert rated.runtime("onnxruntime").channel_scale.gouts.value == found["gouts"]["value"]  # type: ignore[union-attr]


@pytest.mark.parametrize(("gbps", "stated"), [(68.0, True), (300.0, False)])
def test_activations_streamed_from_l3_are_stated_unless_the_runtime_fused_the_chain(
    monkeypatch: pytest.MonkeyPatch, gbps: float, stated: bool
) -> None:
    host = get_device("host")  # L2 0.5 MB, L3 8 MB: a chain on 4 MB tensors streams from L3
    side = int((4e6 / 4 / 16) ** 0.5)
    monkeypatch.setattr(ChainTimer, "per_kernel_ms", lambda *_: 2 * 16 * side * side * 4 / gbps / 1e6)
    found = probe_cache_streams(host, "onnxruntime")
    assert found == ({"L3": {"value": gbps, "source": found["L3"]["source"], "note": "measured"}} if stated else {})
    if stated:
        assert "a chain of ReLUs on 4 MB" in found["L3"]["source"]
        rated = with_runtime_rates(host, RuntimeRates("onnxruntime", {}, {}, cache_gbps=found))
        assert rated.runtime("onnxruntime").cache_gbps["L3"].value == gbps


@pytest.mark.slow
def test_litert_runs_depthwise_convs_past_5x5_on_a_path_a_tenth_as_fast() -> None:
    # what the shipped host profile states for tflite; if a LiteRT release changes it, so must the profile
    found = probe_large_depthwise("tflite", runs=30)
    assert found is not None and found["above_taps"] == 25 and found["gflops"]["note"] == "measured"
