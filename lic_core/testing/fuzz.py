"""A fuzzing harness for lic's readers of hostile input: ``.lic`` streams, coding checkpoints,
image files.

Every case runs in a child forked from a parent that already has torch and the model loaded
(a case costs a fork, not an import), with its address space limited to what it had plus
``memory`` bytes and killed after ``timeout`` seconds; :func:`run_cases` forks one child per
case, or lets one child run a batch in turn (``per_child``) where forking is slow, blaming a
death or hang on the case it was running. Its outcome is one of :data:`OUTCOMES`:

- ``clean``: a one-line :class:`~lic_core.errors.LicError` (what the CLI prints as ``lic: error:``);
- ``unchanged``: no error, and the same output as the unmutated input (a harmless mutation);
- ``accepted``: no error and another output where no checksum could tell (a checkpoint
  or image whose bytes changed);
- ``silent``: a stream that decodes to another image than the original's, without an error;
- ``signal``: the child died of a signal (SIGSEGV, SIGFPE, SIGABRT ...);
- ``timeout``: still running after ``timeout`` seconds;
- ``memory``: an allocation beyond the limit was attempted (or the resident set grew past it);
- ``internal``: any exception that is not a ``LicError``, a message of several lines, or a
  traceback written to stderr.

Case generators: :class:`StreamMutator` (random bit flips, byte rewrites, truncations,
insertions, deletions; each header field rewritten to hostile values with the checksums
recomputed; stream-tree re-nesting; payload rewrites with valid checksums),
:func:`checkpoint_cases` (safetensors header, metadata, recipe JSON, dtypes and tensor bytes)
and :func:`image_cases` (PNG, TIFF, GIF, JPEG bytes). ``benchmarks/fuzz.py`` runs them at
scale, ``tests/test_fuzz.py`` a bounded sample.
"""

from __future__ import annotations

import faulthandler
import hashlib
import io
import json
import os
import random
import resource
import signal
import struct
import sys
import tempfile
import time
import zlib
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

OUTCOMES = ("clean", "unchanged", "accepted", "silent", "signal", "timeout", "memory", "internal")
FAILURES = ("silent", "signal", "timeout", "memory", "internal")
_MEMORY_WORDS = ("MemoryError", "can't allocate", "cannot allocate", "bad_alloc", "out of memory")


@dataclass(frozen=True)
class Case:
    """One input to try: ``run(case)`` (in the child) returns a digest of its output."""

    kind: str  # "stream", "checkpoint" or "image"
    mutation: str  # what was done, e.g. "field height=65535" or "bitflip x3"
    data: bytes
    expected: str | None = None  # digest of the unmutated input's output
    silent_if_changed: bool = False  # another output without an error is a failure
    target: str = ""  # which decoder or model the runner uses ("" the default)


@dataclass
class Result:
    case: Case
    outcome: str
    seconds: float
    extra_mb: float  # growth of the child's resident set over the parent's
    message: str = ""


def digest(*parts: Any) -> str:
    """A short hash of tensors, bytes and plain values (what a case's output is compared by)."""
    import torch

    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, torch.Tensor):
            t = part.detach().cpu().contiguous()
            h.update(f"{t.dtype}{tuple(t.shape)}".encode())
            h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
        elif isinstance(part, (bytes, bytearray)):
            h.update(bytes(part))
        else:
            h.update(repr(part).encode())
    return h.hexdigest()[:16]


