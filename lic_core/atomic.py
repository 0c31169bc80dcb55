"""Atomic file writes: a crash or an error never leaves a half-written file in place.

The data goes to a temporary file in the target's directory, is flushed and fsynced, then
replaces the target with ``os.replace`` (atomic on POSIX and Windows). On failure the
temporary file is removed and the previous target, if any, is untouched.

The result gets the mode a plain ``open(path, "w")`` would give: a replaced file keeps its
mode, a new one gets ``0o666`` less the umask (applied by the kernel when the temporary file
is created, so the process-wide umask is never read or changed).
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Iterator

_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
_NAME_ATTEMPTS = 100


@contextmanager
def atomic_open(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """Open a temporary binary file that becomes ``path`` when the block exits cleanly."""
    target = Path(path)
    if not target.parent.is_dir():
        raise FileNotFoundError(errno.ENOENT, "No such directory", str(target.parent))
    mode = _existing_mode(target)
    fd, tmp = _create_temp(target)
    try:
        with os.fdopen(fd, "wb") as f:
            if mode is not None:
                os.chmod(tmp, mode)
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(target.parent)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_open(path) as f:
        f.write(data)


def _existing_mode(target: Path) -> int | None:
    """Permission bits of the file being replaced, or None when there is none yet."""
    try:
        return stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        return None


def _create_temp(target: Path) -> tuple[int, Path]:
    """Create a fresh, uniquely named file next to ``target`` with mode 0o666 less the umask.

    Unlike ``tempfile.mkstemp`` (always 0o600) this asks for 0o666, exactly like ``open()``.
    """
    for _ in range(_NAME_ATTEMPTS):
        tmp = target.parent / f".{target.name}.{secrets.token_hex(4)}.tmp"
        try:
            return os.open(tmp, _CREATE_FLAGS, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "No free temporary file name", str(target.parent))


def _fsync_dir(directory: Path) -> None:
    """Persist the rename itself (best effort: not every platform can open a directory)."""
    try:
        fd = os.open(directory or ".", os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
