"""Checks of a ``transform``: analysis (B, in, H, W) -> (B, M, H/s, W/s), synthesis back to
(B, out, H, W); ``in_stride`` replaces the stem; gradients; modes; safetensors."""

from __future__ import annotations

import torch

from lic_core.specs import ComponentSpec
from lic_core.testing.checks.common import (
    BATCH, build_example, check_params_documented, expect, expect_int_attrs, expect_shape,
    factory_accepts, gradient_report, image_size, modes_contract, randn, safetensors_roundtrip, same_outputs, trainable,
    weighted_sum,
)  # fmt: skip
from lic_core.testing.result import CheckSkipped


def _make(spec: ComponentSpec, seed: int = 0, **overrides):
    return build_example(spec, seed=seed, **overrides)


def _attrs(t) -> dict[str, int]:
    a = expect_int_attrs(t, ("in_channels", "latent_channels", "stride"))
    a["out_channels"] = int(getattr(t, "out_channels", a["in_channels"]))
    return a


def _input(t, seed: int = 1):
    a = _attrs(t)
    h, w = image_size(a["stride"])
    return randn(BATCH, a["in_channels"], h, w, seed=seed), a


def _shapes(t, label: str) -> str:
    x, a = _input(t)
    h, w = x.shape[-2:]
    s = a["stride"]
    with torch.no_grad():
        t.eval()
        y = t.analysis(x)
        expect_shape(y, (BATCH, a["latent_channels"], h // s, w // s), f"{label}analysis output")
        x_hat = t.synthesis(y)
        expect_shape(x_hat, (BATCH, a["out_channels"], h, w), f"{label}synthesis output")
    return f"{tuple(x.shape)} -> {tuple(y.shape)} -> {tuple(x_hat.shape)}"


def check_build(spec: ComponentSpec) -> str:
    check_params_documented(spec)
    t = _make(spec)
    a = _attrs(t)
    for part in ("analysis", "synthesis"):
        expect(isinstance(getattr(t, part, None), torch.nn.Module), f"{type(t).__name__}.{part} must be an nn.Module")
    n = sum(p.numel() for p in t.parameters())
    return f"{type(t).__name__}({', '.join(f'{k}={v}' for k, v in a.items())}), {n} parameters"


def check_shapes(spec: ComponentSpec) -> str:
    return _shapes(_make(spec), "")


def check_in_stride(spec: ComponentSpec) -> str:
    if not factory_accepts(spec, "in_stride"):
        raise CheckSkipped("the factory takes no in_stride")
    base = _attrs(_make(spec))
    t = _make(spec, in_channels=16, in_stride=2)
    a = _attrs(t)
    expect(a["in_channels"] == 16, f"built with in_channels=16 but declares in_channels={a['in_channels']}")
    expect(
        a["stride"] * 2 == base["stride"],
        f"with in_stride=2 the stride must be {base['stride'] // 2} (total {base['stride']}), got {a['stride']}",
    )
    return "in_channels=16, in_stride=2: " + _shapes(t, "in_stride=2 ")


def check_gradients(spec: ComponentSpec) -> str:
    t = _make(spec).train()
    x, _ = _input(t)
    x.requires_grad_(True)
    y = t.analysis(x)
    weighted_sum([t.synthesis(y), y]).backward()
    expect(x.grad is not None and bool(x.grad.any()), "no gradient reaches the input")
    return gradient_report(trainable(t))


def check_modes(spec: ComponentSpec) -> str:
    t = _make(spec)
    x, _ = _input(t)
    return modes_contract(t, lambda: t.synthesis(t.analysis(x)), "analysis+synthesis")


def check_safetensors(spec: ComponentSpec) -> str:
    t, fresh = _make(spec).eval(), _make(spec, seed=1).eval()
    x, _ = _input(t)
    n, size = safetensors_roundtrip(t, fresh)
    with torch.no_grad():
        what = "after the safetensors round trip, output"
        same_outputs(t.synthesis(t.analysis(x)), fresh.synthesis(fresh.analysis(x)), what)
    return f"{n} tensors, {size} bytes; identical eval outputs"
