"""Resumable training state in one safetensors file, written atomically; no pickle.

Tensors (model, every optimizer's per-parameter state, RNG states as uint8/int64 tensors)
go in the safetensors payload; scalars (step, optimizer hyper-parameters, configuration) go
as JSON in its metadata under ``lic_train_state``.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save as save_bytes
from torch import Tensor

from lic_core.atomic import atomic_write_bytes
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
    state: dict[int, dict[str, Any]] = {}
    prefix = f"opt.{name}."
    for key, value in tensors.items():
        if key.startswith(prefix):
            pid, field = key[len(prefix) :].split(".", 1)
            state.setdefault(int(pid), {})[field] = value
    for key, value in meta["scalars"].items():
        pid, field = key.split(".", 1)
        state.setdefault(int(pid), {})[field] = value
    opt.load_state_dict({"state": state, "param_groups": meta["param_groups"]})


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
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, save_bytes(tensors, metadata={META_KEY: json.dumps(meta)}))
    return path


def read_state(path: str | os.PathLike) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """The tensors and JSON metadata of a training-state file."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"training state not found: {path}")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta_text = (f.metadata() or {}).get(META_KEY)
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as exc:  # safetensors raises its own error types
        raise CheckpointError(f"{path}: not a safetensors training state ({exc})") from None
    if meta_text is None:
        raise CheckpointError(f"{path}: safetensors file without lic training-state metadata")
    meta = json.loads(meta_text)
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{path}: training-state format {meta.get('format')} is not {FORMAT}")
    return tensors, meta


def restore_state(
    path: str | os.PathLike, model: torch.nn.Module, optimizers: Mapping[str, torch.optim.Optimizer], restore_rng: bool = True
) -> dict[str, Any]:
    """Load model and optimizers (and RNG states) from ``path``; returns the metadata."""
    tensors, meta = read_state(path)
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    for name, opt in optimizers.items():
        if name not in meta["optimizers"]:
            raise CheckpointError(f"{path}: no state for optimizer {name!r}")
        load_optimizer_state(name, opt, tensors, meta["optimizers"][name])
    if restore_rng:
        set_rng_state(tensors, meta["rng"])
    meta["extra_tensors"] = {k[6:]: v for k, v in tensors.items() if k.startswith("extra.")}
    return meta
