"""Atomic writes: same file mode as a plain open(), old file intact and no temporary left on failure."""

from __future__ import annotations

import os
import stat

import pytest

from lic_core.atomic import atomic_open, atomic_write_bytes

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@posix_only
def test_new_file_gets_the_mode_of_a_plain_open(tmp_path, umask_022):
    atomic_write_bytes(tmp_path / "new.bin", b"data")
    with open(tmp_path / "plain.bin", "wb") as f:
        f.write(b"data")
    assert _mode(tmp_path / "new.bin") == _mode(tmp_path / "plain.bin") == 0o644
    assert (tmp_path / "new.bin").read_bytes() == b"data"


@posix_only
def test_replaced_file_keeps_its_mode(tmp_path, umask_022):
    path = tmp_path / "private.bin"
    path.write_bytes(b"old")
    path.chmod(0o640)
    atomic_write_bytes(path, b"new")
    assert path.read_bytes() == b"new" and _mode(path) == 0o640


def test_failed_write_leaves_the_old_file_intact(tmp_path):
    path = tmp_path / "keep.bin"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="encoder failed"):
        with atomic_open(path) as f:
            f.write(b"half")
            raise RuntimeError("encoder failed")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.bin"]  # no temporary left behind


def test_missing_directory_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        atomic_write_bytes(tmp_path / "nope" / "x.bin", b"data")
