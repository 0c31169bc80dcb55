"""Decoding on another device, emulated: exact or the drift error, never a wrong image; and
exact with exact entropy parameters (lic_core.coding.robust)."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from lic_core import compose, load
from lic_core.coding.drift import classify_decode, perturbed_parameters
from lic_core.coding.gaussian import exact_indexes, scale_table
from lic_core.coding.robust import ACT_BITS, WEIGHT_BITS, check_exact, exact_forward, make_exact, to_grid
from lic_core.errors import BitstreamError, CompositionError
from lic_core.imagecodec import compress_image, decompress_image
from lic_core.imageio import read_image
from lic_core.zoo import load_model

KODAK = "../shared/data/kodak"


@pytest.fixture(scope="module")
def images() -> list[torch.Tensor]:
    from pathlib import Path

    files = sorted(Path(__file__).resolve().parents[1].joinpath(KODAK).glob("*.png"))[:2]
    if not files:
        pytest.skip("Kodak images not available")
    return [read_image(f)[0][..., 128:224, 256:352].contiguous() for f in files]


@pytest.fixture(scope="module")
def codecs():
    float_codec = load_model("core.lite-q2")
    return float_codec, make_exact(copy.deepcopy(float_codec))


def _outcomes(codec, images, rel: float = 1e-5, seeds: int = 1) -> tuple[list[str], list[str]]:
    perturbed, f64 = [], []
    f64_codec = copy.deepcopy(codec).double()
    for x in images:
        data = compress_image(codec, x)
        ref = decompress_image(data, codec)
        for seed in range(seeds):
            with perturbed_parameters(codec, rel, seed):
                perturbed.append(classify_decode(data, codec, ref)[0])
        f64.append(classify_decode(data, f64_codec, ref, check_digests=False)[0])
    return perturbed, f64


def test_float_codec_decodes_exactly_or_refuses(codecs, images):
    perturbed, f64 = _outcomes(codecs[0], images)
    # "close": every symbol decoded, the image off by the perturbed means only; never "wrong"
    assert set(perturbed) <= {"exact", "close", "drift-error"}
    assert set(f64) <= {"exact", "close", "drift-error"}
    assert "drift-error" in perturbed  # 1e-5 moves some scale index across a table boundary


def test_exact_codec_decodes_exactly_across_devices(codecs, images):
    perturbed, f64 = _outcomes(codecs[1], images)
    assert perturbed == ["exact"] * len(perturbed)
    assert set(f64) <= {"exact", "close"}  # latents exact; only the float64 synthesis differs


def test_exact_codec_rate_close_to_float(codecs, images):
    float_codec, exact_codec = codecs
    for x in images:
        a, b = len(compress_image(float_codec, x)), len(compress_image(exact_codec, x))
        assert abs(a - b) <= 0.02 * a + 8
        err_a = float(((decompress_image(compress_image(float_codec, x), float_codec) - x) ** 2).mean())
        err_b = float(((decompress_image(compress_image(exact_codec, x), exact_codec) - x) ** 2).mean())
        assert abs(err_a - err_b) <= 0.02 * err_a


def test_streams_of_the_two_modes_are_told_apart(codecs, images):
    float_codec, exact_codec = codecs
    data = compress_image(exact_codec, images[0])
    with pytest.raises(BitstreamError, match="another recipe"):
        decompress_image(data, float_codec)
    assert exact_codec.recipe["exact"] == {"act_bits": ACT_BITS, "weight_bits": WEIGHT_BITS}
    assert float_codec.model_id == "core.lite-q2" and exact_codec.model_id is None  # not the shipped model
    with pytest.raises(ValueError, match="already exact"):
        make_exact(exact_codec)


def test_exact_recipe_round_trips_through_a_checkpoint(tmp_path, images):
    torch.manual_seed(0)
    codec = compose({"name": "t", "transform": {"id": "core.gdn", "N": 16, "M": 24},
                     "entropy_model": {"id": "core.checkerboard", "N": 16}, "exact": True})  # fmt: skip
    assert codec.exact
    codec.update(force=True)
    codec.save(tmp_path / "m.safetensors")
    again = load(tmp_path / "m.safetensors")
    assert again.recipe["exact"] == codec.recipe["exact"]
    x = images[0][..., :64, :64]
    assert torch.equal(decompress_image(compress_image(codec, x), again), decompress_image(compress_image(codec, x), codec))
    base = {"transform": {"id": "core.gdn", "N": 16, "M": 24}, "entropy_model": {"id": "core.checkerboard", "N": 16}}
    for bad, message in (({"bits": 3}, "act_bits and weight_bits"), ("yes", "expected true"), ({"act_bits": 99}, "0 to 20")):
        with pytest.raises(CompositionError, match=f"exact: .*{message}"):
            compose({**base, "exact": bad})


def test_exact_sums_do_not_depend_on_their_order():
    torch.manual_seed(0)
    net = nn.Sequential(nn.ConvTranspose2d(24, 32, 5, 2, 2, 1), nn.LeakyReLU(), nn.Conv2d(32, 16, 3, padding=1))
    check_exact(net)
    a = to_grid(torch.randn(1, 24, 6, 7) * 3, ACT_BITS)
    out = exact_forward(net, a, ACT_BITS, WEIGHT_BITS)
    perm = torch.randperm(24)  # the first layer's sums in another order (input channels permuted)
    shuffled = copy.deepcopy(net)
    shuffled[0].weight.data = shuffled[0].weight.data[perm]
    assert torch.equal(exact_forward(shuffled, a[:, perm], ACT_BITS, WEIGHT_BITS), out)
    assert torch.equal(exact_forward(net, a.float().double(), ACT_BITS, WEIGHT_BITS), out)
    with pytest.raises(ValueError, match="unsupported layer GELU"):
        check_exact(nn.Sequential(nn.Conv2d(2, 2, 1), nn.GELU()))
    with pytest.raises(ValueError, match="2\\*\\*53"):
        check_exact(nn.Conv2d(4, 4, 1), weight_bits=40)


def test_exact_indexes_are_nearest_in_log_and_dtype_independent():
    table = scale_table(256)
    scales = torch.exp(torch.empty(10000).uniform_(-3, 6))
    idx = exact_indexes(scales, table)
    nearest = (scales.double().log()[:, None] - table.double().log()[None]).abs().argmin(1).int()
    assert torch.equal(idx, nearest)
    assert torch.equal(exact_indexes(scales.double(), table), idx)
    assert int(exact_indexes(torch.tensor([-1.0, 0.0, 1e9]), table).tolist()[0]) == 0
    assert exact_indexes(torch.tensor([1e9]), table).item() == 255


def test_plugin_entropy_models_are_refused():
    pytest.importorskip("lic_tinylic")
    torch.manual_seed(0)
    codec = compose("tinylic-small", training=False)
    with pytest.raises(ValueError, match="support the core hyperprior and context models"):
        make_exact(codec)
    assert not getattr(codec, "exact", None) and "exact" not in codec.recipe
