"""core.gmm (Cheng et al. 2020's discretized Gaussian mixture) and the core.cheng2020-gmm recipe."""

from __future__ import annotations

import math

import pytest
import torch

import lic_core
from lic_core.builtins.gmm import GaussianMixtureEntropyModel, mixture_cdf, mixture_support


def test_mixture_cdf_is_the_weighted_gaussian_cdf():
    x = torch.linspace(-6, 6, 25).reshape(1, -1)
    p = torch.tensor([[0.2, 0.8, -1.0, 2.0, 0.5, 1.5]])  # K=2: weights, means, scales
    phi = lambda v, m, s: 0.5 * (1 + torch.erf((v - m) / (s * math.sqrt(2))))  # noqa: E731
    expected = 0.2 * phi(x, -1.0, 0.5) + 0.8 * phi(x, 2.0, 1.5)
    assert torch.allclose(mixture_cdf(x, p), expected, atol=1e-6)
    lo, hi = mixture_support(p, tail=4.0)
    outside = float(mixture_cdf(lo.reshape(1, 1), p) + 1 - mixture_cdf(hi.reshape(1, 1), p))
    unit = math.erfc(4.0 / math.sqrt(2))  # a unit Gaussian's mass beyond +-4 scales
    assert 0.4 * unit < outside <= unit * 1.001  # the bound, and not far below it (one tail of each component)
    lo, hi = mixture_support(torch.tensor([[1 - 1e-5, 1e-5, 0.0, 0.0, 1.0, 100.0]]), tail=4.0)
    assert 8 < float(hi - lo) < 10  # a component below the bound's weight adds no range, however wide


@pytest.mark.parametrize("order, streams", [("single", 2), ("checkerboard", 3)])
def test_values_are_rounded_without_means_and_each_stage_has_a_stream(order, streams):
    # exact decoding of core.gmm is tested with every core entropy model (test_builtin_models.py)
    torch.manual_seed(0)
    recipe = {
        "transform": {"id": "core.gdn", "N": 16, "M": 24},
        "entropy_model": {"id": "core.gmm", "N": 16, "K": 3, "order": order},
    }
    codec = lic_core.compose(recipe).eval()
    codec.update(force=True)
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        y_hat = codec(x)["y_hat"]
        strings = codec.compress(x)["strings"]
    assert len(strings) == streams  # y's stages, then z
    assert torch.equal(y_hat, torch.round(y_hat))  # integer values: rounded without means


def test_training_likelihoods_and_gradients_reach_the_mixture():
    torch.manual_seed(0)
    model = GaussianMixtureEntropyModel(8, N=8, K=2).train()
    y = torch.randn(1, 8, 8, 8, requires_grad=True) * 3
    out = model(y)
    lik = out["likelihoods"]["y"]
    assert lik.shape == y.shape and bool(((lik > 0) & (lik <= 1)).all())
    (-torch.log2(lik).sum()).backward()
    last = model.coder.entropy_parameters[-1]
    assert last.out_channels == 3 * 2 * 8 and last.weight.grad is not None and bool(last.weight.grad.any())


def test_k_sets_the_output_width_and_bad_k_is_refused():
    n = {k: sum(p.numel() for p in GaussianMixtureEntropyModel(12, N=8, K=k).parameters()) for k in (1, 3)}
    hidden = 12 * 8 // 3
    assert n[3] - n[1] == (hidden + 1) * 3 * 2 * 12
    with pytest.raises(ValueError, match="K must be"):
        GaussianMixtureEntropyModel(12, N=8, K=0)


def test_cheng2020_gmm_parameters_against_compressai():
    from compressai.layers import AttentionBlock
    from compressai.models import Cheng2020Attention

    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    ours = count(lic_core.compose("core.cheng2020-gmm"))
    attn = count(Cheng2020Attention(N=192))
    wider = (192 * 8 // 3 + 1) * (9 - 2) * 192  # last 1x1 conv: 3KM=1728 outputs instead of 2M=384
    assert ours == attn - 4 * count(AttentionBlock(192)) + wider  # what the recipe's summary states
