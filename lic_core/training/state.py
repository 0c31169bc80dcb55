"""Resumable training state in one safetensors file, written atomically; no pickle.

Tensors (model, every optimizer's per-parameter state, RNG states as uint8/int64 tensors)
go in the safetensors payload; scalars (step, optimizer hyper-parameters, configuration) go
as JSON in its metadata under ``lic_train_state``, with a SHA-256 ``digest`` over every
tensor (name, dtype, shape, bytes) and the rest of that JSON: a flipped byte anywhere is
refused on resume instead of training on silently. States written before the digest existed
resume with a warning (they cannot be verified). Every malformed state is one
:class:`CheckpointError` line.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import warnings
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save as save_bytes
from torch import Tensor

from lic_core.atomic import atomic_write_bytes
from lic_core.checkpoint import check_dtypes, check_finite, check_state
from lic_core.coding.tables import check_table_shapes
from lic_core.errors import CheckpointError

META_KEY = "lic_train_state"
FORMAT = 1


def _tensor(t: Tensor) -> Tensor:
    return t.detach().to("cpu").contiguous().clone()


def rng_state() -> tuple[dict[str, Tensor], dict[str, Any]]:
    """Python, NumPy, torch (CPU and every CUDA device) generator states."""
    tensors: dict[str, Tensor] = {"rng.torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{i}"] = s
    version, internal, gauss = random.getstate()
    tensors["rng.python"] = torch.tensor(internal, dtype=torch.int64)
    name, keys, pos, has_gauss, cached = np.random.get_state()
    tensors["rng.numpy"] = torch.from_numpy(np.asarray(keys, dtype=np.int64))
    meta = {"python": [version, gauss], "numpy": [name, int(pos), int(has_gauss), float(cached)]}
    return tensors, meta


def _rng_tensor(tensors: Mapping[str, Tensor], key: str, dtype: torch.dtype, numel: int) -> Tensor:
    t = tensors.get(key)
    if t is None or t.dtype != dtype or t.dim() != 1 or t.numel() != numel:
        got = "missing" if t is None else f"{str(t.dtype).replace('torch.', '')} {tuple(t.shape)}"
        raise CheckpointError(f"RNG state {key} is {got}, not {str(dtype).replace('torch.', '')} ({numel},)")
    return t


def torch_rng_tensor(tensors: Mapping[str, Tensor], key: str) -> Tensor:
    """``tensors[key]`` checked to be a torch CPU generator state (for ``torch.set_rng_state``)."""
    return _rng_tensor(tensors, key, torch.uint8, torch.get_rng_state().numel())


def check_rng_state(tensors: Mapping[str, Tensor], meta: Any) -> None:
    """Refuse RNG states that :func:`set_rng_state` could not restore."""
    torch_rng_tensor(tensors, "rng.torch")
    _rng_tensor(tensors, "rng.python", torch.int64, len(random.getstate()[1]))
    _rng_tensor(tensors, "rng.numpy", torch.int64, len(np.random.get_state()[1]))
    ok = isinstance(meta, dict) and _is_list(meta.get("python"), 2) and _is_list(meta.get("numpy"), 4)
    if ok:
        (version, gauss), (name, pos, has_gauss, cached) = meta["python"], meta["numpy"]
        ok = (_is_int(version) and (gauss is None or _is_num(gauss)) and isinstance(name, str)
              and _is_int(pos) and _is_int(has_gauss) and _is_num(cached))  # fmt: skip
    if not ok:
        raise CheckpointError("RNG metadata is malformed")


def _is_list(v: Any, n: int) -> bool:
    return isinstance(v, list) and len(v) == n


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def set_rng_state(tensors: Mapping[str, Tensor], meta: Mapping[str, Any]) -> None:
    torch.set_rng_state(tensors["rng.torch"])
    cuda = [tensors[k] for k in sorted((k for k in tensors if k.startswith("rng.cuda.")), key=lambda k: int(k.rsplit(".", 1)[1]))]
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda[: torch.cuda.device_count()])
    version, gauss = meta["python"]
    random.setstate((version, tuple(int(v) for v in tensors["rng.python"].tolist()), gauss))
    name, pos, has_gauss, cached = meta["numpy"]
    np.random.set_state((name, tensors["rng.numpy"].numpy().astype(np.uint32), pos, has_gauss, cached))


def optimizer_state(name: str, opt: torch.optim.Optimizer) -> tuple[dict[str, Tensor], dict[str, Any]]:
    sd = opt.state_dict()
    tensors: dict[str, Tensor] = {}
    scalars: dict[str, Any] = {}
    for pid, st in sd["state"].items():
        for key, value in st.items():
            if isinstance(value, Tensor):
                tensors[f"opt.{name}.{pid}.{key}"] = _tensor(value)
            else:
                scalars[f"{pid}.{key}"] = value
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def load_optimizer_state(name: str, opt: torch.optim.Optimizer, tensors: Mapping[str, Tensor], meta: Mapping[str, Any]) -> None:
    """Restore ``opt`` after checking its groups, parameter indexes and state shapes."""
    if not isinstance(meta, dict) or not isinstance(meta.get("param_groups"), list) or not isinstance(meta.get("scalars"), dict):
        raise CheckpointError(f"optimizer {name!r}: its metadata is malformed")
    groups = meta["param_groups"]
    own = opt.param_groups
    if len(groups) != len(own) or any(
        not isinstance(g, dict) or not isinstance(g.get("params"), list) or len(g["params"]) != len(o["params"])
        for g, o in zip(groups, own)
    ):
        raise CheckpointError(f"optimizer {name!r}: its parameter groups do not match this run's")
    params = {pid: p for g, o in zip(groups, own) for pid, p in zip(g["params"], o["params"])}
    state: dict[int, dict[str, Any]] = {}
    prefix = f"opt.{name}."
    entries = [(k[len(prefix) :], v) for k, v in tensors.items() if k.startswith(prefix)] + list(meta["scalars"].items())
    for key, value in entries:
        pid, _, field = key.partition(".")
        if not pid.isdigit() or int(pid) not in params or not field:
            raise CheckpointError(f"optimizer {name!r}: state entry {key!r} names no parameter of this run")
        param = params[int(pid)]
        if isinstance(value, Tensor) and value.numel() > 1 and value.shape != param.shape:
            raise CheckpointError(f"optimizer {name!r}: {field} of parameter {pid} is {tuple(value.shape)}, not {tuple(param.shape)}")
        state.setdefault(int(pid), {})[field] = value
    try:
        opt.load_state_dict({"state": state, "param_groups": groups})
    except (ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise CheckpointError(f"optimizer {name!r}: {' '.join(str(exc).split())[:200]}") from None


def digest(tensors: Mapping[str, Tensor], meta: Mapping[str, Any]) -> str:
    """SHA-256 (hex) over every tensor (sorted names; name, dtype, shape, bytes) and the
    canonical JSON of ``meta`` without its ``digest``."""
    h = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].detach().to("cpu").contiguous()
        h.update(f"{name}|{str(t.dtype)}|{tuple(t.shape)}|".encode())
        if t.numel():
            h.update(t.reshape(-1).view(torch.uint8).numpy().data)
    rest = {k: v for k, v in meta.items() if k != "digest"}
    h.update(json.dumps(rest, sort_keys=True, separators=(",", ":")).encode())
    return h.hexdigest()


def save_state(
    path: str | os.PathLike,
    model: torch.nn.Module,
    optimizers: Mapping[str, torch.optim.Optimizer],
    step: int,
    extra: Mapping[str, Any] | None = None,
    extra_tensors: Mapping[str, Tensor] | None = None,
) -> Path:
    """Write the training state to ``path`` atomically (a temporary file, then a rename)."""
    path = Path(path)
    tensors = {f"model.{k}": _tensor(v) for k, v in model.state_dict().items()}
    meta: dict[str, Any] = {"format": FORMAT, "step": int(step), "extra": dict(extra or {}), "optimizers": {}}
    for name, opt in optimizers.items():
        t, m = optimizer_state(name, opt)
        tensors.update(t)
        meta["optimizers"][name] = m
    rng_t, rng_m = rng_state()
    tensors.update(rng_t)
    meta["rng"] = rng_m
    tensors.update({f"extra.{k}": _tensor(v) for k, v in (extra_tensors or {}).items()})
    meta = json.loads(json.dumps(meta))  # the digest covers the JSON as it will be read back
    meta["digest"] = digest(tensors, meta)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, save_bytes(tensors, metadata={META_KEY: json.dumps(meta)}))
    return path


def read_state(path: str | os.PathLike) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """The tensors and JSON metadata of a training-state file, its digest checked."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"training state not found: {path}")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta_text = (f.metadata() or {}).get(META_KEY)
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as exc:  # safetensors raises its own error types
        raise CheckpointError(f"{path}: not a safetensors training state ({' '.join(str(exc).split())[:200]})") from None
    if meta_text is None:
        raise CheckpointError(f"{path}: safetensors file without lic training-state metadata")
    try:
        meta = json.loads(meta_text)
    except (ValueError, RecursionError):
        raise CheckpointError(f"{path}: its training-state metadata is not valid JSON") from None
    if not isinstance(meta, dict):
        raise CheckpointError(f"{path}: its training-state metadata is a JSON {type(meta).__name__}, not an object")
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{path}: training-state format {meta.get('format')!r} is not {FORMAT}")
    if "digest" not in meta:
        warnings.warn(f"{path}: training state without a digest (written by an older lic); resuming unverified", stacklevel=2)
    elif meta["digest"] != digest(tensors, meta):
        raise CheckpointError(f"{path}: training state is corrupt (its digest does not match its tensors and metadata)")
    shape = {"step": int, "extra": dict, "optimizers": dict, "rng": dict}
    bad = [k for k, kind in shape.items() if not isinstance(meta.get(k), kind) or isinstance(meta.get(k), bool)]
    if bad or meta["step"] < 0:
        raise CheckpointError(f"{path}: training-state metadata has no valid {', '.join(bad) or 'step'}")
    return tensors, meta


