"""Predict whole-network latency from a LUT: the sum of the architecture's block rows, corrected for what isolated
blocks pay at their edges, plus the measured per-network overhead. Vectorised over encoded architectures."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from edgebench.exceptions import MissingRowError
from edgebench.lut.keys import BlockKind, LutKey, arch_keys
from edgebench.lut.store import Correction, LutTable
from edgebench.searching.space import ArchSpec, BlockArch, SearchSpace, StageArch
from edgebench.types import Source, Status


def io_melems(key: LutKey) -> float:
    """Input plus output elements of a block, in millions: what a layout conversion at its edges moves."""
    out_res = -(-key.resolution // key.stride)
    out = key.classes if key.kind == BlockKind.HEAD else key.out_channels * out_res * out_res
    return (key.in_channels * key.resolution * key.resolution + out) / 1e6


def block_cost(latency_ms: float, key: LutKey, correction: Correction) -> float:
    """A row's contribution to a whole network: its latency less its edge costs, plus streaming its weights."""
    return (
        latency_ms
        - correction.boundary_ms_per_melem * io_melems(key)
        + correction.weight_ms_per_mparam * key.params / 1e6
    )


@dataclass(frozen=True)
class Prediction:
    """A predicted latency, the architecture it is for, and where its numbers came from."""

    arch: ArchSpec
    latency_ms: float
    source: str
    blocks: tuple[tuple[str, float], ...]  # (block label, contribution in ms), network order
    overhead_ms: float


