"""What ``lic plugin new`` generates for each component kind: the class, its spec and its README text.

The component code and its tests are the ``<kind>.py.tmpl`` and ``test_<kind>.py.tmpl`` files
next to this module; this table holds what goes into the plugin's ``ComponentSpec``, its demo
recipe and its README.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: a small core codec that the demo recipes plug the generated component into
_TINY_TRANSFORM = {"id": "core.gdn", "N": 8, "M": 16}
_TINY_ENTROPY = {"id": "core.hyperprior", "N": 8}


@dataclass(frozen=True)
class KindTemplate:
    """The generated component of one kind.

    ``params``: documented parameters with defaults, each with one line for the README table;
    ``example``: the small parameters the conformance kit builds it with;
    ``recipe``: the demo recipe (``{id}`` stands for the component's id), or ``None``.
    """

    cls: str
    summary: str
    paper: str
    description: str
    params: dict[str, tuple[Any, str]]
    example: dict[str, Any]
    recipe: dict[str, Any] | None
    usage: str = ""


KIND_TEMPLATES: dict[str, KindTemplate] = {
    "transform": KindTemplate(
        cls="SmallConvTransform",
        summary="small CNN analysis/synthesis transform (stride 16, LeakyReLU)",
        paper="Balle et al., End-to-end optimized image compression, ICLR 2017 (layout; GDN replaced by LeakyReLU)",
        description=(
            "Four 5x5 stride-2 convolutions with LeakyReLU map the image to `M` latent channels; the\n"
            "synthesis mirrors them with transposed convolutions. `in_channels`/`in_stride` let a\n"
            "pre-processing stage replace the stem (compose passes them)."
        ),
        params={
            "N": (64, "hidden channels"),
            "M": (96, "latent channels (the entropy model's `M`)"),
            "in_channels": (3, "input channels (set by compose after pre-processing stages)"),
            "in_stride": (1, "downsampling already done by stages before it: 1, 2, 4 or 8"),
        },
        example={"N": 8, "M": 16},
        recipe={"transform": {"id": "{id}", "N": 8, "M": 16}, "entropy_model": _TINY_ENTROPY},
    ),
    "block": KindTemplate(
        cls="ResidualConvBlock",
        summary="residual block x + conv(LeakyReLU(conv(x)))",
        paper="He et al., Deep residual learning for image recognition, CVPR 2016",
        description=(
            "A shape-preserving residual block. Transforms that take a `block` parameter build it\n"
            "as `block(channels)` from a recipe entry such as `block: {id: <this id>, hidden: 64}`."
        ),
        params={
            "hidden": (None, "width of the inner convolution (default: `channels`)"),
            "kernel_size": (3, "odd kernel size of both convolutions"),
        },
        example={"channels": 8},
        recipe=None,
        usage=(
            "In a recipe, pass it to a transform that accepts a `block` parameter:\n\n"
            "```yaml\ntransform: {id: SOME.transform, block: {id: {id}, hidden: 64}}\n```"
        ),
    ),
    "entropy_model": KindTemplate(
        cls="MeanScaleHyperprior",
        summary="mean-scale hyperprior entropy model on lic's HyperSide and GaussianLatent",
        paper="Minnen et al., Joint autoregressive and hierarchical priors for learned image compression, NeurIPS 2018",
        description=(
            "The hyper latent `z` (stride 4) is coded with a factorized prior; the hyper synthesis\n"
            "gives the means and (through a softplus) the scales of a conditional Gaussian for `y`.\n"
            "Built from `lic_core.coding.parts` (`HyperSide`, `GaussianLatent`), so coding uses lic's\n"
            "rANS coder and the codec's quantizer."
        ),
        params={
            "N": (64, "hyper latent channels"),
            "levels": (256, "size of the Gaussian scale table used for coding"),
        },
        example={"M": 16, "N": 8},
        recipe={"transform": _TINY_TRANSFORM, "entropy_model": {"id": "{id}", "N": 8}},
    ),
    "quantizer": KindTemplate(
        cls="SoftRoundQuantizer",
        summary="soft rounding for the reconstruction and uniform noise for the rate in training",
        paper="Agustsson & Theis, Universally quantized neural compression, NeurIPS 2020",
        description=(
            "In training the rate sees additive uniform noise and the reconstruction sees\n"
            "`soft_round(x - means) + means`; in eval mode both are `round(x - means) + means`,\n"
            "exactly what the entropy coder transmits."
        ),
        params={"alpha": (4.0, "hardness of the soft rounding (larger: closer to rounding)")},
        example={},
        recipe={
            "transform": _TINY_TRANSFORM,
            "entropy_model": _TINY_ENTROPY,
            "quantizer": {"id": "{id}", "alpha": 4.0},
        },
    ),
    "prepost": KindTemplate(
        cls="ColourTransformStage",
        summary="learned 1x1 colour transform before the backbone, its exact inverse after",
        paper="ITU-R BT.601 (the YCbCr matrix it starts from)",
        description=(
            "`pre(x) = W x + b` per pixel, initialised to BT.601 YCbCr and trained with the codec;\n"
            "`post` applies the exact inverse, so the stage changes neither channels nor stride."
        ),
        params={"init": ("ycbcr", "`ycbcr` (3 channels) or `identity`")},
        example={"in_channels": 3},
        recipe={"prepost": [{"id": "{id}"}], "transform": _TINY_TRANSFORM, "entropy_model": _TINY_ENTROPY},
    ),
    "loss": KindTemplate(
        cls="GradientL1Term",
        summary="edge-preserving L1 distance between the image gradients of x_hat and x",
        paper=(
            "after the gradient difference loss of Mathieu et al., Deep multi-scale video prediction "
            "beyond mean square error, ICLR 2016"
        ),
        description=(
            "`mean|dx(x_hat) - dx(x)| + mean|dy(x_hat) - dy(x)|`, added to the rate-distortion loss\n"
            "with `weight` while training progress is in `[start, until)`."
        ),
        params={
            "weight": (1.0, "weight of the term in the training loss"),
            "start": (0.0, "training progress (0..1) from which it applies"),
            "until": (1.0, "training progress (0..1) until which it applies"),
        },
        example={"recipe": {"transform": _TINY_TRANSFORM, "entropy_model": _TINY_ENTROPY}},
        recipe={
            "transform": _TINY_TRANSFORM,
            "entropy_model": _TINY_ENTROPY,
            "losses": [{"id": "{id}", "weight": 0.1}],
        },
    ),
}
