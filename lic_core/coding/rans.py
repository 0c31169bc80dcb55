"""CompressAI's rANS coder fed from tables kept resident after ``update()``.

CompressAI converts its whole padded CDF table to Python lists on every coding call. Here the
table is converted once into per-row lists trimmed to each row's length, and a call passes
only the rows its symbols use (indexes remapped), so the C++ binding copies far less.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass

import torch
from torch import Tensor

import lic_core._quiet  # noqa: F401
from compressai.ans import RansEncoder

from lic_core.coding import bounded


@dataclass
class CoderTable:
    """CDF rows as Python lists, their lengths and offsets: what the rANS coder consumes."""

    cdfs: list[list[int]]
    lengths: list[int]
    offsets: list[int]

    @classmethod
    def from_buffers(cls, quantized_cdf: Tensor, cdf_length: Tensor, offset: Tensor) -> "CoderTable":
        lengths = cdf_length.reshape(-1).int().tolist()
        rows = quantized_cdf.int().tolist()
        return cls([row[:n] for row, n in zip(rows, lengths)], lengths, offset.reshape(-1).int().tolist())

    def subset(self, indexes: Tensor) -> tuple[list[int], list[list[int]], list[int], list[int]]:
        """Remap ``indexes`` onto only the rows they use; returns (indexes, cdfs, lengths, offsets)."""
        flat = indexes.reshape(-1).to("cpu", torch.long)
        present = torch.bincount(flat, minlength=len(self.cdfs)) > 0  # O(n), unlike torch.unique's sort
        local = (torch.cumsum(present, 0, dtype=torch.int32) - 1)[flat]  # same rows as unique's inverse
        rows = present.nonzero().squeeze(1).tolist()
        return (
            local.tolist(),
            [self.cdfs[r] for r in rows],
            [self.lengths[r] for r in rows],
            [self.offsets[r] for r in rows],
        )


def encode(symbols: Tensor, indexes: Tensor, table: CoderTable) -> bytes:
    """Entropy-code integer ``symbols`` (any shape) with per-symbol table rows ``indexes``."""
    bounded.check_encodable(symbols, indexes, table)  # a corrupt model: an error, not a hang or heap overwrite
    idx, cdfs, lengths, offsets = table.subset(indexes)
    return RansEncoder().encode_with_indexes(symbols.reshape(-1).int().tolist(), idx, cdfs, lengths, offsets)


def decode(string: bytes, indexes: Tensor, table: CoderTable) -> Tensor:
    """Inverse of :func:`encode`: integer symbols shaped like ``indexes`` (on its device)."""
    bounded.check_table(table)
    bounded.check_indexes(indexes, len(table.cdfs))
    idx, cdfs, lengths, offsets = table.subset(indexes)
    values = bounded.decode(string, idx, cdfs, lengths, offsets)  # never reads outside ``string``'s copy
    out = torch.frombuffer(array("i", values), dtype=torch.int32) if values else torch.zeros(0, dtype=torch.int32)
    return out.reshape(indexes.shape).to(indexes.device)  # array(): 2-3x faster than torch.tensor(list)
