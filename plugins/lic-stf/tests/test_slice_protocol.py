"""stf.channel_ar implements the core's sliced-entropy-model protocol: support sets are capped
like the model's own, the slice model of its own support reproduces its likelihoods, and
cca.loss trains on recipe stf-small without changing exact coding."""

from functools import partial

import pytest
import torch

from lic_core import compose, create
from lic_core.builtins.quantizers import MixedQuantizer
from lic_core.coding.slices import SlicedEntropyModel, previous_support, skip_previous_support, used_slices
from lic_core.losses import rate_distortion
from lic_core.testing import assert_codes_exactly
from lic_stf.channel_ar import ChannelAREntropyModel

N = 6  # slices of 4 channels, at most 3 as support


def _model():
    torch.manual_seed(0)
    hyper = partial(create, "stf.hyper", N=8)
    em = ChannelAREntropyModel(24, hyper=hyper, slices=N, max_support=3, widths=[8])
    em.attach_quantizer(MixedQuantizer().eval())  # rounding: deterministic likelihoods
    return em


def _count(modules):
    return sum(p.numel() for m in modules for p in m.parameters())


def test_protocol_attributes_and_side():
    em = _model()
    y = torch.randn(2, 24, 8, 8)
    out = em(y)
    assert isinstance(em, SlicedEntropyModel)
    assert em.latent_channels == 24 and em.groups == (4,) * N
    assert out["side"].shape == (2, 48, 8, 8)  # hyper scales and means: the slice coders' side


def test_support_is_capped_like_the_model():
    em = _model()
    own = tuple(map(tuple, em.coder.support))
    assert own == ((), (0,), (0, 1), (0, 1, 2), (0, 1, 2), (0, 1, 2))
    assert em.slice_model(previous_support(N)).support == own
    assert em.slice_model(skip_previous_support(N)).support == ((), (), (0,), (0, 1), (0, 1, 2), (0, 1, 2))
    explicit = ((), (0,), (1,), (0, 2), (3,), (2, 4))  # within the cap: used as given
    assert em.slice_model(explicit).support == explicit


def test_own_support_slice_model_reproduces_the_model():
    em = _model().eval()
    sm = em.slice_model(previous_support(N)).eval()
    assert not {id(p) for p in sm.parameters()} & {id(p) for p in em.parameters()}  # own weights
    # the model's slice networks, less the LRP of slices no slice sees (it never changes a likelihood)
    unused = [c.lrp for i, c in enumerate(em.coder.coders) if i not in used_slices(em.coder.support)]
    assert len(unused) == 3  # slices 3, 4, 5
    assert _count([sm]) == _count([em.coder]) - _count(unused)
    missing, unexpected = sm.coder.load_state_dict(em.coder.state_dict(), strict=False)
    assert all(k.startswith("latent.") for k in missing)  # the slice model's own Gaussian (buffers)
    assert unexpected and all(k.startswith(("coders.3.lrp.", "coders.4.lrp.", "coders.5.lrp.")) for k in unexpected)
    y = torch.randn(2, 24, 8, 8) * 3
    with torch.no_grad():
        out = em(y)
        lik = torch.cat(sm(y, out["side"], em.quantizer).likelihoods, 1)
    assert torch.equal(lik, out["likelihoods"]["y"])


def test_stf_small_trains_with_the_cca_loss_and_codes_exactly():
    pytest.importorskip("lic_cca")
    torch.manual_seed(0)
    codec = compose({"base": "stf-small", "losses": [{"id": "cca.loss"}]})
    term = codec.losses[0]
    assert term.aux.support == ((), (), (0,), (0, 1))
    x = torch.rand(1, 3, 64, 64)
    codec.train()
    out = codec(x)
    loss = rate_distortion(x, out, 0.013)["loss"] + term.weight_at(0.0) * term(x, out, codec)
    loss.backward()
    assert torch.isfinite(loss)
    assert all(p.grad is not None for p in term.aux.parameters())
    assert all(p.grad is not None for p in codec.entropy_model.coder.parameters())

    assert_codes_exactly(codec, x)