# -- running cases in forked children ----------------------------------------------------
def _status_kb(key: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def _reset_peak() -> None:
    try:  # Linux >= 4.0: VmHWM restarts from the current resident set
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def _worker(run: Callable[[Case], str], batch: Sequence[tuple[int, Case]], memory: int, out_fd: int) -> None:
    """The child: run ``batch`` in order, one JSON line when a case starts and one when it ends."""
    faulthandler.disable()  # a signal is the parent's to report, not a dump on the caller's stderr
    resource.setrlimit(resource.RLIMIT_AS, (_status_kb("VmSize") * 1024 + memory, resource.RLIM_INFINITY))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    from lic_core.errors import LicError

    for i, case in batch:
        os.write(out_fd, json.dumps({"start": i}).encode() + b"\n")
        _reset_peak()
        rss0 = _status_kb("VmRSS")
        err0 = os.lseek(2, 0, os.SEEK_END)
        t0 = time.monotonic()
        try:
            report: dict[str, Any] = {"ok": run(case)}
        except BaseException as exc:  # noqa: BLE001 - classifying every way a case can end is the point
            report = {"lic" if isinstance(exc, LicError) else "error": f"{type(exc).__name__}: {exc}"[:4000]}
        report.update(done=i, seconds=time.monotonic() - t0, extra_mb=(_status_kb("VmHWM") - rss0) / 1024)
        sys.stderr.flush()
        if os.lseek(2, 0, os.SEEK_END) > err0:
            report["stderr"] = os.pread(2, 4000, err0).decode(errors="replace")
        os.write(out_fd, json.dumps(report).encode() + b"\n")


def _classify(case: Case, report: dict[str, Any], memory_mb: float) -> tuple[str, str]:
    """The outcome of a case that ran to its end in the child."""
    message = report.get("lic") or report.get("error") or ""
    stderr = report.get("stderr", "")
    if any(word in message for word in _MEMORY_WORDS) or report.get("extra_mb", 0) > memory_mb:
        return "memory", message
    if "error" in report or "\n" in message.strip() or "Traceback" in stderr:
        return "internal", message or stderr.strip().splitlines()[-1]
    if "lic" in report:
        return "clean", message
    if report["ok"] == case.expected:
        return "unchanged", ""
    return ("silent" if case.silent_if_changed else "accepted"), f"output {report['ok']}, expected {case.expected}"


@dataclass
class _Child:
    batch: list[tuple[int, Case]]
    fd: int
    err_path: str
    buf: bytes = b""
    current: int | None = None
    t0: float = 0.0
    finished: set[int] = field(default_factory=set)


def run_cases(
    cases: Iterable[Case],
    run: Callable[[Case], str],
    workers: int = 1,
    timeout: float = 10.0,
    memory: int = 2 << 30,
    per_child: int = 1,
    progress: Callable[[Result], None] | None = None,
) -> list[Result]:
    """Run ``cases`` in forked children (at most ``workers`` at a time), one :class:`Result`
    per case, in order. ``per_child=1`` forks a child per case; more runs that many cases in
    turn in one child (a child that dies or hangs is blamed on the case it was running, and
    the rest of its batch goes to a new child): much faster where forking is slow, and a
    caller can confirm each failure alone. Call it from a process with one torch thread."""
    import select

    source = enumerate(cases)  # consumed as children need cases (a generator stays lazy)
    requeued: list[tuple[int, Case]] = []  # cases of a batch whose child died first (a stack)
    exhausted = False
    children: dict[int, _Child] = {}
    results: dict[int, Result] = {}
    tmp = tempfile.mkdtemp(prefix="lic-fuzz-")
    memory_mb = memory / 2**20

    def take(n: int) -> list[tuple[int, Case]]:
        nonlocal exhausted
        batch = [requeued.pop() for _ in range(min(n, len(requeued)))]
        while len(batch) < n and not exhausted:
            item = next(source, None)
            if item is None:
                exhausted = True
            else:
                batch.append(item)
        return batch

    def record(i: int, case: Case, outcome: str, seconds: float, extra: float, message: str) -> None:
        if outcome not in FAILURES:  # only a failure's input is kept (to run it again alone)
            case = replace(case, data=b"")
        results[i] = Result(case, outcome, seconds, extra, " ".join(message.split())[:300])
        if progress is not None:
            progress(results[i])

    def handle(child: _Child, line: bytes) -> None:
        msg = json.loads(line)
        if "start" in msg:
            child.current, child.t0 = msg["start"], time.monotonic()
            return
        i = msg["done"]
        case = dict(child.batch)[i]
        outcome, message = _classify(case, msg, memory_mb)
        record(i, case, outcome, msg["seconds"], msg["extra_mb"], message)
        child.finished.add(i)
        child.current = None

    def drain(child: _Child) -> None:
        while True:
            chunk = os.read(child.fd, 1 << 16)
            if not chunk:
                return
            child.buf += chunk
            *lines, child.buf = child.buf.split(b"\n")
            for line in lines:
                handle(child, line)

    try:
        while True:
            while len(children) < workers:
                batch = take(per_child)
                if not batch:
                    break
                err_path = os.path.join(tmp, f"{batch[0][0]}.err")
                r, w = os.pipe()
                pid = os.fork()
                if pid == 0:  # the child never returns into the caller's code
                    code = 0
                    try:
                        os.close(r)
                        fd = os.open(err_path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
                        os.dup2(fd, 1)
                        os.dup2(fd, 2)
                        sys.stdout = sys.stderr = open(2, "w", buffering=1, errors="replace", closefd=False)
                        _worker(run, batch, memory, w)
                    except BaseException:  # noqa: BLE001
                        code = 70
                    finally:
                        os._exit(code)
                os.close(w)
                children[pid] = _Child(batch, r, err_path)
            if not children:
                break
            ready, _, _ = select.select([c.fd for c in children.values()], [], [], 0.05)
            for pid, child in list(children.items()):
                if child.fd in ready:
                    chunk = os.read(child.fd, 1 << 16)
                    child.buf += chunk
                    *lines, child.buf = child.buf.split(b"\n")
                    for line in lines:
                        handle(child, line)
                    if chunk:
                        continue
                killed = child.current is not None and time.monotonic() - child.t0 > timeout
                if killed:
                    os.kill(pid, signal.SIGKILL)
                done, status, _ = os.wait4(pid, 0 if killed or (child.fd in ready) else os.WNOHANG)
                if done == 0:
                    continue
                drain(child)
                os.close(child.fd)
                if child.current is None and not child.finished:  # died before its first case: blame it
                    child.current, child.t0 = child.batch[0][0], time.monotonic()
                if child.current is not None:  # it died or hung in the middle of this case
                    i = child.current
                    case = dict(child.batch)[i]
                    if killed:
                        outcome, message = "timeout", f"killed after {timeout:g} s"
                    elif os.WIFSIGNALED(status):
                        outcome, message = "signal", signal.Signals(os.WTERMSIG(status)).name
                    else:
                        outcome, message = "internal", f"the process exited with status {os.WEXITSTATUS(status)}"
                    record(i, case, outcome, time.monotonic() - child.t0, 0.0, message)
                    child.finished.add(i)
                requeued.extend(reversed([item for item in child.batch if item[0] not in child.finished]))
                os.unlink(child.err_path)
                del children[pid]
    finally:
        for pid, child in children.items():
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(child.fd)
        for name in os.listdir(tmp):
            os.unlink(os.path.join(tmp, name))
        os.rmdir(tmp)
    return [results[i] for i in sorted(results)]


def summarize(results: Sequence[Result]) -> dict[str, Any]:
    """Counts per outcome (all kinds and per kind), the slowest case and the largest growth."""
    out: dict[str, Any] = {"cases": len(results), "outcomes": {o: 0 for o in OUTCOMES}, "by_kind": {}}
    for r in results:
        out["outcomes"][r.outcome] += 1
        kind = out["by_kind"].setdefault(r.case.kind, {o: 0 for o in OUTCOMES})
        kind[r.outcome] += 1
    out["over_10s"] = sum(r.seconds > 10 for r in results)
    out["max_seconds"] = round(max((r.seconds for r in results), default=0.0), 3)
    out["max_extra_mb"] = round(max((r.extra_mb for r in results), default=0.0), 1)
    out["over_2gb"] = sum(r.extra_mb > 2048 or r.outcome == "memory" for r in results)
    return out


# -- .lic streams -------------------------------------------------------------------------
FIELDS = ("version", "flags", "height", "width", "channels", "bit_depth", "pad_b", "pad_r", "ndim", "dims",
          "recipe_digest", "weights_digest", "latent_check", "model_id")  # fmt: skip
HOSTILE = (0, 1, 2, 3, 7, 8, 15, 16, 17, 63, 64, 65, 127, 128, 255, 256, 1000, 1024, 4096, 8192, 65535,
           65536, 2**20, 2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**40, 2**63, 2**64 - 1, 2**69)  # fmt: skip


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _tree(node: Any) -> bytes:
    """Stream-tree bytes of any nesting (deeper than the reader allows too)."""
    if isinstance(node, (bytes, bytearray)):
        return _varint(2 * len(node))
    return _varint(2 * len(node) + 1) + b"".join(_tree(item) for item in node)


def _leaves(node: Any) -> list[bytes]:
    if isinstance(node, (bytes, bytearray)):
        return [bytes(node)]
    return [leaf for item in node for leaf in _leaves(item)]


@dataclass
class StreamFields:
    """A ``.lic`` stream taken apart, to be rebuilt with any value (checksums recomputed)."""

    version: int
    flags: int
    recipe_digest: bytes
    weights_digest: bytes
    latent_check: int
    image: list[int]  # height, width, channels, bit depth, pad bottom, pad right
    dims: list[int]
    strings: Any
    model_id: bytes
    ndim: int | None = None  # None: len(dims)
    header_crc: int | None = None  # None: computed
    payload_crc: int | None = None
    extra_varint_bytes: dict[int, int] = field(default_factory=dict)

    @classmethod
    def parse(cls, data: bytes) -> "StreamFields":
        from lic_core import bitstream

        header, strings = bitstream.unpack(data)
        return cls(header.version, 1 if header.model_id else 0, header.recipe_digest, header.weights_digest,
                   header.latent_check, [header.height, header.width, header.channels, header.bit_depth, *header.pad],
                   list(header.shape), strings, (header.model_id or "").encode())  # fmt: skip

    def build(self) -> bytes:
        out = bytearray(b"LIC") + bytes((self.version & 0xFF, self.flags & 0xFF))
        out += self.recipe_digest + self.weights_digest + struct.pack("<I", self.latent_check & 0xFFFFFFFF)
        for n in (*self.image, len(self.dims) if self.ndim is None else self.ndim, *self.dims):
            out += _varint(n)
        out += _tree(self.strings)
        if self.flags & 1:
            out += _varint(len(self.model_id)) + self.model_id
        out += struct.pack("<I", zlib.crc32(out) if self.header_crc is None else self.header_crc)
        payload = b"".join(_leaves(self.strings))
        return bytes(out) + payload + struct.pack("<I", zlib.crc32(payload) if self.payload_crc is None else self.payload_crc)


class StreamMutator:
    """Mutations of one valid stream, random and structure-aware, reproducible from ``seed``."""

    def __init__(self, data: bytes, seed: int = 0) -> None:
        self.data = data
        self.rng = random.Random(seed)
        self.fields = StreamFields.parse(data)

    def _copy(self) -> StreamFields:
        f = self.fields
        return StreamFields(f.version, f.flags, f.recipe_digest, f.weights_digest, f.latent_check, list(f.image),
                            list(f.dims), _copy_tree(f.strings), f.model_id)  # fmt: skip

    # random ------------------------------------------------------------------------------
    def bitflip(self) -> tuple[str, bytes]:
        b = bytearray(self.data)
        n = self.rng.choice((1, 1, 2, 3, 8))
        for _ in range(n):
            b[self.rng.randrange(len(b))] ^= 1 << self.rng.randrange(8)
        return f"bitflip x{n}", bytes(b)

    def rewrite(self) -> tuple[str, bytes]:
        b = bytearray(self.data)
        n = self.rng.choice((1, 2, 4))
        for _ in range(n):
            b[self.rng.randrange(len(b))] = self.rng.choice((0, 0xFF, 0x7F, 0x80, self.rng.randrange(256)))
        return f"byte rewrite x{n}", bytes(b)

    def truncate(self) -> tuple[str, bytes]:
        k = self.rng.randrange(len(self.data))
        return f"truncate to {k}", self.data[:k]

    def insert(self) -> tuple[str, bytes]:
        k = self.rng.randrange(len(self.data) + 1)
        junk = bytes(self.rng.randrange(256) for _ in range(self.rng.choice((1, 4, 16, 300))))
        return f"insert {len(junk)} at {k}", self.data[:k] + junk + self.data[k:]

    def delete(self) -> tuple[str, bytes]:
        k = self.rng.randrange(len(self.data))
        n = self.rng.choice((1, 4, 16))
        return f"delete {n} at {k}", self.data[:k] + self.data[k + n :]

    # structure-aware ---------------------------------------------------------------------
    def field(self) -> tuple[str, bytes]:
        f, rng = self._copy(), self.rng
        name = rng.choice(FIELDS)
        value = rng.choice(HOSTILE)
        image_index = {"height": 0, "width": 1, "channels": 2, "bit_depth": 3, "pad_b": 4, "pad_r": 5}
        if name in image_index:
            i = image_index[name]
            value = rng.choice((value, f.image[i] + 1, max(f.image[i] - 1, 0), f.image[i] * 2, f.image[i] * 16,
                                rng.choice(f.image + f.dims)))  # fmt: skip
            f.image[i] = value
        elif name == "version":
            f.version = value = rng.choice((0, 1, 2, 3, 255))
        elif name == "flags":
            f.flags = value = rng.choice((0, 1, 2, 3, 0x80, 0xFF))
        elif name == "ndim":
            f.ndim = value = rng.choice((0, 1, 3, 8, 9, 255, 2**31))
        elif name == "dims":
            value = rng.choice(((256, 256), (128, 128), (200, 200), (1024, 1024), (64, 64), (0, 0), (1, 1),
                                (f.dims[0] + 1, f.dims[1]), (f.dims[0], f.dims[1] * 2), (2**31, 2**31),
                                (2**40, 1), (f.dims[1], f.dims[0]), (*f.dims, 1), (f.dims[0],)))  # fmt: skip
            f.dims = list(value)
        elif name in ("recipe_digest", "weights_digest"):
            value = bytes(rng.randrange(256) for _ in range(4))
            setattr(f, name, value)
            value = value.hex()
        elif name == "latent_check":
            f.latent_check = value = rng.choice((0, f.latent_check ^ 1, rng.getrandbits(32)))
        else:  # model id
            f.flags |= 1
            f.model_id = value = rng.choice((b"", b"core.lite-q1", b"core.lite-q4", b"x" * 255, b"\xff\xfe",
                                             b"../../etc/passwd", b"core.default-q3\x00", b"nope"))  # fmt: skip
        return f"field {name}={value!r}"[:120], f.build()

    def renest(self) -> tuple[str, bytes]:
        f, rng = self._copy(), self.rng
        leaves = _leaves(f.strings)
        how = rng.choice(("flatten", "deeper", "wrap", "swap", "split", "merge", "empty-list", "empty-string",
                          "drop", "duplicate", "too-deep", "string-for-list"))  # fmt: skip
        s = f.strings
        if how == "flatten":
            s = leaves
        elif how == "deeper":
            s = [[item] for item in s]
        elif how == "wrap":
            s = [s]
        elif how == "swap" and len(s) > 1:
            i, j = rng.sample(range(len(s)), 2)
            s[i], s[j] = s[j], s[i]
        elif how == "split":  # one string cut in two, in the same place of the tree
            path = rng.choice(list(_leaf_paths(s)))
            leaf = _get(s, path)
            cut = rng.randrange(len(leaf) + 1)
            _set(s, path, [leaf[:cut], leaf[cut:]])
        elif how == "merge" and len(s) > 1:  # the first two streams' strings joined into one
            s = [[b"".join(_leaves(s[0]) + _leaves(s[1]))], *s[2:]]
        elif how == "empty-list":
            s.insert(rng.randrange(len(s) + 1), [])
        elif how == "empty-string":
            s.insert(rng.randrange(len(s) + 1), [b""])
        elif how == "drop" and len(s) > 1:
            s.pop(rng.randrange(len(s)))
        elif how == "duplicate":
            s.append(_copy_tree(s[rng.randrange(len(s))]))
        elif how == "too-deep":
            for _ in range(rng.choice((8, 9, 20))):
                s = [s]
        elif how == "string-for-list":
            s[rng.randrange(len(s))] = leaves[0]
        f.strings = s
        return f"renest {how}", f.build()

    def payload(self) -> tuple[str, bytes]:
        """The payload changed, the payload CRC recomputed (header CRC too where lengths change)."""
        f, rng = self._copy(), self.rng
        how = rng.choice(("bitflip", "bytes", "ones", "zeros", "random", "swap", "shorten", "lengthen", "odd-length"))
        paths = list(_leaf_paths(f.strings))
        path = rng.choice(paths)
        leaf = _get(f.strings, path)
        if how == "bitflip" and leaf:
            b = bytearray(leaf)
            for _ in range(rng.choice((1, 2, 8))):
                b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
            leaf = bytes(b)
        elif how == "bytes" and leaf:
            b = bytearray(leaf)
            b[rng.randrange(len(b))] = rng.randrange(256)
            leaf = bytes(b)
        elif how == "ones":
            leaf = b"\xff" * len(leaf)
        elif how == "zeros":
            leaf = bytes(len(leaf))
        elif how == "random":
            leaf = bytes(rng.randrange(256) for _ in range(len(leaf)))
        elif how == "swap" and len(paths) > 1:
            other = rng.choice([p for p in paths if p != path])
            leaf, moved = _get(f.strings, other), leaf
            _set(f.strings, other, moved)
        elif how == "shorten":
            leaf = leaf[: rng.randrange(len(leaf) + 1)]
        elif how == "lengthen":
            leaf = leaf + bytes(rng.randrange(256) for _ in range(rng.choice((4, 8, 64, 4096))))
        elif how == "odd-length":
            leaf = leaf + b"\x01"
        _set(f.strings, path, leaf)
        return f"payload {how}", f.build()

    def cases(self, n: int, expected: str | None = None) -> list[Case]:
        """``n`` cases mixing every mutation (about half random, half structure-aware)."""
        kinds = (self.bitflip, self.rewrite, self.truncate, self.insert, self.delete,
                 self.field, self.field, self.field, self.renest, self.payload, self.payload)  # fmt: skip
        out = []
        while len(out) < n:
            mutation, data = self.rng.choice(kinds)()
            if data != self.data:  # a field rewritten to its own value is no case
                out.append(Case("stream", mutation, data, expected=expected, silent_if_changed=True))
        return out


def _copy_tree(node: Any) -> Any:
    return node if isinstance(node, (bytes, bytearray)) else [_copy_tree(x) for x in node]


def _leaf_paths(node: Any, prefix: tuple[int, ...] = ()) -> Iterator[tuple[int, ...]]:
    if isinstance(node, (bytes, bytearray)):
        yield prefix
    else:
        for i, item in enumerate(node):
            yield from _leaf_paths(item, (*prefix, i))


def _get(node: Any, path: tuple[int, ...]) -> Any:
    for i in path:
        node = node[i]
    return node


def _set(node: Any, path: tuple[int, ...], value: Any) -> None:
    for i in path[:-1]:
        node = node[i]
    node[path[-1]] = value


def with_version(data: bytes, version: int, symbols_crc: int) -> bytes:
    """``data`` rewritten as format ``version`` (1 or 2) with its latent check for
    ``symbols_crc`` (CRC32 of the encoder's rounded latents); checksums recomputed."""
    from lic_core.bitstream import unpack

    header, _ = unpack(data)
    f = StreamFields.parse(data)
    f.version = version
    f.latent_check = symbols_crc if version == 1 else zlib.crc32(header.image_fields(), symbols_crc)
    return f.build()


# -- checkpoints --------------------------------------------------------------------------
def _safetensors_split(data: bytes) -> tuple[dict[str, Any], bytes]:
    n = struct.unpack("<Q", data[:8])[0]
    return json.loads(data[8 : 8 + n]), data[8 + n :]


def _safetensors_join(header: dict[str, Any], body: bytes) -> bytes:
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw + body


_RECIPE_VALUES = (0, -1, 1.5, None, "abc", 10**5, 10**6, 10**7, 4096, 2**31, True, [], {}, float("nan"))


def checkpoint_cases(data: bytes, n: int, seed: int = 0, expected: str | None = None) -> Iterator[Case]:
    """``n`` mutations of a safetensors coding checkpoint: random bytes anywhere; its JSON
    header (dtypes, shapes, offsets, names); the recipe and other metadata; tensor values
    (NaN, infinities, huge, zeroed CDF tables, offsets and lengths out of range). A generator:
    each case is a whole checkpoint, made when it is needed."""
    rng = random.Random(seed)
    header, body = _safetensors_split(data)
    names = sorted(k for k in header if k != "__metadata__")
    tables = [k for k in names if k.rsplit(".", 1)[-1] in ("_quantized_cdf", "_offset", "_cdf_length")]
    for _ in range(n):
        how = rng.choice(("bitflip", "bitflip", "truncate", "dtype", "shape", "offsets", "drop", "recipe",
                          "recipe", "metadata", "value", "value", "table", "table", "header-bytes"))  # fmt: skip
        h = json.loads(json.dumps(header))
        b = bytearray(body)
        name = rng.choice(names)
        if how == "bitflip":
            blob = bytearray(data)
            for _ in range(rng.choice((1, 2, 8))):
                blob[rng.randrange(len(blob))] ^= 1 << rng.randrange(8)
            yield Case("checkpoint", "bitflip", bytes(blob), expected)
            continue
        if how == "truncate":
            yield Case("checkpoint", "truncate", data[: rng.randrange(len(data))], expected)
            continue
        if how == "header-bytes":
            blob = bytearray(data)
            blob[rng.randrange(8)] = rng.randrange(256)
            yield Case("checkpoint", "header length", bytes(blob), expected)
            continue
        if how in ("value", "table") and h[name]["data_offsets"][1] <= h[name]["data_offsets"][0]:
            how = "dtype"  # an empty tensor has no value to change
        if how == "dtype":
            h[name]["dtype"] = rng.choice(("I32", "I64", "F16", "BF16", "F64", "U8", "BOOL", "F8_E4M3", "X"))
        elif how == "shape":
            h[name]["shape"] = rng.choice(([], [0], [2**31], [-1], [1, 2, 3], "x", [10**12, 10**12]))
        elif how == "offsets":
            a, e = h[name]["data_offsets"]
            h[name]["data_offsets"] = rng.choice(([e, a], [a, e + 4], [a, 2**62], [-4, e], [a, a]))
        elif how == "drop":
            del h[name]
        elif how == "recipe":
            meta = h["__metadata__"]
            recipe = json.loads(meta["lic.recipe"])
            path = rng.choice(list(_recipe_paths(recipe)))
            value = rng.choice(_RECIPE_VALUES) if rng.random() < 0.9 else _DEEP
            _set_path(recipe, path, value)
            meta["lic.recipe"] = json.dumps(recipe).replace(json.dumps(_DEEP), _deep(rng.choice((50, 5000))))
            name = "/".join(map(str, path)) + f"={str(value)[:20]}"
        elif how == "metadata":
            meta = h["__metadata__"]
            key = rng.choice(sorted(meta))
            meta[key] = rng.choice(("", "{", "null", "[]", "x" * 10000, _deep(5000)))
            name = key
        else:
            a, e = h[name]["data_offsets"]
            dtype = h[name]["dtype"]
            if how == "table" and tables:
                name = rng.choice(tables)
                a, e = h[name]["data_offsets"]
                dtype = h[name]["dtype"]
            width = {"F32": 4, "I32": 4, "F16": 2, "BF16": 2, "F64": 8, "I64": 8}.get(dtype, 1)
            k = a + width * rng.randrange((e - a) // width)
            if how == "table" and rng.random() < 0.4:
                b[a:e] = bytes(e - a)  # a zeroed table
                name += " zeroed"
            else:
                value = rng.choice(_values(dtype))
                b[k : k + width] = value[:width].ljust(width, b"\0")
                name += f" element={value.hex()}"
        yield Case("checkpoint", f"{how} {name}"[:120], _safetensors_join(h, bytes(b)), expected)


def _values(dtype: str) -> list[bytes]:
    if dtype in ("F32",):
        return [struct.pack("<f", v) for v in (float("nan"), float("inf"), -float("inf"), 1e38, -1e38, 0.0, 1e-45)]
    if dtype == "F16":
        return [b"\x00\x7e", b"\x00\x7c", b"\x00\xfc", b"\xff\x7b", b"\x00\x00"]
    if dtype in ("I32",):
        return [struct.pack("<i", v) for v in (0, -1, 2**30, 2**31 - 1, -(2**31), 65536, 65537)]
    if dtype in ("I64",):
        return [struct.pack("<q", v) for v in (0, -1, 2**30, 2**62, -(2**62))]
    return [bytes([v]) * 8 for v in (0, 0xFF, 0x7F)]


def _recipe_paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield (*prefix, k)
            yield from _recipe_paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield (*prefix, i)
            yield from _recipe_paths(v, (*prefix, i))


def _set_path(node: Any, path: tuple[Any, ...], value: Any) -> None:
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


_DEEP = "<deeply nested>"


def _deep(depth: int) -> str:
    """JSON text of ``depth`` nested lists (too deep for recursive parsers)."""
    return "[" * depth + "1" + "]" * depth


# -- images -------------------------------------------------------------------------------
def image_seeds(size: int = 16, seed: int = 0) -> dict[str, bytes]:
    """Small valid image files of the formats and modes the reader handles."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    rgb = Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8), "RGB")
    files: dict[str, bytes] = {}

    def save(name: str, image: Any, fmt: str, **kw: Any) -> None:
        buf = io.BytesIO()
        image.save(buf, fmt, **kw)
        files[name] = buf.getvalue()

    save("rgb.png", rgb, "PNG")
    save("gray16.png", Image.fromarray(rng.integers(0, 65536, (size, size), dtype=np.uint16)), "PNG")
    save("rgba.png", rgb.convert("RGBA"), "PNG")
    save("palette.gif", rgb.convert("P"), "GIF")
    save("anim.gif", rgb.convert("P"), "GIF", save_all=True, append_images=[rgb.rotate(90).convert("P")])
    save("rgb.tif", rgb, "TIFF")
    save("float.tif", Image.fromarray(rng.random((size, size), dtype=np.float32), "F"), "TIFF")
    save("int32.tif", Image.fromarray(rng.integers(0, 2**20, (size, size), dtype=np.int32), "I"), "TIFF")
    exif = Image.Exif()
    exif[0x0112] = 6
    save("exif.jpg", rgb, "JPEG", exif=exif)
    return files


def image_cases(n: int, seed: int = 0) -> list[Case]:
    """``n`` mutations of :func:`image_seeds` (bit flips, byte rewrites, truncations, size
    fields set to huge values, chunks duplicated); ``data`` is ``name\\0bytes``."""
    rng = random.Random(seed)
    seeds = image_seeds(seed=seed)
    out: list[Case] = []
    for _ in range(n):
        name = rng.choice(sorted(seeds))
        blob = bytearray(seeds[name])
        how = rng.choice(("bitflip", "rewrite", "truncate", "size", "repeat"))
        if how == "bitflip":
            for _ in range(rng.choice((1, 2, 8))):
                blob[rng.randrange(len(blob))] ^= 1 << rng.randrange(8)
        elif how == "rewrite":
            for _ in range(rng.choice((1, 4))):
                blob[rng.randrange(len(blob))] = rng.choice((0, 0xFF, rng.randrange(256)))
        elif how == "truncate":
            del blob[rng.randrange(len(blob)) :]
        elif how == "size":  # a 16 or 32-bit size field near the start set to a huge value
            k = rng.randrange(min(len(blob) - 4, 64))
            blob[k : k + 4] = rng.choice((b"\xff\xff\xff\x7f", b"\x00\x01\x00\x00", b"\x7f\xff", b"\xff\xff"))[:4].ljust(4, b"\xff")
        else:
            k = rng.randrange(len(blob))
            blob[k:k] = blob[k : k + rng.choice((8, 64, 512))] * rng.choice((2, 50))
        out.append(Case("image", f"{name} {how}", name.encode() + b"\0" + bytes(blob)))
    return out


def read_image_case(case: Case) -> str:
    """The child's work for an image case: write the file, read it as ``lic compress`` does."""
    from lic_core.imageio import read_image

    name, _, blob = case.data.partition(b"\0")
    with tempfile.TemporaryDirectory(prefix="lic-fuzz-") as directory:
        path = os.path.join(directory, name.decode())
        with open(path, "wb") as f:
            f.write(blob)
        x, info = read_image(path)
    return digest(x, info.height, info.width, info.channels, info.bit_depth)


def stream_runner(codecs: dict[str, Any]) -> Callable[[Case], str]:
    """The child's work for a stream case: decode it with ``codecs[case.target]`` (the
    default under ``""``) as ``lic decompress`` does; the digest covers what it would write."""
    from lic_core.imagecodec import decode

    def run(case: Case) -> str:
        x_hat, header = decode(case.data, codecs[case.target])
        return digest(x_hat, header.channels, header.bit_depth)

    return run


def checkpoint_runner(image: Any, beside: Mapping[str, bytes] | None = None) -> Callable[[Case], str]:
    """The child's work for a checkpoint case: load it as ``lic compress --model`` does, code
    ``image`` (a small tensor) and decode the stream; the digest covers both. ``beside``:
    files (name to bytes) written next to the checkpoint, such as the shared coder tables a
    shipped model names."""
    import lic_core
    from lic_core.imagecodec import compress_image, decompress_image

    def run(case: Case) -> str:
        with tempfile.TemporaryDirectory(prefix="lic-fuzz-") as directory:
            for name, data in (beside or {}).items():
                with open(os.path.join(directory, name), "wb") as f:
                    f.write(data)
            path = os.path.join(directory, "model.safetensors")
            with open(path, "wb") as f:
                f.write(case.data)
            codec = lic_core.load(path)
        data = compress_image(codec, image)
        return digest(data, decompress_image(data, codec))

    return run
