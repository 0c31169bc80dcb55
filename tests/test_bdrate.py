"""Bjontegaard deltas: CompressAI's published pairs, exact synthetic shifts, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lic_core.cli.main import main
from lic_core.evaluation.bdrate import bd_metrics, bd_psnr, bd_rate
from lic_core.evaluation.results import read_curve

ANCHORS = Path(__file__).resolve().parents[2] / "shared" / "anchors"
KODAK = ANCHORS / "compressai-kodak"


@pytest.fixture(scope="module")
def kodak_anchors():
    if not KODAK.is_dir():
        pytest.skip(f"anchors not found at {KODAK}")
    return KODAK


# (reference, test, method, BD-rate %, BD-PSNR dB) measured with this module; the first row is
# CompressAI's own figure for mbt2018-mean against BPG-444 (-3.44 %).
PAIRS = [
    ("bpg_444_x265_ycbcr.json", "compressai-mbt2018-mean_mse_cpu.json", "cubic", -3.4398, 0.1471),
    ("bpg_444_x265_ycbcr.json", "compressai-mbt2018-mean_mse_cpu.json", "pchip", -3.2834, 0.1656),
    ("bpg_444_x265_ycbcr.json", "vtm.json", "cubic", -18.0668, 0.9944),
    ("bpg_444_x265_ycbcr.json", "compressai-bmshj2018-hyperprior_mse_cpu.json", "pchip", 3.9296, -0.1844),
    ("bpg_444_x265_ycbcr.json", "compressai-cheng2020-anchor_mse_cpu.json", "cubic", -18.8157, 0.9120),
]


@pytest.mark.parametrize("ref,test,method,rate,psnr", PAIRS)
def test_published_pairs(kodak_anchors, ref, test, method, rate, psnr):
    a, b = read_curve(kodak_anchors / ref), read_curve(kodak_anchors / test)
    m = bd_metrics(a.bpp, a.metric("psnr"), b.bpp, b.metric("psnr"), method)
    assert m["bd_rate"] == pytest.approx(rate, abs=1e-3)
    assert m["bd_psnr"] == pytest.approx(psnr, abs=1e-3)


@pytest.mark.parametrize("method", ["cubic", "pchip"])
def test_exact_on_shifted_curves(method):
    rate = [0.1, 0.2, 0.4, 0.8, 1.6]
    psnr = [28.0, 30.5, 33.2, 36.1, 39.0]
    assert bd_rate(rate, psnr, rate, psnr, method) == pytest.approx(0.0, abs=1e-9)
    # 10% fewer bits everywhere: exactly -10% whatever the fit
    assert bd_rate(rate, psnr, [0.9 * r for r in rate], psnr, method) == pytest.approx(-10.0, abs=1e-6)
    assert bd_psnr(rate, psnr, rate, [p + 0.5 for p in psnr], method) == pytest.approx(0.5, abs=1e-9)
    # symmetric: swapping the curves inverts the rate ratio
    fwd = bd_rate(rate, psnr, [0.8 * r for r in rate], psnr, method)
    back = bd_rate([0.8 * r for r in rate], psnr, rate, psnr, method)
    assert (1 + fwd / 100) * (1 + back / 100) == pytest.approx(1.0)


def test_methods_differ_on_real_data_and_bad_input_is_refused(kodak_anchors):
    a = read_curve(kodak_anchors / "bpg_444_x265_ycbcr.json")
    b = read_curve(kodak_anchors / "compressai-mbt2018-mean_mse_cpu.json")
    cubic = bd_rate(a.bpp, a.metric("psnr"), b.bpp, b.metric("psnr"), "cubic")
    pchip = bd_rate(a.bpp, a.metric("psnr"), b.bpp, b.metric("psnr"), "pchip")
    assert cubic != pchip and abs(cubic - pchip) < 0.5
    with pytest.raises(ValueError, match="at least 4"):
        bd_rate([0.1, 0.2, 0.3], [30, 31, 32], [0.1, 0.2, 0.3], [30, 31, 32])
    with pytest.raises(ValueError, match="do not overlap"):
        bd_rate([0.1, 0.2, 0.3, 0.4], [20, 21, 22, 23], [0.1, 0.2, 0.3, 0.4], [30, 31, 32, 33])
    with pytest.raises(ValueError, match="method"):
        bd_rate(a.bpp, a.metric("psnr"), b.bpp, b.metric("psnr"), "linear")


@pytest.mark.parametrize("method,expected", [("cubic", -3.4398), ("pchip", -3.2834)])
def test_cli_json(kodak_anchors, capsys, method, expected):
    rc = main(["bdrate", str(kodak_anchors / "bpg_444_x265_ycbcr.json"),
               str(kodak_anchors / "compressai-mbt2018-mean_mse_cpu.json"), "--json", "--method", method])  # fmt: skip
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["bd_rate"] == pytest.approx(expected, abs=1e-3) and out["method"] == method
    assert out["bd_psnr"] > 0 and out["test"] == "mbt2018-mean"


def test_cli_reads_psnr_key_and_named_curves(kodak_anchors, tmp_path, capsys):
    # kodak_rd_points.json holds several curves with a plain "psnr" key: FILE:NAME picks one
    points = ANCHORS / "kodak_rd_points.json"
    rc = main(["bdrate", f"{points}:BPG444", str(kodak_anchors / "vtm.json"), "--json"])
    assert rc == 0
    assert json.loads(capsys.readouterr().out)["bd_rate"] == pytest.approx(-18.07, abs=0.5)
    # a file with only "psnr" (older CompressAI files)
    ref = json.loads((kodak_anchors / "bpg_444_x265_ycbcr.json").read_text())
    ref["results"] = {"bpp": ref["results"]["bpp"], "psnr": ref["results"]["psnr-rgb"]}
    (tmp_path / "old.json").write_text(json.dumps(ref))
    assert main(["bdrate", str(tmp_path / "old.json"), str(kodak_anchors / "compressai-mbt2018-mean_mse_cpu.json")]) == 0
    assert "-3.44%" in capsys.readouterr().out
    assert main(["bdrate", f"{points}:nope", str(kodak_anchors / "vtm.json")]) == 1
    assert "no curve named 'nope'" in capsys.readouterr().err


def test_a_rate_range_uses_only_the_points_within_it(capsys, tmp_path):
    rate = [0.1, 0.2, 0.4, 0.8, 1.6, 3.2]
    psnr = [28.0, 30.5, 33.2, 36.1, 39.0, 42.0]
    # the test curve saves 30% below 0.5 bpp and nothing above: the high range alone sees 0%
    test = [r * (0.7 if r < 0.5 else 1.0) for r in rate]
    high = bd_metrics(rate, psnr, test, psnr, "pchip", (0.5, float("inf")))
    assert high["bd_rate"] == pytest.approx(0.0, abs=1e-9) and high["points"] == [3, 3]
    assert bd_metrics(rate, psnr, test, psnr, "pchip")["bd_rate"] < -5
    with pytest.raises(ValueError, match="at least 4 rate-distortion points between 1 and inf, got 2"):
        bd_metrics(rate, psnr, test, psnr, "cubic", (1.0, float("inf")))
    for name, r in (("ref", rate), ("test", test)):
        (tmp_path / f"{name}.json").write_text(json.dumps({"name": name, "results": {"bpp": r, "psnr-rgb": psnr}}))
    assert main(["bdrate", str(tmp_path / "ref.json"), str(tmp_path / "test.json"), "--min-bpp", "0.5", "--method", "pchip"]) == 0
    assert "0.5-inf bpp): BD-rate +0.00%" in capsys.readouterr().out
    assert main(["bdrate", str(tmp_path / "ref.json"), str(tmp_path / "test.json"), "--min-bpp", "2", "--max-bpp", "1"]) == 1
    assert "--min-bpp" in capsys.readouterr().err
