"""Checks of a ``loss`` term: attached to a small recipe (``example["recipe"]``, by default
a tiny GDN + hyperprior codec), the term is a finite scalar whose backward reaches the
term's own parameters, and those never enter ``codec.coding_state_dict()``."""

from __future__ import annotations

import copy
from typing import Any

import torch

from lic_core.specs import ComponentSpec
from lic_core.testing.checks.common import (
    BATCH, aux_loss, build_example, check_params_documented, expect, gradient_report, image_size,
    safetensors_roundtrip, trainable,
)  # fmt: skip

DEFAULT_RECIPE: dict[str, Any] = {
    "name": "conformance-tiny",
    "transform": {"id": "core.gdn", "N": 16, "M": 24},
    "entropy_model": {"id": "core.hyperprior", "N": 16},
}


def _recipe(spec: ComponentSpec) -> dict[str, Any]:
    recipe = copy.deepcopy(dict(spec.example.get("recipe", DEFAULT_RECIPE)))
    recipe.setdefault("name", "conformance")
    return recipe


def _codec(spec: ComponentSpec, seed: int = 0) -> tuple[Any, Any, set[int]]:
    """The small recipe's codec with the term appended last, as ``compose`` attaches losses
    (built from the spec itself, so an unregistered spec can be checked too), and the ids of
    the codec's own parameters and buffers (whatever else the term holds is its own)."""
    from lic_core import compose

    torch.manual_seed(seed)
    codec = compose(_recipe(spec))
    coding = {id(t) for t in [*codec.parameters(), *codec.buffers()]}  # the codec's own, before the term
    term = build_example(spec, seed=seed)
    codec.losses.append(term)
    params = {k: v for k, v in spec.example.items() if k != "recipe"}
    codec.recipe["losses"] = [*codec.recipe.get("losses", []), {"id": spec.id, **params}]
    term.setup(codec)
    return codec, term, coding


def _image(codec, seed: int = 1) -> torch.Tensor:
    h, w = image_size(int(codec.stride), at_least=64, factor=1)
    g = torch.Generator().manual_seed(seed)
    return torch.rand(BATCH, 3, h, w, generator=g)


def _term(codec, term, x) -> torch.Tensor:
    value = term(x, codec(x), codec)
    got = getattr(value, "shape", type(value).__name__)
    expect(isinstance(value, torch.Tensor) and value.dim() == 0, f"the term must be a scalar tensor, got {got}")
    expect(bool(torch.isfinite(value)), f"the term is not finite: {value.item()}")
    return value


def _own_params(term, coding: set[int]) -> list[tuple[str, torch.nn.Parameter]]:
    """The term's parameters that the codec's components did not already have."""
    return trainable(term, exclude=coding)


def check_build(spec: ComponentSpec) -> str:
    check_params_documented(spec)
    term = build_example(spec)
    for name in ("weight", "start", "until"):
        value = getattr(term, name, None)
        expect(isinstance(value, float), f"{type(term).__name__}.{name} must be a float (set by LossTerm.__init__)")
    return f"{type(term).__name__}(weight={term.weight}, start={term.start}, until={term.until})"


def check_objective(spec: ComponentSpec) -> str:
    codec, term, _ = _codec(spec)
    codec.train()
    x = _image(codec)
    value = _term(codec, term, x)
    value.backward()
    reached = sum(1 for p in codec.parameters() if p.grad is not None)
    expect(reached > 0, "the term's backward reaches no parameter of the codec or of the term")
    return f"term {value.item():.4g} on {tuple(x.shape)}; gradients reach {reached} parameter tensors"


def check_gradients(spec: ComponentSpec) -> str:
    codec, term, coding = _codec(spec)
    codec.train()
    # the term's own bottleneck quantiles (if any) train through CompressAI's aux loss, as in the trainer
    (_term(codec, term, _image(codec)) + aux_loss(term)).backward()
    return gradient_report(_own_params(term, coding))


def check_coding_state(spec: ComponentSpec) -> str:
    codec, term, coding_ids = _codec(spec)
    coding = codec.coding_state_dict()
    own = [t for t in [*term.parameters(), *term.buffers()] if id(t) not in coding_ids and t.numel()]
    own_ptrs = {t.data_ptr() for t in own}
    leaked = sorted(k for k, v in coding.items() if v.numel() and v.data_ptr() in own_ptrs)
    expect(not leaked, f"training-only state of the term is in coding_state_dict(): {', '.join(leaked)}")
    return f"{len(coding)} coding tensors; the term's {sum(t.numel() for t in own)} own values are not among them"


def check_safetensors(spec: ComponentSpec) -> str:
    (codec, term, _), (fresh, fresh_term, _) = _codec(spec), _codec(spec, seed=1)
    codec.eval(), fresh.eval()
    n, size = safetensors_roundtrip(codec, fresh)
    x = _image(codec)
    with torch.no_grad():
        a, b = _term(codec, term, x), _term(fresh, fresh_term, x)
        again = _term(codec, term, x)
    expect(torch.equal(a, again), f"the term is not deterministic in eval mode ({a.item()} then {again.item()})")
    expect(torch.equal(a, b), f"after the safetensors round trip the term differs ({a.item()} vs {b.item()})")
    return f"{n} tensors ({size} bytes) incl. the term's; identical eval term {a.item():.4g}"
