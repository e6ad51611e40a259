"""Per-layer latency tables for pruning: each conv layer of a network timed (or estimated) alone over the channel
counts pruning can give it, and a whole-network correction, so a pruned network's latency is predicted from its
layer shapes without converting it.

A layer is timed as conv + BatchNorm + ReLU (what a runtime fuses into one kernel). Its channel counts are levels
of its original ones (eighths by default) rounded down to the device's channel multiple; between levels the table
interpolates linearly in input and output channels. The network latency is ``scale x sum(layers) + offset``, both
fitted on whole networks timed alongside (the unpruned one and uniformly pruned ones, see ``FIT_KEEPS``), which
carries what the layers leave out: pooling, residual adds, the classifier, and the boundary effects of timing layers
alone. Four networks for two parameters leave a residual, which the table keeps and a warning reports when large.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from scipy.interpolate import RegularGridInterpolator
from torch import nn

from edgebench.costmodel.kernels import module_kernels
from edgebench.costmodel.model import estimate, params_for, rules_for
from edgebench.devices import DeviceProfile
from edgebench.distill.networks import Network, build_network, label, resolution, to_dict
from edgebench.exceptions import ConfigError
from edgebench.lut.builder import BuildSettings, Progress, Silent, convert_and_time, priced_by
from edgebench.lut.convert import ConvertJob
from edgebench.lut.sampling import Stats
from edgebench.lut.store import NOISY_FIT, Journal, TableKind, key_id, read_headed, write_headed
from edgebench.pruning.graph import PruningGraph
from edgebench.pruning.history import PruneHistory
from edgebench.pruning.uniform import uniform_history
from edgebench.target import Target, target_for
from edgebench.types import Precision, Source

log = logging.getLogger(__name__)


@dataclass(frozen=True, order=True)
class LayerShape:
    """A conv layer as it runs: input size, channels, window, stride, and whether it is depthwise."""

    resolution: int
    in_channels: int
    out_channels: int
    kernel: int
    stride: int
    depthwise: bool = False

    @property
    def input_shape(self) -> tuple[int, int, int, int]:
        return (1, self.in_channels, self.resolution, self.resolution)

    def build(self) -> nn.Module:
        groups = self.in_channels if self.depthwise else 1
        conv = nn.Conv2d(self.in_channels, self.out_channels, self.kernel, self.stride, self.kernel // 2,
                         groups=groups, bias=False)  # fmt: skip
        return nn.Sequential(conv, nn.BatchNorm2d(self.out_channels), nn.ReLU())

    def to_row(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> LayerShape:
        ints = {f.name: int(row[f.name]) for f in fields(cls) if f.name != "depthwise"}
        return cls(depthwise=bool(row["depthwise"]), **ints)


@dataclass(frozen=True)
class ConvLayer:
    """One conv of a network: its shape now, and whether its input channels are the network's (not prunable)."""

    name: str
    shape: LayerShape
    fixed_input: bool


