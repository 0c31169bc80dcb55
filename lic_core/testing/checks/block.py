"""Checks of a ``block``: ``factory(channels)`` maps (B, C, H, W) to the same shape."""

from __future__ import annotations

import torch

from lic_core.specs import ComponentSpec
from lic_core.testing.checks.common import (
    BATCH, DEFAULT_BLOCK_CHANNELS, build_example, check_params_documented, expect, expect_shape,
    gradient_report, image_size, modes_contract, randn, safetensors_roundtrip, same_outputs, trainable, weighted_sum,
)  # fmt: skip


def _make(spec: ComponentSpec, seed: int = 0):
    channels = int(spec.example.get("channels", DEFAULT_BLOCK_CHANNELS))
    return build_example(spec, seed=seed), channels


def _input(channels: int):
    return randn(BATCH, channels, *image_size(1), seed=1)


def check_build(spec: ComponentSpec) -> str:
    check_params_documented(spec)
    block, channels = _make(spec)
    declared = getattr(block, "channels", channels)
    expect(declared == channels, f"built with channels={channels} but declares channels={declared!r}")
    return f"{type(block).__name__}(channels={channels}), {sum(p.numel() for p in block.parameters())} parameters"


def check_shapes(spec: ComponentSpec) -> str:
    block, channels = _make(spec)
    x = _input(channels)
    with torch.no_grad():
        for mode in (True, False):
            block.train(mode)
            expect_shape(block(x), tuple(x.shape), f"{'train' if mode else 'eval'}-mode output")
    return f"{tuple(x.shape)} -> same shape"


def check_gradients(spec: ComponentSpec) -> str:
    block, channels = _make(spec)
    block.train()
    x = _input(channels).requires_grad_(True)
    weighted_sum([block(x)]).backward()
    expect(x.grad is not None and bool(x.grad.any()), "no gradient reaches the input")
    return gradient_report(trainable(block))


def check_modes(spec: ComponentSpec) -> str:
    block, channels = _make(spec)
    x = _input(channels)
    return modes_contract(block, lambda: block(x), "the block")


def check_safetensors(spec: ComponentSpec) -> str:
    (block, channels), (fresh, _) = _make(spec), _make(spec, seed=1)
    block.eval(), fresh.eval()
    n, size = safetensors_roundtrip(block, fresh)
    x = _input(channels)
    with torch.no_grad():
        same_outputs(block(x), fresh(x), "after the safetensors round trip, output")
    return f"{n} tensors, {size} bytes; identical eval outputs"


