"""Checks of a ``prepost`` stage: ``pre`` changes channels/stride as declared, ``post`` maps back."""

from __future__ import annotations

from typing import Mapping

import torch

from lic_core.specs import ComponentSpec
from lic_core.testing.checks.common import (
    BATCH, DEFAULT_PREPOST_IN, build_example, check_params_documented, expect, expect_int_attrs,
    expect_shape, gradient_report, image_size, modes_contract, randn, safetensors_roundtrip, same_outputs, trainable,
    weighted_sum,
)  # fmt: skip


def _make(spec: ComponentSpec, seed: int = 0):
    return build_example(spec, seed=seed), int(spec.example.get("in_channels", DEFAULT_PREPOST_IN))


def _attrs(stage) -> dict[str, int]:
    return expect_int_attrs(stage, ("in_channels", "out_channels", "stride"))


def _input(stage):
    a = _attrs(stage)
    return randn(BATCH, a["in_channels"], *image_size(a["stride"]), seed=1), a


def _roundtrip(stage, x):
    return stage.post(stage.pre(x))


def check_build(spec: ComponentSpec) -> str:
    check_params_documented(spec)
    stage, in_channels = _make(spec)
    a = _attrs(stage)
    expect(a["in_channels"] == in_channels, f"built with in_channels={in_channels} but declares {a['in_channels']}")
    expect(isinstance(stage.layout, Mapping), f"layout must be a mapping, got {type(stage.layout).__name__}")
    return f"{type(stage).__name__}({', '.join(f'{k}={v}' for k, v in a.items())}), layout {dict(stage.layout)}"


def check_shapes(spec: ComponentSpec) -> str:
    stage, _ = _make(spec)
    x, a = _input(stage)
    h, w = x.shape[-2:]
    s = a["stride"]
    with torch.no_grad():
        stage.eval()
        inner = stage.pre(x)
        expect_shape(inner, (BATCH, a["out_channels"], h // s, w // s), "pre output")
        out = stage.post(inner)
        expect_shape(out, tuple(x.shape), "post output")
    return f"pre {tuple(x.shape)} -> {tuple(inner.shape)}; post back to {tuple(out.shape)}"


def check_gradients(spec: ComponentSpec) -> str:
    stage, _ = _make(spec)
    stage.train()
    x, _ = _input(stage)
    x.requires_grad_(True)
    inner = stage.pre(x)
    weighted_sum([stage.post(inner), inner]).backward()
    expect(x.grad is not None and bool(x.grad.any()), "no gradient reaches the input")
    return gradient_report(trainable(stage))


def check_modes(spec: ComponentSpec) -> str:
    stage, _ = _make(spec)
    x, _ = _input(stage)
    return modes_contract(stage, lambda: _roundtrip(stage, x), "pre+post")


def check_safetensors(spec: ComponentSpec) -> str:
    (stage, _), (fresh, _) = _make(spec), _make(spec, seed=1)
    stage.eval(), fresh.eval()
    n, size = safetensors_roundtrip(stage, fresh)
    x, _ = _input(stage)
    with torch.no_grad():
        same_outputs(_roundtrip(stage, x), _roundtrip(fresh, x), "after the safetensors round trip, output")
    return f"{n} tensors, {size} bytes; identical eval outputs"
