"""Shipped artefacts seed the cache: copied when the cache lacks a finished folder, never over a finished one."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgebench import shipped


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in for ``edgebench/weights`` holding one finished folder, ``kind/name``."""
    root = tmp_path / "weights"
    (root / "kind" / "name").mkdir(parents=True)
    (root / "kind" / "name" / "data.bin").write_bytes(b"shipped")
    (root / "kind" / "name" / "done.json").write_text("{}")
    monkeypatch.setattr(shipped, "SHIPPED", root)
    return root


def test_an_empty_or_unfinished_cache_folder_gets_the_shipped_one(package: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    (cache / "kind" / "name").mkdir(parents=True)
    (cache / "kind" / "name" / "partial.pt").write_bytes(b"half")  # a build killed before it finished
    assert shipped.seed(cache, Path("kind", "name"), "done.json")
    assert (cache / "kind" / "name" / "data.bin").read_bytes() == b"shipped"


def test_a_finished_cache_folder_is_kept(package: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    (cache / "kind" / "name").mkdir(parents=True)
    (cache / "kind" / "name" / "done.json").write_text('{"mine": 1}')
    assert not shipped.seed(cache, Path("kind", "name"), "done.json")
    assert (cache / "kind" / "name" / "done.json").read_text() == '{"mine": 1}'
    assert not (cache / "kind" / "name" / "data.bin").exists()


def test_nothing_shipped_copies_nothing(package: Path, tmp_path: Path) -> None:
    assert not shipped.seed(tmp_path / "cache", Path("kind", "other"), "done.json")
    assert not shipped.seed(tmp_path / "cache", Path("kind", "name"), "missing-marker.json")
    assert not (tmp_path / "cache").exists()
