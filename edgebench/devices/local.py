"""What this machine is: the CPU that locally measured latencies belong to."""

from __future__ import annotations

import functools
from pathlib import Path

from edgebench.agent import cpu_name


def _cpuinfo(field: str) -> str | None:
    """The first CPU's ``field`` in ``/proc/cpuinfo`` (Linux); None where there is no such file or field."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(field):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


@functools.cache
def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The CPU's model name, as the agent names a board's (`edgebench.agent.cpu_name`): Arm boards have no
    ``model name``, and their architecture alone would not tell a Raspberry Pi 4 from a 5."""
    return cpu_name(cpuinfo)


@functools.cache
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags (``/proc/cpuinfo`` on Linux; empty elsewhere)."""
    return frozenset((_cpuinfo("flags") or "").split())


def vector_isa() -> str:
    """The CPU's widest float vector extension, as people name it: "AVX-512", "AVX2" or "no AVX2"."""
    flags = cpu_flags()
    return "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"


def cpu_label() -> str:
    """This CPU by model name and vector width (one model name covers Xeons with and without AVX-512): what a
    recorded wall time was measured on."""
    return f"{cpu_model()}, {vector_isa()}"


def nchwc_block() -> int:
    """The channel block ONNX Runtime's NCHWc layout uses on this CPU: one AVX-512 (16 floats) or AVX2 (8) vector;
    1 where it does not block."""
    flags = cpu_flags()
    return 16 if "avx512f" in flags else 8 if "avx2" in flags else 1


def gemm_rows() -> int:
    """The output pixels XNNPACK's float GEMM kernels compute at a time on this CPU (its ``mr``): 7 with AVX-512, 5
    with FMA3 (4 on a first-generation Zen, not told apart here); 1 (no tile priced) elsewhere."""
    flags = cpu_flags()
    return 7 if "avx512f" in flags else 5 if "fma" in flags else 1
