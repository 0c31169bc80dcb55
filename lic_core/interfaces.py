"""The six component kinds. Every component is an ``nn.Module`` subclass of one of these.

Factory signatures (what :func:`lic_core.compose` passes besides the recipe's parameters):

========== =====================================================================
kind        factory call
========== =====================================================================
transform   ``factory(in_channels=3, in_stride=1, **params)``
block       ``factory(channels, **params)``
entropy     ``factory(M, **params)`` (``M`` = the transform's latent channels)
quantizer   ``factory(**params)``
prepost     ``factory(in_channels, layout, **params)`` (``layout``: the outer stage's)
loss        ``factory(**params)``; ``weight``, ``start``, ``until`` set its schedule
========== =====================================================================

A parameter written as ``{id: ..., ...}`` inside a recipe is passed as a
:class:`~lic_core.composition.ComponentRef`, a callable that builds that component (a transform
can build its blocks with ``block(channels)``; an entropy model its hyper transform).
"""

from __future__ import annotations

from typing import Any, Mapping

import torch

import lic_core._quiet  # noqa: F401  (before compressai)
from compressai.latent_codecs import LatentCodec
from torch import Tensor, nn

from lic_core.coding.precision import full_precision


class Transform(nn.Module):
    """An analysis/synthesis pair.

    ``analysis`` maps (B, in_channels, H, W) to (B, latent_channels, H/s, W/s) with
    ``s = stride``; ``synthesis`` maps back to (B, out_channels, H, W). A backbone accepts
    ``in_channels``/``in_stride`` so that a pre-processing stage can replace its stem: with
    ``in_stride > 1`` the stage has already downsampled by that factor and takes the place of
    the first ``log2(in_stride)`` downsampling layers, which run at stride 1 (and their
    synthesis mirrors too). A backbone may also take ``stem_kernel``, the kernel of the stride-1
    layer that then adapts the stage's channels to its first width (``core.gdn``,
    ``tinylic.transform``, ``stf.transform``: 3 by default, a feature conv, not an image stem).
    """

    in_channels: int
    out_channels: int
    latent_channels: int
    stride: int
    analysis: nn.Module
    synthesis: nn.Module


class Block(nn.Module):
    """A shape-preserving feature block (B, C, H, W) -> (B, C, H, W), built as ``factory(C)``."""

    channels: int


class Quantizer(nn.Module):
    """How latents are quantized.

    ``forward(x, means=None, latent="y")`` returns ``(x_rate, x_hat)``: the values whose
    likelihood is the rate, and the values passed on (to the synthesis and to context models).
    In eval mode both are ``round(x - means) + means``, which is exactly what the entropy coder
    transmits. ``finalize`` is the deterministic test-time mapping applied to decoded values
    before synthesis (identity unless the method compensates the rounding error); it must
    depend only on its input so that the decoder reproduces the encoder.
    """

    @full_precision
    def forward(self, x: Tensor, means: Tensor | None = None, latent: str = "y") -> tuple[Tensor, Tensor]:
        if not self.training:
            q = self.round(x, means)
            return q, q
        return self.train_quantize(x, means, latent)

    @staticmethod
    def round(x: Tensor, means: Tensor | None = None) -> Tensor:
        if means is None:
            return torch.round(x)
        return torch.round(x - means) + means

    def train_quantize(self, x: Tensor, means: Tensor | None, latent: str) -> tuple[Tensor, Tensor]:
        raise NotImplementedError

    def finalize(self, x_hat: Tensor, latent: str = "y") -> Tensor:
        return x_hat


