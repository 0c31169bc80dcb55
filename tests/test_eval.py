"""Evaluation: real coding through .lic, anchors, CompressAI result files, table and plot."""

from __future__ import annotations

import json

import pytest
import torch

import lic_core
from lic_core.checkpoint import save_codec
from lic_core.cli.main import main
from lic_core.evaluation.anchors import code_image
from lic_core.evaluation.results import read_curve

RESULT_KEYS = {"bpp", "psnr-rgb", "ms-ssim-rgb", "encoding_time", "decoding_time"}


@pytest.fixture
def two_checkpoints(tiny_recipe, tmp_path):
    paths = []
    for i, lmbda in enumerate((0.005, 0.05)):
        torch.manual_seed(i)
        codec = lic_core.compose(tiny_recipe).eval()
        codec.update(force=True)
        path = tmp_path / f"tiny-{lmbda}.safetensors"
        save_codec(codec, path, lmbda=lmbda, metric="mse", step=0)
        paths.append(path)
    return paths


def test_eval_writes_result_files_table_and_plot(two_checkpoints, image_dir, tmp_path, capsys):
    published = tmp_path / "pub.json"
    published.write_text(json.dumps({"name": "paper", "results": {"bpp": [0.1, 0.5, 1.0], "psnr": [28, 32, 35]}}))
    out_dir, plot = tmp_path / "res", tmp_path / "rd.png"
    rc = main(["eval", *map(str, two_checkpoints), "--data", str(image_dir), "--anchors", "jpeg,webp",
               "--qualities", "20,80", "--out-dir", str(out_dir), "--plot", str(plot),
               "--published", str(published), "--no-progress", "--per-image", "--json", str(tmp_path / "all.json")])  # fmt: skip
    assert rc == 0
    text = capsys.readouterr().out
    assert "tiny (mse)" in text and "JPEG (Pillow)" in text and "img5.png" in text
    assert plot.stat().st_size > 10_000 and plot.read_bytes()[:4] == b"\x89PNG"

    ours = read_curve(out_dir / "tiny_mse.json")  # two lambdas of one recipe: one curve
    assert RESULT_KEYS <= set(ours.results) and len(ours.bpp) == 2
    assert ours.bpp == sorted(ours.bpp) and sorted(ours.results["lambda"]) == [0.005, 0.05]
    # only the 176x176 image is large enough for MS-SSIM: the mean is that image's value
    per_image = json.loads((out_dir / "tiny_mse.per-image.json").read_text())
    rows = per_image[0]["images"]
    assert len(rows) == 6 and [r["ms-ssim-rgb"] is None for r in rows] == [True] * 5 + [False]
    assert per_image[0]["images"][5]["bpp"] == pytest.approx(rows[5]["bytes"] * 8 / 176**2)
    mean_bpp = sum(r["bpp"] for r in rows) / 6
    assert mean_bpp in [pytest.approx(b) for b in ours.bpp]

    for name in ("JPEG_Pillow", "WEBP_Pillow"):
        anchor = read_curve(out_dir / f"{name}.json")
        assert RESULT_KEYS <= set(anchor.results) and len(anchor.bpp) == 2
        assert anchor.bpp[0] < anchor.bpp[1] and anchor.metric("psnr")[0] < anchor.metric("psnr")[1]
        assert anchor.results["quality"] == [20.0, 80.0]
    assert read_curve(tmp_path / "all.json", "WEBP (Pillow)").bpp == read_curve(out_dir / "WEBP_Pillow.json").bpp


def test_eval_errors_are_one_line(image_dir, tmp_path, capsys):
    assert main(["eval", "--data", str(image_dir)]) == 1
    assert "nothing to evaluate" in capsys.readouterr().err
    assert main(["eval", "--data", str(image_dir), "--anchors", "bpg"]) == 1
    assert "unknown anchor" in capsys.readouterr().err
    (tmp_path / "x.safetensors").write_bytes(b"junk")
    assert main(["eval", str(tmp_path / "x.safetensors"), "--data", str(image_dir)]) == 1
    assert "not a safetensors file" in capsys.readouterr().err


def test_pillow_anchor_measures_the_file():
    x = torch.rand(1, 3, 64, 64)
    low, high = code_image(x, "jpeg", 10), code_image(x, "jpeg", 95)
    assert low["bpp"] < high["bpp"] and low["psnr-rgb"] < high["psnr-rgb"]
    assert low["ms-ssim-rgb"] is None  # 64 px: too small for 5 MS-SSIM scales


def test_results_name_paths_relative_never_absolute(tmp_path, monkeypatch):
    from lic_core.evaluation.results import shown_path

    repo = tmp_path / "work" / "main"
    (repo / "weights").mkdir(parents=True)
    monkeypatch.chdir(repo)
    assert shown_path(tmp_path / "work" / "shared" / "data" / "kodak") == "../shared/data/kodak"  # a sibling: relative
    assert shown_path(repo / "weights" / "q1.safetensors") == "weights/q1.safetensors"
    assert shown_path("/elsewhere/tmp/model.safetensors") == "model.safetensors"  # far away: only the name
    assert shown_path("core.lite-q3") == "core.lite-q3"  # a model id is left alone
