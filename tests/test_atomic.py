"""Atomic writes: same file mode as a plain open(), old file intact and no temporary left on
failure; only regular files are replaced, never an input, and errors name the user's path."""

from __future__ import annotations

import errno
import os
import re
import socket
import stat

import pytest

from lic_core.atomic import atomic_open, atomic_write_bytes, check_output
from lic_core.errors import LicError

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
    path = tmp_path / "nope" / "x.bin"
    with pytest.raises(LicError, match=f"^cannot write {re.escape(str(path))}: no directory {re.escape(str(path.parent))}$"):
        atomic_write_bytes(path, b"data")


def _special(tmp_path, kind: str):
    """A path holding what must never be replaced by an output file."""
    path = tmp_path / kind
    if kind == "directory":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "socket":
        server = socket.socket(socket.AF_UNIX)
        server.bind(str(path))
        server.close()
    elif kind == "link-to-directory":
        (tmp_path / "d").mkdir()
        path.symlink_to(tmp_path / "d")
    elif kind == "dangling-link":
        path.symlink_to(tmp_path / "nowhere")
    return path


REFUSED = {
    "directory": "it is a directory, not a regular file",
    "fifo": r"it is a FIFO \(named pipe\), not a regular file",
    "socket": "it is a socket, not a regular file",
    "link-to-directory": "it is a symbolic link to a directory, not a regular file",
    "dangling-link": "it is a symbolic link to .*nowhere, which does not exist",
}


@posix_only
@pytest.mark.parametrize("kind", REFUSED)
def test_only_regular_files_are_replaced(tmp_path, kind):
    path = _special(tmp_path, kind)
    before = os.lstat(path)
    with pytest.raises(LicError, match=f"^cannot write {re.escape(str(path))}: {REFUSED[kind]}$"):
        atomic_write_bytes(path, b"data")
    after = os.lstat(path)
    assert (after.st_mode, after.st_ino) == (before.st_mode, before.st_ino)  # untouched
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


@posix_only
def test_a_character_device_is_refused():
    with pytest.raises(LicError, match="^cannot write /dev/null: it is a character device, not a regular file$"):
        check_output("/dev/null")


def test_empty_path_and_directory_name_are_refused(tmp_path):
    with pytest.raises(LicError, match="^the output path is empty: give a file name$"):
        atomic_write_bytes("", b"data")
    with pytest.raises(LicError, match="names a directory"):
        check_output(f"{tmp_path}{os.sep}")


@posix_only
@pytest.mark.parametrize("how", ["same-path", "hard-link", "symlink"])
def test_an_output_that_is_an_input_is_refused_before_writing(tmp_path, how):
    source = tmp_path / "in.png"
    source.write_bytes(b"precious")
    out = {"same-path": source, "hard-link": tmp_path / "hard.png", "symlink": tmp_path / "link.png"}[how]
    if how == "hard-link":
        os.link(source, out)
    elif how == "symlink":
        out.symlink_to(source)
    with pytest.raises(LicError, match=f"^cannot write {re.escape(str(out))}: it is the same file as the input {re.escape(str(source))}$"):
        atomic_write_bytes(out, b"garbage", inputs=[source])
    assert source.read_bytes() == b"precious"
    assert check_output(tmp_path / "other.png", inputs=[source, None]) == tmp_path / "other.png"


@posix_only
def test_a_symlink_to_a_regular_file_is_kept_and_its_target_replaced(tmp_path):
    target = tmp_path / "real.bin"
    target.write_bytes(b"old")
    link = tmp_path / "link.bin"
    link.symlink_to(target)
    atomic_write_bytes(link, b"new")
    assert link.is_symlink() and target.read_bytes() == b"new"


@posix_only
def test_errors_name_the_users_path_not_the_temporary_file(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as a user who can write anywhere")
        with pytest.raises(LicError, match=f"^cannot write {re.escape(str(locked / 'x.bin'))}: Permission denied$"):
            atomic_write_bytes(locked / "x.bin", b"data")
    finally:
        locked.chmod(0o700)


def test_a_failed_rename_names_the_users_path(tmp_path, monkeypatch):
    def fail(src, dst):
        raise OSError(errno.EXDEV, "Invalid cross-device link", str(src), None, str(dst))

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError) as info:  # still an OSError for callers, and a LicError for the CLI
        atomic_write_bytes(tmp_path / "x.bin", b"data")
    assert isinstance(info.value, LicError) and info.value.errno == errno.EXDEV
    assert str(info.value) == f"cannot write {tmp_path / 'x.bin'}: Invalid cross-device link"
    assert list(tmp_path.iterdir()) == []  # the temporary file is gone
