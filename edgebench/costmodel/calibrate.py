"""Fit a profile's cost model to end-to-end latencies: robust least squares in log space, bounded to physical
values and pulled gently towards the profile's priors, so a parameter the data cannot see stays where the specs
put it instead of drifting to whatever memorises the rows."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy.optimize import least_squares

from edgebench.costmodel.measurements import MeasuredNetwork
from edgebench.costmodel.model import KINDS, SIZES, CostParams, KernelTable, params_for
from edgebench.devices.profile import Calibration, DeviceProfile, FitError
from edgebench.exceptions import ConfigError
from edgebench.lut.metrics import Metrics
from edgebench.types import KernelKind, Precision

#: Kinds whose efficiencies move together unless the data separates them: kernels of one GEMM/convolution
#: library, and memory-bound elementwise work. A family that lacks a kind (dense 3x3 convs in MobileNets) then
#: carries what it says about its relatives over to it, in the ratios the priors set, unless the kind's efficiency
#: was probed on the device (`fit`'s ``probed``).
GROUPS = {
    KernelKind.CONV: 0, KernelKind.POINTWISE_CONV: 0, KernelKind.DEPTHWISE_CONV: 0, KernelKind.GROUPED_CONV: 0,
    KernelKind.LINEAR: 0, KernelKind.POOLING: 1, KernelKind.ELEMENTWISE: 1, KernelKind.ACTIVATION: 1,
}  # fmt: skip
_N_GROUPS = 2
#: Weight of a group scale's log-distance from 1: nearly free, once the first pass (scales pinned) has converged.
GROUP_WEIGHT = 0.01
PINNED = 1e3
#: Weight of a kind's efficiency (relative to its group), an overhead's or the spill scale's log-distance from its
#: prior, against one network's log error.
PRIOR_WEIGHT = 0.1
#: Weight of a size-class factor's log-distance from 1: a kind's sizes differ only where the data insists.
SIZE_WEIGHT = 0.3
#: A kind that takes less than this share of the fit networks' estimated time keeps its prior ratio to its group:
#: a few kernels (a MobileNet's one dense stem conv) cannot tell its efficiency from the per-network overhead.
MIN_SHARE = 0.05
#: Under this many networks (a handful of published numbers) every kind keeps its prior ratio to its group, as it
#: would otherwise follow the one network that has most of it (the Pi 4's dense 3x3 convs once followed its one
#: ResNet-50, timed with the fan off, to 0.55 of its 1x1 convs' rate), and a group with under ``MIN_GROUP_SHARE`` of
#: the time keeps its scale: a few percent of model error elsewhere is tens of percent of so small a share (the Pi
#: 4's three networks once moved its memory-bound kinds 2.6x slower on 7.5 % of their time, the NCS2's two detectors
#: 5x faster on 5 %). More networks tell a group's scale apart (the host's 88 did better with it free).
MIN_NETWORKS = 5
MIN_GROUP_SHARE = 0.15
#: Robust loss scale: log errors past ~5 % count less and less, so a broken measurement cannot drag the fit.
LOSS_SCALE = 0.05
#: Physical bounds of each fitted parameter, in its own unit.
BOUNDS = {
    "group_scale": (0.05, 20.0),
    "efficiency": (1e-4, 1.0),
    "size_factor": (0.1, 10.0),
    "overhead_per_layer_ms": (1e-5, 5.0),
    "overhead_per_network_ms": (1e-4, 100.0),
    "spill_scale": (0.1, 10.0),
}
_N_FACTORS = len(KINDS) * len(SIZES)
_KIND_GROUP = np.array([GROUPS[k] for k in KINDS])
_LAYOUT = (
    ["group_scale"] * _N_GROUPS
    + ["efficiency"] * len(KINDS)
    + ["size_factor"] * _N_FACTORS
    + ["overhead_per_layer_ms", "overhead_per_network_ms", "spill_scale"]
)


def _pack(p: CostParams) -> np.ndarray:
    values = [
        *([1.0] * _N_GROUPS),
        *(p.efficiency[k] for k in KINDS),
        *(p.size_factor[k][s] for k in KINDS for s in SIZES),
        p.overhead_per_layer_ms,
        p.overhead_per_network_ms,
        p.spill_scale,
    ]
    return np.log(np.asarray(values, dtype=np.float64))


def _unpack(theta: np.ndarray, template: CostParams, absolute: np.ndarray) -> CostParams:
    """Parameters from ``theta``; kinds marked ``absolute`` keep their own efficiency, not scaled by their group."""
    v = np.exp(theta)
    scales, rest = v[:_N_GROUPS], v[_N_GROUPS:]
    n = len(KINDS)
    efficiency = rest[:n] * np.where(absolute, 1.0, scales[_KIND_GROUP])
    # a base efficiency over 1 moves its excess into the kind's size factors: the same estimates, valid numbers
    excess = np.maximum(efficiency, 1.0)
    efficiency = efficiency / excess
    factors = rest[n : n + _N_FACTORS].reshape(len(KINDS), len(SIZES)) * excess[:, None]
    return replace(
        template,
        efficiency={k: float(e) for k, e in zip(KINDS, efficiency, strict=True)},
        size_factor={
            k: {s: float(f) for s, f in zip(SIZES, row, strict=True)} for k, row in zip(KINDS, factors, strict=True)
        },
        overhead_per_layer_ms=float(v[-3]),
        overhead_per_network_ms=float(v[-2]),
        spill_scale=float(v[-1]),
        calibration=None,
    )


def fit(
    prior: CostParams,
    table: KernelTable,
    measured_ms: np.ndarray,
    prior_weight: float = PRIOR_WEIGHT,
    probed: frozenset[KernelKind] = frozenset(),
) -> CostParams:
    """Cost-model parameters that best explain ``measured_ms`` (one per network of ``table``).

    Starts from ``prior`` and is regularised towards it: each group of kinds has a nearly free common scale,
    each kind a dearer deviation from its prior ratio, each size class a factor near 1, so kinds the data does not
    contain follow their group or keep their priors; a kind with under ``MIN_SHARE`` of the
    estimated time is held to its prior ratio, or to its prior itself when it is in ``probed`` (its efficiency
    was measured on the device: a direct measurement says more than a relative's drift); under ``MIN_NETWORKS``
    networks every kind keeps its prior ratio, and a group with under ``MIN_GROUP_SHARE`` its scale. A size class
    the networks have no kernel of takes its kind's nearest fitted class's factor. The time of the runtime's
    ``large_maps`` spill has a factor of its own, near 1 unless the networks' large kernels insist (the probe that
    states it is a noisy one), and 1 for a handful of networks. Peak compute and bandwidth stay the profile's: a
    roofline cannot tell a slower peak from a lower efficiency.
    """
    if len(measured_ms) != table.networks or np.any(~np.isfinite(measured_ms)) or np.any(measured_ms <= 0):
        raise ValueError("need one positive, finite measured latency per network")
    lo, hi = (np.log([BOUNDS[g][i] for g in _LAYOUT]) for i in (0, 1))
    theta0 = np.clip(_pack(prior), lo + 1e-9, hi - 1e-9)
    log_measured = np.log(measured_ms)

    per_kind = np.bincount(table.kind, weights=table.kernel_ms(prior), minlength=len(KINDS))
    total = table.network_ms(prior).sum()
    handful = bool(table.networks < MIN_NETWORKS)
    held = (np.bincount(_KIND_GROUP, weights=per_kind, minlength=_N_GROUPS) / total < MIN_GROUP_SHARE) & handful
    seen = (per_kind / total >= MIN_SHARE) & (not handful)
    absolute = ~seen & np.array([k in probed for k in KINDS])

    def solve(start: np.ndarray, group_weight: float) -> np.ndarray:
        weight = {"group_scale": group_weight, "size_factor": SIZE_WEIGHT}
        weights = np.array([weight.get(g, prior_weight) for g in _LAYOUT])
        weights[:_N_GROUPS][held] = PINNED
        kinds = weights[_N_GROUPS : _N_GROUPS + len(KINDS)]
        kinds[~seen] = PINNED
        weights[_N_GROUPS + len(KINDS) : -3].reshape(len(KINDS), len(SIZES))[~seen] = PINNED
        if handful:  # the spill scale
            weights[-1] = PINNED

        def residuals(theta: np.ndarray) -> np.ndarray:
            predicted = table.network_ms(_unpack(theta, prior, absolute))
            return np.concatenate([np.log(predicted) - log_measured, weights * (theta - theta0)])

        return least_squares(residuals, start, bounds=(lo, hi), loss="soft_l1", f_scale=LOSS_SCALE).x

    # Group scales pinned first, then freed from that solution: freeing them from the start lets the optimiser
    # trade them against the per-layer overhead into a poor local minimum.
    return _extended(_unpack(solve(solve(theta0, PINNED), GROUP_WEIGHT), prior, absolute), table)


def _extended(params: CostParams, table: KernelTable) -> CostParams:
    """``params`` with each size class the fit's networks have no kernel of taking its kind's nearest fitted class's
    factor: the data says nothing of it, and its prior of 1 would price a kernel past a class boundary as if the fit
    had not moved its kind's neighbours (the Pi 5's NAS-Bench-201 convs, all medium, fitted 1.8x faster than their
    base; a large conv of a bigger input would have lost all of it)."""
    present = np.zeros((len(KINDS), len(SIZES)), dtype=bool)
    present[table.kind, table.size] = True
    factors = {}
    for k, kind in enumerate(KINDS):
        fitted, row = np.flatnonzero(present[k]), params.size_factor[kind]
        nearest = [fitted[np.argmin(np.abs(fitted - s))] if fitted.size else s for s in range(len(SIZES))]
        factors[kind] = {size: row[SIZES[n]] for size, n in zip(SIZES, nearest, strict=True)}
    return replace(params, size_factor=factors)


def probed_kinds(profile: DeviceProfile) -> frozenset[KernelKind]:
    """Kinds whose prior efficiency the profile says was measured on the device (``note: measured``)."""
    return frozenset(k for k, s in profile.cost_model.efficiency.items() if s.note.startswith("measured"))


@dataclass(frozen=True)
class FlopsLinear:
    """The usual baseline: latency = a x MACs + b, fitted to minimise relative error."""

    ms_per_gmac: float
    intercept_ms: float

    @classmethod
    def fit(cls, gmacs: np.ndarray, measured_ms: np.ndarray) -> FlopsLinear:
        design = np.column_stack([gmacs, np.ones_like(gmacs)]) / measured_ms[:, None]
        (a, b), *_ = np.linalg.lstsq(design, np.ones_like(measured_ms), rcond=None)
        return cls(float(a), float(b))

    def predict(self, gmacs: np.ndarray) -> np.ndarray:
        return self.ms_per_gmac * gmacs + self.intercept_ms


def split(n: int, seed: int = 0, test_fraction: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """A random (fit, held-out) split of ``n`` rows."""
    order = np.random.default_rng(seed).permutation(n)
    cut = n - round(n * test_fraction)
    return np.sort(order[:cut]), np.sort(order[cut:])


def calibration_record(
    params: CostParams,
    backend: str,
    precision: Precision,
    threads: int,
    fitted_on: str,
    held_out: Metrics,
    ndigits: int = 4,
) -> Calibration:
    """The fitted parameters as a profile's calibration entry, with their held-out error."""

    def r(x: float) -> float:
        return float(f"{x:.{ndigits}g}")

    rounded = {k: {s: r(f) for s, f in factors.items()} for k, factors in params.size_factor.items()}

    return Calibration(
        backend=backend,
        precision=precision,
        threads=threads,
        fitted_on=fitted_on,
        date=datetime.date.today(),
        efficiency={k: r(e) for k, e in params.efficiency.items()},
        size_factor={k: factors for k, factors in rounded.items() if set(factors.values()) != {1.0}},
        overhead_per_layer_ms=r(params.overhead_per_layer_ms),
        overhead_per_network_ms=r(params.overhead_per_network_ms),
        spill_scale=r(params.spill_scale),
        held_out=FitError(
            networks=held_out.n,
            rmspe_pct=round(held_out.rmspe_pct, 2),
            within_10_pct=round(held_out.within_10_pct, 1),
            kendall_tau=round(held_out.kendall_tau, 3),
        ),
    )


