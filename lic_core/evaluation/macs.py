"""Multiply-accumulates of a codec's eval forward, per part (what ``lic compose --summary`` shows
and ``lic ablate`` adds up; ``lic bench`` counts per coding stage in :mod:`.bench`)."""

from __future__ import annotations

import math

MACS_SIZE = 256


def part_macs(codec, size: int = MACS_SIZE) -> tuple[dict[str, int], int]:
    """Multiply-accumulates (FLOPs / 2, convolutions and matmuls) of an eval forward on one
    ``size`` x ``size`` image (rounded up to the stride): per part and in total."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    side = math.ceil(size / codec.stride) * codec.stride
    counter = FlopCounterMode(display=False)
    was_training = codec.training
    codec.eval()
    try:
        with counter, torch.no_grad():
            codec(torch.rand(1, 3, side, side))
    finally:
        codec.train(was_training)
    counts = counter.get_flop_counts()
    root = type(codec).__name__
    per = {key[len(root) + 1 :]: sum(v.values()) // 2 for key, v in counts.items() if key.startswith(root + ".")}
    return per, sum(counts.get("Global", {}).values()) // 2


def macs_per_pixel(codec, size: int = MACS_SIZE) -> float:
    """The eval forward's multiply-accumulates per pixel of a ``size`` x ``size`` image."""
    _, total = part_macs(codec, size)
    side = math.ceil(size / codec.stride) * codec.stride
    return total / (side * side)
