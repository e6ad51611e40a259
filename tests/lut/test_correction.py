"""The boundary correction recovers known edge and weight costs from whole networks, ignoring an outlier."""

from __future__ import annotations

import random

import pytest

from edgebench.lut.builder import Network, fit_correction
from edgebench.lut.keys import arch_keys
from edgebench.lut.predictor import block_cost, io_melems
from edgebench.searching.space import SearchSpace
from tests.lut.conftest import fake_latency


def _networks(space: SearchSpace, n: int) -> tuple[list[Network], dict]:
    rng = random.Random(3)
    nets = [Network(f"net{i}", space.sample(rng)) for i in range(n)]
    return nets, {net.job_id: arch_keys(space, net.arch) for net in nets}


def test_fit_recovers_edge_and_weight_costs_despite_a_slow_burst(cifar: SearchSpace) -> None:
    nets, keys_of = _networks(cifar, 24)
    block_ms = {k: fake_latency(k) for keys in keys_of.values() for k in keys}
    truth = {
        i: 0.3 + sum(block_ms[k] - 0.8 * io_melems(k) + 0.15 * k.params / 1e6 for k in keys)
        for i, keys in keys_of.items()
    }
    measured = {**truth, "net0": 1.3 * truth["net0"]}  # timed during one of the VM's slow bursts
    c = fit_correction(nets, keys_of, block_ms, measured)
    for i, keys in list(keys_of.items())[1:]:
        predicted = c.overhead_ms + sum(block_cost(block_ms[k], k, c) for k in keys)
        assert predicted == pytest.approx(truth[i], rel=0.002)
    assert c.boundary_ms_per_melem == pytest.approx(0.8, rel=0.2)
    assert c.weight_ms_per_mparam == pytest.approx(0.15, rel=0.05)
    assert c.networks == 24 and c.fit_rmspe > 0.04  # the outlier still shows in the reported fit error


def test_terms_stay_physical_when_isolated_blocks_are_too_cheap(cifar: SearchSpace) -> None:
    nets, keys_of = _networks(cifar, 12)
    block_ms = {k: fake_latency(k) for keys in keys_of.values() for k in keys}
    measured = {i: 1.2 * sum(block_ms[k] for k in keys) for i, keys in keys_of.items()}
    c = fit_correction(nets, keys_of, block_ms, measured)
    assert c.boundary_ms_per_melem >= 0 and c.weight_ms_per_mparam >= 0


def test_too_few_networks_fit_the_overhead_alone_and_say_so(
    cifar: SearchSpace, caplog: pytest.LogCaptureFixture
) -> None:
    nets, keys_of = _networks(cifar, 3)
    block_ms = {k: fake_latency(k) for keys in keys_of.values() for k in keys}
    sums = {i: sum(block_ms[k] for k in keys) for i, keys in keys_of.items()}
    c = fit_correction(nets, keys_of, block_ms, {i: total + 0.4 for i, total in sums.items()})
    assert (c.boundary_ms_per_melem, c.weight_ms_per_mparam, c.networks) == (0, 0, 3)
    assert c.overhead_ms == pytest.approx(0.4) and c.fit_rmspe == pytest.approx(0, abs=1e-9)  # kept, not dropped
    assert "only 3 whole networks timed (a full correction needs 4)" in caplog.text


def test_no_network_timed_leaves_the_rows_uncorrected_and_says_so(
    cifar: SearchSpace, caplog: pytest.LogCaptureFixture
) -> None:
    nets, keys_of = _networks(cifar, 3)
    block_ms = {k: fake_latency(k) for keys in keys_of.values() for k in keys}
    c = fit_correction(nets, keys_of, block_ms, {})
    assert (c.overhead_ms, c.networks) == (0, 0) and "no whole network was timed" in caplog.text
