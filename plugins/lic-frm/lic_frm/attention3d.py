"""3-D convolution blocks of FRM's attention refinement block, on (B, C, T, H, W) features
where T is the stack of the image feature and the sub-image features."""

from __future__ import annotations

from torch import Tensor, nn


def conv3d(cin: int, cout: int, k: int = 3) -> nn.Conv3d:
    return nn.Conv3d(cin, cout, k, padding=k // 2)


class Res3d(nn.Module):
    """Basic 3-D residual block: conv3d, PReLU, conv3d, plus the input (paper Fig. 5a)."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.body = nn.Sequential(conv3d(c, c), nn.PReLU(c), conv3d(c, c))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class CascadedRes3d(nn.Module):
    """``levels`` basic 3-D residual blocks in a row with a shortcut around them (Fig. 5b/c)."""

    def __init__(self, c: int, levels: int = 2) -> None:
        super().__init__()
        self.blocks = nn.Sequential(*(Res3d(c) for _ in range(levels)))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.blocks(x)


class ChannelAttention3d(nn.Module):
    """Squeeze-and-excitation over (T, H, W) (Hu et al.): scales each channel."""

    def __init__(self, c: int, reduction: int = 4) -> None:
        super().__init__()
        hidden = max(c // reduction, 1)
        self.net = nn.Sequential(
            nn.AdaptiveAvgPool3d(1), nn.Conv3d(c, hidden, 1), nn.ReLU(inplace=True), nn.Conv3d(hidden, c, 1), nn.Sigmoid()
        )

    def forward(self, x: Tensor) -> Tensor:
        return x * self.net(x)


class SpatialAttention3d(nn.Module):
    """CBAM spatial attention (Woo et al.) in 3-D: a map from the channel mean and max."""

    def __init__(self, kernel: int = 7) -> None:
        super().__init__()
        self.conv = nn.Conv3d(2, 1, (3, kernel, kernel), padding=(1, kernel // 2, kernel // 2))

    def forward(self, x: Tensor) -> Tensor:
        import torch

        stats = torch.cat([x.mean(1, keepdim=True), x.amax(1, keepdim=True)], dim=1)
        return x * torch.sigmoid(self.conv(stats))


class ResidualUnit3d(nn.Module):
    """Cheng et al.'s residual unit (1x1 -> 3x3 -> 1x1 bottleneck) in 3-D."""

    def __init__(self, c: int) -> None:
        super().__init__()
        h = max(c // 2, 1)
        self.body = nn.Sequential(
            conv3d(c, h, 1), nn.ReLU(inplace=True), conv3d(h, h), nn.ReLU(inplace=True), conv3d(h, c, 1)
        )
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        return self.act(x + self.body(x))


class FeatureAttention3d(nn.Module):
    """Cheng et al.'s simplified attention module in 3-D: ``x + trunk(x) * sigmoid(mask(x))``."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.trunk = nn.Sequential(*(ResidualUnit3d(c) for _ in range(3)))
        self.mask = nn.Sequential(*(ResidualUnit3d(c) for _ in range(3)), conv3d(c, c, 1))

    def forward(self, x: Tensor) -> Tensor:
        import torch

        return x + self.trunk(x) * torch.sigmoid(self.mask(x))


class AttentionBlock3d(nn.Module):
    """FRM's attention block: cascaded 3-D residual blocks, channel attention with a global
    residual, spatial attention and a feature attention block."""

    def __init__(self, c: int, blocks: int = 3, levels: int = 2, reduction: int = 4) -> None:
        super().__init__()
        self.res = nn.Sequential(*(CascadedRes3d(c, levels) if levels > 1 else Res3d(c) for _ in range(blocks)))
        self.ca = ChannelAttention3d(c, reduction)
        self.sa = SpatialAttention3d()
        self.fa = FeatureAttention3d(c)

    def forward(self, x: Tensor) -> Tensor:
        h = x + self.ca(self.res(x))
        return self.fa(self.sa(h))


class AttentionRefinementBlock(nn.Module):
    """ARB: two 3-D convs with a shortcut, then the attention block. ``tiny`` ("Proposed-Tiny"):
    one conv with a shortcut, then a single basic 3-D residual block."""

    def __init__(self, c: int, tiny: bool = False, blocks: int = 3, levels: int = 2, reduction: int = 4) -> None:
        super().__init__()
        if tiny:
            self.head: nn.Module = conv3d(c, c)
            self.attention: nn.Module = Res3d(c)
        else:
            self.head = nn.Sequential(conv3d(c, c), nn.PReLU(c), conv3d(c, c))
            self.attention = AttentionBlock3d(c, blocks, levels, reduction)

    def forward(self, x: Tensor) -> Tensor:
        return self.attention(x + self.head(x))