def conv_layers(module: nn.Module, input_shape: Sequence[int]) -> list[ConvLayer]:
    """Every conv of ``module`` in execution order, with the shape it runs at for ``input_shape``."""
    found: list[ConvLayer] = []
    x = torch.zeros(tuple(input_shape))

    def record(name: str, conv: nn.Conv2d) -> Any:
        def hook(_: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
            depthwise = conv.groups > 1 and conv.groups == conv.in_channels == conv.out_channels
            if conv.groups > 1 and not depthwise:
                raise ConfigError(f"pruning: '{name}' is a grouped conv; only dense and depthwise convs are tabled")
            shape = LayerShape(inputs[0].shape[-1], conv.in_channels, conv.out_channels, conv.kernel_size[0],
                               conv.stride[0], depthwise)  # fmt: skip
            found.append(ConvLayer(name, shape, inputs[0] is x))

        return hook

    convs = [(n, m) for n, m in module.named_modules() if isinstance(m, nn.Conv2d)]
    hooks = [m.register_forward_pre_hook(record(n, m)) for n, m in convs]
    try:
        with torch.no_grad():
            module.eval()(x)
    finally:
        for h in hooks:
            h.remove()
    return found


def pruning_multiple(profile: DeviceProfile, backend: str) -> int:
    """The multiple pruned channel counts are rounded to: the device's channel multiple and the runtime's channel
    block (ONNX Runtime runs a conv whose channels are not a multiple of its NCHWc block 1.5-2x slower here)."""
    return math.lcm(profile.channel_multiple, profile.channel_block(backend))


def levels(channels: int, multiple: int, steps: int = 8) -> list[int]:
    """The channel counts a table holds for a layer of ``channels``: ``steps`` even fractions of it, rounded down
    to ``multiple`` (at least ``multiple``), and the smallest count pruning may leave."""
    rounded = {max(multiple, int(channels * i / steps) // multiple * multiple) for i in range(1, steps + 1)}
    return sorted(rounded | {min(channels, multiple), channels})


def layer_grid(layers: Sequence[ConvLayer], multiple: int, steps: int = 8) -> pd.DataFrame:
    """The table's rows to fill: for every layer, each (input, output) channel pair of its levels."""
    rows = []
    for layer in layers:
        s = layer.shape
        ins = [s.in_channels] if layer.fixed_input else levels(s.in_channels, multiple, steps)
        pairs = (
            [(c, c) for c in ins]
            if s.depthwise
            else [(i, o) for i in ins for o in levels(s.out_channels, multiple, steps)]
        )
        for cin, cout in pairs:
            shape = LayerShape(s.resolution, cin, cout, s.kernel, s.stride, s.depthwise)
            rows.append({"layer": layer.name, **shape.to_row()})
    return pd.DataFrame(rows)


@dataclass(frozen=True, eq=False)
class LayerTable:
    """Latencies of each layer over its channel levels, and the whole-network correction."""

    rows: pd.DataFrame  # layer, the LayerShape columns, latency_ms
    scale: float
    offset_ms: float
    source: Source
    networks: int = 0  # whole networks the correction was fitted through
    fit_rmspe: float = 0.0  # the correction's residual over them (relative, not percent)
    priced_by: dict[str, Any] = field(default_factory=dict)  # builder.priced_by: the CPU of a measured table
    path: Path | None = None  # the file it is kept in

    @cached_property
    def _lookup(self) -> dict[str, Callable[[LayerShape], float]]:
        return {str(name): _interpolator(rows) for name, rows in self.rows.groupby("layer")}

    def layer_ms(self, name: str, shape: LayerShape) -> float:
        """The layer's latency at ``shape``'s channels, interpolated between the levels it was timed at."""
        if name not in self._lookup:
            raise ConfigError(f"pruning: layer '{name}' is not in the latency table; rebuild it for this network")
        return self._lookup[name](shape)

    def layers_ms(self, layers: Sequence[ConvLayer]) -> float:
        return sum(self.layer_ms(layer.name, layer.shape) for layer in layers)

    def network_ms(self, module: nn.Module, input_shape: Sequence[int]) -> float:
        """Predicted latency of ``module`` (the tabled network, pruned or not)."""
        return self.scale * self.layers_ms(conv_layers(module, input_shape)) + self.offset_ms


def _interpolator(own: pd.DataFrame) -> Callable[[LayerShape], float]:
    """Linear in the channel count(s) a layer's rows vary over (both, for a dense conv whose input is pruned)."""
    if own["in_channels"].nunique() > 1 and own["out_channels"].nunique() > 1 and not own["depthwise"].iloc[0]:
        grid = own.pivot_table(index="in_channels", columns="out_channels", values="latency_ms")
        interp = RegularGridInterpolator((grid.index.to_numpy(), grid.columns.to_numpy()), grid.to_numpy(),
                                         bounds_error=False, fill_value=None)  # fmt: skip
        return lambda s: float(interp([[s.in_channels, s.out_channels]])[0])
    axis = "out_channels" if own["in_channels"].nunique() == 1 else "in_channels"
    own = own.sort_values(axis)
    xs, ys = own[axis].to_numpy(), own["latency_ms"].to_numpy()
    return lambda s: float(np.interp(getattr(s, axis), xs, ys))


#: The file a layer table is kept in (header: the correction, the networks it was fitted through, what priced it).
LAYER_TABLE = TableKind("layer-table", "layer table")

#: Channel fractions kept by the uniformly pruned networks timed whole beside the unpruned one for the correction.
FIT_KEEPS = (0.75, 0.5, 0.25)


@dataclass(frozen=True)
class LayerFit:
    """``measured = scale x layer_sum + offset_ms``, with its residual over the ``networks`` it was fitted through."""

    scale: float
    offset_ms: float
    networks: int
    rmspe: float


def fit_correction(layer_sums: Sequence[float], measured: Sequence[float]) -> LayerFit:
    """The correction through the networks timed whole: least squares, or scale alone for one network (or for
    sums that do not vary). With as many networks as parameters the residual is zero and says nothing."""
    x, y = np.asarray(layer_sums, dtype=float), np.asarray(measured, dtype=float)
    if len(x) < 2 or np.ptp(x) <= 1e-9:
        scale, offset = float(y.sum() / x.sum()), 0.0
    else:
        scale, offset = (float(v) for v in np.polyfit(x, y, 1))
    rmspe = float(np.sqrt(np.mean(((scale * x + offset - y) / y) ** 2)))
    return LayerFit(scale, offset, len(x), rmspe)


@dataclass(frozen=True)
class PrunedNetwork:
    """A network with a pruning history replayed, as a conversion job builds it."""

    network: Network
    classes: int
    history: PruneHistory

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self.history.input_shape

    def build(self) -> nn.Module:
        return self.history.replay(build_network(self.network, self.classes))


def _layer_jobs(shapes: Sequence[LayerShape], out_root: Path) -> dict[LayerShape, ConvertJob]:
    return {s: ConvertJob(f"layer-{key_id(s.to_row())}", s, out_root / key_id(s.to_row())) for s in shapes}


def _network_job(network: Network, classes: int, history: PruneHistory, out_root: Path) -> ConvertJob:
    spec = {"network": to_dict(network), "classes": classes, "history": history.to_dict()}
    job_id = "pruned-" + key_id(spec)  # the id (and artifact folder) of the network, its classes and its history
    return ConvertJob(job_id, PrunedNetwork(network, classes, history), out_root / job_id)


def _measured(
    target: Target,
    backend: str,
    precision: Precision,
    shapes: Sequence[LayerShape],
    networks: Sequence[ConvertJob],
    folder: Path,
    settings: BuildSettings,
    progress: Progress,
) -> tuple[dict[LayerShape, float], list[float], dict[LayerShape, str]]:
    layers = _layer_jobs(shapes, folder / "artifacts")
    journal = Journal(folder / "journal.jsonl")
    if journal.header() is None:
        journal.start({"device": target.profile.name, "backend": backend, "precision": str(precision)})
    else:
        journal.repair()
    timed = convert_and_time([*networks, *layers.values()], target, backend, precision, settings, journal,
                             progress)  # fmt: skip
    value = {i: Stats.of(s).value_ms(settings.statistic) for i, s in timed.samples.items() if s}
    missing = [j.job_id for j in networks if j.job_id not in value]
    if missing:
        reason = timed.failures.get(missing[0], "no samples")
        raise ConfigError(f"pruning: the whole network could not be timed on {backend} {precision} ({reason})")
    ms = {s: value[j.job_id] for s, j in layers.items() if j.job_id in value}
    failed = {s: timed.failures.get(j.job_id, "no samples") for s, j in layers.items() if j.job_id not in value}
    return ms, [value[j.job_id] for j in networks], failed


def _estimated(
    profile: DeviceProfile,
    backend: str,
    precision: Precision,
    shapes: Sequence[LayerShape],
    networks: Sequence[nn.Module],
    input_shape: tuple[int, ...],
    progress: Progress,
) -> tuple[dict[LayerShape, float], list[float]]:
    params, rules = params_for(profile, backend, precision), rules_for(profile, backend, precision)
    progress.phase(f"estimating {backend} {precision} layers", len(shapes))
    ms = {}
    for s in shapes:
        e = estimate(module_kernels(s.build().eval(), s.input_shape, rules), params)
        ms[s] = e.latency_ms - e.overhead_ms
        progress.advance()
    whole = [estimate(module_kernels(m.eval(), input_shape, rules), params).latency_ms for m in networks]
    return ms, whole


def build_layer_table(
    network: Network,
    classes: int,
    profile: DeviceProfile,
    backend: str,
    precision: Precision,
    cache_dir: Path,
    steps: int = 8,
    settings: BuildSettings | None = None,
    progress: Progress | None = None,
) -> LayerTable:
    """The layer table of ``network`` on a device: measured where edgebench can time the device, estimated by its
    cost model elsewhere; cached, and a killed measurement resumes from its journal.

    Raises:
        UnsupportedError: the device does not run this backend at this precision.
        ConfigError: the whole network cannot be timed, or has a grouped conv.
    """
    progress = progress or Silent()
    profile.check_supports(backend, precision)
    target = target_for(profile)
    source = target.source
    unpruned = build_network(network, classes)
    input_shape = (1, 3, resolution(network), resolution(network))
    multiple = pruning_multiple(profile, backend)
    grid = layer_grid(conv_layers(unpruned, input_shape), multiple, steps)
    settings = settings or BuildSettings()
    ident = {"network": to_dict(network), "classes": classes, "steps": steps, "multiple": multiple,
             "fit_keeps": FIT_KEEPS,
             "priced_by": priced_by(target, backend, precision, settings)}  # fmt: skip
    folder = cache_dir / "prune-luts" / profile.name / f"{backend}-{precision}" / key_id(ident)
    path = folder / "layers.csv"  # written whole, last: a folder without it is an unfinished build
    if path.exists():
        return read_layer_table(path)
    shapes = sorted({LayerShape.from_row(r) for r in grid.to_dict("records")})
    graph = PruningGraph(unpruned, input_shape)
    histories = [PruneHistory(input_shape), *(uniform_history(graph, keep, multiple) for keep in FIT_KEEPS)]
    nets = [h.replay(build_network(network, classes)) for h in histories]  # the whole networks that fix the correction
    failed: dict[LayerShape, str] = {}
    if source is Source.ESTIMATED:
        ms, whole = _estimated(profile, backend, precision, shapes, nets, input_shape, progress)
    else:
        target.require_measurable()
        jobs = [_network_job(network, classes, h, folder / "artifacts") for h in histories]
        ms, whole, failed = _measured(target, backend, precision, shapes, jobs, folder, settings, progress)
    if failed:
        shape, reason = next(iter(failed.items()))
        raise ConfigError(
            f"pruning: {len(failed)} layer shapes failed on {backend} {precision}, e.g. {shape} ({reason})"
        )
    rows = grid.assign(latency_ms=[ms[LayerShape.from_row(r)] for r in grid.to_dict("records")], source=str(source))
    partial = LayerTable(rows, 1.0, 0.0, source)
    sums = [partial.layers_ms(conv_layers(net, input_shape)) for net in nets]
    fit = fit_correction(sums, whole)
    if fit.rmspe > NOISY_FIT:
        log.warning("the layer table of %s on %s misses its %d whole networks by %.0f %% RMSPE (usually under 6 %%): "
                    "was the machine busy? Delete %s to time it again", label(network), profile.name, fit.networks,
                    100 * fit.rmspe, folder)  # fmt: skip
    meta = {"scale": fit.scale, "offset_ms": fit.offset_ms, "fit_rmspe": fit.rmspe, "source": str(source),
            "networks_ms": whole, "layer_sums_ms": sums, **ident}  # fmt: skip
    write_headed(path, LAYER_TABLE, meta, rows)
    return read_layer_table(path)  # read back: the rows exactly as every later read (and a digest of them) sees them


def read_layer_table(path: Path) -> LayerTable:
    """The layer table kept in ``path`` (one :func:`build_layer_table` wrote, or a copy of it): a table measured on
    one machine prunes on another.

    Raises:
        ConfigError: ``path`` is not a layer table.
    """
    meta, rows = read_headed(path, LAYER_TABLE)
    return LayerTable(rows, meta["scale"], meta["offset_ms"], Source(meta["source"]), len(meta["networks_ms"]),
                      meta["fit_rmspe"], meta["priced_by"], path)  # fmt: skip
