"""Training: data stream, schedules, state files, loss going down, exact resume, DDP on CPU."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

import lic_core
from lic_core.errors import LicError
from lic_core.training import trainer as trainer_module
from lic_core.training.data import PatchStream, StepBatches, fit_to_patch, list_images, load_rgb, steps_for_epochs
from lic_core.training.schedule import LRSchedule, RateWeight, parse_rate_weight, parse_schedule
from lic_core.training.state import read_state, restore_state, save_state
from lic_core.training.trainer import TrainConfig, Trainer


def _config(recipe, image_dir, out, **kw) -> TrainConfig:
    base = dict(recipe=recipe, data=str(image_dir), lmbda=0.01, steps=6, batch=2, patch=64, out=str(out),
                val_count=0, log_every=1, ckpt_every=3, progress=False)  # fmt: skip
    base.update(kw)
    return TrainConfig(**base)


def _train_log(path) -> dict[int, dict]:
    return {r["step"]: r for r in map(json.loads, open(path)) if r["event"] == "train"}


# -- data ------------------------------------------------------------------------------------
def test_patch_stream_is_deterministic_handles_small_images_and_shards(image_dir, tmp_path):
    files = list_images(image_dir)
    assert len(files) == 6
    stream = PatchStream(files, patch=64, seed=3)
    items = [stream[p] for p in range(8)]  # covers the 48x40 image, upscaled
    assert all(t.shape == (3, 64, 64) and 0 <= t.min() and t.max() <= 1 for t in items)
    assert all(torch.equal(a, b) for a, b in zip(items, [stream[p] for p in range(8)]))
    assert not torch.equal(stream[0], PatchStream(files, patch=64, seed=4)[0])
    assert sorted(stream.image_index(p) for p in range(6)) == list(range(6))  # one epoch = every image once
    padded = fit_to_patch(torch.rand(3, 20, 30), 64, "pad")
    assert padded.shape == (3, 64, 64)
    ranks = [list(StepBatches(2, 1, 3, rank=r, world=2)) for r in range(2)]
    flat = [p for r in ranks for b in r for p in b]
    assert len(flat) == len(set(flat)) == 8 and min(flat) == 4  # step 1 starts at position 1 * 2 * 2
    assert steps_for_epochs(2, 6, 2, world=2) == 3
    (tmp_path / "notes.txt").write_text("not an image")
    with pytest.raises(LicError, match="no images"):
        list_images(tmp_path)


def test_training_images_are_read_like_images_to_compress(tmp_path):
    from PIL import Image

    rotated = Image.new("RGB", (40, 20), (200, 10, 10))
    exif = rotated.getexif()
    exif[0x0112] = 6  # EXIF orientation: viewers rotate it 90 degrees
    rotated.save(tmp_path / "rotated.jpg", exif=exif)
    assert load_rgb(tmp_path / "rotated.jpg").shape == (3, 40, 20)  # as viewers show it
    frames = [Image.new("RGB", (8, 8), (i, 0, 0)) for i in (0, 255)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    (tmp_path / "junk.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(40))
    for name, match in (("anim.gif", "2 frames"), ("junk.png", "junk.png")):
        with pytest.raises(LicError, match=match):
            load_rgb(tmp_path / name)


def test_lr_schedules():
    cos = LRSchedule("cosine", floor=0.0)
    assert cos.factor(0) == 1.0 and cos.factor(1) == pytest.approx(0.0) and cos.factor(0.5) == pytest.approx(0.5)
    step = parse_schedule("step:milestones=0.5+0.75,gamma=0.5")
    assert [step.factor(p) for p in (0.1, 0.5, 0.8)] == [1.0, 0.5, 0.25]
    warm = parse_schedule("constant:warmup=0.1")
    assert warm.factor(0.05) == pytest.approx(0.5) and warm.factor(0.5) == 1.0
    with pytest.raises(ValueError):
        parse_schedule("linear")


def test_rate_weight_schedules():
    step = parse_schedule("step:milestones=0.6+0.9")
    assert parse_rate_weight("0.3", step) == RateWeight(0.3, 0.6)  # until the first LR drop
    assert parse_rate_weight("0.3:until=lr-drop", step) == RateWeight(0.3, 0.6)
    half = parse_rate_weight("2:until=0.5", LRSchedule("cosine"))
    assert [half.factor(p) for p in (0.0, 0.49, 0.5, 1.0)] == [2.0, 2.0, 1.0, 1.0]
    for bad, message in [("0.3", "step LR schedule"), ("-1:until=0.5", "positive"), ("x", "number"),
                         ("0.3:until=2", "fraction"), ("0.3:from=0.1", "until=")]:  # fmt: skip
        with pytest.raises(ValueError, match=message):
            parse_rate_weight(bad, LRSchedule("cosine"))


def test_state_file_round_trip_is_safetensors_only(tmp_path):
    from safetensors import safe_open

    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(model.parameters(), lr=0.1)
    model(torch.randn(4, 3)).sum().backward()
    opt.step()
    save_state(tmp_path / "s.safetensors", model, {"main": opt}, step=7, extra={"note": "x"})
    with safe_open(str(tmp_path / "s.safetensors"), framework="pt") as f:  # a plain safetensors file
        keys = set(f.keys())
    assert {"model.weight", "rng.torch", "opt.main.0.exp_avg"} <= keys
    expected_next = torch.rand(3)
    model2 = torch.nn.Linear(3, 2)
    opt2 = torch.optim.Adam(model2.parameters(), lr=0.5)
    meta = restore_state(tmp_path / "s.safetensors", model2, {"main": opt2})
    assert meta["step"] == 7 and meta["extra"]["note"] == "x"
    assert torch.equal(model2.weight, model.weight) and opt2.param_groups[0]["lr"] == 0.1
    assert torch.equal(torch.rand(3), expected_next)  # RNG restored to the saved point
    (tmp_path / "bad.safetensors").write_bytes(b"not a state")
    with pytest.raises(lic_core.CheckpointError):
        read_state(tmp_path / "bad.safetensors")


# -- training --------------------------------------------------------------------------------
def test_loss_goes_down_and_checkpoint_codes(tiny_recipe, image_dir, tmp_path):
    cfg = _config(tiny_recipe, image_dir, tmp_path / "c.safetensors", steps=30, lr=1e-3, val_count=2,
                  val_dir=str(image_dir), val_every=30, val_crop=64, schedule="constant")  # fmt: skip
    trainer = Trainer(cfg)
    quantiles = trainer.codec.entropy_model.side.entropy_bottleneck.quantiles.detach().clone()
    result = trainer.run()
    log = _train_log(tmp_path / "c.log.jsonl")
    first = sum(log[s]["total"] for s in range(1, 6)) / 5
    last = sum(log[s]["total"] for s in range(26, 31)) / 5
    assert last < 0.7 * first
    # the aux optimizer moved the quantiles
    assert not torch.equal(trainer.codec.entropy_model.side.entropy_bottleneck.quantiles.detach(), quantiles)
    vals = [json.loads(line) for line in open(tmp_path / "c.log.jsonl") if '"val"' in line]
    assert [v["step"] for v in vals] == [0, 30] and vals[-1]["rd_loss"] < vals[0]["rd_loss"]
    assert all(v["coded_bpp"] > 0 for v in vals)
    codec = lic_core.load(result["checkpoint"])
    meta = codec.checkpoint_metadata
    assert json.loads(meta["lic.lambda"]) == 0.01 and json.loads(meta["lic.step"]) == 30
    x = torch.rand(1, 3, 40, 56)
    y = lic_core.decompress_image(lic_core.compress_image(codec, x), codec)
    assert y.shape == x.shape


def test_loss_terms_follow_their_schedule(tiny_recipe, image_dir, tmp_path):
    recipe = {**tiny_recipe, "losses": [{"id": "core.rd", "metric": "mse", "lmbda": 0.02, "until": 0.5}]}
    Trainer(_config(recipe, image_dir, tmp_path / "t.safetensors", steps=4)).run()
    log = _train_log(tmp_path / "t.log.jsonl")
    assert ["core.rd" in log[s] for s in (1, 2, 3, 4)] == [True, True, False, False]  # logged under its id
    assert log[1]["total"] > log[1]["loss"]


def test_rate_weight_multiplies_the_rate_until_its_end_and_is_part_of_the_identity(tiny_recipe, image_dir, tmp_path):
    Trainer(_config(tiny_recipe, image_dir, tmp_path / "r.safetensors", steps=4, rate_weight="0.25:until=0.5")).run()
    log = _train_log(tmp_path / "r.log.jsonl")
    assert [log[s]["rate_weight"] for s in (1, 2, 3, 4)] == [0.25, 0.25, 1.0, 1.0]
    for s, w in ((1, 0.25), (4, 1.0)):
        assert log[s]["loss"] == pytest.approx(0.01 * log[s]["distortion"] + w * log[s]["bpp"], rel=1e-5)
    with pytest.raises(LicError, match="rate_weight"):
        Trainer(_config(tiny_recipe, image_dir, tmp_path / "r.safetensors", steps=4, resume=True))
    with pytest.raises(LicError, match="--rate-weight: until=lr-drop needs a step LR schedule"):
        Trainer(_config(tiny_recipe, image_dir, tmp_path / "x.safetensors", rate_weight="0.3"))


class _Killed(Exception):
    pass


class _DiesAtStep5(Trainer):
    def train_step(self, x):
        if self.step == 4:  # after the step-3 checkpoint and one more step: as if killed
            raise _Killed
        return super().train_step(x)


def test_killed_and_resumed_run_matches_uninterrupted(tiny_recipe, image_dir, tmp_path):
    Trainer(_config(tiny_recipe, image_dir, tmp_path / "a.safetensors")).run()
    with pytest.raises(_Killed):
        _DiesAtStep5(_config(tiny_recipe, image_dir, tmp_path / "b.safetensors")).run()
    assert read_state(tmp_path / "b.state.safetensors")[1]["step"] == 3
    Trainer(_config(tiny_recipe, image_dir, tmp_path / "b.safetensors", resume=True)).run()
    a, b = _train_log(tmp_path / "a.log.jsonl"), _train_log(tmp_path / "b.log.jsonl")
    events = [(r["event"], r["step"]) for r in map(json.loads, open(tmp_path / "b.log.jsonl")) if "step" in r]
    assert events.index(("resume", 3)) == events.index(("train", 4)) + 1  # the lost step 4, then the resume
    for step in (4, 5, 6):
        assert b[step]["total"] == a[step]["total"] and b[step]["aux_loss"] == a[step]["aux_loss"]
    wa = lic_core.load(tmp_path / "a.safetensors").state_dict()
    wb = lic_core.load(tmp_path / "b.safetensors").state_dict()
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    with pytest.raises(LicError, match="lmbda"):
        Trainer(_config(tiny_recipe, image_dir, tmp_path / "b.safetensors", resume=True, lmbda=0.02))


def test_init_fine_tunes_from_a_checkpoint_of_the_same_recipe_only(tiny_recipe, image_dir, tmp_path):
    Trainer(_config(tiny_recipe, image_dir, tmp_path / "a.safetensors", steps=2)).run()
    start = lic_core.load(tmp_path / "a.safetensors").state_dict()
    tuned = Trainer(_config(tiny_recipe, image_dir, tmp_path / "b.safetensors", init=str(tmp_path / "a.safetensors"),
                            lmbda=0.05, seed=7))  # fmt: skip
    fresh = Trainer(_config(tiny_recipe, image_dir, tmp_path / "c.safetensors", seed=7))
    params = [k for k, _ in tuned.codec.named_parameters()]
    assert all(torch.equal(tuned.codec.state_dict()[k], start[k]) for k in params)
    assert not all(torch.equal(fresh.codec.state_dict()[k], start[k]) for k in params)
    other = {**tiny_recipe, "entropy_model": {**tiny_recipe["entropy_model"], "N": 2 * tiny_recipe["entropy_model"].get("N", 8)}}
    with pytest.raises(LicError, match="another recipe"):
        Trainer(_config(other, image_dir, tmp_path / "d.safetensors", init=str(tmp_path / "a.safetensors")))


def test_init_matching_warm_starts_another_recipe_from_the_tensors_that_match(tiny_recipe, image_dir, tmp_path):
    Trainer(_config(tiny_recipe, image_dir, tmp_path / "a.safetensors", steps=2)).run()
    start = lic_core.load(tmp_path / "a.safetensors").state_dict()
    context = {**tiny_recipe, "entropy_model": {"id": "core.checkerboard", "N": 16, "residual": True}}
    warm = Trainer(_config(context, image_dir, tmp_path / "b.safetensors", init=str(tmp_path / "a.safetensors"),
                           init_matching=True))  # fmt: skip
    own = warm.codec.state_dict()
    assert all(torch.equal(own[k], start[k]) for k in start if k.startswith(("transform.", "entropy_model.side.hyper")))
    assert not any(".context." in k for k in start) and any(".context." in k for k in own)
    fast = Trainer(_config(context, image_dir, tmp_path / "c.safetensors", init=str(tmp_path / "a.safetensors"),
                           init_matching=True, fresh_lr=1e-2, lr=1e-4))  # fmt: skip
    old, new = fast.optimizers["main"].param_groups
    context_params = {id(p) for n, p in fast.codec.named_parameters() if ".coder." in n}
    assert {id(p) for p in new["params"]} == context_params and not context_params & {id(p) for p in old["params"]}
    fast._set_lr()
    assert new["lr"] == pytest.approx(100 * old["lr"])
    with pytest.raises(LicError, match="--fresh-lr needs"):
        Trainer(_config(context, image_dir, tmp_path / "d.safetensors", fresh_lr=1e-2))
    unrelated = {**tiny_recipe, "transform": {"id": "core.elic", "N": 8, "M": 12}, "entropy_model": {"id": "core.hyperprior", "N": 8}}
    with pytest.raises(LicError, match="no weight matches"):
        Trainer(_config(unrelated, image_dir, tmp_path / "c.safetensors", init=str(tmp_path / "a.safetensors"),
                        init_matching=True))  # fmt: skip


def test_train_only_trains_one_stage_and_leaves_the_rest_as_loaded(tiny_recipe, image_dir, tmp_path):
    Trainer(_config(tiny_recipe, image_dir, tmp_path / "a.safetensors", steps=2)).run()
    filtered = {**tiny_recipe, "prepost": [{"id": "core.postfilter", "channels": 8, "depth": 3}]}
    result = Trainer(_config(filtered, image_dir, tmp_path / "b.safetensors", init=str(tmp_path / "a.safetensors"),
                             init_matching=True, train_only=["prepost.0"], lr=1e-2)).run()  # fmt: skip
    start, end = lic_core.load(tmp_path / "a.safetensors").state_dict(), lic_core.load(result["checkpoint"]).state_dict()
    assert all(torch.equal(end[k], start[k]) for k in start if k.startswith("transform.") or k.endswith("quantiles"))
    assert not torch.equal(end["prepost.0.net.4.weight"], torch.zeros_like(end["prepost.0.net.4.weight"]))
    with pytest.raises(LicError, match="--train-only 'prepost.7': no parameters under it"):
        Trainer(_config(filtered, image_dir, tmp_path / "c.safetensors", train_only=["prepost.7"]))


def test_cli_train_two_processes_on_cpu(tiny_recipe, image_dir, tmp_path):
    recipe = tmp_path / "tiny.json"
    recipe.write_text(json.dumps(tiny_recipe))
    out = tmp_path / "ddp.safetensors"
    cmd = [sys.executable, "-m", "lic_core.cli.main", "train", str(recipe), "--data", str(image_dir),
           "--lambda", "0.01", "--steps", "2", "--batch", "1", "--patch", "64", "--out", str(out), "--nproc", "2",
           "--val-count", "0", "--workers", "0", "--log-every", "1", "--no-progress"]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env={**env, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    start = json.loads(open(tmp_path / "ddp.log.jsonl").readline())
    assert start["world"] == 2
    assert set(_train_log(tmp_path / "ddp.log.jsonl")) == {1, 2}
    assert lic_core.load(out) is not None


def test_cli_train_reports_bad_options(tiny_recipe, image_dir, tmp_path, capsys):
    from lic_core.cli.main import main

    recipe = tmp_path / "tiny.json"
    recipe.write_text(json.dumps(tiny_recipe))
    rc = main(["train", str(recipe), "--data", str(image_dir), "--lambda", "0.01", "--patch", "40", "--steps", "1"])
    assert rc == 1 and "multiple of the codec's stride 64" in capsys.readouterr().err
    rc = main(["train", str(recipe), "--data", str(tmp_path / "none"), "--lambda", "0.01", "--steps", "1"])
    assert rc == 1 and "image folder not found" in capsys.readouterr().err
    rc = main(["train", str(recipe), "--data", str(image_dir), "--lambda", "8", "--metric", "ms-ssim", "--patch", "64"])
    assert rc == 1 and "ms-ssim needs --patch of at least 161" in capsys.readouterr().err


def test_ms_ssim_training_step(tiny_recipe, image_dir, tmp_path):
    cfg = _config(tiny_recipe, image_dir, tmp_path / "m.safetensors", steps=1, batch=1, patch=192, metric="ms-ssim",
                  lmbda=8.0, val_count=6, val_dir=str(image_dir), val_crop=192)  # fmt: skip
    Trainer(cfg).run()
    log = [json.loads(line) for line in open(tmp_path / "m.log.jsonl")]
    train = [r for r in log if r["event"] == "train"][0]
    assert 0 < train["ms_ssim"] <= 1 and train["loss"] == pytest.approx(8.0 * (1 - train["ms_ssim"]) + train["bpp"], rel=1e-5)
    vals = [r for r in log if r["event"] == "val"]
    assert len(vals) == 2 and all(v["rd_loss"] > 0 for v in vals)  # on the 176x176 image, the only one large enough


def test_bf16_mixed_precision_trains_on_cpu(tiny_recipe, image_dir, tmp_path):
    """``--amp bf16`` trains on CPU, and a bfloat16 forward of the trained codec gives float32
    likelihoods whose rate is that of a float32 forward to within bfloat16's effect on the
    transforms. (The likelihood bound promotes to float32 even without
    ``lic_core.coding.precision``; tests/test_precision.py checks the precision itself.)"""
    cfg = _config(tiny_recipe, image_dir, tmp_path / "b.safetensors", steps=2, amp="bf16", lr=1e-3)
    trainer = Trainer(cfg)
    trainer.run()
    log = _train_log(tmp_path / "b.log.jsonl")
    assert all(torch.isfinite(torch.tensor(r["loss"])) and r["bpp"] > 0 for r in log.values())
    codec = trainer.codec.train()
    x = torch.rand(2, 3, 64, 64)
    torch.manual_seed(0)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = codec(x)
    torch.manual_seed(0)
    ref = codec(x)
    for name, lik in out["likelihoods"].items():
        assert lik.dtype == torch.float32
        rate, ref_rate = -torch.log2(lik).sum(), -torch.log2(ref["likelihoods"][name]).sum()
        assert rate.item() == pytest.approx(ref_rate.item(), rel=0.02)


@pytest.mark.parametrize("native, warned", [(False, True), (True, False), (None, False)])
def test_trainer_warns_when_bf16_is_emulated(monkeypatch, capsys, tiny_recipe, image_dir, tmp_path, native, warned):
    monkeypatch.setattr(trainer_module, "native_bf16", lambda: native)
    Trainer(_config(tiny_recipe, image_dir, tmp_path / "a.safetensors", amp="bf16"))
    assert ("no native bfloat16" in capsys.readouterr().err) is warned


@pytest.mark.parametrize(
    "bad, message",
    [(dict(lmbda=0), "--lambda"), (dict(metric="l1"), "--metric"), (dict(amp="fp16"), "--amp fp16 is a CUDA option"),
     (dict(amp="int8"), "--amp must be"), (dict(steps=2, epochs=1.0), "not both"), (dict(patch=60), "multiple")],
)  # fmt: skip
def test_bad_options_are_one_line_errors(tiny_recipe, image_dir, tmp_path, bad, message):
    with pytest.raises(LicError, match=message) as info:
        Trainer(_config(tiny_recipe, image_dir, tmp_path / "a.safetensors", **bad))
    assert "\n" not in str(info.value)
