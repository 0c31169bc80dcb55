"""Built-in ELIC / Cheng 2020 components and context entropy models: exact coding, CompressAI parity."""

from __future__ import annotations

import pytest
import torch

import lic_core
import lic_core._quiet  # noqa: F401  (before compressai)
from lic_core.compat import load_compressai
from lic_core.losses import rate_distortion

TINY_ENTROPY = {
    "checkerboard": {"id": "core.checkerboard", "N": 16},
    "checkerboard-odd": {"id": "core.checkerboard", "N": 16, "parity": "odd"},
    "checkerboard-residual": {"id": "core.checkerboard", "N": 16, "residual": True},
    "four-stage-sum": {
        "id": "core.multistage", "N": 16, "order": "four-stage", "kernel_size": [3, 5, 5], "combine": "sum",
    },
    "four-stage-concat": {"id": "core.multistage", "N": 16, "combine": "concat", "kernel_size": 3},
    "three-stage": {"id": "core.multistage", "N": 16, "order": [[[0, 0]], [[1, 1], [0, 1]], [[1, 0]]]},
    "elic": {"id": "core.elic-groups", "N": 16, "groups": [4, 4, 16], "context_widths": [16, 8]},
    "elic-asymmetric": {
        "id": "core.elic-groups", "N": 16, "groups": [4, 4, 16], "context_widths": [16],
        "orders": ["four-stage", "four-stage", "checkerboard"], "hyper": {"id": "core.hyper-meanscale", "N": 16},
    },
    "gmm": {"id": "core.gmm", "N": 16, "K": 3, "order": "single"},
    "gmm-checkerboard": {"id": "core.gmm", "N": 16, "K": 3, "order": "checkerboard"},
}  # fmt: skip


@pytest.mark.parametrize("name", list(TINY_ENTROPY))
def test_decompress_reproduces_the_eval_forward(name):
    torch.manual_seed(0)
    recipe = {"transform": {"id": "core.elic", "N": 16, "M": 24}, "entropy_model": TINY_ENTROPY[name]}
    codec = lic_core.compose(recipe).eval()
    codec.update(force=True)
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        out = codec(x)
        enc = codec.compress(x)
        dec = codec.decompress(enc["strings"], enc["shape"])
    assert torch.equal(enc["y_hat"], out["y_hat"]) and torch.equal(dec["y_hat"], out["y_hat"])
    assert torch.equal(dec["x_hat"], out["x_hat"].clamp(0, 1))
    assert all(len(s) == 2 for s in enc["strings"])
    assert out["likelihoods"]["y"].shape == out["y"].shape


def test_training_reaches_every_parameter():
    torch.manual_seed(1)
    recipe = {"transform": {"id": "core.elic", "N": 16, "M": 24}, "entropy_model": TINY_ENTROPY["elic"]}
    codec = lic_core.compose(recipe).train()
    out = codec(torch.rand(1, 3, 64, 64))
    rate_distortion(torch.rand(1, 3, 64, 64), out, 0.01)["loss"].backward()
    missing = [n for n, p in codec.named_parameters() if p.grad is None and not n.endswith("quantiles")]
    assert not missing


def test_residual_checkerboard_warm_starts_at_the_hyperprior_and_then_learns_from_context(tmp_path):
    from lic_core.checkpoint import load_matching_weights

    torch.manual_seed(2)
    gdn = {"id": "core.gdn", "N": 16, "M": 24}
    hyper = lic_core.compose({"transform": gdn, "entropy_model": {"id": "core.hyperprior", "N": 16}}).eval()
    cb = lic_core.compose({"transform": gdn, "entropy_model": TINY_ENTROPY["checkerboard-residual"]}).eval()
    hyper.save(path := tmp_path / "hyper.safetensors")
    loaded, fresh = load_matching_weights(cb, path)
    assert any(k.startswith("transform.") for k in loaded) and any(".context." in k for k in fresh)
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        a, b = hyper(x), cb(x)
    assert torch.equal(a["x_hat"], b["x_hat"])
    assert torch.allclose(a["likelihoods"]["y"], b["likelihoods"]["y"])
    cb.train()
    rate_distortion(x, cb(x), 0.01)["loss"].backward()
    last = cb.entropy_model.coder.entropy_parameters.net[-1]
    assert last.weight.abs().sum() == 0 and last.weight.grad.abs().sum() > 0


