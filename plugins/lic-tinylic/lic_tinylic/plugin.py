"""Entry-point module of plugin ``tinylic`` (light: no torch, no model code)."""

from __future__ import annotations

from lic_core.hookspec import hookimpl
from lic_core.specs import ComponentSpec, RecipeSpec

requires_core = ">=0.1,<0.2"

PAPER = (
    "Lu, Chen, Pu, Ma, High-Efficiency Lossy Image Coding Through Adaptive Neighborhood Information "
    "Aggregation (Tiny-LIC), arXiv:2204.11448; code github.com/lumingzzz/TinyLIC"
)
JIANG = (
    "Jiang et al., Learned image compression with feature extraction, refinement, enhancement "
    "and quantization error compensation (ICRSA unit, §III-D)"
)
_P = "lic_tinylic"
_SMALL_HYPER = {"id": "tinylic.hyper", "N": 32, "depths": [1, 1], "heads": 2}


@hookimpl
def lic_components() -> list[ComponentSpec]:
    return [
        ComponentSpec(
            "tinylic.transform", "transform", f"{_P}.transform:TinyLICTransform",
            "Tiny-LIC ICSA units: strided conv + residual neighbourhood-attention block, stride 16", PAPER,
            {"in_channels": 3, "in_stride": 1, "N": 128, "M": 320, "widths": None, "depths": [2, 2, 6, 2],
             "heads": None, "kernel": 7, "mlp_ratio": 2.0, "drop_path": 0.1, "block": None, "backend": "auto",
             "stem_kernel": 3, "unit": "icsa"},
            {"N": 16, "M": 24, "depths": [1, 1, 1, 1], "heads": [1, 1, 2, 2], "kernel": 3},
        ),
        ComponentSpec(
            "tinylic.hyper", "transform", f"{_P}.transform:TinyLICHyper",
            "Tiny-LIC hyper transform (RNABs with 3x3 neighbourhoods; outputs 2M)", PAPER,
            {"in_channels": 320, "out_channels": None, "N": 192, "depths": [2, 2], "heads": 12, "kernel": 3,
             "mlp_ratio": 2.0, "drop_path": 0.1, "block": None, "backend": "auto"},
            {"in_channels": 24, "N": 16, "depths": [1, 1], "heads": 2},
        ),
        ComponentSpec(
            "tinylic.rnab", "block", f"{_P}.blocks:RNAB",
            "residual neighbourhood-attention block (pre-norm NA + MLP, clamped windows, relative bias)", PAPER,
            {"depth": 2, "heads": None, "kernel": 7, "mlp_ratio": 2.0, "drop_path": 0.0, "backend": "auto"},
            {"channels": 16, "depth": 1, "heads": 2, "kernel": 3},
        ),
        ComponentSpec(
            "tinylic.icrsa", "block", f"{_P}.crm:ICRSABlock",
            "ICRSA block (Jiang et al.): a two-stage concatenated residual module, then an RNAB", JIANG,
            {"depth": 2, "heads": None, "kernel": 7, "mlp_ratio": 2.0, "drop_path": 0.0, "backend": "auto", "stages": 2},
            {"channels": 16, "depth": 1, "heads": 2, "kernel": 3},
        ),
        ComponentSpec(
            "tinylic.mcm", "entropy_model", f"{_P}.mcm:MultistageContextModel",
            "multistage context model: cosine channel slices, 4-stage / checkerboard spatial context", PAPER,
            {"hyper": None, "slices": 4, "groups": None, "combine": "sum", "levels": 256},
            {"M": 24, "hyper": _SMALL_HYPER},
        ),
    ]  # fmt: skip


def _recipe(N: int, M: int, hyper: dict, **transform) -> dict:
    return {
        "transform": {"id": "tinylic.transform", "N": N, "M": M, **transform},
        "entropy_model": {"id": "tinylic.mcm", "hyper": hyper},
        "quantizer": {"id": "core.mixed"},
    }


@hookimpl
def lic_recipes() -> list[RecipeSpec]:
    return [
        RecipeSpec(
            "tinylic", _recipe(128, 320, {"id": "tinylic.hyper", "N": 192}),
            "Tiny-LIC, N=128 M=320 (about 28.3 M parameters)", PAPER,
        ),
        RecipeSpec(
            "tinylic-small",
            _recipe(32, 64, {"id": "tinylic.hyper", "N": 48, "heads": 3}, depths=[1, 1, 2, 1], kernel=5),
            "Tiny-LIC layout at 2-CPU-core size: N=32 M=64, depths [1,1,2,1], kernel 5", PAPER,
        ),
        RecipeSpec(
            "tinylic-icrsa", {"base": "tinylic", "transform": {"unit": "icrsa"}},
            "Tiny-LIC with Jiang et al.'s ICRSA units (a two-stage CRM before each RNAB)", JIANG,
        ),
        RecipeSpec(
            "tinylic-icrsa-small", {"base": "tinylic-small", "transform": {"unit": "icrsa"}},
            "tinylic-small with ICRSA units (2 CPU cores)", JIANG,
        ),
    ]  # fmt: skip
