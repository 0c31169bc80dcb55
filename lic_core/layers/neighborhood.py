"""Neighbourhood attention (Hassani et al., CVPR 2023) in plain PyTorch, with NATTEN's semantics.

Each query pixel ``(i, j)`` attends to the ``k x k`` keys of the window *clamped inside the
image* (no zero padding at the borders): the window's first row is
``clamp(i - k // 2, 0, H - k)`` and likewise for columns. A learned relative position bias
``rpb[head, dy + k - 1, dx + k - 1]`` (a ``(2k - 1)^2`` table per head) is added to the logit of
the key at offset ``(dy, dx)`` from the query. Queries are scaled by ``head_dim ** -0.5``.

Three implementations of :func:`neighborhood_attention` that agree to float precision:

- ``"reference"``: a naive loop over query pixels (for tests only);
- ``"tiled"``: splits the queries into 8x8 tiles, gathers (``index_select``) the
  ``(8 + k - 1)^2`` keys that hold all of a tile's clamped windows, and runs dense masked
  attention per tile (``scaled_dot_product_attention``), one row of tiles at a time. Memory:
  the gathered key spans (about 3x the keys for k=7) and one row of tile logits, never
  ``O((HW)^2)``. Pure tensor ops, so it runs on any device; the default off CUDA (on one CPU
  core it is several times faster than compiled ``flex_attention``);
- ``"flex"``: ``torch.nn.attention.flex_attention`` with a neighbourhood block mask (cached
  per map size) and the bias as a ``score_mod``, through ``torch.compile``. The default on
  CUDA.

No pip package ships a CPU build of NATTEN, hence this module. Tiny-LIC (Lu et al.) builds its
residual neighbourhood-attention blocks on :class:`NeighborhoodAttention2d`.
"""

from __future__ import annotations

import functools
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

BACKENDS = ("auto", "tiled", "flex", "reference")


