"""Scale and mean-scale hyperprior entropy models (Ballé 2018, Minnen 2018)."""

from __future__ import annotations

from typing import Any, Callable

from torch import Tensor

from lic_core.coding.one_thread import on_one_thread, on_one_thread_in_eval
from lic_core.coding.parts import GaussianLatent, HyperSide
from lic_core.interfaces import EntropyModel


class HyperpriorEntropyModel(EntropyModel):
    """``y`` coded with a Gaussian whose scales (and means, ``mode="mean-scale"``) come from a
    hyperprior. ``hyper`` builds the hyper transform (a ``transform`` component ref); by
    default the Ballé transform for ``scale`` and the Minnen one for ``mean-scale``.
    ``levels`` is the size of the Gaussian scale table."""

    def __init__(
        self, M: int, N: int = 128, mode: str = "mean-scale", hyper: Callable[..., Any] | None = None, levels: int = 256
    ) -> None:
        super().__init__()
        if mode not in ("scale", "mean-scale"):
            raise ValueError(f"mode must be 'scale' or 'mean-scale', got {mode!r}")
        from lic_core.builtins.gdn import MeanScaleHyperTransform, ScaleHyperTransform

        self.latent_channels, self.mode = M, mode
        width = 2 * M if mode == "mean-scale" else M
        if hyper is None:
            hyper = MeanScaleHyperTransform if mode == "mean-scale" else ScaleHyperTransform
            self.side = HyperSide(hyper(in_channels=M, N=N, out_channels=width))
        else:
            self.side = HyperSide(hyper(in_channels=M, out_channels=width))
        self.stride = self.side.stride
        self.y = GaussianLatent(levels)

    def _split(self, params: Tensor) -> tuple[Tensor, Tensor | None]:
        if self.mode == "scale":
            return params, None
        scales, means = params.chunk(2, 1)
        return scales, means

    @on_one_thread_in_eval  # eval: the latents compress gives (lic_core.coding.one_thread)
    def forward(self, y: Tensor) -> dict[str, Any]:
        params, z_lik = self.side(y, self.quantizer)
        scales, means = self._split(params)
        y_hat, y_lik = self.y(y, scales, means, self.quantizer)
        return {"y_hat": y_hat, "likelihoods": {"y": y_lik, "z": z_lik}}

    @on_one_thread  # the same entropy parameters at any thread count (lic_core.coding.one_thread)
    def compress(self, y: Tensor) -> dict[str, Any]:
        params, z_strings = self.side.compress(y, self.quantizer)
        y_strings, y_hat = self.y.compress(y, *self._split(params))
        return {"strings": [y_strings, z_strings], "shape": tuple(y.shape[-2:]), "y_hat": y_hat}

    @on_one_thread
    def decompress(self, strings: list[list[bytes]], shape: tuple[int, int]) -> dict[str, Any]:
        y_strings, z_strings = strings
        params = self.side.decompress(z_strings, shape, self.quantizer)
        return {"y_hat": self.y.decompress(y_strings, *self._split(params))}
