"""Values outside a coded support, on a constriction ANS stack: a side bit and 31 bits each.

A coder whose symbols cover a bounded range per element (a CDF row, a probability row) codes
the values beyond it as an *escape* symbol, then here: whether the value lies above or below
the range, and how far beyond it (``distance >= 0``, at most :data:`LIMIT` - 1), as uniform
16- and 15-bit halves. Escapes are rare (the tail mass of a distribution), so a fixed cost is
simpler than a code of its own and bounds what a hostile stream can make a decoder produce.
"""

from __future__ import annotations

import constriction
import numpy as np
import torch
from torch import Tensor

LIMIT = 1 << 31
"""Escaped values lie less than this far beyond their element's range."""

_BIT = constriction.stream.model.Uniform(2)
_LOW = constriction.stream.model.Uniform(1 << 16)
_HIGH = constriction.stream.model.Uniform(1 << 15)


def push(coder: "constriction.stream.stack.AnsCoder", above: Tensor, distance: Tensor) -> None:
    """Push escapes (``above`` bool (n,), ``distance`` int64 (n,)) so that :func:`pop` returns
    them next; an ANS coder is a stack, so push them *before* the symbols decoded before them."""
    if bool((distance < 0).any()) or bool((distance >= LIMIT).any()):
        raise ValueError(f"a value lies {int(distance.abs().max())} beyond its coded range (at most {LIMIT - 1})")
    if distance.numel():
        coder.encode_reverse((distance >> 16).int().cpu().numpy(), _HIGH)
        coder.encode_reverse((distance & 0xFFFF).int().cpu().numpy(), _LOW)
        coder.encode_reverse(above.int().cpu().numpy(), _BIT)


def pop(coder: "constriction.stream.stack.AnsCoder", n: int) -> tuple[Tensor, Tensor]:
    """The next ``n`` escapes: ``(above, distance)`` as CPU tensors."""
    if n == 0:
        return torch.zeros(0, dtype=torch.bool), torch.zeros(0, dtype=torch.long)
    above = torch.from_numpy(coder.decode(_BIT, n).astype(np.int64)).bool()
    low = torch.from_numpy(coder.decode(_LOW, n).astype(np.int64))
    high = torch.from_numpy(coder.decode(_HIGH, n).astype(np.int64))
    return above, (high << 16) | low
