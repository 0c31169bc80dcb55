"""Entry-point module of plugin ``cca`` (light: no torch, no model code)."""

from __future__ import annotations

from lic_core.hookspec import hookimpl
from lic_core.specs import ComponentSpec, RecipeSpec

requires_core = ">=0.1,<0.2"

PAPER = (
    "Han et al., Causal Context Adjustment Loss for Learned Image Compression, NeurIPS 2024 "
    "(arXiv:2410.04847; code: github.com/LabShuHangGU/CCA)"
)
NAF_PAPER = "Chen et al., Simple Baselines for Image Restoration (NAFNet), ECCV 2022"

# A tiny codec the conformance kit attaches cca.loss to.
_TINY = {
    "transform": {"id": "cca.transform", "M": 16, "widths": [8, 8, 8], "res_blocks": 1, "blocks": 1},
    "entropy_model": {
        "id": "uneven.channel_ar", "k": 1.0, "slices": 3, "z_channels": 8, "hyper_width": 8,
        "width": 8, "depth": 1, "hidden": [8],
    },
}  # fmt: skip

CCA = {
    "transform": {"id": "cca.transform", "M": 320, "widths": [192, 224, 256], "res_blocks": 3, "blocks": 4},
    "entropy_model": {"id": "uneven.channel_ar", "schedule": "power", "k": 1.7, "slices": 5},
    "quantizer": {"id": "core.mixed"},
    "losses": [{"id": "cca.loss", "alpha": 1.0, "weight": 1.0}],
}

CCA_SMALL = {
    "transform": {"id": "cca.transform", "M": 96, "widths": [32, 48, 64], "res_blocks": 1, "blocks": 2},
    "entropy_model": {
        "id": "uneven.channel_ar", "schedule": "power", "k": 1.7, "slices": 5, "z_channels": 48,
        "hyper_width": 64, "width": 48, "depth": 2, "hidden": [48, 32],
    },
    "quantizer": {"id": "core.mixed"},
    "losses": [{"id": "cca.loss", "alpha": 1.0, "weight": 1.0}],
}  # fmt: skip


@hookimpl
def lic_components() -> list[ComponentSpec]:
    return [
        ComponentSpec(
            "cca.loss", "loss", "lic_cca.loss:CCALoss",
            "Causal Context Adjustment loss: auxiliary model skipping the previous slice, plus a factorized fit term",
            PAPER, {"alpha": 1.0, "mode": "fitted", "skip": 1, "weight": 1.0, "start": 0.0, "until": 1.0},
            {"recipe": _TINY},
        ),
        ComponentSpec(
            "cca.transform", "transform", "lic_cca.transform:CCATransform",
            "CNN backbone of the CCA paper: strided convs, residual bottleneck blocks and NAF blocks",
            PAPER,
            {"M": 320, "widths": [192, 224, 256], "res_blocks": 3, "blocks": 4, "block": None,
             "in_channels": 3, "in_stride": 1},
            {"M": 16, "widths": [8, 8, 8], "res_blocks": 1, "blocks": 1},
        ),
        ComponentSpec(
            "cca.naf", "block", "lic_cca.naf:NAF",
            "NAF block: LayerNorm, SimpleGate, simplified channel attention, zero-init residual scales",
            NAF_PAPER, {"expand": 2}, {"channels": 8},
        ),
    ]  # fmt: skip


@hookimpl
def lic_recipes() -> list[RecipeSpec]:
    return [
        RecipeSpec(
            "cca", CCA,
            "the CCA paper's codec: NAF CNN backbone, uneven channel AR (k=1.7, M=320), CCA loss in training",
            PAPER,
        ),
        RecipeSpec(
            "cca-small", CCA_SMALL,
            "a small CCA codec that trains on 2 CPU cores (M=96, widths 32/48/64, lighter entropy nets)",
            PAPER,
        ),
    ]
