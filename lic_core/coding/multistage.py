"""Multi-stage spatial-context coding of a latent over its 2x2 sub-lattices.

A latent ``y`` (B, C, H, W) splits into four sub-lattices ``y[..., dy::2, dx::2]``,
``(dy, dx)`` in ``{0, 1}^2``. :class:`MultistageCoder` codes them in ``k`` stages, each a set
of positions, in order: He et al.'s checkerboard is ``[[(0,0),(1,1)], [(0,1),(1,0)]]`` (or the
opposite parity), Tiny-LIC's multistage context model ``[[(0,0)], [(1,1)], [(0,1)], [(1,0)]]``.

Stage ``i`` gets its Gaussian ``(scales, means)`` from ``entropy_parameters(merge(ctx_i, side))``:

- ``side``: features from outside (hyperprior, channel context), (B, S, H, W) or ``None``;
- ``ctx_i``: the spatial context. Stage 0 sees zeros; stage ``i >= 1`` runs ``context[i-1]``
  on ``y_hat`` with every pixel not yet decoded set to zero. ``combine`` says how the stages'
  context outputs form ``ctx_i``: ``"replace"`` (only stage ``i``'s output; checkerboard, ELIC),
  ``"sum"`` (outputs accumulate: ``ctx_i = ctx_{i-1} + context[i-1](...)``) or ``"concat"``
  (one channel slot per context module, stage ``i``'s output in slot ``i-1`` and zeros in the
  others; Tiny-LIC's ``cat(ctx1, ctx2, ctx3)``);
- ``merge``: ``"ctx-side"`` concatenates ``[ctx, side]`` (CompressAI's order), ``"side-ctx"``
  ``[side, ctx]`` (Tiny-LIC's);
- ``entropy_parameters``: one module shared by the stages or one per stage; it outputs
  ``2C`` channels, ``scales`` then ``means``. Parameters are computed on the full map and read
  at the stage's pixels, so the module need not be pointwise; with ``pointwise=True`` (1x1
  nets) they are computed at the stage's pixels only.

``forward(y, side, quantizer) -> (y_hat, likelihoods)`` quantizes each stage around its own
means (``quantizer(y, means_i, "y")``) and feeds that ``y_hat`` to the next stage's context,
so in eval mode ``y_hat`` equals ``decompress(compress(y))`` bit for bit.
``compress(y, side) -> (strings, y_hat)`` codes only each stage's pixels: ``strings[i]`` is a
list with one rANS string per image; ``decompress(strings, side) -> y_hat`` inverts it.
Decoding must run with the same batch as encoding for bit-exact context on every backend.

The Gaussian coder is a :class:`~lic_core.coding.parts.GaussianLatent`; pass ``latent=`` to
share one owned elsewhere (not registered here, so its tables are saved once by the owner).

Example (a 4-stage model over 8 channels with a 16-channel side input)::

    from torch import nn
    from lic_core.coding.multistage import MultistageCoder, STAGE_ORDERS
    from lic_core.layers.masked import stage_context_convs

    stages = STAGE_ORDERS["four-stage"]
    context = stage_context_convs(stages, 8, 16, kernel_size=[3, 5, 5])
    params = nn.Sequential(nn.Conv2d(16 + 16, 32, 1), nn.GELU(), nn.Conv2d(32, 16, 1))
    coder = MultistageCoder(stages, context, params, channels=8, combine="sum")
    y_hat, likelihoods = coder(y, side, quantizer)        # training / eval rate
    coder.update(force=True)
    strings, y_hat = coder.compress(y, side)             # 4 lists of per-image strings
    assert torch.equal(coder.decompress(strings, side), y_hat)
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn

from lic_core.coding.parts import GaussianCoderBase, GaussianLatent
from lic_core.interfaces import Quantizer

Position = tuple[int, int]
Stages = tuple[tuple[Position, ...], ...]

STAGE_ORDERS: dict[str, Stages] = {
    "checkerboard": (((0, 0), (1, 1)), ((0, 1), (1, 0))),
    "checkerboard-odd": (((0, 1), (1, 0)), ((0, 0), (1, 1))),
    "four-stage": (((0, 0),), ((1, 1),), ((0, 1),), ((1, 0),)),
    "single": (((0, 0), (0, 1), (1, 0), (1, 1)),),
}
"""Named stage orders; ``four-stage`` is Tiny-LIC's (0,0), (1,1), (0,1), (1,0)."""

COMBINES = ("replace", "sum", "concat")
MERGES = ("ctx-side", "side-ctx")


