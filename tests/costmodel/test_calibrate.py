"""Calibration recovers known parameters, shrugs off a broken measurement, and writes a profile that loads."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import yaml

from edgebench.costmodel import calibrate
from edgebench.costmodel.calibrate import (
    MIN_GROUP_SHARE,
    MIN_NETWORKS,
    MIN_SHARE,
    FlopsLinear,
    calibrate_profile,
    calibration_record,
    fit,
    probed_kinds,
    split,
)
from edgebench.costmodel.graph import Kernel
from edgebench.costmodel.measurements import MeasuredNetwork
from edgebench.costmodel.model import CostParams, KernelTable, params_for
from edgebench.devices import get_device, load_profile
from edgebench.devices.derive import like
from edgebench.exceptions import ConfigError
from edgebench.lut.metrics import Metrics
from edgebench.types import KernelKind, Precision, SizeClass

KINDS_SEEN = (KernelKind.CONV, KernelKind.POINTWISE_CONV, KernelKind.POOLING, KernelKind.ELEMENTWISE)


def _networks(n: int, seed: int = 0) -> list[list[Kernel]]:
    """Random networks of conv and 1x1 conv kernels (all of the medium size class), pooling and adds."""
    rng = np.random.default_rng(seed)
    nets = []
    for _ in range(n):
        ks = []
        for kind in KINDS_SEEN:
            for j in range(int(rng.integers(1, 6))):
                flops = float(rng.uniform(3e6, 1.5e7)) if kind in KINDS_SEEN[:2] else float(rng.uniform(1e4, 1e5))
                elems = int(rng.uniform(1e4, 2e5))
                ks.append(Kernel(f"{kind}{j}", kind, (str(kind),), flops, elems, 0))
        nets.append(ks)
    return nets


def _truth() -> tuple[CostParams, CostParams]:
    prior = params_for(get_device("rpi5"), "onnxruntime", Precision.FP32, threads=1, calibrated=False)
    truth = replace(
        prior,
        efficiency={**prior.efficiency, KernelKind.CONV: 0.4, KernelKind.POINTWISE_CONV: 0.25,
                    KernelKind.POOLING: 0.02, KernelKind.ELEMENTWISE: 0.2},
        overhead_per_layer_ms=0.004,
        overhead_per_network_ms=0.3,
    )  # fmt: skip
    return prior, truth


def test_fit_recovers_known_parameters_and_predicts_held_out_networks() -> None:
    prior, truth = _truth()
    nets = _networks(120)
    measured = KernelTable.of(nets).network_ms(truth)
    train, test = split(len(nets), seed=1)
    fitted = fit(prior, KernelTable.of([nets[i] for i in train]), measured[train])
    predicted = KernelTable.of([nets[i] for i in test]).network_ms(fitted)
    m = Metrics.of(measured[test], predicted)
    assert m.rmspe_pct < 1.0 and m.within_5_pct == 100.0
    conv = fitted.efficiency[KernelKind.CONV] * fitted.size_factor[KernelKind.CONV][SizeClass.MEDIUM]
    assert conv == pytest.approx(0.4, rel=0.05)
    # kinds the data never shows follow their group in the ratio the priors set
    unseen = [fitted.efficiency[k] / prior.efficiency[k] for k in (KernelKind.DEPTHWISE_CONV, KernelKind.GROUPED_CONV)]
    assert unseen[0] == pytest.approx(unseen[1], rel=1e-3)
    assert unseen[0] != pytest.approx(1.0, abs=0.05)  # the group did move


def test_fit_keeps_the_profiles_stream_ceiling() -> None:
    prior, truth = _truth()
    slow_stream = {KernelKind.ELEMENTWISE: 0.05}
    prior, truth = replace(prior, stream_ceiling=slow_stream), replace(truth, stream_ceiling=slow_stream)
    table = KernelTable.of(_networks(60, seed=2))
    fitted = fit(prior, table, table.network_ms(truth))
    assert fitted.stream_ceiling == slow_stream
    assert Metrics.of(table.network_ms(truth), table.network_ms(fitted)).rmspe_pct < 1.0


def test_a_kind_with_a_tiny_share_of_the_time_keeps_its_prior_ratio_to_its_group() -> None:
    prior, truth = _truth()
    # one small dense conv per network (like a MobileNet's stem), measured far faster than its prior ratio says
    stem = Kernel("stem", KernelKind.LINEAR, ("Gemm",), 2e5, 1000, 0)
    truth = replace(truth, efficiency={**truth.efficiency, KernelKind.LINEAR: 1.0})
    nets = [[*n, stem] for n in _networks(80, seed=3)]
    table = KernelTable.of(nets)
    share = table.kernel_ms(prior)[table.kind == list(KernelKind).index(KernelKind.LINEAR)].sum()
    assert share / table.network_ms(prior).sum() < MIN_SHARE
    fitted = fit(prior, table, table.network_ms(truth))
    ratio = {k: fitted.efficiency[k] / prior.efficiency[k] for k in (KernelKind.LINEAR, KernelKind.GROUPED_CONV)}
    assert ratio[KernelKind.LINEAR] == pytest.approx(ratio[KernelKind.GROUPED_CONV], rel=1e-3)


@pytest.mark.parametrize("seed", range(4))
def test_a_group_with_a_small_share_of_a_handful_of_networks_keeps_its_priors(
    monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    """Four networks of convs and one add each, timed with 5 % noise the model does not explain: the adds' share
    is too small to tell their efficiency, so it stays the prior's, where a free group scale drifts 2-3x."""
    prior, truth = _truth()
    adds_prior = prior.efficiency[KernelKind.ELEMENTWISE]
    truth = replace(truth, efficiency={**truth.efficiency, KernelKind.ELEMENTWISE: adds_prior})
    rng = np.random.default_rng(seed)
    nets = [[*(k for k in n if k.kind in KINDS_SEEN[:2]), Kernel("add", KernelKind.ELEMENTWISE, ("Add",), 1e4,
             int(rng.uniform(3e4, 1.2e5)), 0)] for n in _networks(4, seed=seed)]  # fmt: skip
    table = KernelTable.of(nets)
    adds = table.kernel_ms(prior)[table.kind == list(KernelKind).index(KernelKind.ELEMENTWISE)].sum()
    assert adds / table.network_ms(prior).sum() < MIN_GROUP_SHARE
    measured = table.network_ms(truth) * (1 + rng.normal(0, 0.05, len(nets)))
    drift = {}
    for share in (MIN_GROUP_SHARE, 0.0):
        monkeypatch.setattr(calibrate, "MIN_GROUP_SHARE", share)
        drift[share] = fit(prior, table, measured).efficiency[KernelKind.ELEMENTWISE] / adds_prior
    assert drift[MIN_GROUP_SHARE] == pytest.approx(1.0)
    assert abs(np.log(drift[0.0])) > np.log(1.5)  # without the rule the fit would have moved them


