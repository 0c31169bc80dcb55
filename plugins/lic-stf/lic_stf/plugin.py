"""Entry-point module of plugin ``stf`` (light: no torch, no model code)."""

from __future__ import annotations

from lic_core.hookspec import hookimpl
from lic_core.specs import ComponentSpec, RecipeSpec

requires_core = ">=0.1,<0.2"

PAPER = (
    "Zou, Song, Zhang, The Devil Is in the Details: Window-based Attention for Image Compression "
    "(STF), CVPR 2022; code github.com/Googolxx/STF"
)
_P = "lic_stf"
_SMALL_HYPER = {"id": "stf.hyper", "N": 16}


@hookimpl
def lic_components() -> list[ComponentSpec]:
    return [
        ComponentSpec(
            "stf.transform", "transform", f"{_P}.transform:STFTransform",
            "STF symmetrical transformer: patch embed, Swin stages (window 4), patch merging/split", PAPER,
            {"in_channels": 3, "in_stride": 1, "embed_dim": 48, "M": None, "depths": [2, 2, 6, 2],
             "heads": [3, 6, 12, 24], "window": 4, "mlp_ratio": 4.0, "drop_path": 0.2, "block": None,
             "stem_kernel": 3},
            {"embed_dim": 8, "depths": [1, 1, 1, 1], "heads": [1, 1, 2, 2], "mlp_ratio": 2.0},
        ),
        ComponentSpec(
            "stf.hyper", "transform", f"{_P}.transform:STFHyper",
            "STF hyper transform (3x3 conv stacks, separate mean and scale synthesis; outputs 2M)", PAPER,
            {"in_channels": 384, "out_channels": None, "N": 192},
            {"in_channels": 24, "N": 16},
        ),
        ComponentSpec(
            "stf.swin", "block", f"{_P}.blocks:SwinStage",
            "Swin blocks (timm): window attention with relative bias, shifted windows on alternate blocks", PAPER,
            {"depth": 2, "heads": None, "window": 4, "mlp_ratio": 4.0, "drop_path": 0.0},
            {"channels": 16, "depth": 2, "heads": 2},
        ),
        ComponentSpec(
            "stf.channel_ar", "entropy_model", f"{_P}.channel_ar:ChannelAREntropyModel",
            "channel-wise autoregressive model: equal slices, at most 6 as support, latent residual prediction", PAPER,
            {"hyper": None, "slices": 12, "max_support": 6, "widths": [224, 176, 128, 64], "levels": 256},
            {"M": 24, "hyper": _SMALL_HYPER, "slices": 4, "max_support": 2, "widths": [16, 16]},
        ),
    ]  # fmt: skip


@hookimpl
def lic_recipes() -> list[RecipeSpec]:
    return [
        RecipeSpec(
            "stf",
            {
                "transform": {"id": "stf.transform", "embed_dim": 48},
                "entropy_model": {"id": "stf.channel_ar", "hyper": {"id": "stf.hyper", "N": 192}},
                "quantizer": {"id": "core.mixed"},
            },
            "STF, embed 48, M=384, 12 slices (about 99.9 M parameters)", PAPER,
        ),
        RecipeSpec(
            "stf-small",
            {
                "transform": {"id": "stf.transform", "embed_dim": 12, "depths": [1, 1, 2, 1], "heads": [1, 2, 3, 6]},
                "entropy_model": {
                    "id": "stf.channel_ar", "slices": 4, "max_support": 2, "widths": [48, 32],
                    "hyper": {"id": "stf.hyper", "N": 48},
                },
                "quantizer": {"id": "core.mixed"},
            },
            "STF layout at 2-CPU-core size: embed 12 (M=96), depths [1,1,2,1], 4 slices", PAPER,
        ),
    ]  # fmt: skip