def parse_stages(order: str | Sequence[Sequence[Sequence[int]]]) -> Stages:
    """A stage order from a name in :data:`STAGE_ORDERS` or nested lists; every one of the
    four positions must appear exactly once."""
    if isinstance(order, str):
        if order not in STAGE_ORDERS:
            raise ValueError(f"unknown stage order {order!r} (known: {', '.join(STAGE_ORDERS)})")
        return STAGE_ORDERS[order]
    stages = tuple(tuple((int(p[0]), int(p[1])) for p in stage) for stage in order)
    flat = [p for stage in stages for p in stage]
    if any(not stage for stage in stages) or sorted(flat) != [(0, 0), (0, 1), (1, 0), (1, 1)]:
        raise ValueError(
            f"a stage order lists each of (0,0), (0,1), (1,0), (1,1) exactly once in non-empty stages, got {order!r}"
        )
    return stages


def gather(x: Tensor, stage: Sequence[Position]) -> Tensor:
    """The pixels of ``stage`` as (B, C, n), sub-lattice by sub-lattice in ``stage`` order."""
    return torch.cat([x[..., dy::2, dx::2].flatten(2) for dy, dx in stage], dim=2)


def scatter(into: Tensor, values: Tensor, stage: Sequence[Position]) -> Tensor:
    """A copy of ``into`` with the (B, C, n) ``values`` of :func:`gather` written back."""
    out = into.clone()
    start = 0
    for dy, dx in stage:
        part = out[..., dy::2, dx::2]
        n = part.size(-2) * part.size(-1)
        part.copy_(values[..., start : start + n].reshape(part.shape))
        start += n
    return out


def _out_channels(module: nn.Module, in_channels: int) -> int:
    out = getattr(module, "out_channels", None)
    if isinstance(out, int):
        return out
    p = next(module.parameters(), None)
    probe = torch.zeros(1, in_channels, 4, 4, device=p.device if p is not None else None)
    with torch.no_grad():
        return int(module(probe).size(1))


