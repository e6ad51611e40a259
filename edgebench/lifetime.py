"""Worker processes that die with their parent: a killed ``profile`` or ``run`` (kill -9 included) leaves no
conversion or row worker behind holding hundreds of MB."""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Ask the kernel to kill this process when its parent dies (Linux; a no-op elsewhere); call it first thing in
    a spawned worker. Exits at once if the parent is already gone."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    parent = multiprocessing.parent_process()
    if parent is not None and os.getppid() != parent.pid:  # the parent died before prctl took effect
        os._exit(1)


def worker_pool(workers: int, initializer: Callable[[], None] = die_with_parent) -> ProcessPoolExecutor:
    """A pool of ``workers`` spawned processes that die with their parent (an ``initializer`` of one's own must
    call :func:`die_with_parent` first)."""
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=initializer)
