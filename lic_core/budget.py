"""A size budget for codecs built from untrusted recipes (the recipe inside a checkpoint file).

A checkpoint's recipe is hostile input like its tensors: ``N: 4096`` asks for gigabytes and a
post-filter ``depth`` of 10^7 for millions of modules. :func:`size_budget` bounds a build
*before* memory is taken: every tensor factory call (``torch.empty``, ``zeros``, ``arange`` ...)
is checked against the budget before it runs, and parameters, buffers and modules are counted
as modules register them. Building on the meta device would be simpler, but many components
compute with real values while they are built (``.item()``, tables made on the CPU).
"""

from __future__ import annotations

import math
import os
from contextlib import contextmanager
from typing import Any, Iterator

from lic_core.errors import CheckpointError

ENV = "LIC_MAX_PARAMS"
# 2^27 elements (512 MB in float32): 1.34 x the largest recipe lic ships (jiang-stf, 100.2 M)
DEFAULT_MAX_PARAMS = 2**27
# modules, parameters and buffers together: one per 10,000 elements of the budget (13,421 by
# default, 5 times the most a shipped recipe has: cca, 2,527), so that a post-filter depth of
# 10^7 stops early: building small modules, not allocating their weights, is what takes time
ELEMENTS_PER_OBJECT = 10_000
MIN_OBJECTS = 1_000


def max_params(value: int | None = None) -> int:
    """The budget in tensor elements: ``value``, else ``$LIC_MAX_PARAMS``, else the default."""
    if value is None:
        text = os.environ.get(ENV, "").strip().replace("_", "")
        if not text:
            return DEFAULT_MAX_PARAMS
        try:
            value = int(float(text)) if "e" in text.lower() else int(text)
        except (ValueError, OverflowError):
            raise CheckpointError(f"{ENV}={os.environ[ENV]!r} is not a number of parameters") from None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise CheckpointError(f"max_params must be a positive integer, got {value!r}")
    return value


def add_option(parser: Any) -> None:
    """``--max-params N`` for a command that loads checkpoints (light: no torch import)."""
    parser.add_argument("--max-params", type=int, metavar="N",
                        help=f"size budget for a checkpoint's codec, in parameter and buffer elements "
                        f"(default ${ENV} or 2^27); raise it only for files you trust")  # fmt: skip


def apply_option(args: Any) -> None:
    """Make ``--max-params`` the budget of every load in this process (zoo models included)."""
    if getattr(args, "max_params", None) is not None:
        os.environ[ENV] = str(max_params(args.max_params))


class BudgetExceeded(CheckpointError):
    """A codec built from a recipe would need more than its size budget."""


