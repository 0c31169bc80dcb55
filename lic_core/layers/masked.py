"""Masked convolutions for spatial context models over the 2x2 sub-lattices of a latent.

A latent pixel at ``(h, w)`` belongs to sub-lattice ``(h % 2, w % 2)``. A context conv used
when stage ``i`` is decoded may only read pixels of the sub-lattices decoded before it. For a
target sub-lattice ``(ty, tx)``, the tap at offset ``(u, v)`` from the kernel centre reads
sub-lattice ``((ty + u) % 2, (tx + v) % 2)``; :func:`lattice_mask` keeps the taps that read a
decoded sub-lattice from some target of the stage. This gives He et al.'s checkerboard mask for
two stages and Tiny-LIC's three multistage masks for four. (With several targets whose taps
differ, a tap may land on a pixel not yet decoded for one of them; the multi-stage coder sets
those pixels to zero, so decoding stays causal and exact.)
"""

from __future__ import annotations

from typing import Iterable, Sequence

import torch
from torch import Tensor, nn

Position = tuple[int, int]


def lattice_mask(kernel_size: int, decoded: Iterable[Position], targets: Iterable[Position]) -> Tensor:
    """A ``(k, k)`` 0/1 mask: the taps that read a ``decoded`` sub-lattice from one of ``targets``."""
    if kernel_size % 2 != 1:
        raise ValueError(f"a masked context conv needs an odd kernel size, got {kernel_size}")
    done = {(int(a) % 2, int(b) % 2) for a, b in decoded}
    goals = [(int(a), int(b)) for a, b in targets]
    if not goals:
        raise ValueError("lattice_mask needs at least one target sub-lattice")
    r = kernel_size // 2
    mask = torch.zeros(kernel_size, kernel_size)
    for i in range(kernel_size):
        for j in range(kernel_size):
            u, v = i - r, j - r
            if any(((ty + u) % 2, (tx + v) % 2) in done for ty, tx in goals):
                mask[i, j] = 1.0
    return mask


class MaskedConv2d(nn.Conv2d):
    """A conv whose weight is multiplied by a fixed ``mask`` buffer shaped like the weight (as
    in CompressAI's ``MaskedConv2d``). The mask is applied in the forward pass, so masked taps
    get no gradient and the stored weight is never rewritten. The mask is derived from the
    constructor's arguments, so it is not saved (it would double the conv's size on disk);
    a state dict that still holds it (CompressAI's, older lic files) loads, the mask ignored."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, mask: Tensor, **kwargs) -> None:
        kwargs.setdefault("padding", kernel_size // 2)
        super().__init__(in_channels, out_channels, kernel_size, **kwargs)
        if mask.dim() == 2:
            mask = mask.expand_as(self.weight)
        if mask.shape != self.weight.shape:
            raise ValueError(f"mask shape {tuple(mask.shape)} does not match weight {tuple(self.weight.shape)}")
        self.register_buffer("mask", mask.to(self.weight.dtype).clone(), persistent=False)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:
        state_dict.pop(prefix + "mask", None)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def forward(self, x: Tensor) -> Tensor:
        return self._conv_forward(x, self.weight * self.mask, self.bias)


class LatticeMaskedConv2d(MaskedConv2d):
    """A :class:`MaskedConv2d` with the :func:`lattice_mask` of ``decoded`` and ``targets``."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        decoded: Iterable[Position],
        targets: Iterable[Position],
        **kwargs,
    ) -> None:
        mask = lattice_mask(kernel_size, decoded, targets)
        if not bool(mask.any()):
            raise ValueError(f"no {kernel_size}x{kernel_size} tap reads a decoded sub-lattice for targets {targets}")
        super().__init__(in_channels, out_channels, kernel_size, mask, **kwargs)


class CheckerboardMaskedConv2d(LatticeMaskedConv2d):
    """He et al.'s checkerboard context conv: the taps of odd ``u + v`` (the anchors' neighbours)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 5, **kwargs) -> None:
        super().__init__(in_channels, out_channels, kernel_size, [(0, 0), (1, 1)], [(0, 1), (1, 0)], **kwargs)


def stage_context_convs(
    stages: Sequence[Sequence[Position]],
    in_channels: int,
    out_channels: int | Sequence[int],
    kernel_size: int | Sequence[int] = 5,
) -> nn.ModuleList:
    """One :class:`LatticeMaskedConv2d` per stage after the first (stage ``i`` sees stages ``< i``).

    ``out_channels`` and ``kernel_size`` may be given per stage (``len(stages) - 1`` values).
    """
    n = len(stages) - 1
    outs = [out_channels] * n if isinstance(out_channels, int) else list(out_channels)
    ks = [kernel_size] * n if isinstance(kernel_size, int) else list(kernel_size)
    if len(outs) != n or len(ks) != n:
        raise ValueError(f"{len(stages)} stages need {n} out_channels/kernel_size values")
    convs = []
    for i in range(1, len(stages)):
        decoded = [p for stage in stages[:i] for p in stage]
        convs.append(LatticeMaskedConv2d(in_channels, outs[i - 1], ks[i - 1], decoded, stages[i]))
    return nn.ModuleList(convs)


def drop_saved_masks(module: nn.Module, state: dict[str, Tensor]) -> dict[str, Tensor]:
    """``state`` without the ``mask`` entries of ``module``'s :class:`MaskedConv2d` layers
    (files written before masks stopped being saved hold them)."""
    masks = {f"{name}.mask" for name, m in module.named_modules() if isinstance(m, MaskedConv2d)}
    return {k: v for k, v in state.items() if k not in masks}
