"""Entry-point module of plugin ``uneven`` (light: no torch, no model code)."""

from __future__ import annotations

from lic_core.hookspec import hookimpl
from lic_core.specs import ComponentSpec

requires_core = ">=0.1,<0.2"

CCA_PAPER = (
    "Han et al., Causal Context Adjustment Loss for Learned Image Compression, NeurIPS 2024 "
    "(arXiv:2410.04847; code: github.com/LabShuHangGU/CCA)"
)

CHANNEL_AR_PARAMS = {
    "schedule": "power",
    "k": 1.7,
    "slices": 5,
    "groups": None,
    "z_channels": 192,
    "hyper_width": 256,
    "width": 224,
    "depth": 4,
    "hidden": [224, 128],
    "levels": 256,
    "hyper": None,
}


@hookimpl
def lic_components() -> list[ComponentSpec]:
    return [
        ComponentSpec(
            "uneven.channel_ar", "entropy_model", "lic_uneven.entropy:UnevenChannelAR",
            "channel-wise autoregressive model with uneven slices (power/elic/cosine/even), NAF "
            "parameter nets, latent residual prediction and a two-head GELU hyperprior",
            CCA_PAPER, CHANNEL_AR_PARAMS,
            {"M": 24, "k": 1.0, "slices": 3, "z_channels": 8, "hyper_width": 16, "width": 8, "depth": 1,
             "hidden": [8]},
        ),
        ComponentSpec(
            "uneven.hyper", "transform", "lic_uneven.hyper:MeanScaleHyper",
            "hyper transform with GELU and two separate syntheses (means, scales); outputs [means, scales]",
            CCA_PAPER, {"in_channels": 320, "N": 256, "z_channels": 192, "out_channels": None},
            {"in_channels": 16, "N": 16, "z_channels": 8},
        ),
    ]  # fmt: skip