class EntropyModel(LatentCodec):
    """The latent codec for ``y`` with its side information (hyperprior) inside it.

    CompressAI's ``LatentCodec`` protocol:

    - ``forward(y) -> {"y_hat", "likelihoods": {name: tensor}, ...}``
    - ``compress(y) -> {"strings": [[bytes per image], ...], "shape": (h, w), "y_hat"}``
      where ``shape`` is the spatial size of ``y``;
    - ``decompress(strings, shape) -> {"y_hat"}``.

    ``stride`` is the factor ``y``'s size must be a multiple of (4 for a hyperprior with two
    stride-2 layers). The codec's quantizer is attached with :meth:`attach_quantizer` and read
    as :attr:`quantizer`.
    """

    latent_channels: int
    stride: int = 1

    @property
    def quantizer(self) -> Quantizer:
        """The codec's quantizer; standalone (no codec), a default mixed quantizer that
        follows this module's train/eval mode."""
        q = self.__dict__.get("_quantizer")
        if q is None:
            default = self.__dict__.get("_default_quantizer")
            if default is None:
                from lic_core.builtins.quantizers import MixedQuantizer

                default = self.__dict__["_default_quantizer"] = MixedQuantizer()
            return default.train(self.training)
        return q

    def attach_quantizer(self, q: Quantizer) -> None:
        """Share the codec's quantizer (a reference, not a submodule: the codec owns it)."""
        self.__dict__["_quantizer"] = q

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "quantizer":  # nn.Module would register it as a submodule, bypassing the property
            self.attach_quantizer(value)
        else:
            super().__setattr__(name, value)

    def update(self, force: bool = False) -> bool:
        """Build the CDF tables of every entropy coder inside (after training or loading)."""
        from lic_core.coding.tables import update_tables

        return update_tables(self, force=force)


class PrePost(nn.Module):
    """A stage wrapped around the backbone: ``pre(x)`` on the way in, ``post(x_hat)`` out.

    Declares ``in_channels``, ``out_channels`` (of ``pre``; ``post`` maps back) and ``stride``
    (the spatial downsampling of ``pre``). ``layout`` describes what ``pre`` outputs for the
    next stage (for example ``{"groups": 5, "producer": "fexm.stage"}``); stages nest like an
    onion, the first listed outermost.
    """

    in_channels: int
    out_channels: int
    stride: int = 1

    @property
    def layout(self) -> Mapping[str, Any]:
        return {}

    def pre(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def post(self, x_hat: Tensor) -> Tensor:
        raise NotImplementedError


class PostOnlyStage(PrePost):
    """A stage that acts on the way out only (decoder-side enhancement): ``pre`` is the
    identity, so channels, stride (1) and the outer stage's ``layout`` pass through unchanged;
    subclasses define ``post``."""

    def __init__(self, in_channels: int, layout: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        self.in_channels = self.out_channels = int(in_channels)
        self.stride = 1
        self._layout = dict(layout or {})

    @property
    def layout(self) -> Mapping[str, Any]:
        return self._layout

    def pre(self, x: Tensor) -> Tensor:
        return x


class LossTerm(nn.Module):
    """An extra training objective computed from the codec's forward outputs.

    ``forward(x, out, codec)`` returns a scalar tensor (unweighted). The trainer adds
    ``weight_at(progress) * term`` to the rate-distortion loss, where ``progress`` in [0, 1] is
    the fraction of training done: the weight is ``weight`` for ``start <= progress < until``
    and 0 elsewhere. ``setup(codec)`` is called once at composition to build auxiliary modules;
    everything a loss term owns exists in training only and never enters coding checkpoints.

    Diagnostics: ``forward`` may fill ``self.diagnostics`` with named scalar tensors (detached)
    describing that call; the trainer logs them next to the term's value, under the term's id
    (``"cca.loss/R_aux"``).
    """

    def __init__(self, weight: float = 1.0, start: float = 0.0, until: float = 1.0) -> None:
        super().__init__()
        self.weight, self.start, self.until = float(weight), float(start), float(until)
        self.diagnostics: dict[str, Tensor] = {}

    def setup(self, codec: nn.Module) -> None:
        """Build anything that depends on the codec (called once by ``compose``)."""

    def weight_at(self, progress: float) -> float:
        inside = self.start <= progress < self.until or (progress >= 1.0 and self.until >= 1.0)
        return self.weight if inside else 0.0

    def forward(self, x: Tensor, out: Mapping[str, Any], codec: nn.Module) -> Tensor:
        raise NotImplementedError


KIND_BASES: dict[str, type[nn.Module]] = {
    "transform": Transform,
    "block": Block,
    "entropy_model": EntropyModel,
    "quantizer": Quantizer,
    "prepost": PrePost,
    "loss": LossTerm,
}
