"""Small coding parts that entropy models are assembled from (CompressAI ``latent_codecs``
style), each aware of the codec's quantizer:

- :class:`HyperSide`: the hyperprior path ``y -> z -> side parameters`` with ``z`` coded by a
  factorized prior;
- :class:`GaussianLatent`: a latent coded with a conditional Gaussian given scales and means;
- :class:`GaussianCoderBase`: a context coder's Gaussian, its own or shared with its owner.
"""

from __future__ import annotations

from torch import Tensor, nn

from lic_core.coding.factorized import EntropyBottleneck
from lic_core.coding.gaussian import GaussianConditional
from lic_core.interfaces import Quantizer, Transform


class HyperSide(nn.Module):
    """``z = hyper.analysis(y)``, coded with a factorized prior; yields ``hyper.synthesis(z_hat)``."""

    def __init__(self, hyper: Transform) -> None:
        super().__init__()
        self.hyper = hyper
        self.entropy_bottleneck = EntropyBottleneck(int(hyper.latent_channels))
        self.stride = int(hyper.stride)

    def forward(self, y: Tensor, q: Quantizer) -> tuple[Tensor, Tensor]:
        """Side parameters and the likelihoods of ``z``."""
        z = self.hyper.analysis(y)
        eb = self.entropy_bottleneck
        z_rate, z_hat = q(z, eb.medians(), "z")
        if not self.training:
            z_hat = q.finalize(z_hat, "z")
        return self.hyper.synthesis(z_hat), eb.likelihood(z_rate)

    def compress(self, y: Tensor, q: Quantizer) -> tuple[Tensor, list[bytes]]:
        z = self.hyper.analysis(y)
        strings = self.entropy_bottleneck.compress(z)
        z_hat = self.entropy_bottleneck.decompress(strings, tuple(z.shape[-2:]))
        return self.hyper.synthesis(q.finalize(z_hat, "z")), strings

    def decompress(self, strings: list[bytes], y_shape: tuple[int, int], q: Quantizer) -> Tensor:
        size = (y_shape[0] // self.stride, y_shape[1] // self.stride)
        z_hat = self.entropy_bottleneck.decompress(strings, size)
        return self.hyper.synthesis(q.finalize(z_hat, "z"))


class GaussianLatent(nn.Module):
    """A latent coded with a conditional Gaussian (means may be ``None``: zero-mean)."""

    def __init__(self, levels: int = 256) -> None:
        super().__init__()
        self.gaussian_conditional = GaussianConditional(levels=levels)

    def forward(self, y: Tensor, scales: Tensor, means: Tensor | None, q: Quantizer) -> tuple[Tensor, Tensor]:
        """``(y_hat, likelihoods)``."""
        y_rate, y_hat = q(y, means, "y")
        return y_hat, self.gaussian_conditional.likelihood(y_rate, scales, means)

    def compress(self, y: Tensor, scales: Tensor, means: Tensor | None) -> tuple[list[bytes], Tensor]:
        gc = self.gaussian_conditional
        strings = gc.compress(y, gc.build_indexes(scales), means)
        return strings, gc.quantize(y, "dequantize", means)

    def decompress(self, strings: list[bytes], scales: Tensor, means: Tensor | None) -> Tensor:
        gc = self.gaussian_conditional
        return gc.decompress(strings, gc.build_indexes(scales), scales.dtype, means)


class GaussianCoderBase(nn.Module):
    """Base of the context coders (one per slice or group): their :class:`GaussianLatent` is
    either their own (registered as ``latent``) or ``shared`` by reference with the entropy model
    that registers it, so one scale table serves all slices and is saved once."""

    def __init__(self, shared: GaussianLatent | None = None, levels: int = 256) -> None:
        super().__init__()
        if shared is None:
            self.latent = GaussianLatent(levels)
        else:
            self.__dict__["_shared_latent"] = shared

    @property
    def gaussian(self) -> GaussianLatent:
        shared = self.__dict__.get("_shared_latent")
        return shared if shared is not None else self._modules["latent"]

    def update(self, force: bool = False) -> bool:
        """Build the Gaussian coder's CDF table (also when it is shared)."""
        return self.gaussian.gaussian_conditional.update(force=force)
