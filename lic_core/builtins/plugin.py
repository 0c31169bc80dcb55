"""Entry-point module of plugin ``core``: the built-in components and recipes (light)."""

from __future__ import annotations

from lic_core.hookspec import hookimpl
from lic_core.specs import ComponentSpec, ModelSpec, RecipeSpec
from lic_core.version import __version__

requires_core = f"=={__version__}"

BALLE = "Ballé et al., Variational image compression with a scale hyperprior, ICLR 2018"
MINNEN = "Minnen et al., Joint autoregressive and hierarchical priors for learned image compression, NeurIPS 2018"
_B = "lic_core.builtins"
HE2016 = "He et al., Deep residual learning for image recognition, CVPR 2016"
HE2021 = "He et al., Checkerboard context model for efficient learned image compression, CVPR 2021"
HE2022 = (
    "He et al., ELIC: efficient learned image compression with unevenly grouped space-channel contextual "
    "adaptive coding, CVPR 2022"
)
LEE2019 = (
    "Lee et al., Extended end-to-end optimized image compression method based on a context-adaptive entropy "
    "model, CVPR Workshops 2019 (a post-processing network on the decoded image)"
)
CHENG = (
    "Cheng et al., Learned image compression with discretized Gaussian mixture likelihoods and attention "
    "modules, CVPR 2020"
)


