"""Soft-then-hard on a codec of core components: core.gdn + core.hyperprior + sth.quantizer.

Two soft steps train everything; after ``harden()`` a step leaves the encoder (analysis and
hyper analysis) untouched while the decoder trains, the training forward equals the test-time
forward (no train-test mismatch), and the entropy-coded stream decodes to the same latents.
"""

import copy

import pytest
import torch

from lic_core import compose, get_recipe
from lic_core.losses import rate_distortion
from lic_sth.quantizer import SoftThenHardQuantizer

RECIPE = {
    "name": "sth-tiny",
    "transform": {"id": "core.gdn", "N": 8, "M": 12},
    "entropy_model": {"id": "core.hyperprior", "N": 8, "mode": "mean-scale"},
    "quantizer": {"id": "sth.quantizer"},
}


def _step(codec, optimizer, x):
    optimizer.zero_grad(set_to_none=True)
    rate_distortion(x, codec(x), lmbda=0.01)["loss"].backward()
    optimizer.step()


def _snapshot(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _changed(before, module):
    return {k for k, v in module.state_dict().items() if not torch.equal(before[k], v)}


@pytest.fixture
def trained():
    torch.manual_seed(0)
    codec = compose(RECIPE).train()
    params = [p for n, p in codec.named_parameters() if not n.endswith("quantiles")]
    optimizer = torch.optim.Adam(params, lr=1e-3)
    x = torch.rand(2, 3, 64, 64)
    return codec, optimizer, x


def test_soft_then_hard_training(trained):
    codec, optimizer, x = trained
    assert isinstance(codec.quantizer, SoftThenHardQuantizer) and codec.quantizer.stage == "soft"
    encoder = codec.transform.analysis
    hyper = codec.entropy_model.side.hyper
    before = _snapshot(encoder)
    for _ in range(2):
        _step(codec, optimizer, x)
    assert _changed(before, encoder), "the soft stage trains the encoder"

    codec.quantizer.harden()
    frozen = {"analysis": _snapshot(encoder), "hyper.analysis": _snapshot(hyper.analysis)}
    decoder, hyper_dec = _snapshot(codec.transform.synthesis), _snapshot(hyper.synthesis)
    _step(codec, optimizer, x)
    assert not _changed(frozen["analysis"], encoder)
    assert not _changed(frozen["hyper.analysis"], hyper.analysis)
    assert _changed(decoder, codec.transform.synthesis)
    assert _changed(hyper_dec, hyper.synthesis)


def test_hard_stage_has_no_train_test_mismatch(trained):
    codec, _, x = trained
    codec.quantizer.harden()
    with torch.no_grad():
        train_out = codec.train()(x)
        test_out = codec.eval()(x)
    assert torch.equal(train_out["y_hat"], test_out["y_hat"])
    assert torch.equal(train_out["x_hat"], test_out["x_hat"])
    # the soft stage does not match test time (that is the mismatch the hard stage closes)
    codec.quantizer.stage = "soft"
    with torch.no_grad():
        assert not torch.equal(codec.train()(x)["y_hat"], test_out["y_hat"])


def test_compress_decompress_after_both_stages(trained):
    codec, optimizer, x = trained
    _step(codec, optimizer, x)
    codec.quantizer.harden()
    _step(codec, optimizer, x)
    codec.eval().update(force=True)
    with torch.no_grad():
        ref = codec(x)
        enc = codec.compress(x)
        dec = codec.decompress(enc["strings"], enc["shape"])
    assert torch.equal(enc["y_hat"], ref["y_hat"])
    assert torch.equal(dec["y_hat"], ref["y_hat"])
    assert torch.allclose(dec["x_hat"], ref["x_hat"].clamp(0, 1))


def test_shipped_recipe_names_the_paper_setting():
    recipe = get_recipe("sth.mbt2018-mean")
    assert recipe["quantizer"]["id"] == "sth.quantizer"
    small = copy.deepcopy(recipe)
    small["transform"].update(N=8, M=12)
    small["entropy_model"].update(N=8)
    small["quantizer"]["stage"] = "hard"
    codec = compose(small)
    assert codec.quantizer.stage == "hard"
    assert codec.recipe["quantizer"] == {"id": "sth.quantizer", "stage": "hard"}
