"""``lic ablate``: recipe patches, the plan's checks, a whole tiny ablation, and that a second
invocation redoes nothing."""

from __future__ import annotations

import json

import pytest
import yaml

from lic_core.ablation.spec import AblationError, apply_patch, load_spec
from lic_core.cli.main import main


def test_patch_operators_append_prepend_and_swap():
    base = {"transform": {"id": "core.gdn", "N": 16}, "prepost": [{"id": "a"}], "losses": []}
    out = apply_patch(base, {"prepost+": [{"id": "b"}], "+prepost": [{"id": "z"}], "losses+": [{"id": "l"}],
                             "transform": {"N": 32}, "quantizer": "core.ste"})  # fmt: skip
    assert [p["id"] for p in out["prepost"]] == ["z", "a", "b"]
    assert out["losses"] == [{"id": "l"}] and out["transform"] == {"id": "core.gdn", "N": 32}
    assert out["quantizer"] == "core.ste" and base["prepost"] == [{"id": "a"}]  # the base is untouched
    swapped = apply_patch(base, {"transform": {"id": "other.t", "M": 8}})
    assert swapped["transform"] == {"id": "other.t", "M": 8}  # another id replaces the entry
    with pytest.raises(AblationError, match="takes a list"):
        apply_patch(base, {"prepost+": {"id": "b"}})


@pytest.fixture
def ladder(tmp_path, tiny_recipe):
    """Two tiny checkpoints of one recipe at two lambdas: a base ladder."""
    import torch

    import lic_core

    paths = []
    for i, lmbda in enumerate((0.004, 0.03)):
        torch.manual_seed(i)
        codec = lic_core.compose(tiny_recipe).eval()
        codec.update(force=True)
        path = tmp_path / f"tiny-q{i + 1}.safetensors"
        codec.save(path, lmbda=lmbda, metric="mse")
        paths.append(str(path))
    return paths


def _spec(tmp_path, ladder, image_dir, **over) -> dict:
    spec = {
        "name": "tiny",
        "base": {"checkpoints": ladder},
        "budget": {"steps": 2, "batch": 1, "patch": 64, "lr": 1e-4, "seed": 3, "ckpt_every": 1},
        "data": [{"dir": str(image_dir), "first": 4}],
        "eval": {"held": {"dir": str(image_dir), "last": 2}},
        "variants": {"pf": {"prepost+": [{"id": "core.postfilter", "channels": 8, "depth": 2}]}},
    }  # fmt: skip
    spec.update(over)
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    return spec


def test_spec_checks(tmp_path, ladder, image_dir):
    spec = _spec(tmp_path, ladder, image_dir)
    assert [p.lmbda for p in load_spec(spec).points] == [0.004, 0.03]
    with pytest.raises(AblationError, match="plain words other than"):
        load_spec({**spec, "variants": {"control": {}}})
    with pytest.raises(AblationError, match="unknown keys"):
        load_spec({**spec, "budget": {"steps": 2, "epochs": 1}})
    with pytest.raises(AblationError, match="variant bad: "):
        load_spec({**spec, "variants": {"bad": {"quantizer": "nope.quantizer"}}})


def test_training_data_overlapping_an_eval_set_is_refused(tmp_path, ladder, image_dir, capsys):
    _spec(tmp_path, ladder, image_dir, data=[str(image_dir)])
    assert main(["ablate", str(tmp_path / "spec.yaml"), "--out-dir", str(tmp_path / "out")]) == 1
    assert "evaluation images are in the training data" in capsys.readouterr().err


def test_a_tiny_ablation_reports_and_resumes_without_redoing(tmp_path, ladder, image_dir, capsys, monkeypatch):
    _spec(tmp_path, ladder, image_dir)
    out = tmp_path / "out"
    args = ["ablate", str(tmp_path / "spec.yaml"), "--out-dir", str(out), "--jobs", "2"]
    assert main(args) == 0
    report = json.loads((out / "report.json").read_text())
    rows = {r["variant"]: r for r in report["rows"]}
    assert set(rows) == {"base", "control", "pf"}
    assert rows["pf"]["parameters_added"] > 0 and rows["pf"]["macs_per_pixel_added"] > 0
    assert rows["pf"]["held"]["against"] == "control" and rows["control"]["held"]["against"] == "base"
    assert rows["pf"]["held"]["bd_rate_psnr_pchip"] is not None  # 2 points: pchip yes,
    assert rows["pf"]["held"]["bd_rate_psnr_cubic"] is None  # a cubic fit needs 4
    assert rows["pf"]["bd_points"] == ["tiny-q1", "tiny-q2"]
    control_gain = rows["pf"]["held"]["control_vs_base_psnr_pchip"]  # what fine-tuning alone buys, on pf's points
    assert control_gain == pytest.approx(rows["control"]["held"]["bd_rate_psnr_pchip"])
    assert (out / "rd-held.png").is_file() and (out / "curves" / "held" / "pf.json").is_file()
    log = (out / "runs" / "pf" / "tiny-q1" / "model.log.jsonl").read_text().splitlines()
    assert json.loads(log[0])["event"] == "start"  # trained through lic train's loop

    results = sorted(out.glob("runs/*/*/result.json"))
    assert len(results) == 6
    stamps = {p: p.stat().st_mtime_ns for p in results}
    killed = out / "runs" / "pf" / "tiny-q2"
    (killed / "result.json").unlink()  # as if the run had been killed while evaluating
    capsys.readouterr()
    import lic_core.ablation.report as report_module

    reports = []  # the report is rewritten after each finished run, then once at the end
    write = report_module.write_report
    monkeypatch.setattr(report_module, "write_report", lambda *a: reports.append(a) or write(*a))
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "5 of 6 runs already finished: not redone" in printed and "start pf/tiny-q2" in printed
    assert len(reports) == 2
    assert all(p.stat().st_mtime_ns == t for p, t in stamps.items() if p.parent != killed)
    assert (killed / "result.json").is_file()


def test_a_changed_spec_does_not_mix_with_old_runs(tmp_path, ladder, image_dir, capsys):
    _spec(tmp_path, ladder, image_dir, variants={})
    out = tmp_path / "out"
    assert main(["ablate", str(tmp_path / "spec.yaml"), "--out-dir", str(out), "--only", "base", "--point", "tiny-q2"]) == 0
    assert [p.parent.name for p in out.glob("runs/base/*/result.json")] == ["tiny-q2"]
    assert main(["ablate", str(tmp_path / "spec.yaml"), "--out-dir", str(out), "--point", "q9"]) == 1
    assert "--point: unknown name(s) q9" in capsys.readouterr().err
    assert main(["ablate", str(tmp_path / "spec.yaml"), "--out-dir", str(out), "--report-only"]) == 0
    _spec(tmp_path, ladder, image_dir, variants={}, budget={"steps": 3, "batch": 1, "patch": 64})
    capsys.readouterr()
    assert main(["ablate", str(tmp_path / "spec.yaml"), "--out-dir", str(out)]) == 1
    assert "holds a run with other settings" in capsys.readouterr().err


def test_a_run_being_worked_on_by_another_process_is_not_entered(tmp_path):
    import fcntl

    from lic_core.ablation.job import run_job

    (tmp_path / "job.json").write_text(json.dumps({"threads": 1}))
    with open(tmp_path / "lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(AblationError, match="being run by another process"):
            run_job(tmp_path)
