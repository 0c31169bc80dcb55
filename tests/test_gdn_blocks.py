"""``core.gdn``'s ``block`` slot: without it the parameter names are the plain transform's
(shipped weights keep their meaning); with it the codec warm-starts exactly from a plain one."""

from __future__ import annotations

import torch

import lic_core
from lic_core.checkpoint import TABLE_BUFFERS, load_matching_weights
from lic_core.imagecodec import compress_image, decompress_image


def test_blocks_start_as_the_identity_and_code_exactly(tmp_path, tiny_recipe):
    torch.manual_seed(0)
    plain = lic_core.compose(tiny_recipe).eval()
    plain.update(force=True)
    plain.save(tmp_path / "plain.safetensors")
    with_blocks = lic_core.compose({**tiny_recipe, "transform": {**tiny_recipe["transform"], "block": {"id": "core.residual"}}})
    with_blocks.eval()
    loaded, fresh = load_matching_weights(with_blocks, tmp_path / "plain.safetensors")
    assert all(".blocks." in k or k.rsplit(".", 1)[1] in TABLE_BUFFERS for k in fresh)  # tables: rebuilt
    assert set(plain.state_dict()) <= set(with_blocks.state_dict())  # the old names are all kept
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(with_blocks(x)["x_hat"], plain(x)["x_hat"])
    assert with_blocks.num_parameters() > plain.num_parameters()
    assert sum(".blocks." in k for k, _ in with_blocks.named_parameters()) > 0

    for p in with_blocks.transform.parameters():  # move the gates: the blocks now act
        if p.dim() == 4 and p.shape[0] == 1:
            torch.nn.init.constant_(p, 0.5)
    with_blocks.update(force=True)
    with torch.no_grad():
        assert not torch.equal(with_blocks(x)["x_hat"], plain(x)["x_hat"])
        data = compress_image(with_blocks, x)
        assert torch.equal(decompress_image(data, with_blocks), decompress_image(data, with_blocks))


def test_the_plain_transform_keeps_its_parameter_names(tiny_recipe):
    names = [k for k, _ in lic_core.compose(tiny_recipe).transform.named_parameters()]
    assert "analysis.0.weight" in names and "synthesis.6.weight" in names
    assert not any("blocks" in n for n in names)
