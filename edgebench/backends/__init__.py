"""Real inference backends, registered by name: onnxruntime, openvino, tflite."""

from edgebench.backends import onnxruntime, openvino, tflite  # noqa: F401  (registration)
from edgebench.backends._timing import TIMING_RULE, Measurement
from edgebench.backends.base import Artifact, Backend, Session
from edgebench.backends.registry import get_backend, is_available, list_backends, register

__all__ = [
    "TIMING_RULE",
    "Artifact",
    "Backend",
    "Measurement",
    "Session",
    "get_backend",
    "is_available",
    "list_backends",
    "register",
]