def test_post_filter_warm_starts_as_the_identity_and_then_learns(tmp_path):
    from lic_core.checkpoint import load_matching_weights

    torch.manual_seed(3)
    base = {"transform": {"id": "core.gdn", "N": 16, "M": 24}, "entropy_model": {"id": "core.hyperprior", "N": 16}}
    plain = lic_core.compose(base).eval()
    filtered = lic_core.compose({**base, "prepost": [{"id": "core.postfilter", "channels": 8, "depth": 3}]}).eval()
    assert filtered.stride == plain.stride
    plain.save(path := tmp_path / "plain.safetensors")
    _, fresh = load_matching_weights(filtered, path)
    assert {k.rsplit(".", 1)[-1] for k in fresh if k.startswith("prepost.")} == {"weight", "bias"}
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(filtered(x)["x_hat"], plain(x)["x_hat"])
        coded = _coded(filtered, x)
        assert coded == _coded(plain, x)
        assert torch.equal(filtered.decompress(**coded)["x_hat"], plain.decompress(**coded)["x_hat"])
    filtered.train()
    rate_distortion(x, filtered(x), 0.01)["loss"].backward()
    last = filtered.prepost[0].net[-1]
    assert last.weight.abs().sum() == 0 and last.weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="depth"):
        lic_core.compose({**base, "prepost": [{"id": "core.postfilter", "depth": 1}]})


def test_post_filter_unshuffled_widens_its_view_and_keeps_the_image_shape():
    from lic_core.builtins.postfilter import PostFilter

    torch.manual_seed(4)
    plain, folded = PostFilter(3, channels=8, depth=3), PostFilter(3, channels=8, depth=3, unshuffle=2)
    for f in (plain, folded):
        for m in f.net:
            if isinstance(m, torch.nn.Conv2d):
                torch.nn.init.normal_(m.weight, std=0.1)
    x = torch.zeros(1, 3, 32, 32)
    probe = x.clone()
    probe[..., 16, 16] = 1.0
    with torch.no_grad():
        reach = [((f.post(probe) - probe) - (f.post(x) - x)).abs().sum((0, 1, 2)).nonzero().flatten() for f in (plain, folded)]
    assert folded.post(x).shape == x.shape
    assert reach[0].max() - reach[0].min() == 6  # three 3x3 convs: 7 pixels wide
    assert reach[1].max() - reach[1].min() > 6  # the same convs on 2x2 blocks: wider
    with pytest.raises(ValueError, match="unshuffle"):
        PostFilter(3, unshuffle=0)


def _coded(codec: torch.nn.Module, x: torch.Tensor) -> dict:
    codec.update(force=True)
    enc = codec.compress(x)
    return {"strings": enc["strings"], "shape": enc["shape"]}


def _count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize(
    "recipe,reference",
    [("core.elic", "Elic2022Official"), ("core.cheng2020-anchor-checkerboard", "Cheng2020AnchorCheckerboard")],
)
def test_recipes_match_compressai_parameter_counts(recipe, reference):
    import compressai.models

    torch.manual_seed(0)
    ours = lic_core.compose(recipe)
    theirs = getattr(compressai.models, reference)()
    assert ours.num_parameters() == _count(theirs)
    shapes = sorted(tuple(p.shape) for p in ours.parameters())
    assert shapes == sorted(tuple(p.shape) for p in theirs.parameters())
    ours.eval().update(force=True)  # full size codes exactly too
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        out = ours(x)
        enc = ours.compress(x)
        assert torch.equal(ours.decompress(enc["strings"], enc["shape"])["y_hat"], out["y_hat"])