class Predictor:
    """Reads one LUT for one space; :meth:`predict_encoded` does thousands of architectures per call."""

    def __init__(self, table: LutTable, space: SearchSpace) -> None:
        if table.meta.space != space.name:
            raise ValueError(f"LUT is for space '{table.meta.space}', not '{space.name}'")
        self.table, self.space = table, space
        self.correction = table.meta.correction
        ok = table.rows[table.rows["status"] == Status.COMPLETE.value]
        self.rows = {LutKey.from_row(r): float(r["latency_ms"]) for r in ok.to_dict("records")}
        failed = table.rows[table.rows["status"] != Status.COMPLETE.value]
        self.failures = {LutKey.from_row(r): str(r["error"]) for r in failed.to_dict("records")}
        self._tables()

    @property
    def source(self) -> str:
        """Its predictions' label: ``predicted`` from timed rows (never ``measured``), or ``estimated``."""
        return str(Source.of_sum(self.table.meta.source))

    def cost(self, key: LutKey) -> float:
        """One block's contribution; MissingRowError names the block if the LUT lacks it."""
        if key not in self.rows:
            why = f" (its build failed: {self.failures[key]})" if key in self.failures else ""
            meta = self.table.meta
            raise MissingRowError(
                f"the {meta.device} {meta.backend} {meta.precision} LUT of space '{meta.space}' has no row for "
                f"block '{key.label}'{why}; rebuild it with `edgebench profile --force`"
            )
        return block_cost(self.rows[key], key, self.correction)

    def predict(self, arch: ArchSpec) -> Prediction:
        blocks = tuple((k.label, self.cost(k)) for k in arch_keys(self.space, arch))
        total = self.correction.overhead_ms + sum(ms for _, ms in blocks)
        return Prediction(arch, total, self.source, blocks, self.correction.overhead_ms)

    def _tables(self) -> None:
        """Per stage, the cost of its first block by (input width, width, e, k, se) and of later blocks by
        (width, e, k, se); NaN where the LUT has no row."""
        sp = self.space
        res = sp.resolution
        in_widths: tuple[int, ...] = (sp.stem.out_channels,)
        stem = LutKey(
            BlockKind.STEM.value, res, sp.in_channels, sp.stem.out_channels, sp.stem.stride, kernel=sp.stem.kernel
        )
        self._stem = self._cost_or_nan(stem)
        res = -(-res // sp.stem.stride)
        self._first, self._rest = [], []
        for s in sp.stages:
            shape = (len(in_widths), len(s.width), len(s.expansion), len(s.kernel), len(s.se))
            first, rest = np.full(shape, np.nan), np.full(shape[1:], np.nan)
            after = -(-res // s.stride)
            for idx in np.ndindex(*shape):
                a, w, e, k, se = idx
                cin, width = in_widths[a], s.width[w]
                ek = (s.expansion[e], s.kernel[k], s.se[se])
                first[idx] = self._cost_or_nan(LutKey(BlockKind.MBCONV.value, res, cin, width, s.stride, *ek))
                if a == 0:
                    rest[idx[1:]] = self._cost_or_nan(LutKey(BlockKind.MBCONV.value, after, width, width, 1, *ek))
            self._first.append(first)
            self._rest.append(rest)
            res, in_widths = after, s.width
        heads = [LutKey(BlockKind.HEAD.value, res, w, sp.head.channels, classes=sp.classes) for w in in_widths]
        self._head = np.array([self._cost_or_nan(k) for k in heads])

    def _cost_or_nan(self, key: LutKey) -> float:
        return block_cost(self.rows[key], key, self.correction) if key in self.rows else float("nan")

    def predict_encoded(self, x: np.ndarray) -> np.ndarray:
        """Latency (ms) of each row of ``x``, architectures encoded by :meth:`SearchSpace.encode`."""
        x = np.atleast_2d(x)
        total = np.full(len(x), self.correction.overhead_ms + self._stem)
        prev, col = np.zeros(len(x), dtype=np.int64), 0
        for s, first, rest in zip(self.space.stages, self._first, self._rest, strict=True):
            width, depth = x[:, col], x[:, col + 1]
            total += first[prev, width, x[:, col + 2], x[:, col + 3], x[:, col + 4]]
            for j in range(1, max(s.depth)):
                slot = col + 2 + 3 * j
                cost = rest[width, x[:, slot], x[:, slot + 1], x[:, slot + 2]]
                total += np.where(depth > j, cost, 0.0)
            prev, col = width, col + 2 + 3 * max(s.depth)
        total += self._head[prev]
        bad = np.flatnonzero(np.isnan(total))
        if bad.size:
            self.predict(self.space.decode(x[bad[0]]))  # raises MissingRowError naming the block
        return total

    def fastest(self) -> Prediction:
        """The fastest architecture of the space by this LUT, found exactly (stage by stage over input widths)."""
        sp = self.space
        best = np.array([self._stem])  # per input width of the next stage: fastest cost so far
        choices: list[np.ndarray] = []  # per stage, per width: (previous width, depth) of the fastest way there
        firsts = [np.where(np.isnan(f), np.inf, f) for f in self._first]  # a missing row is never the fastest
        rests = [np.where(np.isnan(r), np.inf, r) for r in self._rest]
        for s, first, rest in zip(sp.stages, firsts, rests, strict=True):
            first_min = first.reshape(*first.shape[:2], -1).min(axis=2)
            rest_min = rest.reshape(rest.shape[0], -1).min(axis=1)
            extra = np.array([[(d - 1) * r if d > 1 else 0.0 for d in s.depth] for r in rest_min])  # (width, depth)
            total = best[:, None, None] + first_min[:, :, None] + extra[None]  # (previous, width, depth)
            per_width = total.transpose(1, 0, 2).reshape(total.shape[1], -1).argmin(axis=1)
            prev, depth = np.unravel_index(per_width, (total.shape[0], total.shape[2]))
            best = total[prev, np.arange(total.shape[1]), depth]
            choices.append(np.stack([prev, depth], axis=1))
        ends = best + np.where(np.isnan(self._head), np.inf, self._head)
        last = int(np.argmin(ends))
        if not np.isfinite(ends[last]):
            raise MissingRowError(f"the {self.table.meta.device} LUT lacks rows for every architecture of the space")
        widths = [last]
        for c in reversed(choices[1:]):
            widths.append(int(c[widths[-1], 0]))
        widths.reverse()
        stages = []
        for s, w, c, first, rest in zip(sp.stages, widths, choices, firsts, rests, strict=True):
            prev = int(c[w, 0])
            e, k, se = np.unravel_index(np.argmin(first[prev, w]), first.shape[2:])
            blocks = [BlockArch(s.expansion[e], s.kernel[k], s.se[se])]
            if s.depth[int(c[w, 1])] > 1:
                e, k, se = np.unravel_index(np.argmin(rest[w]), rest.shape[1:])
                blocks += [BlockArch(s.expansion[e], s.kernel[k], s.se[se])] * (s.depth[int(c[w, 1])] - 1)
            stages.append(StageArch(s.width[w], tuple(blocks)))
        return self.predict(ArchSpec(sp.name, tuple(stages)))

    def predict_many(self, archs: Sequence[ArchSpec]) -> np.ndarray:
        return self.predict_encoded(np.stack([self.space.encode(a) for a in archs]))
