"""A convolution stack that runs in channels-last memory on CPU.

PyTorch's CPU convolutions in the default (NCHW) layout scale poorly over threads next to
oneDNN's channels-last kernels: on the default codec's synthesis and post-filters with 2
threads, channels-last takes about 0.5-0.7x the time (with one thread about the same), and its
kernels compute each output pixel in an order that does not depend on the number of threads
(decoded pixels are the same with 1, 2 or 4 threads; the NCHW path changes a few by 1/255). Plain convolution stacks gain; modules that ``.view`` their input
need not care, because the stack hands back a contiguous (NCHW) tensor.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class ChannelsLastSequential(nn.Sequential):
    """``nn.Sequential`` (same parameter names) whose input is made channels-last on CPU and
    whose output is returned contiguous; elsewhere (CUDA, ...) a plain ``nn.Sequential``."""

    def forward(self, x: Tensor) -> Tensor:  # type: ignore[override]
        if x.device.type != "cpu" or x.dim() != 4:
            return super().forward(x)
        out = super().forward(x.contiguous(memory_format=torch.channels_last))
        return out.contiguous()
