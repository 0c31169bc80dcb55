"""Entry-point module of plugin ``core``: the built-in components and recipes (light)."""

from __future__ import annotations

from lic_core.hookspec import hookimpl
from lic_core.specs import ComponentSpec, RecipeSpec
from lic_core.version import __version__

requires_core = f"=={__version__}"

BALLE = "Ballé et al., Variational image compression with a scale hyperprior, ICLR 2018"
MINNEN = "Minnen et al., Joint autoregressive and hierarchical priors for learned image compression, NeurIPS 2018"
_B = "lic_core.builtins"


@hookimpl
def lic_components() -> list[ComponentSpec]:
    return [
        ComponentSpec(
            "core.gdn", "transform", f"{_B}.gdn:GDNTransform",
            "GDN conv transform of bmshj2018/mbt2018 (CompressAI layout)", BALLE,
            {"N": 128, "M": 192, "in_channels": 3, "in_stride": 1}, {"N": 16, "M": 24},
        ),
        ComponentSpec(
            "core.hyper-scale", "transform", f"{_B}.gdn:ScaleHyperTransform",
            "hyper transform of bmshj2018 (|y|, ReLU; outputs scales)", BALLE,
            {"in_channels": 192, "N": 128, "out_channels": None}, {"in_channels": 24, "N": 16},
        ),
        ComponentSpec(
            "core.hyper-meanscale", "transform", f"{_B}.gdn:MeanScaleHyperTransform",
            "hyper transform of mbt2018-mean (LeakyReLU; outputs scales and means)", MINNEN,
            {"in_channels": 192, "N": 128, "out_channels": None}, {"in_channels": 24, "N": 16},
        ),
        ComponentSpec(
            "core.hyperprior", "entropy_model", f"{_B}.hyperprior:HyperpriorEntropyModel",
            "Gaussian conditional with a scale or mean-scale hyperprior", MINNEN,
            {"N": 128, "mode": "mean-scale", "hyper": None, "levels": 256}, {"N": 16},
        ),
        ComponentSpec(
            "core.noise", "quantizer", f"{_B}.quantizers:NoiseQuantizer",
            "additive uniform noise in training", BALLE,
        ),
        ComponentSpec(
            "core.ste", "quantizer", f"{_B}.quantizers:STEQuantizer",
            "straight-through rounding around the means in training",
            "Theis et al., Lossy image compression with compressive autoencoders, ICLR 2017",
        ),
        ComponentSpec(
            "core.mixed", "quantizer", f"{_B}.quantizers:MixedQuantizer",
            "noise for the rate, straight-through rounding for the reconstruction (default)",
            "Minnen & Singh, Channel-wise autoregressive entropy models, ICIP 2020",
        ),
        ComponentSpec(
            "core.rd", "loss", f"{_B}.losses:RateDistortionTerm",
            "rate-distortion objective (MSE or MS-SSIM) as an extra weighted term", BALLE,
            {"lmbda": 0.013, "metric": "mse", "weight": 1.0, "start": 0.0, "until": 1.0},
        ),
    ]  # fmt: skip


@hookimpl
def lic_recipes() -> list[RecipeSpec]:
    return [
        RecipeSpec(
            "core.bmshj2018-hyperprior",
            {
                "transform": {"id": "core.gdn", "N": 128, "M": 192},
                "entropy_model": {"id": "core.hyperprior", "N": 128, "mode": "scale"},
                "quantizer": {"id": "core.noise"},
            },
            "CompressAI's bmshj2018-hyperprior (ScaleHyperprior), N=128 M=192", BALLE,
        ),
        RecipeSpec(
            "core.mbt2018-mean",
            {
                "transform": {"id": "core.gdn", "N": 128, "M": 192},
                "entropy_model": {"id": "core.hyperprior", "N": 128, "mode": "mean-scale"},
                "quantizer": {"id": "core.mixed"},
            },
            "CompressAI's mbt2018-mean (MeanScaleHyperprior), N=128 M=192", MINNEN,
        ),
    ]
