"""Helpers shared by the kind checks: building from ``example``, input sizes, gradients,
determinism and the safetensors round trip."""

from __future__ import annotations

import inspect
import math
import os
import tempfile
from typing import Any, Callable, Iterable, Mapping

import torch
from torch import Tensor, nn

from lic_core.specs import ComponentSpec
from lic_core.testing.result import CheckFailed

#: special ``example`` keys and their defaults, per kind (positional factory arguments)
DEFAULT_BLOCK_CHANNELS = 16
DEFAULT_M = 24
DEFAULT_PREPOST_IN = 3
DEFAULT_LAYOUT: Mapping[str, Any] = {"producer": "image"}
BATCH = 2
#: ``example`` keys that are the kind's positional arguments or kit settings, not factory params
SPECIAL_KEYS: dict[str, set[str]] = {
    "entropy_model": {"M"},
    "block": {"channels"},
    "prepost": {"in_channels", "layout"},
    "loss": {"recipe"},
}


def example(spec: ComponentSpec) -> dict[str, Any]:
    """A fresh copy of the spec's example parameters."""
    import copy

    return copy.deepcopy(dict(spec.example))


def factory_accepts(spec: ComponentSpec, name: str) -> bool:
    """Whether the factory takes a parameter ``name`` (explicitly, not through ``**kwargs``)."""
    try:
        params = inspect.signature(spec.load()).parameters
    except (TypeError, ValueError):
        return False
    return name in params and params[name].kind in (params[name].POSITIONAL_OR_KEYWORD, params[name].KEYWORD_ONLY)


def build(spec: ComponentSpec, *args: Any, seed: int = 0, **params: Any) -> nn.Module:
    """Build the component like ``compose`` does (nested ``{id: ...}`` refs resolved), with a seed."""
    from lic_core.composition import ComponentRef, _resolve_value

    resolved = {k: _resolve_value(v, f"{spec.id}.{k}") for k, v in params.items()}
    torch.manual_seed(seed)
    return ComponentRef(spec, resolved)(*args)


def build_example(spec: ComponentSpec, seed: int = 0, **overrides: Any) -> nn.Module:
    """Build a component from its ``example`` (merged with ``overrides``) with the kind's
    positional arguments: ``channels`` for a block, ``M`` for an entropy model,
    ``in_channels``/``layout`` for a prepost stage; a loss's ``recipe`` key is dropped."""
    params = {**example(spec), **overrides}
    args: tuple[Any, ...] = ()
    if spec.kind == "block":
        args = (int(params.pop("channels", DEFAULT_BLOCK_CHANNELS)),)
    elif spec.kind == "entropy_model":
        args = (int(params.pop("M", DEFAULT_M)),)
    elif spec.kind == "prepost":
        args = (int(params.pop("in_channels", DEFAULT_PREPOST_IN)), dict(params.pop("layout", DEFAULT_LAYOUT)))
    elif spec.kind == "loss":
        params.pop("recipe", None)
    return build(spec, *args, seed=seed, **params)


def multiple(stride: int, at_least: int, factor: int = 2) -> int:
    """The smallest multiple of ``stride`` that is at least ``max(factor * stride, at_least)``."""
    stride = max(1, int(stride))
    return stride * max(factor, math.ceil(at_least / stride))


