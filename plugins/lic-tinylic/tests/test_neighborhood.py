"""Neighbourhood attention: the fast paths against the naive reference, and NATTEN's semantics."""

import pytest
import torch

from lic_core.layers.neighborhood import (
    NeighborhoodAttention2d,
    neighborhood_attention,
    neighborhood_attention_reference,
    window_starts,
)

SIZES = [(7, 7, 7), (9, 13, 7), (13, 8, 5), (5, 6, 3), (11, 3, 3), (20, 17, 7)]


def _qkv(h, w, k, heads=2, d=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    q, key, v = (torch.randn(2, heads, h, w, d, generator=g) for _ in range(3))
    return q, key, v, torch.randn(heads, 2 * k - 1, 2 * k - 1, generator=g)


@pytest.mark.filterwarnings("ignore:flex_attention called without")
@pytest.mark.parametrize(
    "h,w,k,backend", [(*s, "tiled") for s in SIZES] + [(5, 6, 3, "flex"), (13, 8, 5, "flex")]
)  # flex off CUDA runs eagerly (slow): two sizes check its mask and bias semantics
def test_fast_paths_match_reference(h, w, k, backend):
    q, key, v, rpb = _qkv(h, w, k)
    ref = neighborhood_attention_reference(q, key, v, rpb, k)
    out = neighborhood_attention(q, key, v, rpb, k, backend)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)


def test_tiled_gradients_match_reference():
    q, key, v, rpb = (t.requires_grad_() for t in _qkv(10, 9, 5))
    grads = []
    for fn in (neighborhood_attention_reference, lambda *a: neighborhood_attention(*a, backend="tiled")):
        out = fn(q, key, v, rpb, 5)
        grads.append(torch.autograd.grad((out * torch.linspace(-1, 1, out.numel()).view_as(out)).sum(), (q, key, v, rpb)))
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_windows_clamp_inside_the_image():
    assert window_starts(9, 5).tolist() == [0, 0, 0, 1, 2, 3, 4, 4, 4]
    # uniform attention (q = 0, no bias): each output is the mean of its window's values
    h, w, k = 9, 8, 5
    rows = torch.arange(h, dtype=torch.float).view(h, 1).expand(h, w)
    v = torch.stack([rows, torch.arange(w, dtype=torch.float).expand(h, w)], dim=-1).view(1, 1, h, w, 2)
    q = torch.zeros_like(v)
    out = neighborhood_attention(q, torch.randn_like(v), v, torch.zeros(1, 2 * k - 1, 2 * k - 1), k)
    # the corner's window is rows 0..4, cols 0..4 (no zero padding): mean (2, 2)
    torch.testing.assert_close(out[0, 0, 0, 0], torch.tensor([2.0, 2.0]))
    torch.testing.assert_close(out[0, 0, h - 1, w - 1], torch.tensor([6.0, 5.0]))
    torch.testing.assert_close(out[0, 0, 4, 3], torch.tensor([4.0, 3.0]))


def test_bias_is_indexed_by_relative_offset():
    # one head, bias large only at offset (+1, -2): every query picks the key there when it exists
    h, w, k = 8, 8, 5
    rpb = torch.zeros(1, 2 * k - 1, 2 * k - 1)
    rpb[0, 1 + k - 1, -2 + k - 1] = 50.0
    idx = torch.arange(h * w, dtype=torch.float).view(1, 1, h, w, 1)
    out = neighborhood_attention(torch.zeros_like(idx), torch.zeros_like(idx), idx, rpb, k)
    assert out[0, 0, 3, 4, 0].item() == pytest.approx(4 * w + 2, abs=1e-3)


def test_module_pads_maps_smaller_than_the_kernel():
    torch.manual_seed(0)
    na = NeighborhoodAttention2d(8, 2, kernel_size=7)
    x = torch.randn(1, 3, 5, 8)
    out = na(x)
    assert out.shape == x.shape
    na_ref = NeighborhoodAttention2d(8, 2, kernel_size=7, backend="reference")
    na_ref.load_state_dict(na.state_dict())
    torch.testing.assert_close(na_ref(x), out, rtol=1e-5, atol=1e-5)


def test_bad_input_is_refused():
    q, key, v, rpb = _qkv(4, 9, 5)
    with pytest.raises(ValueError, match="smaller than"):
        neighborhood_attention(q, key, v, rpb, 5)
    with pytest.raises(ValueError, match="backend"):
        NeighborhoodAttention2d(8, 2, backend="natten")
