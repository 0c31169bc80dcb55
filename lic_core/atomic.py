"""Atomic file writes to checked output paths: a crash or an error never leaves a half-written
file in place, and an output never replaces what is not a regular file or is an input.

:func:`check_output` refuses, with a one-line :class:`~lic_core.errors.LicError` naming the
user's path, an empty path, a directory, a device, a FIFO or a socket (or a symbolic link to
one of those, or to nothing), a missing directory, and a file that is one of the inputs (same
device and inode: the same path, a hard link or a symbolic link). An existing regular file is
replaced; a symbolic link to one keeps the link and replaces the file it points to.

The data goes to a temporary file in the target's directory, is flushed and fsynced, then
replaces the target with ``os.replace`` (atomic on POSIX and Windows). On failure the
temporary file is removed and the previous target, if any, is untouched.

The result gets the mode a plain ``open(path, "w")`` would give: a replaced file keeps its
mode, a new one gets ``0o666`` less the umask (applied by the kernel when the temporary file
is created, so the process-wide umask is never read or changed).
"""

from __future__ import annotations

import os
import secrets
import stat
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator

from lic_core.errors import LicError

_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
_NAME_ATTEMPTS = 100
_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
)

PathLike = str | os.PathLike


class WriteError(LicError, OSError):
    """The system refused a write (full disk, permissions): an ``OSError`` whose one-line
    message names the user's path, never the temporary file."""

    @classmethod
    def of(cls, shown: str, exc: OSError) -> "WriteError":
        error = cls(f"cannot write {shown}: {exc.strerror or exc}")
        error.errno = exc.errno
        return error


def check_output(path: PathLike, inputs: Iterable[PathLike | None] = (), missing_dir_ok: bool = False) -> Path:
    """The regular file to write for output ``path`` (symbolic links resolved), or a
    :class:`LicError` naming ``path`` when it must not be written (see the module docstring).

    ``inputs`` are the files the command reads (``None`` entries are skipped); an output that
    is the same file as one of them is refused before anything is written. ``missing_dir_ok``:
    the caller creates a missing directory (a training run's ``--out runs/x.safetensors``).
    """
    shown = os.fspath(path)
    if not shown:
        raise LicError("the output path is empty: give a file name")
    if shown.endswith(os.sep) or (os.altsep and shown.endswith(os.altsep)):
        raise LicError(f"cannot write {shown}: the output names a directory, it must be a file")
    target = Path(shown)
    try:
        st: os.stat_result | None = os.lstat(target)
    except FileNotFoundError:
        st = None
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
        raise LicError(f"cannot write {shown!r}: {getattr(exc, 'strerror', None) or exc}") from None
    link = ""
    if st is not None and stat.S_ISLNK(st.st_mode):
        link = "a symbolic link to "
        real = Path(os.path.realpath(target))
        try:
            st = os.stat(target)
        except FileNotFoundError:
            raise LicError(f"cannot write {shown}: it is a symbolic link to {real}, which does not exist") from None
        except OSError as exc:
            raise LicError(f"cannot write {shown}: {exc.strerror}") from None
        target = real
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise LicError(f"cannot write {shown}: it is {link}{_kind(st.st_mode)}, not a regular file")
    if not target.parent.is_dir() and not (missing_dir_ok and not target.parent.exists()):
        raise LicError(f"cannot write {shown}: no directory {target.parent}")
    if st is not None:
        for source in inputs:
            if source is not None and _same_file(st, source):
                raise LicError(f"cannot write {shown}: it is the same file as the input {os.fspath(source)}")
    return target


@contextmanager
def atomic_open(path: PathLike, inputs: Iterable[PathLike | None] = ()) -> Iterator[BinaryIO]:
    """Open a temporary binary file that becomes ``path`` when the block exits cleanly
    (``path`` and ``inputs`` checked by :func:`check_output` first)."""
    shown = os.fspath(path)
    inputs = tuple(inputs)
    target = check_output(path, inputs)
    mode = _existing_mode(target)
    fd, tmp = _create_temp(target, shown)
    try:
        with os.fdopen(fd, "wb") as f:
            if mode is not None:
                os.chmod(tmp, mode)
            yield f
            _finish(f, shown)
        check_output(target, inputs)  # whatever appeared at the path meanwhile is refused too
        _replace(tmp, target, shown)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(target.parent)


def atomic_write_bytes(path: PathLike, data: bytes, inputs: Iterable[PathLike | None] = ()) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_open`)."""
    with atomic_open(path, inputs) as f:
        f.write(data)


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "a special file")


def _same_file(st: os.stat_result, source: PathLike) -> bool:
    try:
        other = os.stat(source)
    except (OSError, ValueError):
        return False
    return (st.st_dev, st.st_ino) == (other.st_dev, other.st_ino)


def _existing_mode(target: Path) -> int | None:
    """Permission bits of the file being replaced, or None when there is none yet."""
    try:
        return stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        return None


def _create_temp(target: Path, shown: str) -> tuple[int, Path]:
    """Create a fresh, uniquely named file next to ``target`` with mode 0o666 less the umask.

    Unlike ``tempfile.mkstemp`` (always 0o600) this asks for 0o666, exactly like ``open()``.
    Errors name the user's path, never the temporary file.
    """
    for _ in range(_NAME_ATTEMPTS):
        tmp = target.parent / f".{target.name}.{secrets.token_hex(4)}.tmp"
        try:
            return os.open(tmp, _CREATE_FLAGS, 0o666), tmp
        except FileExistsError:
            continue
        except OSError as exc:
            raise WriteError.of(shown, exc) from None
    raise LicError(f"cannot write {shown}: no free temporary file name in {target.parent}")


def _finish(f: BinaryIO, shown: str) -> None:
    """Flush and fsync, with errors (a full disk) naming the user's path."""
    try:
        f.flush()
        os.fsync(f.fileno())
    except OSError as exc:
        raise WriteError.of(shown, exc) from None


def _replace(tmp: Path, target: Path, shown: str) -> None:
    try:
        os.replace(tmp, target)
    except OSError as exc:
        raise WriteError.of(shown, exc) from None


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
