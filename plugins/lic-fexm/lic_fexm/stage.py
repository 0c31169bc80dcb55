"""FExM: split the image into b x b patches, gather each position into one of b^2 sub-images,
extract features per sub-image and a stride-b feature of the whole image.

``pre`` outputs the image feature followed by the b^2 sub-image features, ``channels`` each,
stacked along the channel axis (``layout["groups"] = b^2 + 1``) at 1/b resolution: it replaces
the backbone's first ``b``-fold downsampling (the transform gets ``in_stride = b``). ``post``
inverts it with transposed convolutions and re-interleaves the sub-images.
"""

from __future__ import annotations

from typing import Any, Mapping

import torch
from torch import Tensor, nn

from lic_core.interfaces import PrePost


def split_subimages(x: Tensor, b: int) -> Tensor:
    """(B, C, H, W) -> (B, b*b*C, H/b, W/b), sub-image-major: channels ``[s*C:(s+1)*C]`` are
    sub-image ``s = i*b + j`` holding the pixels at offset (i, j) of every patch."""
    n, c, h, w = x.shape
    u = nn.functional.pixel_unshuffle(x, b)  # channel index = c*b*b + s
    return u.view(n, c, b * b, h // b, w // b).transpose(1, 2).reshape(n, b * b * c, h // b, w // b)


def merge_subimages(x: Tensor, b: int) -> Tensor:
    """Inverse of :func:`split_subimages`."""
    n, bc, h, w = x.shape
    c = bc // (b * b)
    u = x.view(n, b * b, c, h, w).transpose(1, 2).reshape(n, bc, h, w)
    return nn.functional.pixel_shuffle(u, b)


class FExMStage(PrePost):
    """Feature extraction module.

    patch:    b, the patch size (paper: 2 on Kodak, 4 on CLIC); even.
    channels: feature channels per sub-image and of the image feature.
    layers:   convolutions per sub-image (paper: 2; "Proposed-Tiny": 1).
    shared:   one set of sub-image weights for all sub-images (default: separate, as the
              paper applies the layers "separately" to each sub-image).
    """

    def __init__(
        self,
        in_channels: int = 3,
        layout: Mapping[str, Any] | None = None,
        patch: int = 2,
        channels: int = 32,
        layers: int = 2,
        shared: bool = False,
    ) -> None:
        super().__init__()
        if patch < 2 or patch % 2:
            raise ValueError(f"fexm.stage: patch must be an even number >= 2, got {patch}")
        if layers < 1:
            raise ValueError(f"fexm.stage: layers must be >= 1, got {layers}")
        b, c, s = patch, channels, patch * patch
        self.patch, self.channels, self.shared = b, c, shared
        self.in_channels, self.out_channels, self.stride = in_channels, c * (s + 1), b
        g = 1 if shared else s  # grouped convs give each sub-image its own weights
        width_in = in_channels if shared else in_channels * s
        width = c if shared else c * s

        def stack(cin: int, cout: int, conv: type) -> nn.Sequential:
            mods: list[nn.Module] = []
            for i in range(layers):
                mods.append(conv(cin if i == 0 else width, cout if i == layers - 1 else width, 3, padding=1, groups=g))
                if i < layers - 1:
                    mods.append(nn.GELU())
            return nn.Sequential(*mods)

        self.image_feature = nn.Conv2d(in_channels, c, 2 * b - 1, stride=b, padding=b - 1)
        self.sub_features = stack(width_in, width, nn.Conv2d)
        self.image_inverse = nn.ConvTranspose2d(c, in_channels, 2 * b, stride=b, padding=b // 2)
        self.sub_inverse = stack(width, width_in, nn.ConvTranspose2d)
        self.fuse = nn.Conv2d(2 * in_channels, in_channels, 1)

    @property
    def layout(self) -> Mapping[str, Any]:
        return {"producer": "fexm.stage", "groups": self.patch**2 + 1, "group_channels": self.channels, "patch": self.patch}

    def _subs(self, x: Tensor, net: nn.Module, n_in: int) -> Tensor:
        if not self.shared:
            return net(x)
        n, _, h, w = x.shape
        s = self.patch**2
        return net(x.reshape(n * s, n_in, h, w)).reshape(n, -1, h, w)

    def pre(self, x: Tensor) -> Tensor:
        subs = self._subs(split_subimages(x, self.patch), self.sub_features, self.in_channels)
        return torch.cat([self.image_feature(x), subs], dim=1)

    def post(self, x_hat: Tensor) -> Tensor:
        image, subs = x_hat[:, : self.channels], x_hat[:, self.channels :]
        subs = merge_subimages(self._subs(subs, self.sub_inverse, self.channels), self.patch)
        return self.fuse(torch.cat([self.image_inverse(image), subs], dim=1))
