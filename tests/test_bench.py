"""Benchmark: CompressAI twin with the same weights, coding-time instrumentation, result files."""

from __future__ import annotations

import json

import pytest
import torch

import lic_core
from lic_core.cli.main import main
from lic_core.evaluation.bench import instrument, measure
from lic_core.evaluation.reference import compressai_twin, forward_gap


@pytest.mark.parametrize("mode", ["mean-scale", "scale"])
def test_compressai_twin_holds_the_same_weights(tiny_recipe, mode):
    recipe = {**tiny_recipe, "entropy_model": {**tiny_recipe["entropy_model"], "mode": mode}}
    torch.manual_seed(0)
    codec = lic_core.compose(recipe).eval()
    codec.update(force=True)
    ref = compressai_twin(codec)
    assert type(ref).__name__ == ("MeanScaleHyperprior" if mode == "mean-scale" else "ScaleHyperprior")
    gap = forward_gap(codec, ref, torch.rand(1, 3, 128, 128))
    assert gap["x_hat"] == 0.0 and gap["likelihoods.y"] < 1e-6 and gap["likelihoods.z"] == 0.0


def test_measure_times_the_entropy_coders_and_restores_them(tiny_codec):
    coders = [m for m in tiny_codec.modules() if hasattr(m, "_quantized_cdf")]
    result = measure(tiny_codec, [torch.rand(1, 3, 64, 128)], repeats=2)
    s = result["summary"]
    assert s["exact_decode"] and s["file_bits"] > 0 and s["likelihood_bits"] > 0
    assert 0 < s["encode_coding"] <= s["compress"] and 0 < s["decode_coding"] <= s["decompress"]
    assert all("compress" not in m.__dict__ for m in coders)  # instance wrappers removed
    with instrument(tiny_codec) as timer:
        tiny_codec.compress(torch.rand(1, 3, 64, 64))
    assert timer.seconds > 0
    timer.reset()
    assert timer.seconds == 0


def test_cli_bench_writes_json_and_markdown(tiny_recipe, image_dir, tmp_path, capsys):
    recipe = tmp_path / "tiny.json"
    recipe.write_text(json.dumps(tiny_recipe))
    out = tmp_path / "bench"
    rc = main(["bench", str(recipe), "--data", str(image_dir), "--images", "2", "--repeats", "1",
               "--out-dir", str(out), "--name", "t"])  # fmt: skip
    assert rc == 0
    data = json.loads((out / "bench-t.json").read_text())
    ours, theirs = data["rows"]
    assert ours["reference"] == "CompressAI MeanScaleHyperprior" and theirs["name"] == ours["reference"]
    assert set(ours["ratios"]) == {"forward", "compress", "decompress", "encode_coding", "decode_coding"}
    assert ours["forward_gap"]["x_hat"] == 0.0 and ours["summary"]["exact_decode"]
    assert len(ours["per_image"]) == 2 and data["meta"]["images"] == ["img0.png", "img1.png"]
    table = (out / "bench-t.md").read_text()
    assert "| lic tiny |" in table and "CompressAI MeanScaleHyperprior" in table
    assert "bench-t.md" in capsys.readouterr().out


def test_stage_macs_count_each_stage_per_pixel_and_efficiency_is_a_fraction_of_the_peak(tiny_recipe):
    from lic_core.evaluation.bench import attach_efficiency, matmul_peak, stage_macs

    recipe = {**tiny_recipe, "prepost": [{"id": "core.postfilter", "channels": 8, "depth": 3}]}
    torch.manual_seed(0)
    codec = lic_core.compose(recipe).eval()
    codec.update(force=True)
    macs = stage_macs(codec, torch.rand(1, 3, 64, 64))
    enc, dec = macs["compress"], macs["decompress"]
    assert enc["transform.analysis"] > 0 and "transform.synthesis" not in enc and "prepost.0" not in enc
    assert dec["transform.synthesis"] > 0 and dec["entropy_model.side"] > 0
    # the post-filter: 3x3 convs 3->8, 8->8, 8->3 on every pixel
    assert dec["prepost.0"] == 9 * (3 * 8 + 8 * 8 + 8 * 3)
    assert dec["total"] >= sum(v for k, v in dec.items() if k != "total")
    peak = matmul_peak(size=128, seconds=0.05)
    result = {"summary": {"compress": 0.5, "decompress": 0.25}, "per_image": [{"pixels": 64 * 64}]}
    attach_efficiency(result, macs, peak)
    s = result["summary"]
    assert s["decompress_macs_per_s"] == pytest.approx(dec["total"] * 64 * 64 / 0.25)
    assert s["decompress_peak_fraction"] == pytest.approx(s["decompress_macs_per_s"] / peak)


def test_cli_bench_runs_a_codec_with_pre_post_stages_without_a_reference(tiny_recipe, image_dir, tmp_path, capsys):
    recipe = tmp_path / "pf.json"
    recipe.write_text(json.dumps({**tiny_recipe, "prepost": [{"id": "core.postfilter", "channels": 8, "depth": 3}]}))
    out = tmp_path / "bench"
    rc = main(["bench", str(recipe), "--data", str(image_dir), "--images", "1", "--repeats", "1",
               "--out-dir", str(out), "--name", "pf"])  # fmt: skip
    assert rc == 0
    printed = capsys.readouterr().out
    assert "no CompressAI reference for a codec with pre/post stages; benched without a reference" in printed
    (row,) = json.loads((out / "bench-pf.json").read_text())["rows"]
    s = row["summary"]
    assert "ratios" not in row and s["exact_decode"]
    assert s["decompress_macs_per_pixel"] > s["compress_macs_per_pixel"] > 0 and 0 < s["decompress_peak_fraction"]
    assert "of peak" in (out / "bench-pf.md").read_text()
