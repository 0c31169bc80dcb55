"""Entry-point module of plugin ``litedcn`` (light: no torch, no model code)."""

from __future__ import annotations

from lic_core.hookspec import hookimpl
from lic_core.specs import ComponentSpec, RecipeSpec

requires_core = ">=0.1,<0.2"

DKIC_PAPER = (
    "Wang, Fu, Chen, Liu, Dynamic Kernel-Based Adaptive Spatial Aggregation for Learned Image "
    "Compression, 2023 (arXiv:2308.08723); Lite-DCN after DCNv3 (Wang et al., InternImage, CVPR 2023)"
)
paper = DKIC_PAPER
_P = "lic_litedcn"
_SMALL_BLOCK = {"id": "litedcn.block", "n": 1}


@hookimpl
def lic_components() -> list[ComponentSpec]:
    return [
        ComponentSpec(
            "litedcn.block", "block", f"{_P}.block:LiteDCNBlockGroup",
            "dynamic residual block group: n x (x + conv1x1(GELU(LiteDCN(LN(x))))), conv3x3, plus the input",
            DKIC_PAPER,
            {"n": 3, "groups": None, "kernel_size": 3, "kernel": "pytorch", "offset_scale": 1.0},
            {"channels": 8, "n": 1, "groups": 2},
        ),
        ComponentSpec(
            "litedcn.hyper", "transform", f"{_P}.hyper:DynamicHyperTransform",
            "dynamic hyperprior: hyper analysis/synthesis with Lite-DCN block groups (stride 4)",
            DKIC_PAPER, {"in_channels": 320, "N": 192, "out_channels": None, "block": None},
            {"in_channels": 12, "N": 8},
        ),
        ComponentSpec(
            "litedcn.transform", "transform", f"{_P}.transform:LiteDCNTransform",
            "CNN backbone (conv5x5/2 stages, stride 16) whose residual stages are Lite-DCN block groups",
            DKIC_PAPER, {"N": 192, "M": 320, "in_channels": 3, "in_stride": 1, "block": None},
            {"N": 8, "M": 12, "block": {"id": "litedcn.block", "n": 1, "groups": 2}},
        ),
    ]  # fmt: skip


@hookimpl
def lic_recipes() -> list[RecipeSpec]:
    return [
        RecipeSpec(
            "dkic",
            {
                "transform": {"id": "litedcn.transform", "N": 192, "M": 320},
                "entropy_model": {
                    "id": "asymmetric.entropy_model", "groups": [16, 16, 32, 64, 192], "stages": [4, 4, 2, 2, 2],
                    "N": 192, "hyper": {"id": "litedcn.hyper", "N": 192},
                },
                "quantizer": {"id": "core.mixed"},
            },
            "DKIC: Lite-DCN backbone, dynamic hyperprior, asymmetric spatial-channel entropy model (N=192, M=320)",
            DKIC_PAPER,
        ),
        RecipeSpec(
            "dkic-small",
            {
                "transform": {"id": "litedcn.transform", "N": 32, "M": 64, "block": _SMALL_BLOCK},
                "entropy_model": {
                    "id": "asymmetric.entropy_model", "groups": [4, 4, 8, 16, 32], "stages": [4, 4, 2, 2, 2],
                    "N": 32, "channel_hidden": [32, 32], "hyper": {"id": "litedcn.hyper", "N": 32},
                },
                "quantizer": {"id": "core.mixed"},
            },
            "DKIC at toy size for 2 CPU cores (N=32, M=64, one block per group)", DKIC_PAPER,
        ),
    ]  # fmt: skip