def image_size(stride: int, at_least: int = 32, factor: int = 2) -> tuple[int, int]:
    """A small non-square (H, W) divisible by ``stride`` (W > H catches transposed axes)."""
    h = multiple(stride, at_least, factor)
    return h, multiple(stride, h + h // 2, factor)


def randn(*shape: int, seed: int = 1, scale: float = 1.0, requires_grad: bool = False) -> Tensor:
    g = torch.Generator().manual_seed(seed)
    t = torch.randn(*shape, generator=g) * scale
    return t.requires_grad_(requires_grad)


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def expect_shape(t: Any, shape: tuple[int, ...], what: str) -> None:
    expect(isinstance(t, Tensor), f"{what} is a {type(t).__name__}, expected a tensor")
    expect(tuple(t.shape) == tuple(shape), f"{what} has shape {tuple(t.shape)}, expected {tuple(shape)}")
    expect(bool(torch.isfinite(t).all()), f"{what} has non-finite values")


def tensors(obj: Any, prefix: str = "") -> dict[str, Tensor]:
    """Every tensor inside nested dicts/lists/tuples, by path."""
    out: dict[str, Tensor] = {}
    if isinstance(obj, Tensor):
        out[prefix or "output"] = obj
    elif isinstance(obj, Mapping):
        for k, v in obj.items():
            out.update(tensors(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            out.update(tensors(v, f"{prefix}[{i}]"))
    return out


def same_outputs(a: Any, b: Any, what: str) -> None:
    """Every tensor of ``a`` equals its counterpart in ``b`` exactly."""
    ta, tb = tensors(a), tensors(b)
    expect(ta.keys() == tb.keys(), f"{what}: outputs differ in structure ({sorted(ta)} vs {sorted(tb)})")
    for k in ta:
        x, y = ta[k], tb[k]
        expect(x.shape == y.shape, f"{what}: {k} has shape {tuple(x.shape)} then {tuple(y.shape)}")
        if not torch.equal(x, y):
            diff = (x.double() - y.double()).abs().max().item() if x.is_floating_point() else "n/a"
            raise CheckFailed(f"{what}: {k} differs (max abs diff {diff})")


def weighted_sum(outputs: Iterable[Tensor]) -> Tensor:
    """A loss that reaches every output element with a different weight (so no symmetric cancellation)."""
    total = torch.zeros(())
    for i, t in enumerate(outputs):
        if t.is_floating_point() and t.requires_grad:
            w = randn(*t.shape, seed=100 + i)
            total = total + (t * w).sum() + t.square().mean()
    return total


def aux_loss(module: nn.Module) -> Tensor:
    """CompressAI's auxiliary loss (the bottlenecks' quantile fit), summed over ``module``."""
    from compressai.entropy_models import EntropyBottleneck

    total = torch.zeros(())
    for m in module.modules():
        if isinstance(m, EntropyBottleneck):
            total = total + m.loss()
    return total


def trainable(module: nn.Module, exclude: Iterable[int] = ()) -> list[tuple[str, nn.Parameter]]:
    skip = set(exclude)
    return [(n, p) for n, p in module.named_parameters() if p.requires_grad and id(p) not in skip]


def gradient_report(params: list[tuple[str, nn.Parameter]]) -> str:
    """Fail naming the parameters that got no (or a non-finite) gradient; else a summary."""
    if not params:
        return "no trainable parameters"
    none = [n for n, p in params if p.grad is None]
    bad = [n for n, p in params if p.grad is not None and not bool(torch.isfinite(p.grad).all())]
    expect(not none, f"{len(none)} of {len(params)} trainable parameters got no gradient: {_names(none)}")
    expect(not bad, f"non-finite gradients in: {_names(bad)}")
    zero = [n for n, p in params if not bool(p.grad.any())]
    note = f" ({len(zero)} got an all-zero gradient: {_names(zero)})" if zero else ""
    return f"all {len(params)} trainable parameters got a gradient{note}"


def _names(names: list[str], limit: int = 8) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def modes_contract(module: nn.Module, run: Callable[[], Any], what: str) -> str:
    """Train mode runs; ``eval()`` reaches every submodule; eval outputs are deterministic."""
    module.train()
    with torch.no_grad():
        train_out = run()
    for k, t in tensors(train_out).items():
        expect(bool(torch.isfinite(t).all()) if t.is_floating_point() else True, f"train-mode {k} is not finite")
    module.eval()
    still = [n for n, m in module.named_modules() if m.training]
    expect(not still, f"submodules still in training mode after eval(): {_names(still)}")
    with torch.no_grad():
        torch.manual_seed(123)
        first = run()
        torch.manual_seed(456)
        second = run()
    same_outputs(first, second, f"{what} in eval mode is not deterministic")
    return f"train forward ok; eval deterministic over {len(tensors(first))} output tensors"


def safetensors_roundtrip(module: nn.Module, fresh: nn.Module) -> tuple[int, int]:
    """Save ``module``'s state with safetensors and load it into ``fresh`` (buffers that change
    size, such as CDF tables, are resized first). Returns (tensors, bytes)."""
    from safetensors.torch import load_file, save_file

    state = {k: v.detach().contiguous().clone() for k, v in module.state_dict().items()}
    fd, path = tempfile.mkstemp(suffix=".safetensors")
    os.close(fd)
    try:
        save_file(state, path)
        size = os.path.getsize(path)
        loaded = load_file(path)
    finally:
        os.unlink(path)
    load_resized(fresh, loaded)
    return len(state), size


def load_resized(module: nn.Module, state: Mapping[str, Tensor]) -> None:
    """``load_state_dict(strict=True)`` after resizing buffers whose saved shape differs."""
    buffers = dict(module.named_buffers())
    for name, value in state.items():
        buf = buffers.get(name)
        if buf is not None and buf.shape != value.shape:
            owner, _, attr = name.rpartition(".")
            sub = module.get_submodule(owner) if owner else module
            sub._buffers[attr] = torch.empty(value.shape, dtype=buf.dtype, device=buf.device)
    result = module.load_state_dict(dict(state), strict=False)
    missing, unexpected = list(result.missing_keys), list(result.unexpected_keys)
    expect(
        not missing and not unexpected,
        f"state dict mismatch: missing {_names(missing) or 'none'}; unexpected {_names(unexpected) or 'none'}",
    )


def check_params_documented(spec: ComponentSpec) -> None:
    """Every documented parameter and example key is one the factory accepts."""
    try:
        sig = inspect.signature(spec.load())
    except (TypeError, ValueError):
        return
    if any(p.kind == p.VAR_KEYWORD for p in sig.parameters.values()):
        return
    special = SPECIAL_KEYS.get(spec.kind, set())
    unknown = sorted((set(spec.params) | set(spec.example)) - set(sig.parameters) - special)
    expect(not unknown, f"params/example name {', '.join(unknown)}, which the factory does not accept")


def expect_int_attrs(module: nn.Module, names: Iterable[str]) -> dict[str, int]:
    out = {}
    for name in names:
        value = getattr(module, name, None)
        expect(isinstance(value, int) and not isinstance(value, bool) and value > 0,
               f"{type(module).__name__}.{name} must be a positive int, got {value!r}")  # fmt: skip
        out[name] = value
    return out
