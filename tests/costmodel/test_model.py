"""The roofline cost model: hand-computed estimates, thread scaling, calibrations chosen over priors."""

from __future__ import annotations

import datetime
from dataclasses import replace

import numpy as np
import pytest

from edgebench.costmodel.graph import Kernel
from edgebench.costmodel.model import INT8_RULES, CostParams, estimate, params_for
from edgebench.costmodel.runtime_rates import effective_peak
from edgebench.devices import get_device
from edgebench.devices.profile import Calibration, FitError, Sourced
from edgebench.exceptions import UnsupportedError
from edgebench.types import KernelKind, Precision, SizeClass, Source, WeightRead

ONES = {k: dict.fromkeys(SizeClass, 1.0) for k in KernelKind}


def _params(**changes: object) -> CostParams:
    base = CostParams(
        peak_gflops=100.0,
        bandwidth_gbps=10.0,
        bytes_per_elem=4.0,
        efficiency=dict.fromkeys(KernelKind, 0.5),
        size_factor=ONES,
        overhead_per_layer_ms=0.01,
        overhead_per_network_ms=0.2,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


CONV = Kernel("c", KernelKind.CONV, ("Conv",), flops=1e8, activation_elems=1000, weight_elems=0)  # large
ADD = Kernel("a", KernelKind.ELEMENTWISE, ("Add",), flops=1e5, activation_elems=3_000_000, weight_elems=0)


def test_compute_and_memory_bound_kernels_by_hand() -> None:
    e = estimate([CONV, ADD], _params())
    conv_ms = 1e8 / (100.0 * 0.5 * 1e6) + 0.01  # compute-bound: 2 ms + per-layer
    add_ms = 3e6 * 4 / (10.0 * 0.5 * 1e6) + 0.01  # memory-bound: 2.4 ms + per-layer
    assert [ms for _, ms in e.kernels] == pytest.approx([conv_ms, add_ms])
    assert e.latency_ms == pytest.approx(conv_ms + add_ms + 0.2)
    assert e.source is Source.ESTIMATED


def test_size_factor_scales_one_kind_and_efficiency_is_capped_at_one() -> None:
    factors = {**ONES, KernelKind.CONV: {**ONES[KernelKind.CONV], SizeClass.LARGE: 0.5}}
    slower = estimate([CONV], _params(size_factor=factors))
    assert slower.kernels[0][1] == pytest.approx(1e8 / (100.0 * 0.25 * 1e6) + 0.01)
    capped = estimate([CONV], _params(efficiency=dict.fromkeys(KernelKind, 1.0), size_factor={
        **ONES, KernelKind.CONV: dict.fromkeys(SizeClass, 4.0)}))  # fmt: skip
    assert capped.kernels[0][1] == pytest.approx(1e8 / (100.0 * 1e6) + 0.01)


def test_a_stream_is_read_at_the_bandwidth_of_the_cache_it_fits_in() -> None:
    p = _params(caches=((1.0, 100.0), (10.0, 50.0)))  # L2 1 MB at 100 GB/s, L3 10 MB at 50; memory at 10
    per_byte = p.ns_per_byte(np.array([0.5e6, 1e6, 5e6, 20e6]))
    assert per_byte == pytest.approx([1 / 100, 1 / 100, 0.2 / 100 + 0.8 / 50, 0.05 / 100 + 0.45 / 50 + 0.5 / 10])


def test_a_runtimes_own_cache_bandwidth_prices_activations_and_leaves_weights_at_the_levels() -> None:
    levels = _params(caches=((1.0, 100.0), (10.0, 50.0)), overhead_per_layer_ms=0.0)
    own = replace(levels, activation_gbps=(100.0, 80.0))  # activations stream from L3 at 80 GB/s, weights at 50
    assert own.ns_per_byte(np.array([5e6]), activations=True) == pytest.approx([0.2 / 100 + 0.8 / 80])
    assert own.ns_per_byte(np.array([5e6])) == pytest.approx([0.2 / 100 + 0.8 / 50])
    add = replace(ADD, activation_elems=1_250_000)  # 5 MB: memory-bound
    assert estimate([add], own).latency_ms - 0.2 == pytest.approx(5e6 * (0.2 / 100 + 0.8 / 80) / 0.5 / 1e6)
    weights = Kernel("w", KernelKind.POINTWISE_CONV, ("Conv",), 1.0, 10, 1_250_000, reduction_depth=64)
    assert estimate([weights], own).latency_ms == pytest.approx(estimate([weights], levels).latency_ms)
    host = get_device("host")
    stated = host.runtime("onnxruntime").cache_gbps["L3"]
    assert stated.note == "measured" and stated.value > host.cost_model.caches[1].bandwidth_gbps.value
    assert params_for(host, "onnxruntime", Precision.FP32).activation_gbps[1] == stated.value
    tflite = params_for(host, "tflite", Precision.FP32)  # states none: the level's own
    assert tflite.activation_gbps == tuple(bandwidth for _, bandwidth in tflite.caches)


def test_with_caches_weights_are_added_at_the_level_the_networks_weights_and_activations_fit_in() -> None:
    p = _params(caches=((1.0, 100.0),), overhead_per_layer_ms=0.0)
    small = Kernel("w", KernelKind.POINTWISE_CONV, ("Conv",), 1e6, 0, 100_000, reduction_depth=64)  # 0.4 MB
    compute = 1e6 / (100.0 * 0.5 * 1e6)
    in_cache = estimate([small], p).kernels[0][1]
    assert in_cache == pytest.approx(compute + 0.4e6 * 0.01 / 1e6)  # weights added, not overlapped
    # the same kernel in a network whose weights total 4 MB: 1/4 from the cache, the rest at 10 GB/s
    big = replace(small, weight_elems=900_000, flops=1.0)
    in_memory = estimate([small, big], p).kernels[0][1]
    assert in_memory == pytest.approx(compute + 0.4e6 * (0.25 / 100 + 0.75 / 10) / 1e6)
    # or whose activations move 3.6 MB: they pass through the cache between two reads of the weights too
    maps = replace(small, weight_elems=0, activation_elems=900_000, flops=1.0)
    assert estimate([small, maps], p).kernels[0][1] == pytest.approx(in_memory)


def test_short_reductions_run_at_k_over_k_plus_k0() -> None:
    deep, shallow = replace(CONV, reduction_depth=576), replace(CONV, reduction_depth=4)
    p = _params(reduction_half_depth=4.0, overhead_per_layer_ms=0.0)
    ms = [ms for _, ms in estimate([deep, shallow, replace(CONV, reduction_depth=0)], p).kernels]
    assert ms == pytest.approx([2.0 * 580 / 576, 2.0 * 2, 2.0])  # 0: no reduction depth known, no penalty


def test_stream_ceiling_is_a_floor_at_a_share_of_the_fastest_levels_bandwidth() -> None:
    dw = Kernel("d", KernelKind.DEPTHWISE_CONV, ("Conv",), flops=1e6, activation_elems=1_000_000, weight_elems=0)
    p = _params(stream_ceiling={KernelKind.DEPTHWISE_CONV: 0.1}, overhead_per_layer_ms=0.0)
    streamed, computed, add = (ms for _, ms in estimate([dw, replace(dw, flops=1e9), ADD], p).kernels)
    assert streamed == pytest.approx(4e6 / (10.0 * 0.1 * 1e6))  # 4 ms at a tenth of 10 GB/s, not 0.8 ms at half
    assert computed == pytest.approx(1e9 / (100.0 * 0.5 * 1e6))  # compute-bound kernels are past the floor
    assert add == pytest.approx(3e6 * 4 / (10.0 * 0.5 * 1e6))  # other kinds are untouched
    # with caches the ceiling is a share of the first level's bandwidth, wherever the 4 MB sit
    in_cache = _params(stream_ceiling={KernelKind.DEPTHWISE_CONV: 0.1}, caches=((8.0, 100.0),))
    assert estimate([dw], in_cache).kernels[0][1] == pytest.approx(4e6 / (100.0 * 0.1 * 1e6) + 0.01)
    # ... and it does not slow the slower levels further: 3 MB of 4 come from memory at half of 10 GB/s
    spilled = _params(stream_ceiling={KernelKind.DEPTHWISE_CONV: 0.1}, caches=((1.0, 100.0),))
    assert estimate([dw], spilled).kernels[0][1] == pytest.approx(4e6 * (0.25 / 100 + 0.75 / 10) / 0.5 / 1e6 + 0.01)


def test_priced_activations_bound_a_standalone_kernel_and_add_to_a_fused_one() -> None:
    sigmoid = Kernel("s", KernelKind.ACTIVATION, ("Sigmoid",), 1e6, 2_000_000, 0, "", 1.0, 0, "sigmoid", "Sigmoid",
                     1_000_000)  # fmt: skip
    relu = Kernel("r", KernelKind.ACTIVATION, ("Relu",), 1e6, 2_000_000, 0)
    conv_swish = replace(CONV, ops=("Conv", "Sigmoid", "Mul"), priced_op="Swish", priced_elems=1_000_000)
    p = _params(overhead_per_layer_ms=0.0, op_gelems={"Sigmoid": 0.5, "Swish": 0.25})  # 2 and 4 ms/million
    ms = [ms for _, ms in estimate([sigmoid, relu, conv_swish, CONV], p).kernels]
    stream = 8e6 / (10.0 * 0.5 * 1e6)  # 1.6 ms of bytes, under the 2 ms of exponentials
    assert ms == pytest.approx([2.0, stream, 2.0 + 4.0, 2.0])
    without = [ms for _, ms in estimate([sigmoid, conv_swish], _params(overhead_per_layer_ms=0.0)).kernels]
    assert without == pytest.approx([stream, 2.0])  # no rate in the profile: bytes and FLOPs alone, as before
    # ONNX Runtime clamps a conv's output in a pass of its own: a fused ReLU6 costs its rate on top of the conv
    conv_clip = replace(CONV, ops=("Conv", "Clip"), priced_op="Clip", priced_elems=1_000_000)
    clip_rate = _params(overhead_per_layer_ms=0.0, op_gelems={"Clip": 1.0})
    clamped = [ms for _, ms in estimate([conv_clip], clip_rate).kernels]
    assert clamped == pytest.approx([2.0 + 1.0])


def test_a_window_pool_takes_at_least_its_window_reads_at_the_runtimes_pool_rate() -> None:
    pool = Kernel("p", KernelKind.POOLING, ("AveragePool",), 9e6, 2_000_000, 0, "", 1.0, 0, "average pooling",
                  "AveragePool", 9_000_000)  # fmt: skip
    stream = [ms for _, ms in estimate([pool], _params(overhead_per_layer_ms=0.0)).kernels]
    rated = [
        ms for _, ms in estimate([pool], _params(overhead_per_layer_ms=0.0, op_gelems={"AveragePool": 1.0})).kernels
    ]
    assert rated == pytest.approx([9.0]) and stream[0] < 9.0  # 9 million reads at 1 per ns: past its stream time
    fast = [
        ms for _, ms in estimate([pool], _params(overhead_per_layer_ms=0.0, op_gelems={"AveragePool": 100.0})).kernels
    ]
    assert stream == pytest.approx([2e6 * 4 / (10.0 * 0.5 * 1e6)])  # no rate: its bytes at the fitted efficiency
    # a floor: a rate faster than the stream leaves the stream's price, but the rate prices the pool's per-element
    # cost, so its bytes move at the full bandwidth, not slowed by the efficiency fitted for the kind
    assert fast == pytest.approx([2e6 * 4 / (10.0 * 1e6)])


def test_a_runtimes_own_op_rates_override_the_exp_rate_for_that_runtime_only() -> None:
    host = get_device("host")
    cm = host.cost_model
    assert cm.exp_gelems is not None
    stated = {"Swish": Sourced(value=0.8, source="test"), "HardSwish": Sourced(value=7.0, source="test")}
    runtimes = tuple(
        r.model_copy(update={"op_gelems": stated if r.backend == "openvino" else {}}) for r in host.runtimes
    )
    own = host.model_copy(update={"runtimes": runtimes})
    ov, ort = (params_for(own, b, Precision.FP32, 1).op_gelems for b in ("openvino", "onnxruntime"))
    assert ov["Swish"] == 0.8 and ov["HardSwish"] == 7.0 and ov["Sigmoid"] == cm.exp_gelems.value
    assert ort["Swish"] == cm.exp_gelems.value and "HardSwish" not in ort  # hard-swish: priced by its bytes
    two = params_for(own, "openvino", Precision.FP32, 2).op_gelems
    assert two["Swish"] == pytest.approx(0.8 * (1 + cm.parallel_efficiency.value))  # type: ignore[union-attr]


def test_a_runtimes_weight_share_slows_the_memory_reads_of_that_kinds_weights_alone() -> None:
    heavy = replace(CONV, weight_elems=2_500_000, activation_elems=0)  # 10 MB: past the 1 MB cache
    pointwise = replace(heavy, kind=KernelKind.POINTWISE_CONV)
    p = _params(overhead_per_layer_ms=0.0, caches=((1.0, 50.0),))
    share = replace(p, weight_share={WeightRead.CONV: 0.5})
    [full, pw], [half, pw_half] = ([ms for _, ms in estimate([heavy, pointwise], q).kernels] for q in (p, share))
    cached, memory = 10e6 * 0.05 / 50.0 / 1e6, 10e6 * 0.95 / 10.0 / 1e6  # a twentieth of the network's 20 MB fits
    assert full == pytest.approx(2.0 + cached + memory) and half == pytest.approx(2.0 + cached + 2 * memory)
    assert pw_half == pw  # another kind keeps the profile's bandwidth


def test_a_one_pixel_conv_reads_its_weights_at_its_own_share_else_at_the_pointwise_share() -> None:
    heavy = Kernel("se", KernelKind.POINTWISE_CONV, ("Conv",), flops=2e6, activation_elems=0, weight_elems=2_500_000)
    gemv = replace(heavy, one_pixel=True)
    p = _params(overhead_per_layer_ms=0.0, caches=((1.0, 50.0),), weight_share={WeightRead.POINTWISE_CONV: 0.5})
    own = replace(p, weight_share={**p.weight_share, WeightRead.ONE_PIXEL_CONV: 0.25})
    [pointwise, fallback], [same, slower] = ([ms for _, ms in estimate([heavy, gemv], q).kernels] for q in (p, own))
    assert fallback == pointwise == same  # no one-pixel share: the pointwise share
    memory = 10e6 * 0.95 / 10.0 / 1e6  # all but the cache's twentieth of the network's 20 MB, at 10 GB/s
    assert slower - same == pytest.approx(memory / 0.25 - memory / 0.5)


def test_a_conv_read_once_a_pixel_tile_reads_its_weights_again_from_where_they_alone_fit() -> None:
    heavy = replace(CONV, weight_elems=2_500_000, activation_elems=0)  # 10 MB, in a network of 20 MB
    other = replace(heavy, name="other")
    p = _params(overhead_per_layer_ms=0.0, caches=((1.0, 50.0),), overlaps_weights=True)
    [once, _], [thrice, _] = (estimate([replace(heavy, weight_passes=n), other], p).kernels for n in (1, 3))
    first = 10e6 * (0.05 / 50.0 + 0.95 / 10.0) / 1e6  # a twentieth of the network's 20 MB fits the cache
    again = 10e6 * (0.1 / 50.0 + 0.9 / 10.0) / 1e6  # a tenth of its own 10 MB does
    assert once[1] == pytest.approx(max(2.0, first)) and thrice[1] == pytest.approx(first + 2 * again)
    share = replace(p, weight_share={WeightRead.CONV: 0.5})
    slower = estimate([replace(heavy, weight_passes=3), other], share).kernels[0][1]
    assert slower == pytest.approx(first + 2 * again + 10e6 * (0.95 / 10.0 + 2 * 0.9 / 10.0) / 1e6)  # past the cache


def test_a_runtimes_weight_share_reaches_only_that_runtimes_params() -> None:
    host = get_device("host")
    runtimes = tuple(
        r.model_copy(update={"weight_share": {WeightRead.CONV: Sourced(value=0.5, source="test")}})
        if r.backend == "onnxruntime" else r.model_copy(update={"weight_share": {}})
        for r in host.runtimes
    )  # fmt: skip
    own = host.model_copy(update={"runtimes": runtimes})
    assert params_for(own, "onnxruntime", Precision.FP32).weight_share == {WeightRead.CONV: 0.5}
    assert params_for(own, "tflite", Precision.FP32).weight_share == {}


def _depthwise(side: int) -> Kernel:
    outputs = 48 * 56 * 56
    return Kernel(f"dw{side}", KernelKind.DEPTHWISE_CONV, ("Conv",), flops=2 * outputs * side * side,
                  activation_elems=2 * outputs, weight_elems=48 * side * side, reduction_depth=side * side)  # fmt: skip


def test_a_depthwise_conv_past_the_runtimes_fast_taps_computes_at_its_slower_paths_rate() -> None:
    p = _params(overhead_per_layer_ms=0.0)
    slow = replace(p, large_depthwise=(25, 2.0))  # 5x5 and under on the fast path, larger at 2 GFLOP/s
    assert estimate([_depthwise(5)], slow).kernels == estimate([_depthwise(5)], p).kernels
    seven = _depthwise(7)
    assert estimate([seven], slow).kernels[0][1] == pytest.approx(seven.flops / 2e6)
    assert estimate([seven], p).kernels[0][1] < seven.flops / 2e6 / 5


def test_a_depthwise_conv_a_blocked_runtime_cannot_block_costs_its_taps_and_a_set_up_per_channel() -> None:
    p = _params(overhead_per_layer_ms=0.0, plain_depthwise=(9.0, 0.5))  # 9 GFLOP/s, 0.5 µs per channel
    blocked, plain = _depthwise(3), replace(_depthwise(3), plain=True)
    assert estimate([blocked], p).kernels == estimate([blocked], _params(overhead_per_layer_ms=0.0)).kernels
    assert estimate([plain], p).kernels[0][1] == pytest.approx(plain.flops / 9e6 + 48 * 0.5 / 1e3)
    unstated = estimate([plain], _params(overhead_per_layer_ms=0.0))
    assert unstated.latency_ms == estimate([blocked], p).latency_ms  # no plain path stated: priced as a blocked one
    _spread_over_two_threads("plain_depthwise", "gflops", "group_us")
    assert params_for(get_device("host"), "tflite", Precision.FP32, 1).plain_depthwise is None


def test_a_strided_depthwise_conv_off_the_block_takes_at_least_its_inputs_read_time() -> None:
    p = _params(overhead_per_layer_ms=0.0, plain_depthwise=(9.0, 0.5), plain_reads=2.0)  # input read at 2 GB/s
    plain = replace(_depthwise(3), plain=True)
    assert estimate([plain], p).kernels[0][1] == pytest.approx(plain.flops / 9e6 + 48 * 0.5 / 1e3)  # the taps bind
    outputs = 48 * 56 * 56
    strided = replace(plain, flops=plain.flops / 4, activation_elems=4 * outputs + outputs // 4)  # 112x112 -> 56x56
    assert estimate([strided], p).kernels[0][1] == pytest.approx(4 * outputs * 4 / 2e6)
    assert params_for(get_device("host"), "onnxruntime", Precision.FP32, 1).plain_reads == pytest.approx(4.23)


@pytest.mark.parametrize("kind", [KernelKind.POINTWISE_CONV, KernelKind.CONV])
def test_a_dense_conv_off_the_block_computes_at_its_share_of_the_rate(kind: KernelKind) -> None:
    p = _params(overhead_per_layer_ms=0.0, bandwidth_gbps=1e6)  # compute-bound
    conv = Kernel("c", kind, ("Conv",), flops=1e9, activation_elems=1000, weight_elems=100, lanes_used=0.5)
    shares = {KernelKind.POINTWISE_CONV: 0.8, KernelKind.CONV: 0.6}
    assert estimate([conv], replace(p, plain_layout=shares)).kernels == estimate([conv], p).kernels
    plain = replace(conv, plain=True)
    assert estimate([plain], replace(p, plain_layout=shares)).kernels[0][1] == pytest.approx(
        1e9 / (50 * 0.5 * shares[kind]) / 1e6
    )
    assert estimate([plain], p).latency_ms == estimate([conv], p).latency_ms  # no share stated: the blocked rate


def test_a_window_pool_off_the_block_reads_its_windows_at_its_share_of_the_rate() -> None:
    p = _params(overhead_per_layer_ms=0.0, bandwidth_gbps=1e6, op_gelems={"MaxPool": 20.0})
    pool = Kernel("max", KernelKind.POOLING, ("MaxPool",), flops=9e6, activation_elems=2_000_000, weight_elems=0,
                  priced_op="MaxPool", priced_elems=9_000_000)  # fmt: skip
    shared = replace(p, plain_layout={KernelKind.POOLING: 0.25})
    assert estimate([pool], shared).latency_ms == pytest.approx(estimate([pool], p).latency_ms)
    assert estimate([pool], p).kernels[0][1] == pytest.approx(9e6 / 20e6)
    assert estimate([replace(pool, plain=True)], shared).kernels[0][1] == pytest.approx(9e6 / 5e6)


def _spread_over_two_threads(field: str, rate: str, cost: str) -> None:
    """The host profile's measured ONNX Runtime ``field`` (a rate and a cost per unit, one core's) is spread over two
    threads by the profile's parallel efficiency: the rate up, the cost down."""
    host = get_device("host")
    stated = getattr(host.runtime("onnxruntime"), field)
    assert stated is not None and getattr(stated, rate).note == "measured"
    share = 1 + host.cost_model.parallel_efficiency.value  # type: ignore[union-attr]
    two = getattr(params_for(host, "onnxruntime", Precision.FP32, 2), field)
    assert two == pytest.approx((getattr(stated, rate).value * share, getattr(stated, cost).value / share))


def test_a_runtimes_depthwise_stream_prices_each_output_and_each_output_row_in_place_of_the_ceiling() -> None:
    dw = replace(_depthwise(3), rows=48 * 56)
    p = _params(overhead_per_layer_ms=0.0, stream_ceiling={KernelKind.DEPTHWISE_CONV: 0.01})
    own = replace(p, depthwise_stream=(0.1, 100.0))  # 0.1 outputs per ns, 100 ns per row
    assert estimate([dw], own).kernels[0][1] == pytest.approx(48 * 56 * 56 / 0.1 / 1e6 + 48 * 56 * 100 / 1e6)
    assert estimate([dw], p).kernels[0][1] == pytest.approx(2 * 48 * 56 * 56 * 4 / (0.01 * 10.0 * 1e6))  # ceiling
    conv = estimate([CONV], own).kernels[0][1]
    assert conv == estimate([CONV], p).kernels[0][1]  # other kinds keep theirs
    stated = get_device("host").runtime("onnxruntime").depthwise_stream
    assert stated is not None and stated.row_ns.value > 0
    _spread_over_two_threads("depthwise_stream", "gouts", "row_ns")


def test_a_runtimes_depthwise_input_rate_bounds_strided_depthwise_convs_and_leaves_the_rest() -> None:
    outputs = 48 * 28 * 28  # a stride-2 3x3 conv from 48x56x56: four inputs an output
    strided = Kernel("dw-s2", KernelKind.DEPTHWISE_CONV, ("Conv",), flops=2 * outputs * 9,
                     activation_elems=5 * outputs, weight_elems=48 * 9, reduction_depth=9, rows=48 * 28)  # fmt: skip
    p = _params(overhead_per_layer_ms=0.0, bandwidth_gbps=1000.0, depthwise_stream=(1.0, 0.0))  # 1 output per ns
    reads = replace(p, depthwise_reads=2.0)  # 2 GB/s of input: 8 bytes per ns, slower than 1 output per ns
    assert estimate([strided], reads).kernels[0][1] == pytest.approx(4 * outputs * 4.0 / 2.0 / 1e6)
    assert estimate([strided], p).kernels[0][1] == pytest.approx(outputs / 1.0 / 1e6)  # its outputs alone
    plain = replace(_depthwise(3), rows=48 * 56)  # stride 1: one input an output, read faster than computed
    assert estimate([plain], replace(p, depthwise_reads=20.0)).kernels == estimate([plain], p).kernels
    assert estimate([CONV], reads).kernels == estimate([CONV], p).kernels


def test_a_runtimes_depthwise_stream_moves_its_depthwise_data_at_the_caches_bandwidth_not_the_fitted_eff() -> None:
    dw = _depthwise(3)  # 1.2 MB of activations: memory-bound at these rates
    p = _params(overhead_per_layer_ms=0.0, caches=((0.5, 40.0),))  # efficiency 0.5 for every kind
    act = dw.activation_elems * 4.0
    per_byte = (0.5e6 / act) / 40.0 + (1 - 0.5e6 / act) / 10.0  # the part in the cache, the rest from memory
    passing = act + dw.weight_elems * 4.0  # its weights are read from the levels its activations pass through
    weights = dw.weight_elems * 4.0 * ((0.5e6 / passing) / 40.0 + (1 - 0.5e6 / passing) / 10.0) / 1e6
    fitted = estimate([dw], p).kernels[0][1]
    assert fitted == pytest.approx(act * per_byte / (0.5 * 1e6) + weights)  # scaled by the fitted efficiency
    own = estimate([dw], replace(p, depthwise_stream=(10.0, 0.0))).kernels[0][1]  # a fast stream: memory-bound
    assert own == pytest.approx(act * per_byte / 1e6 + weights)
    assert estimate([ADD], replace(p, depthwise_stream=(10.0, 0.0))).latency_ms == estimate([ADD], p).latency_ms


def test_a_runtimes_channel_scale_prices_each_gate_per_output_and_per_channel_in_place_of_the_stream() -> None:
    gate = Kernel("g", KernelKind.ELEMENTWISE, ("Mul",), flops=960 * 16, activation_elems=3 * 960 * 16,
                  weight_elems=0, gated=960)  # fmt: skip
    p = _params(overhead_per_layer_ms=0.0)
    own = replace(p, channel_scale=(8.0, 16.0))  # 8 outputs per ns, 16 ns per channel
    assert estimate([gate], own).kernels[0][1] == pytest.approx(960 * 16 / 8.0 / 1e6 + 960 * 16.0 / 1e6)
    assert estimate([gate], p).kernels[0][1] == pytest.approx(3 * 960 * 16 * 4 / (10.0 * 0.5 * 1e6))  # the stream
    assert estimate([ADD], own).kernels[0][1] == estimate([ADD], p).kernels[0][1]  # other multiplies keep theirs
    stated = get_device("host").runtime("onnxruntime").channel_scale
    assert stated is not None and stated.channel_ns.value > 0
    _spread_over_two_threads("channel_scale", "gouts", "channel_ns")
    assert params_for(get_device("host"), "tflite", Precision.FP32, 1).channel_scale is None


def test_the_slower_depthwise_path_is_the_runtimes_own_and_scales_with_threads() -> None:
    host = get_device("host")
    stated = host.runtime("tflite").large_depthwise
    assert stated is not None and stated.gflops.note == "measured"
    assert params_for(host, "tflite", Precision.FP32, 1).large_depthwise == (stated.above_taps, stated.gflops.value)
    assert params_for(host, "onnxruntime", Precision.FP32, 1).large_depthwise is None
    rpi5 = get_device("rpi5")
    slow = {"above_taps": 25, "gflops": {"value": 2.0, "source": "test"}}
    own = rpi5.model_validate({**rpi5.model_dump(), "runtimes": [
        {**r.model_dump(), "large_depthwise": slow} for r in rpi5.runtimes]})  # fmt: skip
    assert params_for(own, "tflite", Precision.FP32, 4).large_depthwise == pytest.approx(
        (25, 2.0 * (1 + 3 * rpi5.cost_model.parallel_efficiency.value))  # type: ignore[union-attr]
    )


def test_a_depthwise_conv_whose_taps_and_weights_a_pixel_outgrow_the_l1_rereads_them_for_each_output() -> None:
    def dw(channels: int, side: int = 3) -> Kernel:
        outputs = channels * 14 * 14
        return Kernel(f"dw{channels}", KernelKind.DEPTHWISE_CONV, ("Conv",), flops=2 * outputs * side * side,
                      activation_elems=2 * outputs, weight_elems=channels * side * side,
                      reduction_depth=side * side)  # fmt: skip

    p = _params(overhead_per_layer_ms=0.0, bandwidth_gbps=1000.0, depthwise_stream=(10.0, 0.0))
    wide = replace(p, wide_depthwise=(32.0, 100.0))  # past 32 KB a pixel, re-read at 100 GB/s
    narrow = dw(384)  # 384 x (2 x 9 + 2) x 4 bytes = 30.7 KB a pixel: held
    assert estimate([narrow], wide).kernels == estimate([narrow], p).kernels
    for kernel, taps in ((dw(576), 9), (dw(240, 5), 25)):  # 46 KB and 50 KB a pixel
        outputs = kernel.flops / (2 * taps)
        assert estimate([kernel], wide).kernels[0][1] == pytest.approx(outputs * (2 * taps + 1) * 4 / 100.0 / 1e6)
    assert estimate([CONV], wide).kernels == estimate([CONV], p).kernels
    assert params_for(get_device("rpi5"), "tflite", Precision.FP32).wide_depthwise is None  # unstated: none


def test_a_kernels_activations_past_the_runtimes_large_maps_add_their_bytes_at_its_rate() -> None:
    p = _params(caches=((1.0, 100.0), (16.0, 50.0)), overhead_per_layer_ms=0.0)
    spills = replace(p, large_maps=(8.0, 10.0))  # past 8 MB a kernel, at 10 GB/s on top
    big = Kernel("big", KernelKind.POINTWISE_CONV, ("Conv",), 1e6, 5_000_000, 0, reduction_depth=16)  # 20 MB
    small = replace(big, name="small", activation_elems=1_500_000)  # 6 MB
    assert estimate([small], spills).kernels == estimate([small], p).kernels
    extra = (20e6 - 8e6) / (10.0 * 1e6)  # ms
    assert estimate([big], spills).kernels[0][1] == pytest.approx(estimate([big], p).kernels[0][1] + extra)
    assert estimate([big], replace(spills, caches=())).kernels[0][1] == pytest.approx(
        estimate([big], replace(p, caches=())).kernels[0][1] + extra
    )
    assert params_for(get_device("rpi5"), "tflite", Precision.FP32).large_maps is None  # unstated: none
    only = replace(spills, large_map_kinds=frozenset({KernelKind.DEPTHWISE_CONV}))  # ONNX Runtime's: memory-bound ones
    depthwise = replace(big, name="dw", kind=KernelKind.DEPTHWISE_CONV, reduction_depth=9)
    assert estimate([big], only).kernels == estimate([big], p).kernels
    assert estimate([depthwise], only).kernels[0][1] == pytest.approx(estimate([depthwise], p).kernels[0][1] + extra)


def test_a_runtime_that_streams_weights_under_its_multiply_adds_takes_the_longer_not_the_sum() -> None:
    p = _params(caches=((1.0, 100.0),), overhead_per_layer_ms=0.0)
    conv = Kernel("w", KernelKind.POINTWISE_CONV, ("Conv",), 1e6, 0, 100_000, reduction_depth=64)  # 0.4 MB
    compute, reads = 1e6 / (100.0 * 0.5 * 1e6), 0.4e6 * 0.01 / 1e6
    assert estimate([conv], p).kernels[0][1] == pytest.approx(compute + reads)
    assert estimate([conv], replace(p, overlaps_weights=True)).kernels[0][1] == pytest.approx(max(compute, reads))
    host = get_device("host")
    assert params_for(host, "tflite", Precision.FP32).overlaps_weights  # XNNPACK's GEMMs
    assert not params_for(host, "onnxruntime", Precision.FP32).overlaps_weights


def test_peak_scales_with_threads() -> None:
    rpi5 = get_device("rpi5")
    assert effective_peak(rpi5, Precision.FP32, 1) == pytest.approx(153.6 / 4)
    pe = rpi5.cost_model.parallel_efficiency
    assert pe is not None
    assert effective_peak(rpi5, Precision.FP32, 4) == pytest.approx(153.6 / 4 * (1 + 3 * pe.value))
    assert effective_peak(rpi5, Precision.FP32, 16) == effective_peak(rpi5, Precision.FP32, 4)


def test_calibration_replaces_priors_for_its_backend_only() -> None:
    rpi5 = get_device("rpi5")
    cal = Calibration(
        backend="tflite",
        precision=Precision.FP32,
        threads=1,
        fitted_on="test rows",
        date=datetime.date(2026, 1, 1),
        efficiency={KernelKind.CONV: 0.9},
        size_factor={KernelKind.CONV: {SizeClass.SMALL: 0.5}},
        overhead_per_layer_ms=0.02,
        overhead_per_network_ms=0.3,
        held_out=FitError(networks=10, rmspe_pct=3.0, within_10_pct=99.0, kendall_tau=0.95),
    )
    profile = rpi5.model_copy(update={"cost_model": rpi5.cost_model.model_copy(update={"calibrations": (cal,)})})
    tflite = params_for(profile, "tflite", Precision.INT8)  # no INT8 fit: the FP32 one is used
    assert tflite.efficiency[KernelKind.CONV] == 0.9
    assert tflite.efficiency[KernelKind.POOLING] == rpi5.cost_model.efficiency[KernelKind.POOLING].value
    assert tflite.size_factor[KernelKind.CONV][SizeClass.SMALL] == 0.5
    assert tflite.overhead_per_network_ms == 0.3 and tflite.bytes_per_elem == 1.0
    assert "test rows" in tflite.provenance and "99 % within ±10 %" in tflite.provenance
    assert tflite.provenance.endswith(f"(unchecked); {INT8_RULES}")  # an FP32 fit says INT8 is not what it saw
    ort = params_for(profile, "onnxruntime", Precision.FP32)
    assert ort.calibration is None and ort.provenance == "uncalibrated priors (error unknown)"
    ort8 = params_for(profile, "onnxruntime", Precision.INT8)
    assert ort8.provenance == f"uncalibrated priors (error unknown; {INT8_RULES})"
    int8_cal = cal.model_copy(update={"precision": Precision.INT8})
    int8_fit = profile.cost_model.model_copy(update={"calibrations": (int8_cal,)})
    fitted = params_for(profile.model_copy(update={"cost_model": int8_fit}), "tflite", Precision.INT8)
    assert "INT8" not in fitted.provenance  # fitted on INT8 measurements: its held-out error speaks for it
    assert params_for(profile, "tflite", Precision.FP32, calibrated=False).calibration is None


def test_precision_the_device_cannot_run() -> None:
    with pytest.raises(UnsupportedError, match="fp16"):
        params_for(get_device("myriadx"), "openvino", Precision.INT8)
