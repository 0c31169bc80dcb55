"""Multi-stage spatial-context coding and channel-group coding: exact round trips, causality."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lic_core.builtins.quantizers import MixedQuantizer
from lic_core.coding.channel_groups import ChannelGroupsCoder, SideGaussianCoder
from lic_core.coding.multistage import STAGE_ORDERS, MultistageCoder, gather, parse_stages, scatter
from lic_core.layers.masked import CheckerboardMaskedConv2d, lattice_mask, stage_context_convs

C, S = 6, 10


def _coder(order, combine="replace", per_stage=False, merge="ctx-side"):
    stages = parse_stages(order)
    k = len(stages)
    kernels = [3, 5, 5] if k == 4 else 5
    context = stage_context_convs(stages, C, 8, kernel_size=kernels) if k > 1 else []
    width = (8 * (k - 1) if combine == "concat" else 8 * (k > 1)) + S

    def net():
        return nn.Sequential(nn.Conv2d(width, 16, 1), nn.GELU(), nn.Conv2d(16, 2 * C, 3, padding=1))

    params = nn.ModuleList(net() for _ in range(k)) if per_stage else net()
    coder = MultistageCoder(stages, context, params, C, combine=combine, merge=merge)
    assert coder.update(force=True) and not coder.update()
    return coder


def _round_trip(coder, y, side, shape=None):
    with torch.no_grad():
        y_fwd, lik = coder.eval()(y, side, MixedQuantizer().eval())
        strings, y_enc = coder.compress(y, side)
        y_dec = coder.decompress(strings, side, shape)
    return y_fwd, lik, strings, y_enc, y_dec


@pytest.mark.parametrize(
    "order,combine,per_stage",
    [
        ("checkerboard", "replace", False),
        ("checkerboard-odd", "replace", True),
        ("four-stage", "sum", False),
        ("four-stage", "concat", True),
        ([[(1, 1)], [(0, 0), (0, 1)], [(1, 0)]], "replace", False),
    ],
)
def test_round_trip_is_exact(order, combine, per_stage):
    torch.manual_seed(0)
    coder = _coder(order, combine, per_stage)
    y, side = 4 * torch.randn(2, C, 7, 10), torch.randn(2, S, 7, 10)  # odd height: uneven sub-lattices
    y_fwd, lik, strings, y_enc, y_dec = _round_trip(coder, y, side)
    assert torch.equal(y_fwd, y_enc) and torch.equal(y_enc, y_dec)
    assert len(strings) == len(coder.stages) and all(len(s) == 2 for s in strings)
    assert lik.shape == y.shape and bool((lik > 0).all())


@pytest.mark.parametrize("order", ["checkerboard", "four-stage"])
def test_coded_size_tracks_the_likelihoods(order):
    torch.manual_seed(6)
    coder = _coder(order, "sum")
    last = coder.entropy_parameters[-1]
    with torch.no_grad():  # well-posed Gaussians: scales in [2, 3], means from the context
        last.weight.mul_(0.05)
        last.bias.copy_(torch.cat([torch.full((C,), 2.5), torch.zeros(C)]))
    y, side = 3 * torch.randn(2, C, 16, 16), torch.randn(2, S, 16, 16)
    y_fwd, lik, strings, y_enc, y_dec = _round_trip(coder, y, side)
    assert torch.equal(y_fwd, y_dec)
    coded = 8 * sum(len(b) for s in strings for b in s)
    predicted = float(-lik.log2().sum())
    assert abs(coded - predicted) <= 0.02 * predicted + 64 * len(strings) * 2


def test_stages_use_their_own_means():
    """Each stage's y_hat is rounded around that stage's means, not stage 0's."""
    torch.manual_seed(1)
    coder = _coder("checkerboard").eval()
    y, side = 3 * torch.randn(1, C, 8, 8), torch.randn(1, S, 8, 8)
    with torch.no_grad():
        y_hat, _ = coder(y, side, MixedQuantizer().eval())
        zero_ctx = coder._context(0, torch.zeros_like(y), None)
        _, m0 = coder.stage_params(0, side, zero_ctx)
        first = coder.stages[0]
        ctx1 = coder._context(1, scatter(torch.zeros_like(y), gather(y_hat, first), first), None)
        _, m1 = coder.stage_params(1, side, ctx1)
    stage1 = coder.stages[1]
    assert torch.equal(gather(y_hat, stage1), gather(torch.round(y - m1) + m1, stage1))
    assert not torch.equal(gather(y_hat, stage1), gather(torch.round(y - m0) + m0, stage1))


