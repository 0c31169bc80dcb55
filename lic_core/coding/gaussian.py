"""Gaussian conditional with a fine scale table and resident coder tables.

CompressAI's default table has 64 scales from 0.11 to 256 and rounds every scale *up* to the
next entry, which costs 1.5-3.5% of rate. Here the table is finer (``levels``, default 256)
and a scale maps to the entry nearest in log space. The table is a buffer saved with the
weights, so the decoder uses exactly the encoder's.

The CDF table depends on ``levels`` alone, yet rebuilding it is not reproducible across
machines: ``exp`` and ``erfc`` differ in their last bits between CPUs, and on the project's
machines 7 of 256 scales and 1,005 CDF entries came out different. So a built (or loaded)
table of this module's own layout is kept, even by ``update(force=True)``: fine-tuning a
shipped codec, or shipping it again, leaves its table and hence the table files its ladder
shares (:mod:`lic_core.shared_tables`) unchanged.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

import lic_core._quiet  # noqa: F401
from compressai.entropy_models import GaussianConditional as _CompressAIGaussian

from lic_core.coding import table_coder
from lic_core.coding.precision import full_precision
from lic_core.coding.resident import ResidentTable

SCALE_MIN, SCALE_MAX = 0.11, 256.0


def scale_thresholds(table: Tensor) -> Tensor:
    """Geometric midpoints of adjacent table scales (float64): the boundaries of nearest-in-log.
    A product of two float32s is exact in float64 and IEEE square roots are correctly rounded,
    so every device computes the same thresholds."""
    t = table.detach().to("cpu", torch.float64)
    return torch.sqrt(t[:-1] * t[1:])


def exact_indexes(scales: Tensor, table: Tensor) -> Tensor:
    """Nearest-in-log table rows by comparing with :func:`scale_thresholds` (no logarithm, so
    equal scales give equal indexes on every device; scales below the first midpoint, including
    those under the lower bound, get row 0)."""
    thresholds = scale_thresholds(table).to(scales.device)
    return torch.bucketize(scales.detach().double(), thresholds).int()


def scale_table(levels: int = 256, lo: float = SCALE_MIN, hi: float = SCALE_MAX) -> Tensor:
    """``levels`` scales log-spaced from ``lo`` to ``hi``."""
    return torch.exp(torch.linspace(math.log(lo), math.log(hi), levels))


class GaussianConditional(ResidentTable, _CompressAIGaussian):
    """CompressAI's ``GaussianConditional`` with a fine table, nearest-in-log indexes and a
    resident coder table. ``likelihood(values, scales, means)`` is the training-time rate."""

    def __init__(self, levels: int = 256, scale_bound: float = SCALE_MIN, **kwargs) -> None:
        super().__init__(None, scale_bound=scale_bound, **kwargs)
        self.levels = int(levels)
        self.exact_indexes = False  # set by lic_core.coding.robust.make_exact

    def default_table(self) -> Tensor:
        return scale_table(self.levels)

    def update(self, force: bool = False) -> bool:  # type: ignore[override]
        """Build the CDF table of the default scale table, unless one of that layout is already
        built or loaded (see the module docstring; CompressAI's signature differs)."""
        if self._offset.numel() > 0 and (not force or self.holds_own_table()):
            return False
        self.scale_table = self.default_table().to(self.scale_table.device)
        super().update()
        return True

    def holds_own_table(self) -> bool:
        """Whether the built table has this module's layout: ``levels`` scales from
        :data:`SCALE_MIN` to :data:`SCALE_MAX` (to float32 rounding), one CDF row each."""
        table = self.scale_table
        return (
            table.numel() == self.levels == self._quantized_cdf.size(0) and self.levels > 1
            and math.isclose(float(table[0]), SCALE_MIN, rel_tol=1e-5)
            and math.isclose(float(table[-1]), SCALE_MAX, rel_tol=1e-5)
        )  # fmt: skip

    def update_scale_table(self, scale_table, force: bool = False) -> bool:
        if self._offset.numel() > 0 and not force:
            return False
        self.scale_table = self._prepare_scale_table(scale_table).to(self.scale_table.device)
        super().update()
        return True

    @full_precision
    def likelihood(self, values: Tensor, scales: Tensor, means: Tensor | None = None) -> Tensor:
        lik = self._likelihood(values, scales, means)
        return self.likelihood_lower_bound(lik) if self.use_likelihood_bound else lik

    def build_indexes(self, scales: Tensor) -> Tensor:
        """Table rows nearest in log to ``scales`` (exactly reproducible ones when ``exact_indexes``)."""
        table = self.scale_table
        if self.exact_indexes:
            return exact_indexes(scales, table)
        n = table.numel()
        lo, hi = math.log(float(table[0])), math.log(float(table[-1]))
        log_s = torch.log(self.lower_bound_scale(scales).float())
        pos = (log_s - lo) * ((n - 1) / (hi - lo)) if n > 1 else torch.zeros_like(log_s)
        return torch.round(pos).clamp_(0, n - 1).int()

    def compress(self, inputs: Tensor, indexes: Tensor, means: Tensor | None = None) -> list[bytes]:
        symbols = self.quantize(inputs, "symbols", means)
        table = self.coder_table()
        return [table_coder.encode(symbols[i], indexes[i], table) for i in range(symbols.size(0))]

    def decompress(
        self, strings: list[bytes], indexes: Tensor, dtype: torch.dtype = torch.float, means: Tensor | None = None
    ) -> Tensor:
        table = self.coder_table()
        out = torch.stack([table_coder.decode(s, indexes[i], table) for i, s in enumerate(strings)])
        return self.dequantize(out, means, dtype)
