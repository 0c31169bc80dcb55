"""Checks of a ``quantizer``: train returns ``(rate, hat)`` with gradients, eval returns
``round(x - means) + means`` for both, ``finalize`` is deterministic, safetensors round trip."""

from __future__ import annotations

import torch

from lic_core.specs import ComponentSpec
from lic_core.testing.checks.common import (
    BATCH, build_example, check_params_documented, expect, expect_shape, gradient_report, randn,
    safetensors_roundtrip, same_outputs, trainable,
)  # fmt: skip
from lic_core.testing.result import CheckFailed

SHAPE = (BATCH, 8, 8, 12)


def _make(spec: ComponentSpec, seed: int = 0):
    return build_example(spec, seed=seed)


def _inputs():
    return randn(*SHAPE, seed=1, scale=3.0), randn(*SHAPE, seed=2)


def _pair(out, what: str):
    expect(isinstance(out, tuple) and len(out) == 2, f"{what} must return a tuple (x_rate, x_hat), got {type(out).__name__}")
    return out


def check_build(spec: ComponentSpec) -> str:
    check_params_documented(spec)
    q = _make(spec)
    expect(callable(getattr(q, "finalize", None)), f"{type(q).__name__} has no finalize()")
    return f"{type(q).__name__}, {sum(p.numel() for p in q.parameters())} parameters"


def check_train(spec: ComponentSpec) -> str:
    q = _make(spec).train()
    details = []
    for latent, use_means in (("y", True), ("y", False), ("z", True)):
        x, means = _inputs()
        x.requires_grad_(True)
        rate, hat = _pair(q(x, means if use_means else None, latent), "train forward")
        expect_shape(rate, SHAPE, f"train x_rate ({latent}, means={use_means})")
        expect_shape(hat, SHAPE, f"train x_hat ({latent}, means={use_means})")
        (rate.sum() + hat.sum()).backward()
        expect(x.grad is not None and bool(x.grad.any()), f"no gradient reaches x through the train forward ({latent})")
        details.append(f"{latent}{'+means' if use_means else ''}: max |hat-x| {(hat - x).abs().max().item():.2f}")
    return "; ".join(details)


def check_eval(spec: ComponentSpec) -> str:
    q = _make(spec).eval()
    x, means = _inputs()
    with torch.no_grad():
        for m in (means, None):
            rate, hat = _pair(q(x, m), "eval forward")
            want = torch.round(x) if m is None else torch.round(x - m) + m
            for name, value in (("x_rate", rate), ("x_hat", hat)):
                if not torch.equal(value, want):
                    given = "given" if m is not None else "None"
                    raise CheckFailed(f"eval {name} (means={given}) is not round(x - means) + means")
    return "eval returns round(x - means) + means for both outputs, with and without means"


def check_finalize(spec: ComponentSpec) -> str:
    q = _make(spec).eval()
    x, means = _inputs()
    with torch.no_grad():
        hat = torch.round(x - means) + means
        for latent in ("y", "z"):
            first = q.finalize(hat, latent)
            expect_shape(first, SHAPE, f"finalize output ({latent})")
            same_outputs(first, q.finalize(hat.clone(), latent), f"finalize ({latent}) is not deterministic")
            expect(torch.equal(hat, torch.round(x - means) + means), "finalize modified its input in place")
        moved = (q.finalize(hat, "y") - hat).abs().max().item()
    return "deterministic" + (" identity" if moved == 0 else f", moves values by up to {moved:.3g}")


def check_gradients(spec: ComponentSpec) -> str:
    q = _make(spec).train()
    x, means = _inputs()
    x.requires_grad_(True)
    rate, hat = _pair(q(x, means, "y"), "train forward")
    (rate.square().mean() + hat.square().mean() + q.finalize(hat, "y").square().mean()).backward()
    return gradient_report(trainable(q))


def check_safetensors(spec: ComponentSpec) -> str:
    q, fresh = _make(spec).eval(), _make(spec, seed=1).eval()
    n, size = safetensors_roundtrip(q, fresh)
    x, means = _inputs()
    with torch.no_grad():
        hat = torch.round(x - means) + means
        same_outputs(q(x, means), fresh(x, means), "after the safetensors round trip, eval forward")
        same_outputs(q.finalize(hat, "y"), fresh.finalize(hat, "y"), "after the safetensors round trip, finalize")
    return f"{n} tensors, {size} bytes; identical eval and finalize outputs"
