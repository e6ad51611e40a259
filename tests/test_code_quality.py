"""The style gates configured in pyproject.toml run as part of the test command, so CI enforces them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "check", "edgebench", "tests", "benchmarks"],
        ["ruff", "format", "--check", "edgebench", "tests", "benchmarks"],
        ["mypy"],
    ],
    ids=["ruff-check", "ruff-format", "mypy"],
)
def test_code_passes(command: list[str]) -> None:
    exe = shutil.which(command[0], path=str(Path(sys.executable).parent)) or shutil.which(command[0])
    assert exe, f"{command[0]} is not installed; it comes with: pip install -e '.[dev]'"
    result = subprocess.run([exe, *command[1:]], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


def _imports() -> dict[str, set[tuple[str, str]]]:
    """Each edgebench module's imports of edgebench (module, name), lazy ones inside functions included."""
    import ast

    package = ROOT / "edgebench"
    found: dict[str, set[tuple[str, str]]] = {}
    for path in package.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("edgebench"):
                found[name] |= {(str(node.module), a.name) for a in node.names}
            elif isinstance(node, ast.Import):
                found[name] |= {(a.name, "") for a in node.names if a.name.startswith("edgebench")}
    return found


def test_the_import_graph_has_no_cycle() -> None:
    imports = _imports()

    def module_of(name: str) -> str:
        while name not in imports:
            name = name.rpartition(".")[0]
        return name

    graph = {m: {module_of(f"{t}.{n}" if f"{t}.{n}" in imports else t) for t, n in ts} - {m}
             for m, ts in imports.items()}  # fmt: skip
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for t in sorted(graph[module]):
            assert state.get(t) != 1, "import cycle: " + " -> ".join([*path[path.index(t) :], t])
            if t not in state:
                visit(t, [*path, t])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])


def test_no_module_imports_a_private_name() -> None:
    private = sorted(f"{m}: {t}.{n}" for m, ts in _imports().items() for t, n in ts
                     if n.startswith("_") and not n.startswith("__"))  # fmt: skip
    assert private == []


def test_modules_are_small_and_cli_modules_thin() -> None:
    """No module over 500 lines (the agent, a server and its client's protocol in one file, is the one exception)
    and each CLI module under 200: a command parses, calls one API function and renders."""
    sizes = {str(p.relative_to(ROOT)): len(p.read_text().splitlines()) for p in (ROOT / "edgebench").rglob("*.py")}
    assert {p: n for p, n in sizes.items() if n > 500 and p != "edgebench/agent.py"} == {}
    assert {p: n for p, n in sizes.items() if p.startswith("edgebench/cli/") and n >= 200} == {}
