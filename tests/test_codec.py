"""The composed codec: forward outputs, exact decoding, CompressAI utilities, training-only state."""

from __future__ import annotations

import pytest
import torch

import lic_core
from lic_core.interfaces import LossTerm
from lic_core.losses import bits
from lic_core.testing import assert_codes_exactly


def test_forward_outputs_and_gradients(tiny_recipe):
    codec = lic_core.compose(tiny_recipe).train()
    x = torch.rand(2, 3, 64, 64)
    out = codec(x)
    assert out["x_hat"].shape == x.shape and set(out["likelihoods"]) == {"y", "z"}
    assert out["y"].shape == (2, 24, 4, 4) and out["features"] == {"pre": [], "post": []}
    loss = lic_core.losses.rate_distortion(x, out, 0.01)["loss"]
    loss.backward()
    missing = [n for n, p in codec.named_parameters() if p.grad is None and not n.endswith("quantiles")]
    assert not missing
    assert codec.aux_loss().item() > 0


def test_decompress_equals_eval_forward_on_kodak_crops(kodak_crop):
    torch.manual_seed(1)
    codec = lic_core.compose("core.mbt2018-mean")
    coded = assert_codes_exactly(codec, kodak_crop)
    out, enc = coded["forward"], coded["compressed"]
    # the y stream is within 1% of what its likelihoods predict
    y_bits = 8 * sum(len(s) for s in enc["strings"][0])
    predicted = bits({"y": out["likelihoods"]["y"]}).item()
    assert abs(y_bits - predicted) <= 0.01 * predicted + 64


def test_update_and_compressai_state_dict_loader(tiny_codec, tiny_recipe):
    assert tiny_codec.update(force=False) is False
    assert tiny_codec.update(force=True) is True
    fresh = lic_core.compose(tiny_recipe)
    fresh.load_state_dict(tiny_codec.state_dict())  # CDF buffers are resized by CompressAI's loader
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        a = tiny_codec.compress(x)
        b = fresh.eval().compress(x)
    assert a["strings"] == b["strings"]


class _Marker(LossTerm):
    def __init__(self, **schedule):
        super().__init__(**schedule)
        self.aux = torch.nn.Linear(2, 2)

    def forward(self, x, out, codec):
        return self.aux.weight.sum() * 0 + out["x_hat"].mean()


def test_training_only_modules_stay_out_of_coding_state(tiny_recipe):
    codec = lic_core.compose(tiny_recipe)
    codec.losses.append(_Marker(until=0.5))
    coding = codec.coding_state_dict()
    assert not any(k.startswith("losses.") for k in coding)
    assert codec.num_parameters(coding_only=False) - codec.num_parameters() == 6
    fresh = lic_core.compose(tiny_recipe)
    fresh.load_state_dict(coding)
    assert codec.losses[0].weight_at(0.2) == 1.0 and codec.losses[0].weight_at(0.7) == 0.0


@pytest.mark.parametrize("quantizer", ["core.noise", "core.ste", "core.mixed"])
def test_quantizers_differ_in_training_and_agree_in_eval(quantizer):
    q = lic_core.create(quantizer)
    x = torch.randn(4, 8, requires_grad=True)
    means = torch.randn(4, 8)
    rate, hat = q.train()(x, means)
    (rate.sum() + hat.sum()).backward()
    assert x.grad is not None and torch.all(x.grad != 0)
    r2, h2 = q.eval()(x, means)
    assert torch.equal(r2, h2) and torch.equal(h2, torch.round(x - means) + means)


def test_loading_resizes_coder_tables_that_are_already_filled(tiny_recipe):
    """Resuming after --init: the codec's tables are filled, the saved ones have other sizes."""
    a, b = lic_core.compose(tiny_recipe), lic_core.compose(tiny_recipe)
    a.update(force=True)
    with torch.no_grad():
        for name, p in b.named_parameters():
            if name.endswith("quantiles"):
                p.mul_(4)  # wider value ranges: longer CDFs
    b.update(force=True)
    state = b.state_dict()
    assert any(state[k].shape != v.shape for k, v in a.state_dict().items() if k.endswith("_quantized_cdf"))
    a.load_state_dict(state)
    assert all(torch.equal(a.state_dict()[k], v) for k, v in state.items())
