"""Errors edgebench raises on purpose; the CLI turns each into a one-line message and exit code 2.

Tree::

    EdgebenchError
    ├── ConfigError               a device profile (or other input file) is malformed
    ├── UnknownNameError          no device / backend / precision / network by that name
    ├── UnsupportedError          a valid request the target cannot honour
    │   ├── UnsupportedOpError    an ONNX op edgebench or a backend cannot run
    │   ├── UnreachableDeviceError a device that cannot be measured from here
    │   └── InfeasibleBudgetError  nothing in the search space meets the latency budget
    ├── ModelLoadError            a file that is not a model
    ├── BackendUnavailableError   an optional backend package is not installed
    ├── ParityError               a converted artifact disagrees with the PyTorch reference
    ├── BusyMachineError          timings that contradict each other: the machine was busy while they ran
    └── MissingRowError           a latency table has no row for a block a prediction needs
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class EdgebenchError(Exception):
    """Base of every error edgebench raises deliberately."""


class ConfigError(EdgebenchError):
    """A configuration file is malformed; the message names the file and the field."""


def error_text(exc: BaseException, limit: int = 300) -> str:
    """A failure as one line for a FAILED row: the exception's type and its message's lines joined (runtimes such as
    OpenVINO put the reason after a first line naming their source file), cut at a word near ``limit``."""
    message = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    text = f"{type(exc).__name__}: {message}"
    return text if len(text) <= limit else text[: limit - 2].rsplit(" ", 1)[0] + " …"


class UnknownNameError(EdgebenchError, KeyError):
    """An unknown registry name; the message lists the valid ones and suggests the closest."""

    def __init__(self, kind: str, name: str, valid: Iterable[str]) -> None:
        self.kind, self.name, self.valid = kind, name, sorted(valid)
        close = difflib.get_close_matches(name, self.valid, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        super().__init__(f"unknown {kind} '{name}'.{hint} Valid: {', '.join(self.valid)}.")

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class UnsupportedError(EdgebenchError):
    """A well-formed request that the device, backend or precision cannot honour."""


class UnsupportedOpError(UnsupportedError):
    """An ONNX operator that cannot be converted or run."""

    def __init__(
        self, op_type: str, node: str, where: str, advice: str = "remove it from the model or choose another backend"
    ) -> None:
        self.op_type, self.node, self.where = op_type, node, where
        super().__init__(f"{where} cannot run ONNX op '{op_type}' (node '{node}'); {advice}.")


class UnreachableDeviceError(UnsupportedError):
    """The device is neither this machine nor reachable through an agent."""


class InfeasibleBudgetError(UnsupportedError):
    """No architecture of the space meets the latency budget; the message gives the fastest achievable."""


class ModelLoadError(EdgebenchError):
    """The file given as a model cannot be read as one."""


class BackendUnavailableError(EdgebenchError):
    """An optional backend's package is missing; the message names the pip extra."""

    def __init__(self, backend: str, extra: str, cause: str) -> None:
        self.backend = backend
        super().__init__(
            f"backend '{backend}' is not installed ({cause}); install it with: pip install 'edgebench[{extra}]'"
        )


class ParityError(EdgebenchError):
    """Converted outputs differ from the reference beyond the precision's tolerance."""


class BusyMachineError(EdgebenchError):
    """Timings that cannot both hold on an idle machine (one kernel outrunning the peak another sets); the message
    names them and says to run alone."""


class MissingRowError(EdgebenchError):
    """A prediction needs a LUT row that is not there; the message names the block."""
