"""A device profile's figures for one runtime at a thread count, as the cost model reads them: the peak and the
cores' share the threads get, and the runtime's own rates, paths and fixed costs where its profile states them (else
the device's priors)."""

from __future__ import annotations

from edgebench.devices.profile import DeviceProfile, Sourced
from edgebench.types import EXP_BASED, KernelKind, Precision


def effective_peak(profile: DeviceProfile, precision: Precision, threads: int) -> float:
    """The device's peak GFLOP/s at ``precision`` when the runtime uses ``threads`` threads."""
    cm = profile.cost_model
    return cm.peak_gflops[precision].value / cm.cores * thread_share(profile, threads)


def thread_share(profile: DeviceProfile, threads: int) -> float:
    """How many cores' worth of work ``threads`` threads do: each past the first adds ``parallel_efficiency``."""
    cm = profile.cost_model
    if cm.cores == 1:
        return 1.0
    assert cm.parallel_efficiency is not None
    return 1 + (min(threads, cm.cores) - 1) * cm.parallel_efficiency.value


def conv_efficiency(profile: DeviceProfile, backend: str) -> dict[KernelKind, float]:
    """The dense conv efficiency ``backend``'s own conv rate sets against a core's peak, where the profile states
    one (capped at 1)."""
    rate = profile.runtime(backend).conv_gflops
    if rate is None:
        return {}
    return {KernelKind.CONV: min(1.0, rate.value / effective_peak(profile, Precision.FP32, 1))}


def large_depthwise(profile: DeviceProfile, backend: str, threads: int) -> tuple[int, float] | None:
    """(taps, GFLOP/s at ``threads`` threads) of ``backend``'s slower path for depthwise convs with more taps,
    where the profile states one."""
    slow = profile.runtime(backend).large_depthwise
    return (slow.above_taps, slow.gflops.value * thread_share(profile, threads)) if slow else None


def plain_depthwise(profile: DeviceProfile, backend: str, threads: int) -> tuple[float, float] | None:
    """(GFLOP/s, µs per channel) at ``threads`` threads of the depthwise convs ``backend`` runs outside its blocked
    layout, where the profile states them."""
    plain = profile.runtime(backend).plain_depthwise
    return _at_threads(profile, threads, plain.gflops, plain.group_us) if plain else None


def plain_reads(profile: DeviceProfile, backend: str, threads: int) -> float | None:
    """GB/s at ``threads`` threads at which the strided depthwise convs ``backend`` runs outside its blocked layout
    read their input at the least, where the profile states it."""
    plain = profile.runtime(backend).plain_depthwise
    return _gbps_at_threads(profile, threads, plain.input_gbps if plain else None)


def depthwise_stream(profile: DeviceProfile, backend: str, threads: int) -> tuple[float, float] | None:
    """(outputs per ns, ns per output row) at ``threads`` threads of ``backend``'s depthwise convs, where stated."""
    stream = profile.runtime(backend).depthwise_stream
    return _at_threads(profile, threads, stream.gouts, stream.row_ns) if stream else None


def depthwise_reads(profile: DeviceProfile, backend: str, threads: int) -> float | None:
    """GB/s at ``threads`` threads at which ``backend``'s depthwise convs read their input at the least, where the
    profile states it."""
    stream = profile.runtime(backend).depthwise_stream
    return _gbps_at_threads(profile, threads, stream.input_gbps if stream else None)


def _gbps_at_threads(profile: DeviceProfile, threads: int, gbps: Sourced | None) -> float | None:
    """One core's ``gbps``, where stated, spread over ``threads`` threads."""
    return gbps.value * thread_share(profile, threads) if gbps else None


def wide_depthwise(profile: DeviceProfile, backend: str, threads: int) -> tuple[float, float] | None:
    """(KB, GB/s at ``threads`` threads): the taps and weights per output pixel past which ``backend``'s depthwise
    convs re-read them for every output, and the rate of those reads, where the profile states them."""
    wide = profile.runtime(backend).wide_depthwise
    return (wide.above_kb.value, wide.gbps.value * thread_share(profile, threads)) if wide else None


def large_maps(profile: DeviceProfile, backend: str, threads: int) -> tuple[float, float] | None:
    """(MB, GB/s at ``threads`` threads): the activations a kernel of ``backend`` reads and writes past which it
    streams the rest at that rate, where the profile states them."""
    large = profile.runtime(backend).large_maps
    return (large.above_mb.value, large.gbps.value * thread_share(profile, threads)) if large else None


def channel_scale(profile: DeviceProfile, backend: str, threads: int) -> tuple[float, float] | None:
    """(outputs per ns, ns per channel) at ``threads`` threads of ``backend``'s squeeze-excite gates, where the profile
    states them."""
    scale = profile.runtime(backend).channel_scale
    return _at_threads(profile, threads, scale.gouts, scale.channel_ns) if scale else None


def activation_gbps(profile: DeviceProfile, backend: str) -> tuple[float, ...]:
    """Per cache level, the bandwidth at which ``backend`` streams activations held there: its own where the
    profile states one, else the level's."""
    own = profile.runtime(backend).cache_gbps
    return tuple(own[c.name].value if c.name in own else c.bandwidth_gbps.value for c in profile.cost_model.caches)


def _at_threads(profile: DeviceProfile, threads: int, rate: Sourced, cost: Sourced) -> tuple[float, float]:
    """One core's ``rate`` and fixed ``cost`` per unit, spread over ``threads`` threads."""
    share = thread_share(profile, threads)
    return rate.value * share, cost.value / share


def op_rates(profile: DeviceProfile, backend: str, threads: int) -> dict[str, float]:
    """Elements per ns, at ``threads`` threads, of each op ``backend`` computes at a rate of its own on the device:
    its runtime's own where the profile states them, else the cost model's ``exp_gelems`` for the exp-based ones."""
    cm = profile.cost_model
    rates = dict.fromkeys(EXP_BASED, cm.exp_gelems.value) if cm.exp_gelems else {}
    rates |= {name: rate.value for name, rate in profile.runtime(backend).op_gelems.items()}
    return {name: rate * thread_share(profile, threads) for name, rate in rates.items()}


def overheads(profile: DeviceProfile, backend: str, precision: Precision) -> tuple[float, float]:
    """(ms a kernel, ms an inference call) beyond their work: ``backend``'s own where the profile states them (its
    INT8 ones at INT8, else its FP32 ones; one thread's), else the device's priors."""
    runtime, cm = profile.runtime(backend), profile.cost_model
    own = (runtime.int8.overheads if precision is Precision.INT8 and runtime.int8 else None) or runtime.overheads
    if own is None:
        return cm.overhead_per_layer_ms.value, cm.overhead_per_network_ms.value
    return own.layer_us.value / 1e3, own.call_us.value / 1e3
