"""Entry-point module of plugin ``asymmetric`` (light: no torch, no model code)."""

from __future__ import annotations

from lic_core.hookspec import hookimpl
from lic_core.specs import ComponentSpec

requires_core = ">=0.1,<0.2"

DKIC_PAPER = (
    "Wang, Fu, Chen, Liu, Dynamic Kernel-Based Adaptive Spatial Aggregation for Learned Image "
    "Compression, 2023 (arXiv:2308.08723), asymmetric spatial-channel entropy model"
)

paper = DKIC_PAPER


@hookimpl
def lic_components() -> list[ComponentSpec]:
    return [
        ComponentSpec(
            "asymmetric.entropy_model", "entropy_model", "lic_asymmetric.entropy:AsymmetricEntropyModel",
            "5 uneven channel slices with hyperprior and channel context; 4-stage spatial context for the "
            "first two slices, checkerboard for the rest; ELIC parameter aggregation",
            DKIC_PAPER,
            {"groups": [16, 16, 32, 64, 192], "stages": [4, 4, 2, 2, 2], "N": 192, "hyper": None,
             "side_channels": None, "kernel_size": 5, "channel_hidden": [224, 128], "combine": "replace",
             "levels": 256},
            {"M": 24, "groups": [2, 2, 4, 4, 12], "N": 8, "channel_hidden": [8]},
        ),
    ]  # fmt: skip
