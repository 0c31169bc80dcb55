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