def restore_state(
    path: str | os.PathLike, model: torch.nn.Module, optimizers: Mapping[str, torch.optim.Optimizer], restore_rng: bool = True
) -> dict[str, Any]:
    """Load model and optimizers (and RNG states) from ``path`` once every part checks out
    against them; returns the metadata."""
    tensors, meta = read_state(path)
    weights = {k[6:]: v for k, v in tensors.items() if k.startswith("model.")}
    own = model.state_dict()
    check_state(own, weights, f"{path} (training state)")
    check_table_shapes(model, {k: tuple(v.shape) for k, v in weights.items()}, f"{path} (training state)")
    check_dtypes(own, weights, f"{path} (training state)")
    check_finite({k: v for k, v in tensors.items() if not k.startswith("rng.")}, f"{path} (training state)")
    for name in optimizers:
        if name not in meta["optimizers"]:
            raise CheckpointError(f"{path}: no state for optimizer {name!r}")
    try:
        if restore_rng:
            check_rng_state(tensors, meta["rng"])
        model.load_state_dict(weights)
        for name, opt in optimizers.items():
            load_optimizer_state(name, opt, tensors, meta["optimizers"][name])
    except CheckpointError as exc:
        raise CheckpointError(f"{path}: {exc}") from None
    if restore_rng:
        set_rng_state(tensors, meta["rng"])
    meta["extra_tensors"] = {k[6:]: v for k, v in tensors.items() if k.startswith("extra.")}
    return meta
