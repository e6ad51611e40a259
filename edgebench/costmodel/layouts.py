"""The activation layouts runtimes keep, as far as they cost kernels of their own or slow a conv: ONNX Runtime's
channel-blocked NCHWc (:class:`BlockedLayout`, reorders into and out of it; :func:`lanes_used`, the share of the rate
a conv's channels fill) and LiteRT's channels-last NHWC (:class:`ChannelsLast`, transposes around what only works on
NCHW)."""

from __future__ import annotations

from collections.abc import Iterable
from math import prod

import onnx

from edgebench.costmodel.graph import Graph, Kernel, ints
from edgebench.searching.space import pad_channels
from edgebench.types import KernelKind

#: The activations ONNX Runtime's NCHWc transformer runs on the blocked layout (others read plain tensors).
BLOCKED_ACTIVATIONS = {"Relu", "Sigmoid", "Tanh"}
REORDER = "layout reorder (into or out of the runtime's channel-blocked layout)"
#: Channel counts a plain tensor must be a multiple of to be reordered into the blocked layout (padded to a block).
REORDER_ALIGN = 4

#: A channel-blocked runtime's dense and pointwise convs compute up to ``FILTER_SET`` output blocks per pass over
#: the input (ONNX Runtime's NCHWc kernels), and a pass costs some blocks' worth of work of its own (loading the input
#: taps), so output channels that leave a set part-filled run slower. What a pass costs depends on the CPU: a
#: profile's ``filter_pass`` states it (probed), else ``FILTER_PASS_COST`` by block. Measured with ONNX Runtime 1.31,
#: 3x3 convs at 32x32: on AMD Zen 2 (AVX2, block 8) 0.35, 0.62, 0.85, 1.0, 0.72, 0.82, 0.93 and 1.0 of the full rate at
#: 8 to 64 channels (a pass cost of 7 fits them; 1x1 convs follow the same steps with about 5); on an Intel Xeon
#: (AVX-512, block 16) 0.79, 0.95, 1.05, 1.0 and 0.92 at 16 to 80 (about 0.5).
FILTER_SET = 4
FILTER_PASS_COST = {8: 6.0, 16: 0.5}


