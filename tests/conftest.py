"""Shared fixtures for the core's tests: small codecs and images (no Kodak for training)."""

from __future__ import annotations

import pytest

TINY = {
    "name": "tiny",
    "transform": {"id": "core.gdn", "N": 16, "M": 24},
    "entropy_model": {"id": "core.hyperprior", "N": 16},
}


@pytest.fixture
def tiny_recipe() -> dict:
    import copy

    return copy.deepcopy(TINY)


@pytest.fixture
def tiny_codec(tiny_recipe):
    import torch

    import lic_core

    torch.manual_seed(0)
    codec = lic_core.compose(tiny_recipe).eval()
    codec.update(force=True)
    return codec


@pytest.fixture(scope="session")
def kodak_dir():
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "shared" / "data" / "kodak"
    if not path.is_dir():
        pytest.skip(f"Kodak not found at {path}")
    return path


@pytest.fixture(scope="session")
def kodak_crop(kodak_dir):
    """A 128x192 crop of kodim23 as a (1, 3, H, W) float tensor in [0, 1]."""
    import numpy as np
    import torch
    from PIL import Image

    img = np.asarray(Image.open(kodak_dir / "kodim23.png").convert("RGB"))[200:328, 300:492]
    return torch.from_numpy(img.copy()).permute(2, 0, 1).float().div(255).unsqueeze(0)


@pytest.fixture(scope="session")
def image_dir(tmp_path_factory):
    """A folder of 6 small synthetic PNGs (one smaller than a 64 patch, one 176x176 so that
    MS-SSIM's 5 scales fit) for training, evaluation and benchmark tests."""
    import numpy as np
    from PIL import Image

    folder = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    sizes = [(48, 40), (72, 96), (80, 64), (64, 64), (96, 72), (176, 176)]
    for i, (h, w) in enumerate(sizes):
        ramp = np.linspace(0, 190, w)[None, :, None] + np.linspace(0, 40, h)[:, None, None]
        Image.fromarray((ramp + rng.random((h, w, 3)) * 60).astype(np.uint8)).save(folder / f"img{i}.png")
    return folder
