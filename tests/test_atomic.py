from pathlib import Path

import numpy as np
import pytest

from edgebench.atomic import write_atomic, write_text_atomic


def test_a_write_that_fails_keeps_the_old_file_and_leaves_no_temp(tmp_path: Path) -> None:
    path = write_text_atomic(tmp_path / "a.json", "old")

    def fail(tmp: Path) -> None:
        tmp.write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomic(path, fail)
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_a_writer_that_appends_its_own_suffix_writes_the_file_and_no_temp(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "arrays.npz"
    write_atomic(path, lambda tmp: np.savez(tmp, x=np.arange(3)), suffix=".npz")
    with np.load(path) as npz:
        assert npz["x"].tolist() == [0, 1, 2]
    assert [p.name for p in path.parent.iterdir()] == ["arrays.npz"]


def test_a_killed_writers_suffixed_temp_is_removed_by_the_next_write(tmp_path: Path) -> None:
    dead = tmp_path / ".arrays.npz.999999999.tmp.npz"
    dead.write_text("half")
    write_atomic(tmp_path / "arrays.npz", lambda tmp: np.savez(tmp, x=np.zeros(1)), suffix=".npz")
    assert not dead.exists()