@pytest.mark.parametrize("order", ["checkerboard", "four-stage"])
def test_pointwise_parameters_match_the_full_map(order):
    """``pointwise=True`` runs 1x1 parameter nets on each stage's pixels only: same model, exact coding."""
    torch.manual_seed(7)
    stages = parse_stages(order)
    context = stage_context_convs(stages, C, 8, kernel_size=3)
    params = nn.Sequential(nn.Conv2d(8 + S, 16, 1), nn.ReLU(), nn.Conv2d(16, 2 * C, 1))
    full = MultistageCoder(stages, context, params, C, combine="sum")
    fast = MultistageCoder(stages, context, params, C, combine="sum", pointwise=True)
    full.update(force=True), fast.update(force=True)
    y, side = 3 * torch.randn(2, C, 8, 10), torch.randn(2, S, 8, 10)
    a, lik_a, _, _, _ = _round_trip(full, y, side)
    b, lik_b, strings, y_enc, y_dec = _round_trip(fast, y, side)
    assert torch.equal(b, y_enc) and torch.equal(y_enc, y_dec)
    assert torch.allclose(lik_a, lik_b, rtol=1e-4, atol=1e-7) and (a - b).abs().max() <= 1e-4


def test_training_forward_gradients_and_no_side():
    torch.manual_seed(2)
    coder = _coder("four-stage", "sum").train()
    y, side = torch.randn(2, C, 8, 8, requires_grad=True), torch.randn(2, S, 8, 8)
    y_hat, lik = coder(y, side, MixedQuantizer().train())
    (lik.log().sum() + y_hat.square().sum()).backward()
    assert all(p.grad is not None for p in coder.parameters())
    assert y.grad is not None and bool(y.grad.abs().sum() > 0)

    stages = STAGE_ORDERS["checkerboard"]
    plain = MultistageCoder(stages, stage_context_convs(stages, C, 2 * C), nn.Conv2d(2 * C, 2 * C, 1), C)
    plain.gaussian.gaussian_conditional.update(force=True)
    y = 3 * torch.randn(1, C, 6, 6)
    y_fwd, _, _, y_enc, y_dec = _round_trip(plain, y, None, shape=(6, 6))
    assert torch.equal(y_fwd, y_dec) and torch.equal(y_enc, y_dec)


def test_context_reads_only_decoded_sub_lattices():
    """Changing pixels not yet decoded never changes a stage's context at its own pixels."""
    torch.manual_seed(3)
    stages = STAGE_ORDERS["four-stage"]
    convs = stage_context_convs(stages, 2, 3, kernel_size=[3, 5, 5])
    for i, conv in enumerate(convs, start=1):
        decoded = [p for st in stages[:i] for p in st]
        x = torch.randn(1, 2, 12, 12)
        noise = torch.randn_like(x)
        for dy, dx in [(a, b) for a in (0, 1) for b in (0, 1) if (a, b) not in decoded]:
            x2 = x.clone()
            x2[..., dy::2, dx::2] += noise[..., dy::2, dx::2]
            with torch.no_grad():
                assert torch.allclose(gather(conv(x), stages[i]), gather(conv(x2), stages[i]), atol=1e-6)


def test_masks_match_the_published_ones():
    from compressai.layers import CheckerboardMaskedConv2d as Reference

    ref = Reference(2, 2, kernel_size=5, padding=2).mask[0, 0]
    assert torch.equal(CheckerboardMaskedConv2d(2, 2, 5).mask[0, 0], ref)
    # Tiny-LIC: 3x3 diagonal taps; odd-parity taps; every tap but the centre
    a = lattice_mask(3, [(0, 0)], [(1, 1)])
    b = lattice_mask(3, [(0, 0), (1, 1)], [(0, 1)])
    c = lattice_mask(3, [(0, 0), (1, 1), (0, 1)], [(1, 0)])
    assert a.tolist() == [[1, 0, 1], [0, 0, 0], [1, 0, 1]]
    assert b.tolist() == [[0, 1, 0], [1, 0, 1], [0, 1, 0]]
    assert c.tolist() == [[1, 1, 1], [1, 0, 1], [1, 1, 1]]
    assert lattice_mask(5, [(0, 0), (1, 1), (0, 1)], [(1, 0)])[0::2, 0::2].sum() == 0


