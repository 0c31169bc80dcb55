"""cca.loss composes onto other channel-sliced context models (Tiny-LIC's MCM, DKIC's asymmetric
model, the core's ELIC channel groups): one `lic train` step with the term's diagnostics logged,
then the trained codec codes through the .lic container exactly as its eval forward predicts."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

import lic_core
from lic_core.imagecodec import compress_image, decompress_image
from lic_core.imageio import crop, pad
from lic_core.training.trainer import TrainConfig, Trainer

ELIC_SMALL = {
    "base": "core.elic",
    "name": "elic-small-cca",
    "transform": {"id": "core.elic", "N": 16, "M": 32},
    "entropy_model": {"id": "core.elic-groups", "N": 16, "groups": [2, 2, 4, 8, 16], "context_widths": [16]},
}
RECIPES = {
    "tinylic-small": {"base": "tinylic-small"},
    "dkic-small": {"base": "dkic-small"},
    "core.elic-groups": ELIC_SMALL,
}


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    folder = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    for i in range(2):
        smooth = rng.random((9, 9, 3)).repeat(8, 0).repeat(8, 1)[:64, :64]
        Image.fromarray((smooth * 255).astype(np.uint8)).save(folder / f"{i}.png")
    return folder


@pytest.mark.parametrize("name", list(RECIPES))
def test_cca_loss_trains_a_step_and_the_codec_codes_exactly(name, images, tmp_path):
    recipe = {**RECIPES[name], "losses": [{"id": "cca.loss"}]}
    out = tmp_path / "c.safetensors"
    cfg = TrainConfig(recipe=recipe, data=str(images), lmbda=0.01, steps=1, batch=1, patch=64, out=str(out),
                      val_count=0, log_every=1, progress=False)  # fmt: skip
    trainer = Trainer(cfg)
    assert len(trainer.codec.losses[0].aux.support) == len(trainer.codec.entropy_model.groups)
    trainer.run()
    record = [r for r in map(json.loads, open(tmp_path / "c.log.jsonl")) if r["event"] == "train"][0]
    for key in ("R_main", "R_aux", "L_cca", "auxfit", "floor"):
        assert np.isfinite(record[f"cca.loss/{key}"])
    assert record["cca.loss/L_cca"] == pytest.approx(record["cca.loss/R_main"] - record["cca.loss/R_aux"], rel=1e-4)

    codec = lic_core.load(out).eval()
    assert not any(k.startswith("losses.") for k in codec.state_dict())  # the auxiliary model stays behind
    x = torch.rand(1, 3, 48, 80)
    with torch.no_grad():
        decoded = decompress_image(compress_image(codec, x), codec)
        expected = crop(codec(pad(x, int(codec.stride))[0])["x_hat"], 48, 80).clamp(0, 1)
    assert torch.equal(decoded, expected)
