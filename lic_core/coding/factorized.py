"""The factorized (fully learned) prior for the hyper latent ``z``, quantizer-aware."""

from __future__ import annotations

import torch
from torch import Tensor

import lic_core._quiet  # noqa: F401
from compressai.entropy_models import EntropyBottleneck as _CompressAIBottleneck

from lic_core.coding import table_coder
from lic_core.coding.precision import full_precision
from lic_core.coding.resident import ResidentTable


class EntropyBottleneck(ResidentTable, _CompressAIBottleneck):
    """CompressAI's ``EntropyBottleneck`` with a resident coder table and a ``likelihood`` of
    already-quantized values, so that the codec's quantizer decides how ``z`` is quantized."""

    def medians(self) -> Tensor:
        """Per-channel medians shaped (1, C, 1, 1)."""
        return self.quantiles[:, 0, 1].detach().reshape(1, -1, 1, 1)

    @full_precision
    def likelihood(self, values: Tensor) -> Tensor:
        c = values.size(1)
        flat = values.transpose(0, 1).reshape(c, 1, -1)
        lik, _, _ = self._likelihood(flat)
        if self.use_likelihood_bound:
            lik = self.likelihood_lower_bound(lik)
        return lik.reshape(c, values.size(0), *values.shape[2:]).transpose(0, 1)

    def _indexes(self, like: Tensor) -> Tensor:
        c = like.size(1)
        return torch.arange(c, device=like.device, dtype=torch.int32).reshape(1, c, 1, 1).expand_as(like)

    def compress(self, x: Tensor) -> list[bytes]:  # type: ignore[override]
        symbols = self.quantize(x, "symbols", self.medians())
        indexes = self._indexes(x)
        table = self.coder_table()
        return [table_coder.encode(symbols[i], indexes[i], table) for i in range(x.size(0))]

    def decompress(self, strings: list[bytes], size: tuple[int, int]) -> Tensor:  # type: ignore[override]
        like = self.medians().new_empty((len(strings), self.channels, *size))
        indexes = self._indexes(like)
        table = self.coder_table()
        out = torch.stack([table_coder.decode(s, indexes[i], table) for i, s in enumerate(strings)])
        return self.dequantize(out.to(like.device), self.medians(), like.dtype)