def with_calibration(profile: DeviceProfile, record: Calibration) -> DeviceProfile:
    """The profile with ``record`` in place of any calibration for the same backend and precision."""
    kept = [
        c for c in profile.cost_model.calibrations if (c.backend, c.precision) != (record.backend, record.precision)
    ]
    return profile.model_copy(
        update={"cost_model": profile.cost_model.model_copy(update={"calibrations": (*kept, record)})}
    )


@dataclass(frozen=True)
class CalibrationReport:
    """A calibration's outcome: the profile carrying it, and how it and the FLOPs baseline did on held-out rows."""

    profile: DeviceProfile
    calibration: Calibration
    fit_metrics: Metrics
    held_out: Metrics
    baseline: Metrics  # FLOPs-linear, fitted on the same rows


def calibrate_profile(
    profile: DeviceProfile,
    backend: str,
    precision: Precision,
    threads: int,
    networks: Sequence[MeasuredNetwork],
    fitted_on: str,
    test_fraction: float = 0.5,
    seed: int = 0,
) -> CalibrationReport:
    """Fit the profile's cost model for one backend and precision, score it on networks it was not fitted on, and
    return the profile with that calibration in place of any earlier one for the same backend and precision.

    With ``test_fraction`` > 0 the parameters kept are those fitted on the rest, so the held-out error recorded
    is theirs. With 0 (for a handful of published numbers) they are fitted on every network, and the held-out
    error is leave-one-out: each network predicted by a fit on all the others.
    """
    if len(networks) < 2 or (test_fraction > 0 and len(networks) < 4):
        raise ConfigError(
            f"{fitted_on}: {len(networks)} measured networks are too few (a split needs 4, leave-one-out 2)"
        )
    measured = np.array([n.latency_ms for n in networks])
    table = KernelTable.of([n.kernels for n in networks])
    macs = table.gmacs()
    prior = params_for(profile, backend, precision, threads, calibrated=False)
    probed = probed_kinds(profile)

    def fitted(rows: np.ndarray) -> tuple[CostParams, FlopsLinear]:
        rows_table = KernelTable.of([networks[i].kernels for i in rows])
        return fit(prior, rows_table, measured[rows], probed=probed), FlopsLinear.fit(macs[rows], measured[rows])

    everything = np.arange(len(networks))
    if test_fraction > 0:
        train, test = split(len(networks), seed, test_fraction)
        params, baseline = fitted(train)
        held_out = table.network_ms(params)[test]
        baseline_held_out = baseline.predict(macs[test])
        how = f"{len(train)} of {len(networks)} networks"
    else:
        train = test = everything
        params, _ = fitted(everything)
        folds = [fitted(np.delete(everything, i)) for i in everything]
        held_out = np.array([table.network_ms(p)[i] for i, (p, _) in enumerate(folds)])
        baseline_held_out = np.array([b.predict(macs[i : i + 1])[0] for i, (_, b) in enumerate(folds)])
        how = f"all {len(networks)} networks; held-out error by leave-one-out"
    predicted = table.network_ms(params)
    scored = Metrics.of(measured[test], held_out)
    record = calibration_record(params, backend, precision, threads, f"{fitted_on} ({how})", scored)
    return CalibrationReport(
        profile=with_calibration(profile, record),
        calibration=record,
        fit_metrics=Metrics.of(measured[train], predicted[train]),
        held_out=scored,
        baseline=Metrics.of(measured[test], baseline_held_out),
    )
