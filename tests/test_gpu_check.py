"""benchmarks/gpu_check.py in its CPU quick mode: the same code the GPU run executes, small."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.py"


@pytest.fixture(scope="module")
def gpu_check():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["gpu_check"] = module  # dataclasses resolve annotations through sys.modules
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop("gpu_check", None)


def test_quick_mode_writes_json_and_markdown(gpu_check, tmp_path, capsys):
    argv = ["--device", "cpu", "--quick", "--recipes", "no-such-recipe,core.mbt2018-mean-lite", "--shipped", "core.lite-q1",
            "--no-ddp", "--out", str(tmp_path)]  # fmt: skip
    assert gpu_check.main(argv) == 0
    r = json.loads((tmp_path / "gpu_check-cpu.json").read_text())
    assert r["device"] == "cpu" and r["settings"]["quick"] is True
    bad = r["recipes"]["no-such-recipe"]["train"]
    assert bad["status"] == "error" and "no-such-recipe" in bad["error"]  # recorded; the run went on
    good = r["recipes"]["core.mbt2018-mean-lite"]
    assert good["train"]["status"] == "ok" and good["train"]["images_per_s"] > 0 and good["train"]["finite"]
    coding = good["coding"]
    assert coding["status"] == "ok" and coding["decode_device"] == coding["decode_cpu"] == "exact"
    assert coding["bpp"] > 0 and coding["forward_cpu_vs_device"] == 0.0  # same device here
    assert coding["exact_parameters"]["decode_cpu"] == "exact"
    shipped = r["shipped"]["core.lite-q1"]
    assert shipped["status"] == "ok" and {shipped["float"]["decode_cpu"], shipped["exact"]["decode_cpu"]} == {"exact"}
    flex = r["flex_attention"]
    assert flex["status"] == "ok" and all(flex[b]["max_abs_vs_reference"] < 1e-4 for b in ("auto", "flex", "tiled"))
    assert r["ddp"]["status"] == "skipped"
    md = (tmp_path / "gpu_check-cpu.md").read_text()
    assert "| core.mbt2018-mean-lite | ok |" in md and "no-such-recipe" in md.split("Errors:")[1]


def test_budget_skips_what_it_cannot_start(gpu_check, tmp_path):
    argv = ["--device", "cpu", "--quick", "--recipes", "core.mbt2018-mean-lite", "--shipped", "core.lite-q1",
            "--budget", "0", "--out", str(tmp_path)]  # fmt: skip
    assert gpu_check.main(argv) == 0
    r = json.loads((tmp_path / "gpu_check-cpu.json").read_text())
    assert r["recipes"]["core.mbt2018-mean-lite"]["train"]["status"] == "skipped"
    assert r["shipped"]["core.lite-q1"]["status"] == "skipped" and r["ddp"]["status"] == "skipped"
    assert "skipped" in (tmp_path / "gpu_check-cpu.md").read_text()
