"""The on-disk cache of Pillow anchor records (what makes `make demo`'s anchors a one-time cost)."""

from __future__ import annotations

import json

import torch

from lic_core.evaluation import anchors
from lic_core.evaluation.anchors import AnchorCache, code_image


def _image(seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    ramp = torch.linspace(0, 0.8, 48).reshape(1, 1, 1, 48).expand(1, 3, 40, 48)
    return (ramp + 0.2 * torch.rand(1, 3, 40, 48, generator=g)).clamp(0, 1)


def test_a_cached_sweep_reuses_records_and_codes_only_what_is_missing(tmp_path, monkeypatch):
    path = tmp_path / "cache.json"
    images = [_image(0), _image(1)]
    first = anchors.sweep(images, "jpeg", (10, 50), msssim=False, cache=AnchorCache(path))
    assert path.is_file() and "ms-ssim-rgb" not in first[0]
    assert first[0]["psnr-rgb"] == code_image(images[0], "jpeg", 10, msssim=False)["psnr-rgb"] * 0.5 + \
        code_image(images[1], "jpeg", 10, msssim=False)["psnr-rgb"] * 0.5  # fmt: skip

    calls = []
    real = anchors.code_image
    monkeypatch.setattr(anchors, "code_image", lambda *a, **k: calls.append(a[1:3]) or real(*a, **k))
    again = anchors.sweep(images, "jpeg", (10, 50, 90), msssim=False, cache=AnchorCache(path))
    assert [p["bpp"] for p in again[:2]] == [p["bpp"] for p in first]
    # the warm-up call, then only quality 90 for the two images
    assert calls == [("jpeg", 50), ("jpeg", 90), ("jpeg", 90)]


def test_a_corrupt_or_foreign_cache_is_ignored_not_trusted(tmp_path):
    path = tmp_path / "cache.json"
    x = _image(2)
    key = AnchorCache.key(x, "webp", 30, False)
    for text in ("{not json", json.dumps({"versions": "Pillow 0.0", "records": {key: {"bpp": 99.0}}}),
                 json.dumps({"versions": AnchorCache(path).versions, "records": {key: {"bpp": "x"}}})):  # fmt: skip
        path.write_text(text)
        record = AnchorCache(path).code(x, "webp", 30, msssim=False)
        assert record["bpp"] == code_image(x, "webp", 30, msssim=False)["bpp"]
