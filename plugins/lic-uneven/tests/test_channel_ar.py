"""uneven.channel_ar: training forward, slice protocol, and exact coding with one call per slice."""

import pytest
import torch

from lic_core.builtins.quantizers import MixedQuantizer
from lic_core.coding.slices import SlicedEntropyModel, skip_previous_support
from lic_uneven.entropy import UnevenChannelAR

TINY = dict(k=1.0, slices=3, z_channels=8, hyper_width=8, width=8, depth=1, hidden=[8])


def _model(seed=0, **kw):
    torch.manual_seed(seed)
    em = UnevenChannelAR(24, **{**TINY, **kw})
    em.quantizer = MixedQuantizer()
    return em


def test_forward_outputs_and_protocol():
    em = _model()
    y = torch.randn(2, 24, 8, 12)
    out = em(y)
    assert em.groups == (4, 8, 12)
    assert out["y_hat"].shape == y.shape
    assert out["likelihoods"]["y"].shape == y.shape
    assert out["likelihoods"]["z"].shape == (2, 8, 2, 3)
    means, scales = out["side"]
    assert means.shape == scales.shape == y.shape
    assert isinstance(em, SlicedEntropyModel)


def test_slice_model_has_own_weights_and_context():
    em = _model()
    aux = em.slice_model(skip_previous_support(3))
    assert not {id(p) for p in aux.parameters()} & {id(p) for p in em.parameters()}
    # slice 2 sees only slice 0; LRP only where a later slice uses the slice
    assert aux.support == ((), (), (0,))
    assert aux.refined == (True, False, False)
    assert em.slices.refined == (True, True, True)


def test_compress_decompress_equal_eval_forward():
    em = _model().eval()
    em.update(force=True)
    y = torch.randn(2, 24, 8, 12) * 3
    with torch.no_grad():
        ref = em(y)["y_hat"]
        enc = em.compress(y)
        dec = em.decompress(enc["strings"], enc["shape"])["y_hat"]
    assert len(enc["strings"]) == len(em.groups) + 1  # one coding call per slice, plus z
    assert all(len(s) == 2 for s in enc["strings"])  # one string per image
    assert torch.equal(enc["y_hat"], ref)
    assert torch.equal(dec, ref)
    # LRP moves y_hat off the integer grid around the means: it is really applied
    assert not torch.equal(ref, torch.round(ref))


def test_wrong_number_of_strings_is_a_clear_error():
    em = _model().eval()
    em.update(force=True)
    with pytest.raises(ValueError, match="expects 4 string lists"):
        em.decompress([[b""]], (8, 12))


def test_bad_hyper_width_is_rejected():
    from lic_uneven.hyper import MeanScaleHyper

    with pytest.raises(ValueError, match="2\\*M"):
        UnevenChannelAR(24, **TINY, hyper=lambda in_channels, out_channels: MeanScaleHyper(in_channels, 8, 8, 10))
