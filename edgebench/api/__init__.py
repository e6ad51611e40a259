"""edgebench's Python API: what every CLI command calls, keyword-only and typed, returning typed results.

Files are written only where a function is given ``out`` (a LUT and a trained estimator or teacher go to the cache,
as in the CLI). Errors are :class:`edgebench.EdgebenchError` subclasses whose messages name the parameter at fault.
"""

from edgebench.api.benchmarking import BenchResults, bench, plan_bench
from edgebench.api.latency import (
    ModelEstimate,
    build_lut,
    build_luts,
    calibrate,
    predict,
    predict_model,
    profile_plan,
    validate_lut,
)
from edgebench.api.oneshot_search import OneShotOutcome, one_shot
from edgebench.api.probing import foreign_priors, probe_host
from edgebench.api.proxy_search import SearchOutcome, search
from edgebench.api.pruning import PruneOutcome, prune
from edgebench.api.resolve import device, devices, new_device, runtime_for
from edgebench.api.running import RunPlan, RunResults, plan_run, report, run
from edgebench.api.training import TrainRun, estimator, train_student, train_teacher

__all__ = [
    "BenchResults",
    "ModelEstimate",
    "OneShotOutcome",
    "PruneOutcome",
    "RunPlan",
    "RunResults",
    "SearchOutcome",
    "TrainRun",
    "bench",
    "build_lut",
    "build_luts",
    "calibrate",
    "device",
    "devices",
    "estimator",
    "foreign_priors",
    "new_device",
    "one_shot",
    "plan_bench",
    "plan_run",
    "predict",
    "predict_model",
    "probe_host",
    "profile_plan",
    "prune",
    "report",
    "run",
    "runtime_for",
    "search",
    "train_student",
    "train_teacher",
    "validate_lut",
]