@hookimpl
def lic_components() -> list[ComponentSpec]:
    return [
        ComponentSpec(
            "core.gdn", "transform", f"{_B}.gdn:GDNTransform",
            "GDN conv transform of bmshj2018/mbt2018 (CompressAI layout); optional feature blocks between its layers", BALLE,
            {"N": 128, "M": 192, "in_channels": 3, "in_stride": 1, "stem_kernel": 3, "block": None}, {"N": 16, "M": 24},
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
        # ELIC / Cheng 2020 transforms and blocks, spatial/channel context entropy models
        ComponentSpec(
            "core.elic", "transform", f"{_B}.elic:ElicTransform",
            "ELIC analysis/synthesis: conv5x5/2, residual bottlenecks, attention (CompressAI's Elic2022Official)",
            HE2022, {"N": 192, "M": 320, "in_channels": 3, "in_stride": 1, "block": None}, {"N": 16, "M": 24},
        ),
        ComponentSpec(
            "core.cheng2020", "transform", f"{_B}.elic:Cheng2020Transform",
            "Cheng 2020 anchor transform: residual blocks, GDN, sub-pixel upsampling (CompressAI's Cheng2020Anchor)",
            CHENG, {"N": 192, "M": None, "in_channels": 3, "in_stride": 1, "block": None}, {"N": 16},
        ),
        ComponentSpec(
            "core.hyper-elic", "transform", f"{_B}.elic:ElicHyperTransform",
            "ELIC's hyper transform (ReLU, transposed convs; outputs 2N side features)", HE2022,
            {"in_channels": 320, "N": 192, "out_channels": None}, {"in_channels": 24, "N": 16},
        ),
        ComponentSpec(
            "core.hyper-cheng2020", "transform", f"{_B}.elic:Cheng2020HyperTransform",
            "Cheng 2020's hyper transform (3x3 convs, LeakyReLU, sub-pixel upsampling)", CHENG,
            {"in_channels": 192, "N": 192, "out_channels": None}, {"in_channels": 24, "N": 16},
        ),
        ComponentSpec(
            "core.residual", "block", "lic_core.layers.blocks:ResidualBottleneck",
            "residual bottleneck block 1x1-3x3-1x1 with skip (ELIC's)", HE2016, {}, {"channels": 16},
        ),
        ComponentSpec(
            "core.residual3x3", "block", "lic_core.layers.blocks:Residual3x3",
            "residual block of two 3x3 convs with LeakyReLU (Cheng 2020's)", CHENG, {}, {"channels": 16},
        ),
        ComponentSpec(
            "core.attention", "block", "lic_core.layers.blocks:Attention",
            "Cheng 2020's simplified attention block (CompressAI's AttentionBlock)", CHENG, {}, {"channels": 16},
        ),
        ComponentSpec(
            "core.checkerboard", "entropy_model", f"{_B}.context:CheckerboardEntropyModel",
            "mean-scale hyperprior + two-pass checkerboard spatial context", HE2021,
            {"N": 192, "hyper": None, "parity": "even", "kernel_size": 5, "levels": 256, "residual": False},
            {"M": 16, "N": 16},
        ),
        ComponentSpec(
            "core.multistage", "entropy_model", f"{_B}.context:SpatialContextEntropyModel",
            "mean-scale hyperprior + k-stage spatial context over the 2x2 sub-lattices (any order)", HE2021,
            {"N": 192, "order": "four-stage", "hyper": None, "kernel_size": 5, "combine": "replace", "levels": 256,
             "residual": False},
            {"M": 16, "N": 16, "order": "four-stage", "kernel_size": [3, 5, 5], "combine": "sum"},
        ),
        ComponentSpec(
            "core.elic-groups", "entropy_model", f"{_B}.context:ElicEntropyModel",
            "ELIC: hyperprior + uneven channel groups x checkerboard, parameter aggregation", HE2022,
            {"N": 192, "groups": None, "hyper": None, "orders": "checkerboard", "kernel_size": 5,
             "context_widths": [224, 128], "combine": "replace", "levels": 256},
            {"M": 24, "N": 16, "groups": [4, 4, 16], "context_widths": [16, 8]},
        ),
        ComponentSpec(
            "core.gmm", "entropy_model", f"{_B}.gmm:GaussianMixtureEntropyModel",
            "discretized Gaussian mixture (K components) with hyperprior + checkerboard context", CHENG,
            {"N": 192, "K": 3, "hyper": None, "order": "checkerboard", "kernel_size": 5, "tail": 4.0,
             "max_support": 1024},
            {"M": 12, "N": 16, "K": 2},
        ),
        ComponentSpec(
            "core.postfilter", "prepost", f"{_B}.postfilter:PostFilter",
            "residual CNN on the decoded image (decoder-side enhancement; starts as the identity)", LEE2019,
            {"channels": 32, "depth": 4, "unshuffle": 1}, {"channels": 8, "depth": 2},
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
        RecipeSpec(
            "core.mbt2018-mean-lite",
            {
                "transform": {"id": "core.gdn", "N": 64, "M": 96},
                "entropy_model": {"id": "core.hyperprior", "N": 64, "mode": "mean-scale"},
                "quantizer": {"id": "core.mixed"},
            },
            "mbt2018-mean at N=64 M=96 (1.76 M parameters): the base of the default codec's recipe",
            MINNEN,
        ),
        RecipeSpec(
            "core.mbt2018-checkerboard-lite",
            {"base": "core.mbt2018-mean-lite", "entropy_model": {"id": "core.checkerboard", "N": 64, "residual": True}},
            "core.mbt2018-mean-lite + a checkerboard context (He et al. 2021) refining the hyperprior's "
            "parameters (residual: warm-starts from mbt2018-mean-lite weights)",
            HE2021,
        ),
        RecipeSpec(
            "core.mbt2018-checkerboard-lite-pf",
            {"base": "core.mbt2018-checkerboard-lite", "prepost": [{"id": "core.postfilter", "channels": 32, "depth": 4}]},
            "core.mbt2018-checkerboard-lite + a post-filter on the decoded image (2.5 M parameters): the "
            "default codec's recipe, under a second per Kodak image on 2 CPU cores; warm-starts from "
            "mbt2018-mean-lite weights (both new parts start as no-ops)",
            HE2021,
        ),
        RecipeSpec(
            "core.mbt2018-checkerboard-lite-pf2",
            {"base": "core.mbt2018-checkerboard-lite-pf", "prepost": [
                {"id": "core.postfilter", "channels": 32, "depth": 4},
                {"id": "core.postfilter", "channels": 64, "depth": 6, "unshuffle": 2}]},
            "core.mbt2018-checkerboard-lite-pf + a second post-filter before the first, on 2x2 pixel "
            "blocks (a 26x26-pixel view for about twice the first's cost per pixel); warm-starts from "
            "-pf weights (it starts as a no-op)",
            HE2021,
        ),
        RecipeSpec(
            "core.elic",
            {
                "transform": {"id": "core.elic", "N": 192, "M": 320},
                "entropy_model": {"id": "core.elic-groups", "N": 192, "groups": [16, 16, 32, 64, 192]},
                "quantizer": {"id": "core.mixed"},
            },
            "CompressAI's Elic2022Official (ELIC, N=192 M=320), same parameters", HE2022,
        ),
        RecipeSpec(
            "core.cheng2020-anchor-checkerboard",
            {
                "transform": {"id": "core.cheng2020", "N": 192},
                "entropy_model": {
                    "id": "core.checkerboard", "N": 192, "hyper": {"id": "core.hyper-cheng2020", "N": 192},
                },
                "quantizer": {"id": "core.mixed"},
            },
            "CompressAI's cheng2020-anchor-checkerboard (N=192), same parameters", HE2021,
        ),
        RecipeSpec(
            "core.cheng2020-gmm",
            {
                "transform": {"id": "core.cheng2020", "N": 192},
                "entropy_model": {"id": "core.gmm", "N": 192, "K": 3},
                "quantizer": {"id": "core.mixed"},
            },
            "Cheng et al. 2020's K=3 Gaussian mixture (N=M=192) with a checkerboard context instead of the "
            "serial one (same masked conv): 27,288,428 parameters, CompressAI's cheng2020-attn (29,631,788) "
            "less its 4 attention blocks (-3,032,832; core.cheng2020 is the anchor transform) plus a last "
            "entropy-parameter conv with 3KM=1728 outputs instead of 2M=384 (+689,472)",
            CHENG,
        ),
    ]


# The default codec: core.mbt2018-checkerboard-lite-pf2 trained at these lambdas (docs/zoo.md says how).
DEFAULT_LAMBDAS = (0.0018, 0.0035, 0.0067, 0.013, 0.025, 0.0483, 0.0932, 0.18)
DEFAULT_QUALITY = 3  # about 0.35 bpp and 30 dB on Kodak: what `lic compress` uses without --quality


@hookimpl
def lic_models() -> list[ModelSpec]:
    return [
        ModelSpec(
            f"core.lite-q{q}", f"lic_core:weights/mbt2018-checkerboard-lite-pf2-q{q}.safetensors",
            "core.mbt2018-checkerboard-lite-pf2",
            quality=q, lmbda=lmbda, summary=f"default codec, rate point {q} of {len(DEFAULT_LAMBDAS)} (MSE)",
            default=q == DEFAULT_QUALITY,
        )
        for q, lmbda in enumerate(DEFAULT_LAMBDAS, start=1)
    ]  # fmt: skip
