"""Load CompressAI model weights into composed codecs of the same architecture.

Supported (CompressAI class -> lic recipe with the same sizes):

- ``Elic2022Official`` -> ``core.elic`` (``core.elic`` transform + ``core.elic-groups``);
- ``Cheng2020AnchorCheckerboard`` -> ``core.cheng2020-anchor-checkerboard``;
- ``MeanScaleHyperprior`` -> ``core.mbt2018-mean``; ``ScaleHyperprior`` -> ``core.bmshj2018-hyperprior``.

Modules map prefix to prefix; within a prefix, tensors map in order and must agree in shape
(lic's layouts follow CompressAI's, so this is exact). The entropy bottleneck maps by name.
CompressAI's context masks are dropped (lic derives them) and so are its Gaussian conditional
tables: lic's coders keep their own finer table, rebuilt by ``update(force=True)``.
"""

from __future__ import annotations

import re
from typing import Mapping

from torch import Tensor, nn

from lic_core.errors import CheckpointError

Rule = tuple[str, str, str]  # (CompressAI prefix, lic prefix, "order" | "name")

_EB = "entropy_model.side.entropy_bottleneck."
_HYPER = "entropy_model.side.hyper."


def _rules(arch: str, state: Mapping[str, Tensor]) -> list[Rule]:
    rules: list[Rule] = [("g_a.", "transform.analysis.", "order"), ("g_s.", "transform.synthesis.", "order")]
    if arch == "elic2022-official":
        groups = sorted({int(m) for m in re.findall(r"latent_codec\.y\.latent_codec\.y(\d+)\.", " ".join(state))})
        rules += [
            ("latent_codec.hyper.h_a.", _HYPER + "analysis.", "order"),
            ("latent_codec.hyper.h_s.", _HYPER + "synthesis.", "order"),
            ("latent_codec.hyper.entropy_bottleneck.", _EB, "name"),
        ]
        for k in groups:
            src, dst = f"latent_codec.y.latent_codec.y{k}.", f"entropy_model.coder.coders.{k}."
            rules += [
                (src + "context_prediction.", dst + "context.0.", "order"),
                (src + "entropy_parameters.", dst + "entropy_parameters.", "order"),
            ]
            if k:
                ctx = f"latent_codec.y.channel_context.y{k}."
                rules.append((ctx, f"entropy_model.coder.channel_context.{k}.", "order"))
    elif arch == "cheng2020-anchor-checkerboard":
        rules += [
            ("latent_codec.hyper.h_a.", _HYPER + "analysis.", "order"),
            ("latent_codec.hyper.h_s.", _HYPER + "synthesis.", "order"),
            ("latent_codec.hyper.entropy_bottleneck.", _EB, "name"),
            ("latent_codec.y.context_prediction.", "entropy_model.coder.context.0.", "order"),
            ("latent_codec.y.entropy_parameters.", "entropy_model.coder.entropy_parameters.", "order"),
        ]
    elif arch == "hyperprior":
        rules += [
            ("h_a.", _HYPER + "analysis.", "order"),
            ("h_s.", _HYPER + "synthesis.", "order"),
            ("entropy_bottleneck.", _EB, "name"),
        ]
    else:
        raise CheckpointError(f"unknown CompressAI architecture {arch!r}")
    return rules


def detect_arch(state: Mapping[str, Tensor]) -> str:
    """``elic2022-official``, ``cheng2020-anchor-checkerboard`` or ``hyperprior`` from the keys."""
    if any(k.startswith("latent_codec.y.channel_context.") for k in state):
        return "elic2022-official"
    if "latent_codec.y.context_prediction.weight" in state:
        return "cheng2020-anchor-checkerboard"
    if "h_a.0.weight" in state or "h_a.1.weight" in state:
        return "hyperprior"
    raise CheckpointError("not a state dict of a supported CompressAI model (ELIC, cheng2020 checkerboard, hyperprior)")


def map_compressai_state_dict(
    state: Mapping[str, Tensor], target: nn.Module, arch: str | None = None
) -> dict[str, Tensor]:
    """CompressAI ``state`` renamed onto ``target``'s keys (a composed :class:`~lic_core.Codec`)."""
    arch = arch or detect_arch(state)
    state = {k: v for k, v in state.items() if not k.endswith(".context_prediction.mask")}  # lic derives masks
    own = target.state_dict()
    out: dict[str, Tensor] = {}
    used: set[str] = set()
    for src, dst, how in _rules(arch, state):
        skeys = [k for k in state if k.startswith(src)]
        dkeys = [k for k in own if k.startswith(dst)]
        if how == "name":
            pairs = [(k, dst + k[len(src) :]) for k in skeys]
            missing = [d for _, d in pairs if d not in own]
            if missing:
                raise CheckpointError(f"{arch}: no lic tensor for {missing[:3]}")
        else:
            if len(skeys) != len(dkeys):
                raise CheckpointError(f"{arch}: {src}* has {len(skeys)} tensors but {dst}* has {len(dkeys)}")
            pairs = list(zip(skeys, dkeys))
            for s, d in pairs:
                if state[s].shape != own[d].shape:
                    raise CheckpointError(f"{arch}: {s} {tuple(state[s].shape)} does not fit {d} {tuple(own[d].shape)}")
        for s, d in pairs:
            out[d] = state[s]
            used.add(s)
    left = [k for k in state if k not in used and "gaussian_conditional" not in k]
    if left:
        raise CheckpointError(f"{arch}: CompressAI tensors left unmapped: {left[:5]}")
    return out


def load_compressai(codec: nn.Module, state: Mapping[str, Tensor], arch: str | None = None) -> nn.Module:
    """Load CompressAI weights into ``codec`` (in place), rebuild its coder tables, return it."""
    mapped = map_compressai_state_dict(state, codec, arch)
    full = dict(codec.state_dict())
    full.update(mapped)
    codec.load_state_dict(full)
    codec.update(force=True)
    return codec
