"""Full precision for the rate under mixed precision.

Under ``torch.autocast`` (``lic train --amp``) convolutions return bfloat16/float16, whose
8 or 11 significant bits cannot hold a latent plus uniform noise of +-0.5 or a likelihood of
a few bits' precision. Quantization and likelihoods therefore run in float32 with autocast
off; the transforms around them keep their reduced-precision speed.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar

import torch
from torch import Tensor

F = TypeVar("F", bound=Callable[..., Any])


def _device_type(args: tuple[Any, ...]) -> str:
    for a in args:
        if isinstance(a, Tensor):
            return a.device.type
    return "cpu"


def _float32(a: Any) -> Any:
    return a.float() if isinstance(a, Tensor) and a.is_floating_point() else a


def full_precision(fn: F) -> F:
    """Run ``fn`` with autocast disabled and its floating-point tensor arguments as float32
    (a no-op outside autocast, where they already are)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        device = _device_type(args + tuple(kwargs.values()))
        if not torch.is_autocast_enabled(device):
            return fn(*args, **kwargs)
        with torch.autocast(device, enabled=False):
            return fn(*(_float32(a) for a in args), **{k: _float32(v) for k, v in kwargs.items()})

    return wrapper  # type: ignore[return-value]