def _numel(shape: Any) -> int | None:
    """Elements of a shape given as ints or one sequence of ints; None when not plain ints
    (torch then reports the bad argument itself)."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):  # torch.Size is a tuple
        shape = tuple(shape[0])
    if not all(isinstance(s, int) and not isinstance(s, bool) for s in shape):
        return None
    if any(s < 0 for s in shape):
        return None
    return math.prod(shape)


def _request(func: Any, args: tuple, kwargs: dict) -> int | None:
    """Elements a tensor factory call would allocate, when it is one whose size we can read."""
    import torch

    if "size" in kwargs:
        return _numel((kwargs["size"],))
    if func in (torch.empty, torch.zeros, torch.ones, torch.rand, torch.randn):
        return _numel(args)
    if func is torch.full and args:  # (size, value)
        return _numel(args[:1])
    if func is torch.randint and args:  # (low, high, size) or (high, size)
        return _numel(args[-1:])
    if func is torch.linspace or func is torch.logspace:
        steps = args[2] if len(args) > 2 else kwargs.get("steps")
        return steps if isinstance(steps, int) and steps >= 0 else None
    if func is torch.arange:
        bounds = [a for a in args if isinstance(a, (int, float)) and not isinstance(a, bool)]
        if not bounds:
            return None
        start, end, step = (0, bounds[0], 1) if len(bounds) == 1 else (*bounds[:2], bounds[2] if len(bounds) > 2 else 1)
        if step == 0 or not all(math.isfinite(v) for v in (start, end, step)):
            return None
        return max(0, math.ceil((end - start) / step))
    if func is torch.eye and args and isinstance(args[0], int):
        return args[0] * (args[1] if len(args) > 1 and isinstance(args[1], int) else args[0])
    if func is torch.randperm and args and isinstance(args[0], int):
        return args[0]
    return None


RANDOM_INITS = ("uniform_", "normal_", "trunc_normal_", "xavier_uniform_", "xavier_normal_",
                "kaiming_uniform_", "kaiming_normal_", "orthogonal_", "sparse_")  # fmt: skip


def _guard(limit: int, skip_init: bool) -> Any:
    """A torch function mode that refuses oversized factory calls and counts registrations
    (and, with ``skip_init``, leaves ``torch.nn.init``'s random fills undone)."""
    import torch
    from torch.overrides import TorchFunctionMode

    skipped = {getattr(torch.nn.init, name) for name in RANDOM_INITS} if skip_init else set()
    max_objects = max(MIN_OBJECTS, limit // ELEMENTS_PER_OBJECT)

    class Guard(TorchFunctionMode):
        def __init__(self) -> None:
            super().__init__()
            self.elements = 0
            self.objects = 0
            self.exceeded: str | None = None

        def fail(self, message: str) -> None:
            self.exceeded = self.exceeded or message
            raise BudgetExceeded(self.exceeded)

        def __torch_function__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            n = _request(func, args, kwargs)
            if n is not None and n > limit:
                self.fail(f"a {n:,}-element tensor is over the size budget of {limit:,} elements")
            if func in skipped:
                return args[0] if args else kwargs.get("tensor")
            return func(*args, **kwargs)

        def count(self, tensor: Any) -> None:
            if isinstance(tensor, torch.Tensor):
                self.elements += tensor.numel()
                if self.elements > limit:
                    self.fail(f"its parameters and buffers pass the size budget of {limit:,} elements")
                self.count_object()

        def count_object(self) -> None:
            self.objects += 1
            if self.objects > max_objects:
                self.fail(f"it has over {max_objects:,} modules, parameters and buffers "
                          f"(one per {ELEMENTS_PER_OBJECT:,} elements of the size budget)")  # fmt: skip

    return Guard()


@contextmanager
def size_budget(limit: int, skip_init: bool = False) -> Iterator[None]:
    """Build modules inside this block within ``limit`` tensor elements (parameters and buffers
    together, and no single tensor larger) and one module, parameter or buffer per
    :data:`ELEMENTS_PER_OBJECT` elements (at least :data:`MIN_OBJECTS`); past either, a
    :class:`BudgetExceeded` is raised before the allocation that would pass it. An error that a
    component caught and hid still surfaces when the block ends.

    ``skip_init`` skips ``torch.nn.init``'s random fills (:data:`RANDOM_INITS`), for a build whose
    every parameter is then loaded from a file: most of a build's time, and memory never touched.
    """
    from torch.nn.modules import module as _module

    guard = _guard(limit, skip_init)
    handles = [
        _module.register_module_parameter_registration_hook(lambda m, n, p: guard.count(p)),
        _module.register_module_buffer_registration_hook(lambda m, n, b: guard.count(b)),
        _module.register_module_module_registration_hook(lambda m, n, s: guard.count_object()),
    ]
    try:
        with guard:
            yield
    except BudgetExceeded:
        raise
    except Exception:
        if guard.exceeded:  # a component turned the refusal into another error
            raise BudgetExceeded(guard.exceeded) from None
        raise
    finally:
        for handle in handles:
            handle.remove()
    if guard.exceeded:
        raise BudgetExceeded(guard.exceeded)