class MultistageCoder(GaussianCoderBase):
    """Codes a latent in ``k`` spatial stages over its 2x2 sub-lattices (see the module doc).

    Args:
        stages: a stage order (name in :data:`STAGE_ORDERS` or nested lists of positions).
        context: ``k - 1`` modules, ``context[i-1]`` maps the partially decoded ``y_hat``
            (C channels) to stage ``i``'s spatial context.
        entropy_parameters: one module, or ``k`` (one per stage), mapping
            ``merge(ctx, side)`` to ``2 * channels`` (scales, then means).
        channels: latent channels ``C``.
        combine: ``"replace"``, ``"sum"`` or ``"concat"`` (how context outputs form ``ctx_i``).
        merge: ``"ctx-side"`` or ``"side-ctx"``.
        latent: a shared :class:`GaussianLatent` (else one of ``levels`` scales is owned).
        pointwise: the parameter nets are pointwise (1x1 convs and activations): compute
            each stage's parameters at its own pixels only (k times less work).
    """

    def __init__(
        self,
        stages: str | Sequence[Sequence[Sequence[int]]],
        context: Sequence[nn.Module],
        entropy_parameters: nn.Module | Sequence[nn.Module],
        channels: int,
        *,
        combine: str = "replace",
        merge: str = "ctx-side",
        latent: GaussianLatent | None = None,
        levels: int = 256,
        pointwise: bool = False,
    ) -> None:
        super().__init__(latent, levels)
        self.pointwise = bool(pointwise)
        self.stages = parse_stages(stages)
        k = len(self.stages)
        if combine not in COMBINES:
            raise ValueError(f"combine must be one of {COMBINES}, got {combine!r}")
        if merge not in MERGES:
            raise ValueError(f"merge must be one of {MERGES}, got {merge!r}")
        if len(context) != k - 1:
            raise ValueError(f"{k} stages need {k - 1} context modules, got {len(context)}")
        self.channels, self.combine, self.merge = int(channels), combine, merge
        self.context = nn.ModuleList(context)
        if isinstance(entropy_parameters, nn.Module) and not isinstance(entropy_parameters, nn.ModuleList):
            self.entropy_parameters: nn.Module = entropy_parameters
            self._params_per_stage = False
        else:
            if len(entropy_parameters) != k:
                raise ValueError(f"{k} stages need 1 or {k} entropy_parameters modules, got {len(entropy_parameters)}")
            self.entropy_parameters = nn.ModuleList(entropy_parameters)
            self._params_per_stage = True
        self._ctx_widths: list[int] | None = None

    # -- pieces shared by forward, compress and decompress ------------------------------
    @property
    def num_streams(self) -> int:
        """Streams :meth:`compress` returns: one per stage."""
        return len(self.stages)

    def context_widths(self) -> list[int]:
        """Output channels of each context module."""
        if self._ctx_widths is None:
            widths = [_out_channels(m, self.channels) for m in self.context]
            if self.combine != "concat" and len(set(widths)) > 1:
                raise ValueError(f"combine={self.combine!r} needs context modules of equal width, got {widths}")
            self._ctx_widths = widths
        return self._ctx_widths

    def _context(self, i: int, y_part: Tensor, prev: Tensor | None) -> Tensor | None:
        widths = self.context_widths()
        if not widths:
            return None
        b, _, h, w = y_part.shape
        if i == 0:
            total = sum(widths) if self.combine == "concat" else widths[0]
            return y_part.new_zeros(b, total, h, w)
        out = self.context[i - 1](y_part)
        if self.combine == "sum":
            return out if prev is None else prev + out
        if self.combine == "concat":
            parts = [out if j == i - 1 else y_part.new_zeros(b, c, h, w) for j, c in enumerate(widths)]
            return torch.cat(parts, dim=1)
        return out

    def stage_params(
        self, i: int, side: Tensor | None, ctx: Tensor | None, stage: Sequence[Position] | None = None
    ) -> tuple[Tensor, Tensor]:
        """Scales and means of stage ``i``: over the full map, or at the pixels of ``stage`` as
        (B, C, n) (then a ``pointwise`` coder runs its parameter net on those pixels only)."""
        parts = [ctx, side] if self.merge == "ctx-side" else [side, ctx]
        parts = [p for p in parts if p is not None]
        if not parts:
            raise ValueError("a stage with no context needs side features")
        net = self.entropy_parameters[i] if self._params_per_stage else self.entropy_parameters
        if stage is not None and self.pointwise:
            params = net(torch.cat([gather(p, stage) for p in parts], dim=1).unsqueeze(-1)).squeeze(-1)
        else:
            params = net(parts[0] if len(parts) == 1 else torch.cat(parts, dim=1))
        if params.size(1) != 2 * self.channels:
            raise ValueError(f"entropy_parameters gave {params.size(1)} channels, expected {2 * self.channels}")
        if stage is not None and not self.pointwise:
            params = gather(params, stage)
        scales, means = params.chunk(2, 1)
        return scales, means

    def _check(self, y: Tensor) -> None:
        if y.dim() != 4 or y.size(1) != self.channels:
            raise ValueError(f"expected y of shape (B, {self.channels}, H, W), got {tuple(y.shape)}")

    # -- the protocol --------------------------------------------------------------------
    def forward(self, y: Tensor, side: Tensor | None, quantizer: Quantizer) -> tuple[Tensor, Tensor]:
        """``(y_hat, likelihoods)``; each stage quantized around its own means."""
        self._check(y)
        gc = self.gaussian.gaussian_conditional
        y_part, lik = torch.zeros_like(y), torch.zeros_like(y)
        ctx: Tensor | None = None
        for i, stage in enumerate(self.stages):
            ctx = self._context(i, y_part, ctx)
            s, m = self.stage_params(i, side, ctx, stage)
            r, q = quantizer(gather(y, stage), m, "y")
            lik = scatter(lik, gc.likelihood(r, s, m), stage)
            y_part = scatter(y_part, q, stage)
        return y_part, lik

    def compress(self, y: Tensor, side: Tensor | None) -> tuple[list[list[bytes]], Tensor]:
        """Code stage by stage, only each stage's pixels; ``(strings per stage, y_hat)``."""
        self._check(y)
        y_part = torch.zeros_like(y)
        ctx: Tensor | None = None
        strings = []
        for i, stage in enumerate(self.stages):
            ctx = self._context(i, y_part, ctx)
            s, m = self.stage_params(i, side, ctx, stage)
            st, q = self.gaussian.compress(gather(y, stage), s, m)
            strings.append(st)
            y_part = scatter(y_part, q, stage)
        return strings, y_part

    def decompress(
        self, strings: Sequence[Sequence[bytes]], side: Tensor | None, shape: Sequence[int] | None = None
    ) -> Tensor:
        """Inverse of :meth:`compress`; ``shape`` (H, W) is needed only when ``side`` is ``None``."""
        if len(strings) != len(self.stages):
            raise ValueError(f"expected strings for {len(self.stages)} stages, got {len(strings)}")
        b = len(strings[0])
        if side is not None:
            h, w = side.shape[-2:]
            like = side
        elif shape is not None:
            h, w = int(shape[0]), int(shape[1])
            like = next(self.parameters())
        else:
            raise ValueError("decompress needs the side features or the latent shape")
        y_part = like.new_zeros(b, self.channels, h, w)
        ctx: Tensor | None = None
        for i, stage in enumerate(self.stages):
            ctx = self._context(i, y_part, ctx)
            s, m = self.stage_params(i, side, ctx, stage)
            q = self.gaussian.decompress(list(strings[i]), s, m)
            y_part = scatter(y_part, q.to(y_part.dtype), stage)
        return y_part

    def extra_repr(self) -> str:
        return (
            f"stages={self.stages}, channels={self.channels}, combine={self.combine!r}, merge={self.merge!r}, "
            f"pointwise={self.pointwise}"
        )

