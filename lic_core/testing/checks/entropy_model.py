"""Checks of an ``entropy_model``: likelihoods in (0, 1], gradients (with the auxiliary
quantile loss), deterministic eval, ``compress``/``decompress`` reproducing the eval
forward's ``y_hat`` exactly, a safetensors round trip that keeps the bitstream, and, for
models declaring the slice protocol, auxiliary slice models that never see the slice before."""

from __future__ import annotations

import torch

from lic_core.specs import ComponentSpec
from lic_core.testing.checks.common import (
    BATCH, DEFAULT_M, aux_loss, build_example, check_params_documented, expect, expect_int_attrs, expect_shape,
    gradient_report, modes_contract, multiple, randn, safetensors_roundtrip, same_outputs, tensors, trainable,
    weighted_sum,
)  # fmt: skip
from lic_core.testing.result import CheckFailed, CheckSkipped


def _make(spec: ComponentSpec, seed: int = 0):
    return build_example(spec, seed=seed), int(spec.example.get("M", DEFAULT_M))


def _latent(model, M: int, seed: int = 1):
    """A y with a realistic spread (a few quantization bins), sized for the model's stride."""
    stride = int(getattr(model, "stride", 1) or 1)
    h = multiple(stride, 16)
    return randn(BATCH, M, h, multiple(stride, h + h // 2), seed=seed, scale=3.0)


def _forward(model, y) -> dict:
    out = model(y)
    expect(isinstance(out, dict) and "y_hat" in out and "likelihoods" in out,
           "forward(y) must return a dict with 'y_hat' and 'likelihoods'")  # fmt: skip
    expect(isinstance(out["likelihoods"], dict) and out["likelihoods"], "'likelihoods' must be a non-empty dict")
    expect_shape(out["y_hat"], tuple(y.shape), "y_hat")
    return out


def check_build(spec: ComponentSpec) -> str:
    check_params_documented(spec)
    model, M = _make(spec)
    a = expect_int_attrs(model, ("latent_channels",))
    expect(a["latent_channels"] == M, f"built with M={M} but declares latent_channels={a['latent_channels']}")
    stride = getattr(model, "stride", 1)
    expect(isinstance(stride, int) and stride >= 1, f"stride must be a positive int, got {stride!r}")
    return f"{type(model).__name__}(M={M}, stride={stride}), {sum(p.numel() for p in model.parameters())} parameters"


def check_likelihoods(spec: ComponentSpec) -> str:
    model, M = _make(spec)
    y = _latent(model, M)
    parts = []
    with torch.no_grad():
        for mode in ("train", "eval"):
            model.train(mode == "train")
            out = _forward(model, y)
            for name, lik in out["likelihoods"].items():
                expect(isinstance(lik, torch.Tensor), f"{mode}: likelihoods[{name!r}] is not a tensor")
                expect(bool(torch.isfinite(lik).all()), f"{mode}: likelihoods[{name!r}] has non-finite values")
                lo, hi = lik.min().item(), lik.max().item()
                expect(lo > 0 and hi <= 1, f"{mode}: likelihoods[{name!r}] span [{lo:.3g}, {hi:.3g}], not within (0, 1]")
                if mode == "eval":
                    parts.append(f"{name}: {-torch.log2(lik).sum().item() / BATCH:.0f} bits")
    return f"y {tuple(y.shape)}; " + ", ".join(parts) + " per image"


def check_quantizer(spec: ComponentSpec) -> str:
    """The training forward quantizes ``y`` through the attached quantizer (the codec's), never
    on its own, so that a recipe's quantizer choice takes effect."""
    from collections import Counter

    from lic_core.builtins.quantizers import MixedQuantizer

    class Recording(MixedQuantizer):
        def __init__(self) -> None:
            super().__init__()
            self.calls: list[str] = []

        def forward(self, x, means=None, latent="y"):
            self.calls.append(latent)
            return super().forward(x, means, latent)

    model, M = _make(spec)
    model.quantizer = recorder = Recording()
    model.train()
    with torch.no_grad():
        _forward(model, _latent(model, M))
    calls = Counter(recorder.calls)
    expect(calls["y"] > 0, f"the training forward never calls self.quantizer(..., latent='y') (calls: {dict(calls)})")
    return "training forward quantizes through self.quantizer: " + ", ".join(f"{k} x{n}" for k, n in calls.items())


def check_gradients(spec: ComponentSpec) -> str:
    model, M = _make(spec)
    model.train()
    y = _latent(model, M).requires_grad_(True)
    out = _forward(model, y)
    rate = sum(-torch.log2(lik).sum() for lik in out["likelihoods"].values())
    (rate / y.numel() + weighted_sum([out["y_hat"]]) + aux_loss(model)).backward()
    expect(y.grad is not None and bool(y.grad.any()), "no gradient reaches y")
    return gradient_report(trainable(model))


def check_modes(spec: ComponentSpec) -> str:
    model, M = _make(spec)
    y = _latent(model, M)
    return modes_contract(model, lambda: _forward(model, y), "forward(y)")


def _code(model, y) -> tuple[dict, dict]:
    comp = model.compress(y)
    expect(isinstance(comp, dict) and "strings" in comp and "shape" in comp, "compress(y) must return 'strings' and 'shape'")
    hw = tuple(y.shape[-2:])
    expect(tuple(comp["shape"]) == hw, f"compress shape {comp['shape']} is not y's (h, w) {hw}")
    for i, group in enumerate(comp["strings"]):
        expect(isinstance(group, (list, tuple)) and len(group) == y.size(0) and all(isinstance(s, bytes) for s in group),
               f"strings[{i}] must be a list of {y.size(0)} bytes objects (one per image)")  # fmt: skip
    dec = model.decompress(comp["strings"], tuple(comp["shape"]))
    expect(isinstance(dec, dict) and "y_hat" in dec, "decompress must return a dict with 'y_hat'")
    return comp, dec


def check_coding(spec: ComponentSpec) -> str:
    model, M = _make(spec)
    model.eval()
    model.update(force=True)
    y = _latent(model, M)
    with torch.no_grad():
        ref = _forward(model, y)["y_hat"]
        comp, dec = _code(model, y)
    if not torch.equal(dec["y_hat"], ref):
        diff = (dec["y_hat"] - ref).abs()
        raise CheckFailed(
            f"decompress does not reproduce the eval forward's y_hat: {int((diff > 0).sum())} of {ref.numel()} "
            f"values differ (max {diff.max().item():.3g})"
        )
    if "y_hat" in comp:
        expect(torch.equal(comp["y_hat"], ref), "compress's y_hat differs from the eval forward's y_hat")
    nbytes = sum(len(s) for group in comp["strings"] for s in group)
    return f"y {tuple(y.shape)}: {nbytes} bytes for {BATCH} images; decoded y_hat identical to the eval forward"


def check_safetensors(spec: ComponentSpec) -> str:
    (model, M), (fresh, _) = _make(spec), _make(spec, seed=1)
    model.eval(), fresh.eval()
    model.update(force=True)
    n, size = safetensors_roundtrip(model, fresh)
    y = _latent(model, M)
    with torch.no_grad():
        ref = _forward(model, y)
        same_outputs(ref, _forward(fresh, y), "after the safetensors round trip, forward")
        a, b = model.compress(y), fresh.compress(y)
    expect(
        a["strings"] == b["strings"],
        "after the safetensors round trip, compress writes other strings (coder tables not in the state?)",
    )
    return f"{n} tensors, {size} bytes; identical eval forward ({len(tensors(ref))} tensors) and bitstream"


def check_slices(spec: ComponentSpec) -> str:
    """A model declaring :class:`~lic_core.coding.slices.SlicedEntropyModel` exposes slices that
    cover ``y``, returns its ``"side"``, and builds auxiliary slice models with their own weights
    in which (``skip_previous_support``) slice ``i`` never sees slice ``i - 1`` nor any later one:
    changing those slices of ``y`` leaves slice ``i``'s likelihoods bit-identical."""
    from lic_core.coding.slices import SlicedEntropyModel, skip_previous_support

    model, M = _make(spec)
    if not isinstance(model, SlicedEntropyModel):
        raise CheckSkipped("does not declare the slice protocol (SlicedEntropyModel)")
    groups = tuple(int(g) for g in model.groups)
    n = len(groups)
    expect(n >= 1 and min(groups) >= 1 and sum(groups) == M, f"groups {list(groups)} do not split M={M} channels")
    model.eval()
    y = _latent(model, M)
    with torch.no_grad():
        out = _forward(model, y)
    expect("side" in out, "forward(y) of a sliced entropy model must return 'side' (the hyperprior context)")
    aux = model.slice_model(skip_previous_support(n)).eval()
    expect(tuple(aux.groups) == groups, f"slice_model has groups {list(aux.groups)}, the model {list(groups)}")
    own = {id(p) for p in model.parameters()}
    expect(not any(id(p) in own for p in aux.parameters()), "slice_model shares parameters with the entropy model")
    starts = [sum(groups[:i]) for i in range(n + 1)]
    with torch.no_grad():
        base = aux(y, out["side"], model.quantizer).likelihoods
        expect(len(base) == n, f"the auxiliary model gave {len(base)} likelihood tensors for {n} slices")
        for i in range(1, n):
            moved = y.clone()
            moved[:, starts[i - 1] : starts[i]] += 3.0  # the slice right before
            moved[:, starts[i + 1] :] -= 3.0  # and every later slice
            lik = aux(moved, out["side"], model.quantizer).likelihoods[i]
            expect(torch.equal(lik, base[i]), f"the auxiliary model's slice {i} sees slice {i - 1} or a later slice")
    size = sum(p.numel() for p in aux.parameters())
    return f"{n} slices {list(groups)}; auxiliary model ({size} parameters) never sees the slice before"
