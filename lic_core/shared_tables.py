"""Coder tables stored once for several checkpoints.

The rate points of a shipped ladder hold the same large table: a Gaussian conditional's CDF
table depends on its scale table alone (3.2 MB of int32 in each default-codec file). When a
checkpoint is saved with ``share_tables``, :func:`split` takes every coder table of at least
:data:`MIN_BYTES` out of it, :func:`write` stores them in a file named by its content
(``tables-<sha256 prefix>.safetensors``) beside the checkpoint, and the checkpoint records
that file's name and full SHA-256 in its ``lic.shared_tables`` metadata. Files with the same
tables share one such file. A loaded codec's state, hence its weights digest and the streams
it reads, is the same as from a self-contained file.

A checkpoint is untrusted input, so :func:`locate` accepts only a plain file name of that
pattern in the checkpoint's own folder, of at most :data:`MAX_BYTES`, whose SHA-256 matches;
the tensors it holds then pass the checks of the checkpoint's own (keys, shapes, dtypes,
tables).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Mapping

import torch

from lic_core.atomic import atomic_write_bytes
from lic_core.errors import CheckpointError

KEY = "lic.shared_tables"
FORMAT = "lic-shared-tables/1"
MIN_BYTES = 256 * 1024
MAX_BYTES = 256 * 1024 * 1024
NAME = re.compile(r"tables-[0-9a-f]{16}\.safetensors")
_CHUNK = 1 << 20


def split(tensors: Mapping[str, torch.Tensor], table_keys: set[str]) -> tuple[dict, dict]:
    """``(own, shared)``: the coder tables among ``table_keys`` of :data:`MIN_BYTES` or more go
    to ``shared``, everything else stays ``own``."""
    shared = {k: v for k, v in tensors.items() if k in table_keys and v.numel() * v.element_size() >= MIN_BYTES}
    return {k: v for k, v in tensors.items() if k not in shared}, shared


def write(folder: str | os.PathLike, shared: Mapping[str, torch.Tensor]) -> str:
    """Store ``shared`` in ``folder`` under its content's name (kept if already there) and
    return the ``lic.shared_tables`` metadata value naming it."""
    from safetensors.torch import save

    data = save(dict(shared), metadata={"lic.format": FORMAT})
    digest = hashlib.sha256(data).hexdigest()
    name = f"tables-{digest[:16]}.safetensors"
    path = Path(folder) / name
    if not (path.is_file() and _sha256(path) == digest):
        atomic_write_bytes(path, data)
    return json.dumps({"file": name, "sha256": digest}, sort_keys=True)


def reference(checkpoint: str | os.PathLike, value: str) -> tuple[str, str]:
    """``(file name, sha256)`` of a ``lic.shared_tables`` value, or a one-line :class:`CheckpointError`."""
    try:
        ref = json.loads(value)
    except (json.JSONDecodeError, RecursionError):
        raise CheckpointError(f"{checkpoint}: {KEY} is not valid JSON") from None
    if not isinstance(ref, dict) or set(ref) != {"file", "sha256"} or not all(isinstance(v, str) for v in ref.values()):
        raise CheckpointError(f'{checkpoint}: {KEY} must be {{"file": NAME, "sha256": HEX}}')
    if not NAME.fullmatch(ref["file"]) or not re.fullmatch(r"[0-9a-f]{64}", ref["sha256"]):
        raise CheckpointError(f"{checkpoint}: {KEY} names {ref['file'][:80]!r}, not a tables-<hex16>.safetensors file")
    if not ref["sha256"].startswith(ref["file"][len("tables-") : -len(".safetensors")]):
        raise CheckpointError(f"{checkpoint}: {KEY}: the file name and its SHA-256 disagree")
    return ref["file"], ref["sha256"]


def locate(checkpoint: str | os.PathLike, value: str) -> Path:
    """The shared-tables file a checkpoint's ``lic.shared_tables`` names, checked: in the
    checkpoint's folder, a regular file of at most :data:`MAX_BYTES`, with that SHA-256."""
    name, digest = reference(checkpoint, value)
    path = Path(checkpoint).parent / name
    try:
        size = path.stat().st_size if path.is_file() else None
    except OSError:
        size = None
    if size is None:
        raise CheckpointError(f"{checkpoint}: its coder tables are in {name}, which is not beside it")
    if size > MAX_BYTES:
        raise CheckpointError(f"{checkpoint}: {name} is {size} bytes, more than a tables file may be ({MAX_BYTES})")
    if _sha256(path) != digest:
        raise CheckpointError(f"{checkpoint}: {name} is not the tables file it names (SHA-256 differs)")
    return path


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()