@pytest.mark.parametrize("arch", ["elic", "cheng2020", "mbt2018-mean", "bmshj2018"])
def test_compressai_weights_give_compressai_outputs(arch):
    from compressai.models import Cheng2020AnchorCheckerboard, Elic2022Official, MeanScaleHyperprior, ScaleHyperprior

    torch.manual_seed(2)
    ref, recipe = {
        "elic": (
            Elic2022Official(N=16, M=24, groups=[4, 4, 16]),
            {"transform": {"id": "core.elic", "N": 16, "M": 24},
             "entropy_model": {"id": "core.elic-groups", "N": 16, "groups": [4, 4, 16]}},
        ),
        "cheng2020": (
            Cheng2020AnchorCheckerboard(N=16),
            {"transform": {"id": "core.cheng2020", "N": 16},
             "entropy_model": {"id": "core.checkerboard", "N": 16, "hyper": {"id": "core.hyper-cheng2020", "N": 16}}},
        ),
        "mbt2018-mean": (
            MeanScaleHyperprior(N=16, M=24),
            {"transform": {"id": "core.gdn", "N": 16, "M": 24}, "entropy_model": {"id": "core.hyperprior", "N": 16}},
        ),
        "bmshj2018": (
            ScaleHyperprior(N=16, M=24),
            {"transform": {"id": "core.gdn", "N": 16, "M": 24},
             "entropy_model": {"id": "core.hyperprior", "N": 16, "mode": "scale"}},
        ),
    }[arch]  # fmt: skip
    ref.eval().update(force=True)
    codec = load_compressai(lic_core.compose(recipe).eval(), ref.state_dict())
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        a, b = ref(x), codec(x)
        enc = codec.compress(x)
        dec = codec.decompress(enc["strings"], enc["shape"])
    # equal up to float rounding: lic runs the 1x1 parameter nets on each stage's pixels only
    assert torch.allclose(a["x_hat"], b["x_hat"], atol=1e-5)
    for name in ("y", "z"):
        assert torch.allclose(a["likelihoods"][name], b["likelihoods"][name], rtol=1e-4, atol=1e-7)
    assert torch.equal(dec["y_hat"], b["y_hat"])


def test_compat_rejects_foreign_state():
    from lic_core.errors import CheckpointError

    recipe = {"transform": {"id": "core.elic", "N": 16, "M": 24}, "entropy_model": TINY_ENTROPY["elic"]}
    codec = lic_core.compose(recipe)
    with pytest.raises(CheckpointError, match="not a state dict"):
        load_compressai(codec, {"foo.weight": torch.zeros(1)})


@pytest.mark.parametrize("block", ["core.residual", "core.residual3x3", "core.attention"])
def test_blocks_preserve_shape(block):
    b = lic_core.create(block, 16)
    assert isinstance(b, lic_core.Block) and b.channels == 16
    x = torch.randn(2, 16, 9, 7)
    assert b(x).shape == x.shape


@pytest.mark.parametrize("tid", ["core.elic", "core.cheng2020"])
@pytest.mark.parametrize("in_stride", [1, 2, 4])
def test_transforms_accept_a_stem_and_a_block(tid, in_stride):
    t = lic_core.create(tid, N=16, M=24, in_channels=5, in_stride=in_stride, block={"id": "core.attention"})
    assert t.stride == 16 // in_stride and t.latent_channels == 24
    x = torch.randn(1, 5, 32, 32)
    y = t.analysis(x)
    assert y.shape == (1, 24, 32 // t.stride, 32 // t.stride) and t.synthesis(y).shape == x.shape
    assert any(isinstance(m, lic_core.Block) and type(m).__name__ == "Attention" for m in t.analysis)


def test_bad_parameters_say_what_is_wrong():
    with pytest.raises(ValueError, match="sum to"):
        lic_core.create("core.elic-groups", 24, N=16, groups=[4, 4, 8])
    with pytest.raises(ValueError, match="pass groups explicitly"):
        lic_core.create("core.elic-groups", 24, N=16)
    with pytest.raises(ValueError, match="parity"):
        lic_core.create("core.checkerboard", 16, N=16, parity="diagonal")
    with pytest.raises(ValueError, match="residual=True needs side features"):
        lic_core.create("core.checkerboard", 16, N=16, residual=True, hyper={"id": "core.hyper-elic", "N": 8})
    with pytest.raises(ValueError, match="in_stride"):
        lic_core.create("core.elic", N=16, M=24, in_stride=3)