def lanes_used(kind: KernelKind, cin: int, cout: int, block: int, pass_cost: float, output_block: int = 1) -> float:
    """Share of the machine's rate a conv gets from its channels in a blocked layout: the work on real channels
    when they are padded to multiples of ``block`` (a dense conv reading fewer channels than one block, a stem,
    reads them unpadded), times the share its output blocks fill of the filter sets (:data:`FILTER_SET`), a pass
    over the input costing ``pass_cost`` blocks' worth; grouped convs unblocked. Else its output channels padded to
    ``output_block``, for a dense or pointwise conv."""
    if block <= 1:
        return cout / pad_channels(cout, output_block) if kind in (KernelKind.CONV, KernelKind.POINTWISE_CONV) else 1.0
    if kind is KernelKind.GROUPED_CONV:
        return 1.0
    if kind is KernelKind.DEPTHWISE_CONV:
        return cin / pad_channels(cin, block)
    read = 1.0 if cin < block else cin / pad_channels(cin, block)
    blocks = -(-cout // block)
    passes = -(-blocks // FILTER_SET)
    sets = blocks * (pass_cost + FILTER_SET) / (FILTER_SET * (passes * pass_cost + blocks))
    return read * cout / pad_channels(cout, block) * sets


def rows_used(pixels: int, tile: int) -> float:
    """Share of a GEMM conv's pixel tiles on real output pixels, where it computes ``tile`` output pixels at a time
    and pads the last tile (XNNPACK's ``mr``); a one-pixel map runs a one-pixel kernel. Measured with LiteRT 2 on an
    AVX-512 Zen 4 (``mr`` 7), chains of 256-channel 1x1 convs: 8.1-8.2 µs a conv at 2 to 7 pixels, 16.0-16.1 at 8 to
    14, 23.9-24.0 at 15 to 21, 2.9 at one pixel."""
    if tile <= 1 or pixels <= 1:
        return 1.0
    return pixels / (-(-pixels // tile) * tile)


def weight_passes(pixels: int, tile: int) -> int:
    """Times a GEMM conv that computes ``tile`` output pixels at a time reads its whole weights: once per tile
    (XNNPACK sweeps every output channel for one tile of pixels before the next). 1 for a one-pixel map or an
    untiled runtime. Measured with LiteRT 2 on an AVX-512 Zen 5 (``mr`` 7), chains of 1024-channel 1x1 convs (4.2 MB
    of weights a conv): 138 µs a conv at 7 pixels, 221 at 8, 306 at 15, 346 at 22, 443 at 29: a first read from
    memory and 75-85 µs for each further one from L3. Its 1x1 convs at 4x4 in chains of 23 to 92 MB (2.1 to 8.4 MB a
    conv) ran at 0.55-0.7 of the bandwidth so priced, and a 320 -> 1280 one at 4x4 in a network's chain, 96 µs: three
    passes over 1.6 MB at 51 GB/s."""
    return 1 if tile <= 1 or pixels <= 1 else -(-pixels // tile)


class BlockedLayout:
    """Which tensors a channel-blocked runtime keeps blocked, and the reorder kernels it runs between layouts.

    The rules are ONNX Runtime's NCHWc transformer's on x86, as its optimised graphs show them (the reorders of
    the twelve standard families and of the default space match them one for one). A dense convolution runs
    blocked when it reads a blocked tensor (padded to whole blocks), fewer channels than a block (read plain as
    they are) or a multiple of four channels (reordered in); a depthwise one when its channels are a multiple of
    four; another grouped one on whole blocks. Pooling runs blocked on whole blocks; a concatenation along the
    channels of blocked whole-block inputs; an add or multiply of blocked inputs of one shape (a squeeze-excite
    gate's broadcast multiply does not); batch norm, resize, ReLU, sigmoid and tanh on a blocked input. Any other
    op reading a blocked tensor gets it reordered out of the layout first (a ReorderOutput kernel, once per
    tensor), and a blocked op reading a plain tensor gets it reordered in (ReorderInput)."""

    def __init__(self, g: Graph, block: int) -> None:
        self.g, self.block = g, block
        self.blocked: set[str] = set()
        self.reordered: set[tuple[str, bool]] = set()

    def runs_blocked(self, node: onnx.NodeProto, dynamic: list[str]) -> bool:
        if self.block <= 1:
            return False
        op, b = node.op_type, self.block
        channels = [self.g.shape(i, node)[1] if len(self.g.shape(i, node)) == 4 else 0 for i in dynamic]
        if op == "Conv":
            w = self.g.shape(node.input[1], node)
            (groups,) = ints(node, "group", [1])
            cout, cin = w[0], w[1] * groups
            if groups == 1:  # a blocked input padded to whole blocks is read as it is
                return cin < b or cin % REORDER_ALIGN == 0 or dynamic[0] in self.blocked
            if w[1] == 1 and cout == groups:  # depthwise
                return cout % REORDER_ALIGN == 0
            return cin % b == 0 and cout // groups % b == 0
        inputs_blocked = all(i in self.blocked for i in dynamic)
        if op in ("MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool"):  # a global one on a blocked input
            whole = channels[0] > 0 and channels[0] % b == 0
            return whole and (op in ("MaxPool", "AveragePool") or inputs_blocked)
        if op == "Concat":
            whole = all(c > 0 and c % b == 0 for c in channels)
            return ints(node, "axis", [0])[0] == 1 and whole and inputs_blocked
        if op in ("Add", "Sum", "Mul"):
            return inputs_blocked and len({self.g.shape(i, node) for i in dynamic}) == 1
        return op in BLOCKED_ACTIVATIONS | {"BatchNormalization", "Resize", "Upsample"} and inputs_blocked

    def reorders(self, node: onnx.NodeProto, tail: onnx.NodeProto, dynamic: list[str], blocked: bool
                 ) -> list[Kernel]:  # fmt: skip
        """The reorders before the kernel from ``node`` to ``tail``, which runs ``blocked`` or not; notes the layout
        of its output."""
        if not blocked:
            return self.unblocked(dynamic)
        self.blocked.add(tail.output[0])
        reads_plain = node.op_type == "Conv" and self.g.shape(dynamic[0], node)[1] < self.block
        if reads_plain:
            return self.unblocked(dynamic)
        return self._reorder([i for i in dynamic if i not in self.blocked], into=True)

    def unblocked(self, dynamic: list[str]) -> list[Kernel]:
        """The reorders out of the layout of a plain-layout op's blocked inputs."""
        return self._reorder([i for i in dynamic if i in self.blocked], into=False)

    def unblocked_outputs(self) -> list[Kernel]:
        """The graph outputs left in the blocked layout, reordered out of it."""
        return self._reorder(sorted(self.g.outputs & self.blocked), into=False)

    def _reorder(self, names: list[str], into: bool) -> list[Kernel]:
        """A reorder of each tensor in ``names`` into (or out of) the layout, read and written once; once per
        tensor and direction, however many ops read it."""
        todo = [n for n in names if (n, into) not in self.reordered]
        self.reordered.update((n, into) for n in todo)
        op = "ReorderInput" if into else "ReorderOutput"
        sizes = [prod(self.g.shapes[n]) for n in todo]
        return [Kernel(f"reorder {n}", KernelKind.ELEMENTWISE, (op,), float(e), 2 * e, 0, role=REORDER)
                for n, e in zip(todo, sizes, strict=True)]  # fmt: skip


#: Ops whose NCHW graph input the converter transposes into NHWC (a graph of elementwise ops alone keeps its layout).
LAYOUT_SENSITIVE = {"Conv", "ConvTranspose", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool"}
TRANSPOSE = "layout transpose (a channels-last runtime's, into or out of NCHW)"


class ChannelsLast:
    """Where a runtime that keeps 4-D activations channels-last (LiteRT, converted from an NCHW graph) runs
    transposes of its own: one into NHWC of each 4-D graph input a convolution or pooling reads; one to NCHW of a map
    of more than one pixel that a reshape reads (its element order is NCHW's: a channel shuffle, a flatten before a
    linear layer), and one back to NHWC of the result when an op other than a reshape or transpose reads it as a 4-D
    map again. Each tensor is transposed once however many ops read it; ``enabled`` False (another runtime) adds
    none but, with ``inputs``, the graph inputs' (a runtime whose convs alone keep the layout: OpenVINO's)."""

    def __init__(self, g: Graph, enabled: bool, inputs: bool = False) -> None:
        self.g, self.enabled, self.reorders_inputs = g, enabled, enabled or inputs
        self.first: set[str] = set()  # tensors held channels-first
        self.done: set[str] = set()

    def inputs(self, nodes: Iterable[onnx.NodeProto]) -> list[Kernel]:
        """The transposes into NHWC of the 4-D graph inputs a convolution or pooling among ``nodes`` reads."""
        read = {n.input[0] for n in nodes if n.op_type in LAYOUT_SENSITIVE}
        names = sorted(i for i in self.g.inputs & read if len(self.g.shapes.get(i, ())) == 4)
        return self._transpose(names) if self.reorders_inputs else []

    def relabels(self, node: onnx.NodeProto, dynamic: list[str]) -> list[Kernel]:
        """The transposes before ``node``, an op that moves no data or an ONNX Transpose (priced as the op it is),
        and the layout of its output."""
        if not self.enabled or not dynamic:
            return []
        x = dynamic[0]
        if x in self.first:
            self.first.update(node.output)
            return []
        shape, out = self.g.shapes.get(x, ()), self.g.shapes.get(node.output[0])
        if node.op_type == "Transpose" or len(shape) != 4 or prod(shape[2:]) == 1 or out == shape:
            return []
        self.first.update(node.output)
        return self._transpose([x])

    def reads(self, dynamic: list[str]) -> list[Kernel]:
        """The transposes back into NHWC of the channels-first 4-D maps a kernel reads."""
        return self._transpose([i for i in dynamic if i in self.first and len(self.g.shapes.get(i, ())) == 4])

    def _transpose(self, names: list[str]) -> list[Kernel]:
        todo = [n for n in names if n not in self.done]  # maps are held channels-first only where enabled
        self.done.update(todo)
        sizes = [prod(self.g.shapes[n]) for n in todo]
        return [Kernel(f"transpose {n}", KernelKind.ELEMENTWISE, ("Transpose",), float(e), 2 * e, 0, role=TRANSPOSE,
                       priced_op="Transpose", priced_elems=e) for n, e in zip(todo, sizes, strict=True)]  # fmt: skip
