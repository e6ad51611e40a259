"""The host profile's priors, probed on the CPU this runs on (the shipped ones belong to the CPU they came from)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from edgebench.api.resolve import device as as_device
from edgebench.backends.registry import is_available
from edgebench.costmodel.probe import PROBED_ON, probe, with_probed_priors
from edgebench.costmodel.runtime_probe import probe_runtime, with_runtime_rates
from edgebench.devices import DeviceProfile, get_device, save_profile
from edgebench.devices.local import cpu_label, cpu_model, vector_isa
from edgebench.exceptions import ConfigError


def probe_host(
    out: str | Path,
    *,
    backends: Sequence[str] = (),
    runs: int = 200,
    progress: Callable[[str], None] | None = None,
    figures: Callable[[str], None] | None = None,
    header: Sequence[str] = (),
) -> DeviceProfile:
    """Probe this CPU for the host profile's cost-model priors and write the profile to ``out``: the CPU's kernel
    rates and memory hierarchy (timed with the first backend), then each backend's own rates (activations, pools,
    transposes, weight reads, depthwise paths; about a minute each; ONNX Runtime's and OpenVINO's INT8 kernels too, a
    minute more each). ``runs``: timed runs per probe chain (half that for the runtimes' depthwise, conv, cache and INT8
    probes). ``backends``: the host's installed ones if empty. Calibrations are dropped: they were fitted against the
    old priors. ``figures`` gets each probe's figures on a line; ``header``: the file's leading comment lines (else
    one naming this CPU and the command).

    Raises:
        ConfigError: a backend the host profile does not run, or none installed.
    """
    host = get_device("host")
    names = list(backends) or [b for b in host.backends if is_available(b)]
    unknown = sorted(set(names) - set(host.backends))
    if unknown or not names:
        raise ConfigError(
            f"backends: the host runs {', '.join(host.backends)}, not {', '.join(unknown) or 'none installed'}"
        )
    header = list(header) or [
        f"The host profile with priors probed on {cpu_model()} by `edgebench devices probe`; fit them to",
        "your own measurements with `edgebench calibrate --device THIS_FILE`.",
    ]
    _say(progress, f"probing this CPU's kernel rates with {names[0]}")
    found = probe(names[0], runs)
    if figures:
        figures(found.summary())
    profile = with_probed_priors(host, found)
    save_profile(profile, Path(out), header)  # saved after each step: a probe that crashes loses only its own
    for backend in names:
        _say(progress, f"probing {backend}'s own rates")
        rates = probe_runtime(profile, backend, runs)
        if figures:
            figures(rates.summary())
        profile = with_runtime_rates(profile, rates)
        save_profile(profile, Path(out), header)
    return profile


def foreign_priors(device: str | DeviceProfile) -> str | None:
    """Why a local CPU profile's priors do not describe this CPU (probed on another model, or one with other vector
    units: one model name covers CPUs with and without AVX-512), else None."""
    profile = as_device(device)
    here = cpu_label()
    if not profile.processor.startswith(PROBED_ON) or all(p in profile.processor for p in (cpu_model(), vector_isa())):
        return None
    probed = profile.processor.removeprefix(PROBED_ON).rstrip(")")
    return (f"'{profile.name}' has priors probed on {probed}, not on this CPU ({here}); probe them here with "
            "`edgebench devices probe -o host.yaml` and use --device host.yaml")  # fmt: skip


def _say(progress: Callable[[str], None] | None, phase: str) -> None:
    if progress:
        progress(phase)
