"""The GPU path in one prepared run: training, coding, cross-device decoding, flex attention, DDP.

For each recipe (full size on CUDA: tinylic, stf, cca, dkic, jiang-tinylic, core.elic,
core.mbt2018-mean): a few training steps through the trainer's own ``train_step`` (bf16
autocast, ``torch.compile``; images per second at 256x256 and peak memory), an eval forward
on the device and on the CPU (the same weights: the largest difference of ``x_hat``), and
``.lic`` coding: compress on the device, decompress on the device and on the CPU, each
decode either exact (the latent check passed) or refused with the drift error, also with exact
entropy parameters (:mod:`lic_core.coding.robust`) where the entropy model supports them. The
shipped default codec (core.lite-q1..q4) is coded the same way on a full Kodak image, with
float and with exact entropy parameters. Tiny-LIC's flex-attention path
(``backend="auto"`` picks compiled flex attention on CUDA) is compared with the float64 CPU
reference, and ``lic train --nproc 2`` runs DDP (NCCL) when two GPUs are present.

Every check runs in its own try/except (a failure is recorded, the run goes on) under one
time budget (checks not started in time are recorded as skipped). Writes
``OUT/gpu_check-<device>.json`` and ``.md`` after every check, so a run killed from outside
keeps what it measured. Without ``../shared/data`` it trains on synthetic images and codes a
synthetic one.

    python benchmarks/gpu_check.py --device cuda                # on the GPU machine, < 8 min
    python benchmarks/gpu_check.py --device cpu --quick         # the same code, small, on CPU
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import platform
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import torch

ROOT = Path(__file__).resolve().parents[1]
FULL_RECIPES = ["core.mbt2018-mean", "core.elic", "tinylic", "jiang-tinylic", "stf", "cca", "dkic"]
QUICK_RECIPES = ["core.mbt2018-mean-lite", "tinylic-small", "jiang-tinylic-small", "stf-small", "cca-small", "dkic-small"]
SHIPPED = ["core.lite-q1", "core.lite-q2", "core.lite-q3", "core.lite-q4"]
KODAK, TRAIN = "../shared/data/kodak", "../shared/data/train"


@dataclass
class Settings:
    """What one run does (``--quick`` shrinks everything to CPU size)."""

    device: str
    quick: bool
    warmup: int  # untimed steps (compilation happens here)
    steps: int  # timed steps
    batch: int
    patch: int
    amp: str | None
    compile: bool
    crop: int  # side of the image coded for each recipe
    shipped_size: tuple[int, int]  # the region of a Kodak image coded with the shipped codecs

    @classmethod
    def make(cls, device: str, quick: bool, compile_: bool | None, amp: str | None) -> "Settings":
        if quick:
            return cls(device, True, 1, 1, 2, 64, amp, bool(compile_), 64, (64, 96))
        return cls(device, False, 2, 4, 8, 256, amp or "bf16", compile_ is not False, 256, (512, 768))


class Budget:
    """A global deadline: checks start only while time is left."""

    def __init__(self, seconds: float) -> None:
        self.start, self.seconds = time.perf_counter(), float(seconds)

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def left(self) -> float:
        return self.seconds - self.elapsed()


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def guarded(budget: Budget, need: float, fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """``fn()`` with its wall time, or the error it raised (one line and the failing frame), or
    ``skipped`` when less than ``need`` seconds are left."""
    if budget.left() < need:
        return {"status": "skipped", "reason": f"time budget ({budget.left():.0f} s left, about {need:.0f} s needed)"}
    t0 = time.perf_counter()
    try:
        out = {"status": "ok", **fn()}
    except Exception as exc:  # noqa: BLE001  (recorded: one failure must not lose the run)
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        out = {"status": "error", "error": f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}",
               "where": f"{Path(frame.filename).name}:{frame.lineno}"}  # fmt: skip
    out["seconds"] = round(time.perf_counter() - t0, 2)
    return out


# -- inputs -----------------------------------------------------------------------------------
def synthetic_folder(folder: Path, count: int = 4, size: int = 320) -> Path:
    """Smooth random PNGs (the training data when ``../shared/data/train`` is absent)."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    gen = torch.Generator().manual_seed(0)
    for i in range(count):
        low = torch.rand(3, size // 16, size // 16, generator=gen)
        img = torch.nn.functional.interpolate(low[None], size=(size, size), mode="bicubic", align_corners=False)[0]
        arr = (img.clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()
        Image.fromarray(arr).save(folder / f"synthetic{i}.png")
    return folder


def test_image(height: int, width: int) -> tuple[torch.Tensor, str]:
    """A ``height x width`` crop of kodim23 (or of a synthetic image when Kodak is absent)."""
    from lic_core.imageio import read_image

    path = ROOT / KODAK / "kodim23.png"
    if path.is_file():
        x, _ = read_image(path)
        if x.shape[-2] < x.shape[-1] and height > width:
            x = x.transpose(-1, -2)
        return x[..., :height, :width].contiguous(), f"{KODAK}/kodim23.png"
    with tempfile.TemporaryDirectory() as tmp:
        f = sorted(synthetic_folder(Path(tmp), 1, max(height, width)).glob("*.png"))[0]
        x, _ = read_image(f)
    return x[..., :height, :width].contiguous(), "synthetic"


# -- checks -----------------------------------------------------------------------------------
def train_check(recipe: str, s: Settings, data: str, tmp: Path, keep: dict[str, Any]) -> dict[str, Any]:
    """A few steps of :meth:`Trainer.train_step`: images/s over the timed steps, peak memory."""
    from lic_core.training.trainer import Trainer, TrainConfig

    cfg = TrainConfig(recipe=recipe, data=data, lmbda=0.0067, steps=s.warmup + s.steps, batch=s.batch, patch=s.patch,
                      amp=s.amp, compile=s.compile, device=s.device, val_count=0, progress=False,
                      out=str(tmp / f"{recipe}.safetensors"))  # fmt: skip
    trainer = Trainer(cfg)
    keep["codec"] = trainer.codec
    dev = trainer.device
    batches = [torch.stack([trainer.stream[(i * s.batch + j)] for j in range(s.batch)]) for i in range(s.warmup + s.steps)]
    t0 = time.perf_counter()
    for x in batches[: s.warmup]:
        record = trainer.train_step(x.to(dev))
    _sync(s.device)
    warmup = time.perf_counter() - t0
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
    t0 = time.perf_counter()
    for x in batches[s.warmup :]:
        record = trainer.train_step(x.to(dev))
    _sync(s.device)
    timed = time.perf_counter() - t0
    out = {"params_m": round(sum(p.numel() for p in trainer.codec.parameters()) / 1e6, 2),
           "warmup_s": round(warmup, 2), "images_per_s": round(s.steps * s.batch / timed, 2),
           "loss": round(float(record["total"]), 4), "finite": bool(math.isfinite(float(record["total"])))}  # fmt: skip
    if dev.type == "cuda":
        out["peak_memory_gib"] = round(torch.cuda.max_memory_allocated(dev) / 2**30, 2)
    return out


def _decode(data: bytes, codec: torch.nn.Module) -> tuple[str, torch.Tensor | None, str]:
    """``("exact", x_hat, "")`` when the latent check passes, ``("drift-error", None, msg)``,
    or ``("error", None, msg)`` for any other failure."""
    from lic_core.errors import LicError
    from lic_core.imagecodec import decompress_image

    try:
        return "exact", decompress_image(data, codec), ""
    except LicError as exc:
        kind = "drift-error" if str(exc).startswith("decoder drift") else "error"
        return kind, None, str(exc)[:200]


def coding_check(codec: torch.nn.Module, x: torch.Tensor, device: str) -> dict[str, Any]:
    """Eval forward on the device (timed after a warm-up) and the CPU, compress on the device,
    decompress on both (compress and decompress timed on their first call)."""
    from lic_core.imagecodec import compress_image

    codec.eval()
    x_dev = x.to(device)
    with torch.no_grad():
        codec(x_dev)  # warm-up: lazy compilation (flex attention), kernel selection
        _sync(device)
        t0 = time.perf_counter()
        out = codec(x_dev)
        _sync(device)
        forward_ms = 1000 * (time.perf_counter() - t0)
        codec.update(force=True)
        cpu = copy.deepcopy(codec).to("cpu")
        out_cpu = cpu(x)
    pixels = x.shape[-2] * x.shape[-1]
    est = sum(float(-torch.log2(v.clamp_min(1e-9)).sum()) for v in out["likelihoods"].values()) / pixels
    t0 = time.perf_counter()
    data = compress_image(codec, x_dev)
    compress_ms = 1000 * (time.perf_counter() - t0)
    t0 = time.perf_counter()
    on_dev, x_dev_hat, msg_dev = _decode(data, codec)
    decompress_ms = 1000 * (time.perf_counter() - t0)
    on_cpu, x_cpu_hat, msg_cpu = _decode(data, cpu)
    result = {"forward_ms": round(forward_ms, 1), "compress_ms": round(compress_ms, 1),
              "decompress_ms": round(decompress_ms, 1), "est_bpp": round(est, 4),
              "bpp": round(8 * len(data) / pixels, 4),
              "forward_cpu_vs_device": float((out["x_hat"].float().cpu() - out_cpu["x_hat"].float()).abs().max()),
              "decode_device": on_dev, "decode_cpu": on_cpu}  # fmt: skip
    if x_dev_hat is not None and x_cpu_hat is not None:
        result["decoded_cpu_vs_device"] = float((x_dev_hat.float().cpu() - x_cpu_hat.float()).abs().max())
    if msg_dev or msg_cpu:
        result["messages"] = {k: v for k, v in (("device", msg_dev), ("cpu", msg_cpu)) if v}
    result["exact_parameters"] = exact_coding(codec, cpu, x_dev)
    return result


def exact_coding(codec: torch.nn.Module, cpu: torch.nn.Module, x: torch.Tensor) -> dict[str, Any]:
    """The same weights with exact entropy parameters: compress on the device, decompress on
    the device and on the CPU (``unsupported`` for entropy models :func:`make_exact` refuses)."""
    from lic_core.coding.robust import make_exact
    from lic_core.errors import LicError
    from lic_core.imagecodec import compress_image

    try:
        exact, exact_cpu = make_exact(copy.deepcopy(codec)), make_exact(copy.deepcopy(cpu))
    except ValueError as exc:
        return {"decode_device": "unsupported", "decode_cpu": "unsupported", "reason": str(exc)[:160]}
    try:
        data = compress_image(exact, x)
    except LicError as exc:  # weights out of the integer range: recorded beside the float results
        return {"decode_device": "error", "decode_cpu": "error", "reason": str(exc)[:160]}
    return {"bpp": round(8 * len(data) / (x.shape[-2] * x.shape[-1]), 4),
            "decode_device": _decode(data, exact)[0], "decode_cpu": _decode(data, exact_cpu)[0]}  # fmt: skip


def shipped_check(model: str, x: torch.Tensor, device: str) -> dict[str, Any]:
    """A shipped codec, float and exact entropy parameters: encode on the device, decode on
    the device and on the CPU."""
    from lic_core.coding.robust import make_exact
    from lic_core.imagecodec import compress_image
    from lic_core.zoo import load_model

    out = {}
    for name in ("float", "exact"):
        codec = load_model(model, device)
        codec.model_id = None  # as make_exact's: equal header overhead in the bpp column
        if name == "exact":
            make_exact(codec)
        data = compress_image(codec, x.to(device))
        cpu = load_model(model, "cpu")
        if name == "exact":
            make_exact(cpu)
        dev_kind, dev_hat, _ = _decode(data, codec)
        cpu_kind, cpu_hat, _ = _decode(data, cpu)
        row = {"bpp": round(8 * len(data) / (x.shape[-2] * x.shape[-1]), 5), "decode_device": dev_kind, "decode_cpu": cpu_kind}
        if dev_hat is not None and cpu_hat is not None:
            row["decoded_cpu_vs_device"] = float((dev_hat.float().cpu() - cpu_hat.float()).abs().max())
        out[name] = row
    return out


def flex_check(device: str, quick: bool) -> dict[str, Any]:
    """Neighbourhood attention: ``auto`` (flex, compiled, on CUDA), ``flex`` and ``tiled`` on the
    device against the float64 reference on the CPU (largest absolute difference, and times)."""
    from lic_core.layers.neighborhood import neighborhood_attention, neighborhood_attention_reference

    b, heads, h, w, d, k = (1, 2, 6, 7, 8, 3) if quick else (2, 8, 48, 64, 32, 7)
    gen = torch.Generator().manual_seed(0)
    q, kk, v = (torch.randn(b, heads, h, w, d, generator=gen) for _ in range(3))
    rpb = torch.randn(heads, 2 * k - 1, 2 * k - 1, generator=gen)
    ref = neighborhood_attention_reference(q.double(), kk.double(), v.double(), rpb.double(), k)
    out: dict[str, Any] = {"shape": [b, heads, h, w, d], "kernel": k}
    args = [t.to(device) for t in (q, kk, v, rpb)]
    for backend in ("auto", "flex", "tiled"):
        neighborhood_attention(*args, kernel_size=k, backend=backend)  # compile / warm up
        _sync(device)
        t0 = time.perf_counter()
        y = neighborhood_attention(*args, kernel_size=k, backend=backend)
        _sync(device)
        out[backend] = {"max_abs_vs_reference": float((y.double().cpu() - ref).abs().max()),
                        "ms": round(1000 * (time.perf_counter() - t0), 2)}  # fmt: skip
    return out


def ddp_check(s: Settings, data: str, tmp: Path, recipe: str) -> dict[str, Any]:
    """``lic train RECIPE --nproc 2`` (NCCL on CUDA, gloo on CPU), a few steps."""
    if s.device.startswith("cuda") and torch.cuda.device_count() < 2:
        return {"skipped": f"{torch.cuda.device_count()} GPU(s): --nproc 2 needs two"}
    lic = Path(sys.executable).with_name("lic")
    cmd = [str(lic), "train", recipe, "--data", data, "--lambda", "0.0067", "--steps", "3", "--batch", str(s.batch),
           "--patch", str(s.patch), "--device", s.device.split(":")[0], "--nproc", "2", "--val-count", "0"]  # fmt: skip
    cmd += (["--amp", s.amp] if s.amp else []) + ["--out", str(tmp / "ddp.safetensors")]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    label = TRAIN if data == str(ROOT / TRAIN) else "SYNTHETIC"
    shown = ["lic"] + [label if c == data else c for c in cmd[1:-2]]  # repo-relative, no temporary paths
    out = {"command": " ".join(shown), "rc": proc.returncode, "seconds_total": round(time.perf_counter() - t0, 1),
           "checkpoint": (tmp / "ddp.safetensors").is_file()}  # fmt: skip
    if proc.returncode:
        out["stderr_tail"] = proc.stderr.strip().splitlines()[-3:]
    return out


# -- the run ----------------------------------------------------------------------------------
def environment(device: str) -> dict[str, Any]:
    env = {"torch": torch.__version__, "python": platform.python_version(), "cpu_threads": torch.get_num_threads()}
    if device.startswith("cuda"):
        env.update(gpu=torch.cuda.get_device_name(0), gpus=torch.cuda.device_count(), cuda=torch.version.cuda)
    return env


def run(args: argparse.Namespace, save: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """Every check in order of value (flex attention, the shipped codecs across devices, the
    recipes, DDP); ``save`` is called after each, so a run killed from outside keeps its results."""
    s = Settings.make(args.device, args.quick, args.compile, args.amp)
    budget = Budget(args.budget)
    recipes = args.recipes.split(",") if args.recipes else (QUICK_RECIPES if s.quick else FULL_RECIPES)
    shipped = [m for m in args.shipped.split(",") if m] if args.shipped is not None else SHIPPED
    need_train = 5 if s.quick else 90  # a full-size recipe's compile and steps cannot be interrupted
    result: dict[str, Any] = {"device": s.device, "settings": asdict(s), "environment": environment(s.device),
                              "budget_s": args.budget, "elapsed_s": 0.0, "recipes": {}, "shipped": {},
                              "flex_attention": {"status": "skipped"}, "ddp": {"status": "skipped"}}  # fmt: skip

    def checkpoint() -> None:
        result["elapsed_s"] = round(budget.elapsed(), 1)
        save(result)

    with tempfile.TemporaryDirectory(prefix="lic-gpu-check-") as tmp_name:
        tmp = Path(tmp_name)
        data = str(ROOT / TRAIN) if (ROOT / TRAIN).is_dir() else str(synthetic_folder(tmp / "train"))
        result["train_data"] = TRAIN if data.endswith(TRAIN.lstrip("./")) else "synthetic"
        x, source = test_image(s.crop, s.crop)
        result["coded_image"] = f"{source} (top-left {s.crop}x{s.crop})"
        xs, source = test_image(*s.shipped_size)
        result["shipped_image"] = f"{source} (top-left {s.shipped_size[0]}x{s.shipped_size[1]})"
        result["flex_attention"] = guarded(budget, 5, lambda: flex_check(s.device, s.quick))
        checkpoint()
        for model in shipped:
            result["shipped"][model] = guarded(budget, 5, lambda: shipped_check(model, xs, s.device))
            checkpoint()
        for recipe in recipes:
            keep: dict[str, Any] = {}
            row = {"train": guarded(budget, need_train, lambda: train_check(recipe, s, data, tmp, keep))}
            if "codec" in keep:
                row["coding"] = guarded(budget, 5, lambda: coding_check(keep["codec"], x, s.device))
            result["recipes"][recipe] = row
            print(f"gpu_check: {recipe}: {json.dumps(row)}", file=sys.stderr, flush=True)
            keep.clear()
            if s.device.startswith("cuda"):
                torch.cuda.empty_cache()
            checkpoint()
        if args.ddp:
            result["ddp"] = guarded(budget, 30, lambda: ddp_check(s, data, tmp, recipes[0]))
        else:
            result["ddp"] = {"status": "skipped", "reason": "--no-ddp"}
    checkpoint()
    return result


def _cell(check: dict[str, Any] | None, key: str) -> str:
    if not check:
        return ""
    if check.get("status") != "ok":
        return check.get("status", "")
    value = check.get(key, "")
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def markdown(r: dict[str, Any]) -> str:
    """The JSON as tables."""
    s, env = r["settings"], r["environment"]
    lines = [f"# gpu_check on {r['device']}" + (f" ({env.get('gpu')})" if env.get("gpu") else ""), "",
             f"torch {env['torch']}; {'quick mode; ' if s['quick'] else ''}training: {s['warmup']} warm-up + {s['steps']} "
             f"timed steps, batch {s['batch']} of {s['patch']}x{s['patch']}, amp {s['amp']}, compile {s['compile']}; "
             f"data {r['train_data']}; coded image {r['coded_image']}; {r['elapsed_s']} s of a {r['budget_s']} s budget.", "",
             "| recipe | train | params M | images/s | peak GiB | warm-up s | coding | forward ms | compress ms | "
             "decompress ms | bpp | decode on device | decode on CPU | forward CPU vs device | exact params: decode on device | on CPU |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for name, row in r["recipes"].items():
        t, c = row["train"], row.get("coding")
        cells = [_cell(t, "status"), _cell(t, "params_m"), _cell(t, "images_per_s"), _cell(t, "peak_memory_gib"),
                 _cell(t, "warmup_s"), _cell(c, "status"), _cell(c, "forward_ms"), _cell(c, "compress_ms"),
                 _cell(c, "decompress_ms"), _cell(c, "bpp"), _cell(c, "decode_device"), _cell(c, "decode_cpu"),
                 _cell(c, "forward_cpu_vs_device")]  # fmt: skip
        e = (c or {}).get("exact_parameters") or {}
        cells += [str(e.get("decode_device", "")), str(e.get("decode_cpu", ""))]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    errors = [(f"{n} {k}", v) for n, row in r["recipes"].items() for k, v in row.items() if v.get("status") == "error"]
    errors += [(f"shipped {n}", v) for n, v in r["shipped"].items() if v.get("status") == "error"]
    if r["flex_attention"].get("status") == "error":
        errors.append(("flex attention", r["flex_attention"]))
    lines += ["", f"Shipped codecs on {r['shipped_image']}: encoded on {r['device']}, decoded on it and on the CPU.", "",
              "| model | entropy parameters | bpp | decode on device | decode on CPU | image CPU vs device |", "|---|---|---|---|---|---|"]  # fmt: skip
    for name, v in r["shipped"].items():
        for mode in ("float", "exact"):
            m = v.get(mode) if v.get("status") == "ok" else None
            lines.append(f"| {name} | {mode} | " + (" | ".join([_cell({"status": "ok", **m}, k) for k in
                         ("bpp", "decode_device", "decode_cpu", "decoded_cpu_vs_device")]) if m else v.get("status", "")) + " |")  # fmt: skip
    f = r["flex_attention"]
    lines += ["", f"Neighbourhood attention {f.get('shape')} kernel {f.get('kernel')} against the float64 CPU reference: "
              + "; ".join(f"{b} max abs {f[b]['max_abs_vs_reference']:.2e} ({f[b]['ms']} ms)" for b in ("auto", "flex", "tiled") if b in f)
              + ("" if f.get("status") == "ok" else f" ({f.get('status')})"), ""]  # fmt: skip
    d = r["ddp"]
    lines.append("DDP --nproc 2: " + (d.get("skipped") or d.get("reason") or f"rc {d.get('rc')}, {d.get('seconds_total')} s, "
                                      f"checkpoint written: {d.get('checkpoint')}" if d.get("status") != "error" else d["error"]))  # fmt: skip
    if errors:
        lines += ["", "Errors:", ""] + [f"- {n}: {v['error']} ({v['where']})" for n, v in errors]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--quick", action="store_true", help="small recipes and sizes, 1+1 steps, no compile (CPU)")
    ap.add_argument("--recipes", default=None, help="comma-separated recipe names (default: by mode)")
    ap.add_argument("--shipped", default=None, help="comma-separated shipped model ids ('' for none)")
    ap.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None, help="default: on unless --quick")
    ap.add_argument("--amp", choices=["bf16", "fp16"], default=None, help="default: bf16 unless --quick")
    ap.add_argument("--ddp", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--budget", type=float, default=360.0, help="seconds; checks not started in time are skipped")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore", message="flex_attention called without torch.compile")  # eager flex off CUDA
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("gpu_check: error: --device cuda but no CUDA device is available", file=sys.stderr)
        return 1
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"gpu_check-{args.device.split(':')[0]}"

    def save(result: dict[str, Any]) -> None:
        stem.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
        stem.with_suffix(".md").write_text(markdown(result))

    print(markdown(run(args, save)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