def window_starts(length: int, kernel_size: int, device: torch.device | None = None) -> Tensor:
    """First index of the clamped window of every position along one axis (``length >= k``)."""
    idx = torch.arange(length, device=device)
    return (idx - kernel_size // 2).clamp(0, length - kernel_size)


def _check(q: Tensor, k: Tensor, v: Tensor, rpb: Tensor, kernel_size: int) -> None:
    if q.dim() != 5 or q.shape != k.shape or q.shape != v.shape:
        raise ValueError(f"q, k, v must share a (B, heads, H, W, d) shape, got {tuple(q.shape)}, {tuple(k.shape)}")
    if kernel_size < 1 or kernel_size % 2 != 1:
        raise ValueError(f"kernel_size must be odd and positive, got {kernel_size}")
    h, w = q.shape[2:4]
    if h < kernel_size or w < kernel_size:
        raise ValueError(f"a {h}x{w} map is smaller than the {kernel_size}x{kernel_size} neighbourhood (pad it first)")
    span = 2 * kernel_size - 1
    if tuple(rpb.shape) != (q.size(1), span, span):
        raise ValueError(f"rpb must be (heads, {span}, {span}), got {tuple(rpb.shape)}")


def neighborhood_attention_reference(q: Tensor, k: Tensor, v: Tensor, rpb: Tensor, kernel_size: int) -> Tensor:
    """Naive neighbourhood attention: one softmax per query pixel (slow; the tests' oracle)."""
    _check(q, k, v, rpb, kernel_size)
    _, _, h, w, d = q.shape
    scale = d**-0.5
    out = torch.empty_like(q)
    for i in range(h):
        y0 = min(max(i - kernel_size // 2, 0), h - kernel_size)
        for j in range(w):
            x0 = min(max(j - kernel_size // 2, 0), w - kernel_size)
            keys = k[:, :, y0 : y0 + kernel_size, x0 : x0 + kernel_size].flatten(2, 3)  # B, nh, k*k, d
            vals = v[:, :, y0 : y0 + kernel_size, x0 : x0 + kernel_size].flatten(2, 3)
            dy, dx = y0 - i + kernel_size - 1, x0 - j + kernel_size - 1  # bias row/col of the first key
            bias = rpb[:, dy : dy + kernel_size, dx : dx + kernel_size].flatten(1)  # nh, k*k
            logits = torch.einsum("bnd,bnkd->bnk", q[:, :, i, j] * scale, keys) + bias
            out[:, :, i, j] = torch.einsum("bnk,bnkd->bnd", logits.softmax(-1), vals)
    return out


def _axis_tiles(length: int, kernel_size: int, tile: int) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Query tiles along one axis and the key span that covers their clamped windows.

    Returns ``queries`` (n, t) and ``keys`` (n, t + 2r) indices, each tile's class (n,) and the
    classes' patterns (c, t, t + 2r): the bias-table index of every (query, key) pair, or -1
    where the key is outside the query's window. Interior tiles share one class. The last tile
    is shifted back to end at ``length``; ``own`` (n, t) marks the queries each tile outputs
    (the last tile's overlap with its neighbour is dropped), in order 0 .. length - 1.
    """
    r = kernel_size // 2
    t = max(1, min(tile, length - 2 * r))
    n = -(-length // t)
    q0 = (torch.arange(n) * t).clamp(max=length - t)
    k0 = (q0 - r).clamp(0, length - t - 2 * r)
    queries = q0[:, None] + torch.arange(t)
    keys = k0[:, None] + torch.arange(t + 2 * r)
    first = window_starts(length, kernel_size)[queries][:, :, None]  # n, t, 1
    inside = (keys[:, None, :] >= first) & (keys[:, None, :] < first + kernel_size)
    offset = keys[:, None, :] - queries[:, :, None] + kernel_size - 1
    patterns, classes = torch.unique(torch.where(inside, offset, -1), dim=0, return_inverse=True)
    own = queries >= (torch.arange(n) * t)[:, None]
    return queries, keys, classes, patterns, own


def _tile_bias(rpb: Tensor, rows: Tensor, cols: Tensor) -> Tensor:
    """(rows classes, cols classes, heads, ty*tx, ly*lx): ``rpb`` inside windows, -inf outside."""
    nh = rpb.size(0)
    ry, ty, ly = rows.shape
    rx, tx, lx = cols.shape
    a = rows.clamp(min=0)[:, None, :, None, :, None]
    b = cols.clamp(min=0)[None, :, None, :, None, :]
    inside = (rows >= 0)[:, None, :, None, :, None] & (cols >= 0)[None, :, None, :, None, :]
    bias = rpb[:, a, b].masked_fill(~inside, torch.finfo(rpb.dtype).min)  # nh, ry, rx, ty, tx, ly, lx
    return bias.permute(1, 2, 0, 3, 4, 5, 6).reshape(ry, rx, nh, ty * tx, ly * lx)


def _tiles(x: Tensor, rows: Tensor, cols: Tensor) -> Tensor:
    """(B, nh, H, W, d) -> (B, nh, row tiles, col tiles, a * b, d): the rows ``rows`` (n, a)
    and columns ``cols`` (m, b) of every tile, gathered in one copy."""
    bsz, nh, h, w, d = x.shape
    (n, a), (m, b) = rows.shape, cols.shape
    index = (rows[:, None, :, None] * w + cols[None, :, None, :]).flatten()  # n, m, a, b
    return x.reshape(bsz, nh, h * w, d).index_select(2, index).view(bsz, nh, n, m, a * b, d)


def _neighborhood_tiled(q: Tensor, k: Tensor, v: Tensor, rpb: Tensor, kernel_size: int, tile: int = 8) -> Tensor:
    """Dense attention of ``tile x tile`` query tiles over the ``(tile + k - 1)^2`` key span that
    holds all their windows, keys outside a query's window masked: one fused
    ``scaled_dot_product_attention`` per row of tiles instead of ``k^2`` gathers (about 4x the
    useful flops for k=7, far faster)."""
    bsz, nh, h, w, d = q.shape
    dev = q.device
    qy, ky, cy, py, oy = (t.to(dev) for t in _axis_tiles(h, kernel_size, tile))
    qx, kx, cx, px, ox = (t.to(dev) for t in _axis_tiles(w, kernel_size, tile))
    nty, ty = qy.shape
    ntx, tx = qx.shape
    # per row class: (B * nh, ntx, ty*tx, ly*lx) biases, -inf outside the windows
    bias = _tile_bias(rpb, py, px)[:, cx].transpose(1, 2)
    bias = bias.unsqueeze(1).expand(-1, bsz, -1, -1, -1, -1).reshape(-1, bsz * nh, *bias.shape[2:])
    # 4-D (B * nh, ntx, tile, d) views per row of tiles: the fused CPU kernel takes 4-D inputs
    q_t, k_t, v_t = (_tiles(x, r, c).flatten(0, 1) for x, r, c in ((q, qy, qx), (k, ky, kx), (v, ky, kx)))
    rows = [
        F.scaled_dot_product_attention(q_t[:, r], k_t[:, r], v_t[:, r], attn_mask=bias[cy[r]]) for r in range(nty)
    ]  # each (B * nh, ntx, ty*tx, d)
    out = torch.stack(rows, dim=1).view(bsz, nh, nty, ntx, ty, tx, d).transpose(3, 4)
    out = out.reshape(bsz, nh, nty * ty, ntx * tx, d)
    if nty * ty != h:  # drop the last row of tiles' overlap with its neighbour
        out = out.index_select(2, oy.flatten().nonzero().squeeze(1))
    if ntx * tx != w:
        out = out.index_select(3, ox.flatten().nonzero().squeeze(1))
    return out


@functools.lru_cache(maxsize=1)
def _compiled_flex() -> Callable[..., Tensor]:
    from torch.nn.attention.flex_attention import flex_attention

    return torch.compile(flex_attention)


@functools.lru_cache(maxsize=64)
def _flex_block_mask(h: int, w: int, kernel_size: int, device: str):
    from torch.nn.attention.flex_attention import create_block_mask

    mask_mod = _neighborhood_mask(h, w, kernel_size)
    return create_block_mask(mask_mod, None, None, h * w, h * w, device=device)


def _neighborhood_mask(h: int, w: int, kernel_size: int):
    r = kernel_size // 2

    def mask_mod(b, n, q_idx, kv_idx):
        qy, qx, ky, kx = q_idx // w, q_idx % w, kv_idx // w, kv_idx % w
        y0 = (qy - r).clamp(0, h - kernel_size)
        x0 = (qx - r).clamp(0, w - kernel_size)
        return (ky >= y0) & (ky < y0 + kernel_size) & (kx >= x0) & (kx < x0 + kernel_size)

    return mask_mod


def _neighborhood_flex(q: Tensor, k: Tensor, v: Tensor, rpb: Tensor, kernel_size: int, compiled: bool) -> Tensor:
    from torch.nn.attention.flex_attention import create_block_mask, flex_attention

    bsz, nh, h, w, d = q.shape
    span = 2 * kernel_size - 1
    table = rpb.reshape(nh, span * span)

    def score_mod(score, b, n, q_idx, kv_idx):
        # clamped: masked-out pairs (whose offsets fall outside the table) are scored too
        dy = (kv_idx // w - q_idx // w + kernel_size - 1).clamp(0, span - 1)
        dx = (kv_idx % w - q_idx % w + kernel_size - 1).clamp(0, span - 1)
        return score + table[n, dy * span + dx]

    if compiled:
        block_mask = _flex_block_mask(h, w, kernel_size, str(q.device))
        attend = _compiled_flex()
    else:  # eager: materializes (HW)^2 scores, only for tests on small maps
        block_mask = create_block_mask(_neighborhood_mask(h, w, kernel_size), None, None, h * w, h * w, device=q.device)
        attend = flex_attention
    flat = [t.reshape(bsz, nh, h * w, d) for t in (q, k, v)]
    out = attend(*flat, score_mod=score_mod, block_mask=block_mask, scale=d**-0.5)
    return out.reshape(bsz, nh, h, w, d)


def neighborhood_attention(
    q: Tensor, k: Tensor, v: Tensor, rpb: Tensor, kernel_size: int, backend: str = "auto"
) -> Tensor:
    """Neighbourhood attention of (B, heads, H, W, d) ``q``, ``k``, ``v`` with bias ``rpb``
    (heads, 2k-1, 2k-1); ``H, W >= kernel_size``. ``backend`` is one of :data:`BACKENDS`
    (``auto``: ``flex`` compiled on CUDA, ``tiled`` elsewhere; ``flex`` off CUDA runs eagerly)."""
    _check(q, k, v, rpb, kernel_size)
    if backend == "auto":
        backend = "flex" if q.is_cuda else "tiled"
    if backend == "tiled":
        return _neighborhood_tiled(q, k, v, rpb, kernel_size)
    if backend == "flex":
        return _neighborhood_flex(q, k, v, rpb, kernel_size, compiled=q.is_cuda)
    if backend == "reference":
        return neighborhood_attention_reference(q, k, v, rpb, kernel_size)
    raise ValueError(f"unknown neighbourhood-attention backend {backend!r} (choose one of {', '.join(BACKENDS)})")


class NeighborhoodAttention2d(nn.Module):
    """Multi-head neighbourhood attention on channels-last maps (B, H, W, C), NATTEN's layout:
    ``qkv`` linear, relative position bias ``rpb`` (heads, 2k-1, 2k-1), output projection.

    A map smaller than the kernel is zero-padded at the bottom/right up to ``kernel_size``
    (as NATTEN does) and cropped back. ``backend`` picks the implementation (see
    :func:`neighborhood_attention`).
    """

    def __init__(
        self,
        dim: int,
        num_heads: int,
        kernel_size: int = 7,
        qkv_bias: bool = True,
        proj_drop: float = 0.0,
        backend: str = "auto",
    ) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"dim {dim} is not divisible by {num_heads} heads")
        if kernel_size < 1 or kernel_size % 2 != 1:
            raise ValueError(f"kernel_size must be odd and positive, got {kernel_size}")
        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r} (choose one of {', '.join(BACKENDS)})")
        self.dim, self.num_heads, self.kernel_size, self.backend = dim, num_heads, kernel_size, backend
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.rpb = nn.Parameter(torch.zeros(num_heads, 2 * kernel_size - 1, 2 * kernel_size - 1))
        nn.init.trunc_normal_(self.rpb, std=0.02, a=-2.0, b=2.0)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)

    def forward(self, x: Tensor) -> Tensor:
        b, h, w, c = x.shape
        pad_h, pad_w = max(0, self.kernel_size - h), max(0, self.kernel_size - w)
        if pad_h or pad_w:
            x = F.pad(x, (0, 0, 0, pad_w, 0, pad_h))
        hp, wp = x.shape[1:3]
        qkv = self.qkv(x).reshape(b, hp, wp, 3, self.num_heads, c // self.num_heads).permute(3, 0, 4, 1, 2, 5)
        out = neighborhood_attention(qkv[0], qkv[1], qkv[2], self.rpb, self.kernel_size, self.backend)
        out = out.permute(0, 2, 3, 1, 4).reshape(b, hp, wp, c)[:, :h, :w]
        return self.proj_drop(self.proj(out))

    def extra_repr(self) -> str:
        return f"dim={self.dim}, num_heads={self.num_heads}, kernel_size={self.kernel_size}, backend={self.backend!r}"