def test_a_handful_of_networks_fits_group_scales_not_one_kind_to_the_one_network_that_has_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Three networks, the one with dense convs timed 1.5x slow (a board throttling): the dense convs keep their
    prior ratio to the 1x1 convs, where a free ratio would put the whole slowdown on them."""
    prior, truth = _truth()
    faster = {k: 1.5 * prior.efficiency[k] for k in (KernelKind.CONV, KernelKind.POINTWISE_CONV)}
    truth = replace(truth, efficiency={**truth.efficiency, **faster})  # the prior's ratio, 1.5x as fast
    conv_net, *pointwise_nets = _networks(3, seed=7)
    nets = [[k for k in conv_net if k.kind is KernelKind.CONV]]
    nets += [[k for k in n if k.kind is KernelKind.POINTWISE_CONV] for n in pointwise_nets]
    table = KernelTable.of(nets)
    measured = table.network_ms(truth) * np.array([1.5, 1.0, 1.0])
    assert table.networks < MIN_NETWORKS
    ratio = {}
    for networks in (MIN_NETWORKS, 0):
        monkeypatch.setattr(calibrate, "MIN_NETWORKS", networks)
        e = fit(prior, table, measured).efficiency
        ratio[networks] = e[KernelKind.CONV] / e[KernelKind.POINTWISE_CONV]
    prior_ratio = prior.efficiency[KernelKind.CONV] / prior.efficiency[KernelKind.POINTWISE_CONV]
    assert ratio[MIN_NETWORKS] == pytest.approx(prior_ratio, rel=1e-3)
    assert ratio[0] < 0.8 * prior_ratio  # the slowdown put on the dense convs alone


def test_a_size_class_the_fit_has_no_kernel_of_takes_its_kinds_nearest_fitted_factor() -> None:
    """Networks of medium convs only, measured twice as fast as the prior prices them: a large conv (a bigger
    input's) keeps the speed-up the fit found, where the prior's factor of 1 would have lost it."""
    prior, _ = _truth()
    medium = [Kernel(f"conv{i}", KernelKind.CONV, ("Conv",), 1e7 * (1 + i % 3) / 2, 50_000, 0) for i in range(6)]
    nets = [medium[: 2 + i % 5] for i in range(12)]
    table = KernelTable.of(nets)
    assert {k.size for n in nets for k in n} == {SizeClass.MEDIUM}
    fitted = fit(prior, table, table.network_ms(prior) / 2)
    factors = fitted.size_factor[KernelKind.CONV]
    assert factors[SizeClass.LARGE] == factors[SizeClass.MEDIUM] == factors[SizeClass.SMALL]
    large = Kernel("big", KernelKind.CONV, ("Conv",), 4e7, 50_000, 0)
    ratio = KernelTable.of([[large]]).kernel_ms(prior) / KernelTable.of([[large]]).kernel_ms(fitted)
    assert ratio[0] > 1.5


def test_an_unseen_kind_whose_efficiency_was_probed_keeps_it_while_the_others_follow_their_group() -> None:
    prior, truth = _truth()
    table = KernelTable.of(_networks(80, seed=4))
    fitted = fit(prior, table, table.network_ms(truth), probed=frozenset({KernelKind.DEPTHWISE_CONV}))
    assert fitted.efficiency[KernelKind.DEPTHWISE_CONV] == pytest.approx(prior.efficiency[KernelKind.DEPTHWISE_CONV])
    assert fitted.efficiency[KernelKind.GROUPED_CONV] / prior.efficiency[KernelKind.GROUPED_CONV] != pytest.approx(
        1.0, abs=0.05
    )  # the group moved, and the unprobed kind with it
    assert Metrics.of(table.network_ms(truth), table.network_ms(fitted)).rmspe_pct < 1.0


def test_probed_kinds_are_the_priors_the_profile_says_were_measured() -> None:
    assert probed_kinds(get_device("host")) >= {KernelKind.CONV, KernelKind.DEPTHWISE_CONV}
    assert KernelKind.GROUPED_CONV not in probed_kinds(get_device("host"))  # a prior between two measured ones
    assert probed_kinds(get_device("rpi5")) == frozenset()  # spec-sheet priors: unseen kinds follow the data
    assert probed_kinds(like("new-board", get_device("host"))) == frozenset()  # the host's probes are not its


def test_one_broken_measurement_does_not_drag_the_fit() -> None:
    prior, truth = _truth()
    nets = _networks(80, seed=2)
    measured = KernelTable.of(nets).network_ms(truth)
    broken = measured.copy()
    broken[5] *= 5.0  # a measurement taken while something else ran
    fitted = fit(prior, KernelTable.of(nets), broken)
    err = KernelTable.of(nets).network_ms(fitted) / measured - 1
    assert np.mean(np.abs(np.delete(err, 5)) < 0.02) >= 0.99


def test_bad_measurements_are_refused() -> None:
    prior, _ = _truth()
    with pytest.raises(ValueError, match="positive"):
        fit(prior, KernelTable.of(_networks(3)), np.array([1.0, -1.0, 2.0]))


def test_flops_linear_baseline_is_exact_on_linear_data() -> None:
    gmacs = np.array([0.1, 0.2, 0.5, 1.0])
    baseline = FlopsLinear.fit(gmacs, 30 * gmacs + 0.5)
    assert baseline.ms_per_gmac == pytest.approx(30) and baseline.intercept_ms == pytest.approx(0.5)


def test_split_is_disjoint_and_reproducible() -> None:
    a, b = split(11, seed=3)
    assert sorted([*a, *b]) == list(range(11)) and len(b) == 6
    assert np.array_equal(split(11, seed=3)[0], a)


def test_calibration_record_round_trips_through_a_profile_yaml(tmp_path: Path) -> None:
    _, truth = _truth()
    held_out = Metrics.of(np.array([1.0, 2.0, 3.0]), np.array([1.2, 1.9, 3.0]))
    record = calibration_record(truth, "onnxruntime", Precision.FP32, 1, "synthetic rows", held_out)
    rpi5 = get_device("rpi5")
    data = rpi5.model_dump(mode="json")
    data["cost_model"]["calibrations"] = [record.model_dump(mode="json")]
    path = tmp_path / "rpi5.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    loaded = load_profile(path)
    params = params_for(loaded, "onnxruntime", Precision.FP32, threads=1)
    assert params.efficiency[KernelKind.CONV] == pytest.approx(0.4)
    assert params.overhead_per_network_ms == pytest.approx(0.3)
    assert loaded.cost_model.calibrations[0].held_out.within_10_pct == pytest.approx(100 * 2 / 3, abs=0.1)


def test_leave_one_out_for_a_handful_of_published_numbers() -> None:
    _, truth = _truth()
    nets = _networks(3, seed=4)
    measured = KernelTable.of(nets).network_ms(truth)
    networks = [
        MeasuredNetwork(f"n{i}", tuple(ks), float(ms)) for i, (ks, ms) in enumerate(zip(nets, measured, strict=True))
    ]
    profile = get_device("rpi5")
    report = calibrate_profile(profile, "onnxruntime", Precision.FP32, 1, networks, "three rows", test_fraction=0)
    assert report.held_out.n == 3 and report.fit_metrics.n == 3
    assert "all 3 networks; held-out error by leave-one-out" in report.calibration.fitted_on
    assert report.fit_metrics.rmspe_pct <= report.held_out.rmspe_pct + 1e-9
    with pytest.raises(ConfigError, match="too few"):
        calibrate_profile(profile, "onnxruntime", Precision.FP32, 1, networks[:3], "three rows", test_fraction=0.5)


@pytest.mark.parametrize("rows", [10, 20])
def test_a_handful_of_a_users_measurements_calibrates_ahead_of_flops_linear(rows: int) -> None:
    _, truth = _truth()
    nets = _networks(200, seed=5)
    noise = np.random.default_rng(6).normal(1.0, 0.02, len(nets))  # a 2 % timing noise
    measured = KernelTable.of(nets).network_ms(truth) * noise
    networks = [
        MeasuredNetwork(f"n{i}", tuple(ks), float(ms)) for i, (ks, ms) in enumerate(zip(nets, measured, strict=True))
    ]
    report = calibrate_profile(
        get_device("rpi5"), "onnxruntime", Precision.FP32, 1, networks, "few", test_fraction=1 - rows / len(nets)
    )
    assert report.fit_metrics.n == rows and report.held_out.n == len(nets) - rows
    assert report.held_out.within_10_pct >= 85.0  # FLOPs-linear: about 30 % on the same rows
    assert report.held_out.rmspe_pct < report.baseline.rmspe_pct
    assert report.held_out.within_10_pct > report.baseline.within_10_pct


def _spilling(n: int, seed: int) -> list[list[Kernel]]:
    """Networks of ``_networks``, some with a depthwise conv past an 8 MB spill threshold (4 to 16 MB over)."""
    rng = np.random.default_rng(seed)
    big = [Kernel("big", KernelKind.DEPTHWISE_CONV, ("Conv",), 1e6, int(rng.uniform(3e6, 6e6)), 0, reduction_depth=9)
           for _ in range(n)]  # fmt: skip
    return [[*ks, big[i]] if i % 2 else ks for i, ks in enumerate(_networks(n, seed))]


@pytest.mark.parametrize("scale", [0.5, 2.0])
def test_the_fit_scales_the_runtimes_large_maps_spill_where_the_networks_large_kernels_show_it(
    tmp_path: Path, scale: float
) -> None:
    prior, truth = _truth()
    spills = {  # memory fast enough that the big kernels' own time is their compute, not a copy of the spill
        "large_maps": (8.0, 10.0), "large_map_kinds": frozenset({KernelKind.DEPTHWISE_CONV}), "bandwidth_gbps": 1e3,
    }  # fmt: skip
    prior, truth = replace(prior, **spills), replace(truth, **spills, spill_scale=scale)  # type: ignore[arg-type]
    table = KernelTable.of(_spilling(80, seed=7))
    fitted = fit(prior, table, table.network_ms(truth))
    assert fitted.spill_scale == pytest.approx(scale, rel=0.1)
    assert Metrics.of(table.network_ms(truth), table.network_ms(fitted)).rmspe_pct < 2.0  # the pull to the priors
    plain = KernelTable.of(_networks(80, seed=7))  # no kernel past the threshold: nothing to scale
    assert fit(prior, plain, plain.network_ms(truth)).spill_scale == pytest.approx(1.0, abs=1e-6)
    few = KernelTable.of(_spilling(MIN_NETWORKS - 1, seed=8))  # a handful of rows keeps the probe's spill
    assert fit(prior, few, few.network_ms(truth)).spill_scale == pytest.approx(1.0, abs=1e-3)
    held_out = Metrics.of(np.array([1.0, 2.0]), np.array([1.0, 2.0]))
    record = calibration_record(fitted, "onnxruntime", Precision.FP32, 1, "synthetic rows", held_out)
    data = get_device("host").model_dump(mode="json")
    data["cost_model"]["calibrations"] = [record.model_dump(mode="json")]
    (tmp_path / "host.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    loaded = params_for(load_profile(tmp_path / "host.yaml"), "onnxruntime", Precision.FP32, threads=1)
    assert loaded.spill_scale == pytest.approx(scale, rel=0.1)
    assert params_for(get_device("host"), "onnxruntime", Precision.FP32, threads=1).spill_scale == 1.0
