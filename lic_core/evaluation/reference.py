"""CompressAI's own model holding a composed codec's weights, for side-by-side measurements.

Supported: ``core.gdn`` + ``core.hyperprior`` (``MeanScaleHyperprior`` / ``ScaleHyperprior``),
``core.elic`` + ``core.elic-groups`` (``Elic2022Official``) and the cheng2020 checkerboard
recipe (``Cheng2020AnchorCheckerboard``). The weights are mapped with
:mod:`lic_core.compat` (CompressAI -> lic) run backwards; CompressAI keeps its own 64-level
scale table, built by its ``update()``.
"""

from __future__ import annotations

from typing import Any, Mapping

import torch
from torch import nn

from lic_core.errors import LicError


def _params(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A recipe entry's parameters over its component's declared defaults."""
    from lic_core.discovery import get_registry

    spec = get_registry().component(str(entry["id"]))
    return {**dict(spec.params or {}), **{k: v for k, v in entry.items() if k != "id"}}


def reference_model(codec: nn.Module) -> tuple[nn.Module, str]:
    """(an untrained CompressAI model of the same architecture, compat arch name)."""
    import lic_core._quiet  # noqa: F401
    from compressai import models as cm

    recipe = codec.recipe
    if recipe.get("prepost"):
        raise LicError("no CompressAI reference for a codec with pre/post stages")
    t, e = recipe["transform"], recipe["entropy_model"]
    tp, ep = _params(t), _params(e)
    if t["id"] == "core.gdn" and e["id"] == "core.hyperprior" and not ep.get("hyper"):
        if tp["N"] != ep["N"]:
            raise LicError(f"CompressAI's hyperprior models use one N; this codec has {tp['N']} and {ep['N']}")
        cls = cm.MeanScaleHyperprior if ep.get("mode", "mean-scale") == "mean-scale" else cm.ScaleHyperprior
        return cls(N=int(tp["N"]), M=int(tp["M"])), "hyperprior"
    if t["id"] == "core.elic" and e["id"] == "core.elic-groups":
        return cm.Elic2022Official(N=int(tp["N"]), M=int(tp["M"]), groups=list(ep["groups"])), "elic2022-official"
    if t["id"] == "core.cheng2020" and e["id"] == "core.checkerboard":
        return cm.Cheng2020AnchorCheckerboard(N=int(tp["N"])), "cheng2020-anchor-checkerboard"
    raise LicError(f"no CompressAI reference for transform {t['id']!r} with entropy model {e['id']!r}")


def compressai_twin(codec: nn.Module) -> nn.Module:
    """A CompressAI model with ``codec``'s weights, tables updated, in eval mode."""
    from lic_core.compat import map_compressai_state_dict

    ref, arch = reference_model(codec)
    ref_state = ref.state_dict()
    mapped = map_compressai_state_dict(ref_state, codec, arch)  # {lic key: CompressAI tensor}
    by_identity = {id(v): k for k, v in ref_state.items()}
    ours = codec.state_dict()
    new_state = dict(ref_state)
    for lic_key, ref_tensor in mapped.items():
        new_state[by_identity[id(ref_tensor)]] = ours[lic_key].detach().clone()
    ref.load_state_dict(new_state)
    ref.update(force=True)
    device = next(codec.parameters()).device
    return ref.to(device).eval()


@torch.no_grad()
def forward_gap(codec: nn.Module, ref: nn.Module, x: torch.Tensor) -> dict[str, float]:
    """Largest differences between the two models' eval forwards (the mapping check)."""
    a, b = codec.eval()(x), ref.eval()(x)
    gap = {"x_hat": float((a["x_hat"] - b["x_hat"]).abs().max())}
    for name, lik in a["likelihoods"].items():
        if name in b["likelihoods"] and b["likelihoods"][name].shape == lik.shape:
            gap[f"likelihoods.{name}"] = float((lik - b["likelihoods"][name]).abs().max())
    return gap
