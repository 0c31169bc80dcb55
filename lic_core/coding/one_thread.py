"""Entropy parameters computed on one thread, whatever the caller's thread count.

On CPU, PyTorch's NCHW convolutions and matmuls may split their sums over threads, so the
scales and means of a hyperprior or context model can differ in their last bits between 1 and
2 threads; one flipped scale row or rounding desynchronises the rANS decoder, and a stream
encoded with 2 threads then fails to decode with 1 ("decoder drift"). Coding calls therefore
run their entropy-parameter nets with one intra-op thread: the same numbers at any thread
count, and exactly those of a one-thread encoder of earlier versions. The nets are small (a
few percent of a decode), so the cost is small too.

Streams written by earlier versions with several threads hold latents computed with that many
threads: :func:`caller_threads` turns the rule off, so that a decoder can retry such a stream
with the caller's thread count, as those versions decoded it.
"""

from __future__ import annotations

import functools
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Callable, Iterator, TypeVar

import torch

F = TypeVar("F", bound=Callable[..., Any])
_ENABLED: ContextVar[bool] = ContextVar("lic_one_thread", default=True)


@contextmanager
def caller_threads() -> Iterator[None]:
    """Within the block, :func:`one_thread` keeps the caller's thread count (earlier versions' rule)."""
    token = _ENABLED.set(False)
    try:
        yield
    finally:
        _ENABLED.reset(token)


@contextmanager
def one_thread() -> Iterator[None]:
    """Run the block with one intra-op thread (restored afterwards)."""
    before = torch.get_num_threads()
    if before == 1 or not _ENABLED.get():
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def on_one_thread(fn: F) -> F:
    """Decorator form of :func:`one_thread` (for ``compress``/``decompress`` methods)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with one_thread():
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def on_one_thread_in_eval(fn: F) -> F:
    """:func:`on_one_thread` for a module's ``forward`` in eval mode only (training keeps every
    thread), so an eval forward gives exactly the latents ``compress`` gives."""

    @functools.wraps(fn)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        if self.training:
            return fn(self, *args, **kwargs)
        with one_thread():
            return fn(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]