def test_masks_are_derived_not_saved_and_saved_ones_still_load():
    conv = CheckerboardMaskedConv2d(2, 4, 5)
    assert set(conv.state_dict()) == {"weight", "bias"}
    older = dict(conv.state_dict(), mask=torch.ones_like(conv.mask))  # a file from before: mask saved
    again = CheckerboardMaskedConv2d(2, 4, 5)
    again.load_state_dict(older)  # strict
    assert torch.equal(again.weight, conv.weight) and torch.equal(again.mask, conv.mask)


def test_bad_orders_and_shapes_are_rejected():
    with pytest.raises(ValueError, match="exactly once"):
        parse_stages([[(0, 0)], [(0, 0), (1, 1)], [(0, 1), (1, 0)]])
    with pytest.raises(ValueError, match="unknown stage order"):
        parse_stages("spiral")
    with pytest.raises(ValueError, match="context modules"):
        MultistageCoder("four-stage", [], nn.Conv2d(S, 2 * C, 1), C)
    coder = _coder("checkerboard")
    with pytest.raises(ValueError, match="expected y of shape"):
        coder(torch.zeros(1, C + 1, 4, 4), torch.zeros(1, S, 4, 4), MixedQuantizer())


def _groups_coder(groups=(2, 3, 5), support=None):
    from lic_core.coding.parts import GaussianLatent

    latent = GaussianLatent()
    coders, contexts = [], []
    for k, g in enumerate(groups):
        prev = sum(groups[:k]) if support is None else sum(groups[j] for j in support[k])
        side_w = S + (2 * g if prev else 0)
        contexts.append(nn.Conv2d(prev, 2 * g, 3, padding=1) if prev else None)
        if k % 2 == 0:
            stages = STAGE_ORDERS["checkerboard" if k == 0 else "four-stage"]
            ctx = stage_context_convs(stages, g, 2 * g)
            coders.append(MultistageCoder(stages, ctx, nn.Conv2d(2 * g + side_w, 2 * g, 1), g, latent=latent))
        else:
            coders.append(SideGaussianCoder(nn.Conv2d(side_w, 2 * g, 1), g, latent=latent))
    coder = ChannelGroupsCoder(groups, contexts, coders, support=support, latent=latent)
    assert coder.update(force=True) and not coder.update()
    return coder


@pytest.mark.parametrize("support", [None, [[], [], [0]]])
def test_channel_groups_round_trip(support):
    torch.manual_seed(4)
    coder = _groups_coder(support=support)
    y, side = 3 * torch.randn(2, 10, 8, 6), torch.randn(2, S, 8, 6)
    y_fwd, lik, strings, y_enc, y_dec = _round_trip(coder, y, side)
    assert torch.equal(y_fwd, y_enc) and torch.equal(y_enc, y_dec)
    assert lik.shape == y.shape
    assert len(strings) == 2 + 1 + 4  # checkerboard, plain, four-stage: one list per stream
    # the shared Gaussian's tables are saved once
    assert sum(k.endswith("_quantized_cdf") for k in coder.state_dict()) == 1


def test_channel_groups_gradients_and_errors():
    torch.manual_seed(5)
    coder = _groups_coder().train()
    y, side = torch.randn(1, 10, 4, 4), torch.randn(1, S, 4, 4)
    y_hat, lik = coder(y, side, MixedQuantizer().train())
    (lik.log().sum() + y_hat.sum()).backward()
    assert all(p.grad is not None for p in coder.parameters())
    with pytest.raises(ValueError, match="groups"):
        ChannelGroupsCoder([2, 3], [None], [SideGaussianCoder(nn.Conv2d(S, 4, 1), 2)])
    with pytest.raises(ValueError, match="earlier groups"):
        _groups_coder(support=[[], [1], [0]])
