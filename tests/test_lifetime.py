"""A spawned worker that called die_with_parent is gone soon after its parent is killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import two_class_npz_and_checkpoint
from tests.search.conftest import TINY

PARENT = """
import multiprocessing, sys, time
from edgebench.lifetime import die_with_parent

def worker():
    die_with_parent()
    time.sleep(120)

if __name__ == "__main__":
    child = multiprocessing.get_context("spawn").Process(target=worker)
    child.start()
    print(child.pid, flush=True)
    time.sleep(120)
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie awaiting its reaper is dead too
        return f.read().split(")")[-1].split()[0] != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl(PR_SET_PDEATHSIG) is Linux's")
def test_a_worker_dies_with_its_killed_parent(tmp_path: Path) -> None:
    script = tmp_path / "parent.py"
    script.write_text(PARENT)
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    time.sleep(1.0)  # the worker is up and has asked to die with its parent
    assert alive(child)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(child), "the worker outlived its killed parent"


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` now (read from /proc)."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for child in map(int, children):
            found |= {child, *descendants(child)}
    return found


def _commands(tmp: Path) -> dict[str, list[str]]:
    """Each long command with the workers it spawns: conversion workers (profile, search and prune measure on
    host) or a row worker (run)."""
    data, teacher = two_class_npz_and_checkpoint(tmp, "teacher")
    cache = ["--cache-dir", str(tmp / "cache")]
    return {
        "profile": ["profile", "--device", "host", "--backend", "openvino", "--precision", "fp32", "--space",
                    str(TINY), "--workers", "2", *cache],
        "search": ["search", "--method", "proxy", "--device", "host", "--backend", "openvino", "--precision", "fp32",
                   "--latency", "1s", "--space", str(TINY), "--data", f"npz:{data}", "--distill", "ce", "--out",
                   str(tmp / "s"), *cache],
        "prune": ["prune", "--device", "host", "--backend", "openvino", "--precision", "fp32", "--latency", "1ms",
                  "--teacher", str(teacher), "--data", f"npz:{data}", "--out", str(tmp / "p"), *cache],
        "run": ["run", str(teacher), "--device", "host", "--backend", "onnxruntime", "-p", "fp32", "--data",
                f"npz:{data}", "--out", str(tmp / "r")],
    }  # fmt: skip


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl(PR_SET_PDEATHSIG) is Linux's")
@pytest.mark.parametrize("command", ["profile", "search", "prune", "run"])
def test_a_killed_command_leaves_no_worker(tmp_path: Path, command: str) -> None:
    process = subprocess.Popen([sys.executable, "-m", "edgebench", *_commands(tmp_path)[command]],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline, workers = time.monotonic() + 180, set()
    while not workers and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.2)
        workers = {p for p in descendants(process.pid) if "spawn_main" in _cmdline(p)}
    assert workers, f"{command} never started a worker"
    process.send_signal(signal.SIGKILL)
    process.wait()
    deadline = time.monotonic() + 10
    while any(alive(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [p for p in workers if alive(p)], f"workers outlived the killed {command}"


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return ""
