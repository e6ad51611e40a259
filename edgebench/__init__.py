"""edgebench: which student network should I deploy on this edge device, and what will it cost?

The API (``edgebench.search``, ``edgebench.run``, ...) is imported on first use, so ``import edgebench`` stays
light; see :mod:`edgebench.api`.
"""

from typing import TYPE_CHECKING, Any

from edgebench.exceptions import EdgebenchError
from edgebench.types import Precision, SearchMethod, Source, Status
from edgebench.version import __version__

if TYPE_CHECKING:
    from edgebench.api import (
        bench,
        build_lut,
        calibrate,
        estimator,
        new_device,
        one_shot,
        predict,
        predict_model,
        prune,
        report,
        run,
        search,
        train_student,
        train_teacher,
    )
    from edgebench.api import device as get_device
    from edgebench.api import devices as list_devices

_API = {"get_device": "device", "list_devices": "devices", "bench": "bench", "build_lut": "build_lut",
        "predict": "predict", "predict_model": "predict_model", "calibrate": "calibrate", "search": "search",
        "one_shot": "one_shot", "prune": "prune", "run": "run", "report": "report", "train_student": "train_student",
        "train_teacher": "train_teacher", "estimator": "estimator", "new_device": "new_device"}  # fmt: skip

__all__ = [
    "EdgebenchError",
    "Precision",
    "SearchMethod",
    "Source",
    "Status",
    "__version__",
    "bench",
    "build_lut",
    "calibrate",
    "estimator",
    "get_device",
    "list_devices",
    "new_device",
    "one_shot",
    "predict",
    "predict_model",
    "prune",
    "report",
    "run",
    "search",
    "train_student",
    "train_teacher",
]


def __getattr__(name: str) -> Any:
    if name in _API:
        from edgebench import api

        return getattr(api, _API[name])
    raise AttributeError(f"module 'edgebench' has no attribute '{name}'")


def __dir__() -> list[str]:
    return sorted(__all__)
