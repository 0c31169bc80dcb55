"""The default codec's encode and decode speed: a release of lic against this tree, in one run.

The release's ``lic_core`` (``--ref``, default ``HEAD``) is extracted with ``git archive`` into
a temporary directory (the checkout is not touched) and imported from there by one worker
process; a second worker imports this tree's. Both load the same shipped model and code the
same images at the same thread count, interleaved image by image and repeat by repeat, so load
on the machine hits both alike: the ratios are what to read, not the milliseconds.

Per image (medians over repeats): the model's ``compress`` and ``decompress`` (network and
entropy coding, as ``lic bench`` times them), the time inside the entropy coders, and the
file-level ``compress_file``/``decompress_file`` (with PNG reading/writing). This tree decodes
the release's streams (its latent check must pass: latents identical to the release encoder's),
and its pixels are compared with the release's decode of the same stream.

Entropy coding against CompressAI: a mean-scale hyperprior (``core.mbt2018-mean-lite``) holding
the default codec's trained transform and hyperprior weights, next to CompressAI's
``MeanScaleHyperprior`` with the same weights (``lic bench``'s ``measure_side_by_side``).

    .venv/bin/python benchmarks/decode_speed.py --images 6 --repeats 3 --threads 2
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TIMES = ("compress", "decompress", "encode_coding", "decode_coding", "compress_file", "decompress_file")


# -- the worker: one version of lic_core, driven by JSON lines on stdin ---------------------
def _hyperprior_from(codec: Any) -> Any:
    """``core.mbt2018-mean-lite`` with ``codec``'s transform, hyperprior and Gaussian tables."""
    import lic_core

    hyper = lic_core.compose("core.mbt2018-mean-lite")
    own = hyper.state_dict()
    state = {}
    for k, v in codec.state_dict().items():
        k = k.replace("entropy_model.coder.latent.", "entropy_model.y.")
        if k in own:
            state[k] = v
    missing = set(own) - set(state)
    if missing:
        raise SystemExit(f"decode_speed: the hyperprior misses {sorted(missing)[:3]}")
    hyper.load_state_dict(state)
    return hyper.eval()


class Worker:
    def __init__(self, model: str) -> None:
        import torch

        import lic_core
        from lic_core.zoo import load_model

        self.torch, self.model = torch, load_model(model).eval()
        self.lic_core = lic_core

    def op_info(self) -> dict[str, Any]:
        return {"lic_core": str(Path(self.lic_core.__file__).parent), "threads": self.torch.get_num_threads()}

    def op_code(self, image: str, stream: str, png: str) -> dict[str, Any]:
        torch = self.torch
        from lic_core.evaluation.bench import instrument
        from lic_core.imagecodec import compress_file, decompress_file
        from lic_core.imageio import pad, read_image

        codec = self.model
        x, _ = read_image(image)
        padded, _ = pad(x, int(codec.stride))
        out: dict[str, Any] = {}
        with torch.inference_mode(), instrument(codec) as timer:
            t0 = time.perf_counter()
            enc = codec.compress(padded)
            out["compress"] = time.perf_counter() - t0
            out["encode_coding"] = timer.seconds
            timer.reset()
            t0 = time.perf_counter()
            codec.decompress(enc["strings"], enc["shape"])
            out["decompress"] = time.perf_counter() - t0
            out["decode_coding"] = timer.seconds
        t0 = time.perf_counter()
        compress_file(codec, image, stream)
        out["compress_file"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        decompress_file(stream, png, codec=codec)
        out["decompress_file"] = time.perf_counter() - t0
        return out

    def op_decode(self, stream: str, png: str) -> dict[str, Any]:
        from lic_core.imagecodec import decompress_file

        decompress_file(stream, png, codec=self.model)  # raises unless the latents match the encoder's
        return {"ok": True}

    def op_entropy(self, images: list[str], repeats: int) -> dict[str, Any]:
        from lic_core.evaluation.bench import measure_side_by_side, ratios
        from lic_core.evaluation.reference import compressai_twin
        from lic_core.imageio import read_image

        hyper = _hyperprior_from(self.model)
        twin = compressai_twin(hyper)
        xs = [read_image(f)[0] for f in images]
        ours, theirs = measure_side_by_side([hyper, twin], xs, repeats)
        return {"lic": ours["summary"], "compressai": theirs["summary"], "ratios": ratios(ours["summary"], theirs["summary"])}


def worker_main(model: str) -> int:
    w = Worker(model)
    for line in sys.stdin:
        req = json.loads(line)
        try:
            res = getattr(w, "op_" + req.pop("op"))(**req)
        except Exception as exc:  # reported to the driver, which stops with it
            res = {"error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(res), flush=True)
    return 0


# -- the driver ------------------------------------------------------------------------------
class Version:
    """A worker process importing ``lic_core`` from ``path`` (None: this tree's)."""

    def __init__(self, name: str, path: Path | None, model: str, threads: int) -> None:
        env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
        if path is not None:
            env["PYTHONPATH"] = str(path) + os.pathsep + env.get("PYTHONPATH", "")
        cmd = [sys.executable, "-c", "import sys, torch; torch.set_num_threads(int(sys.argv[2])); "
               f"sys.path.insert(0, {str(Path(__file__).parent)!r}); import decode_speed; "
               "sys.exit(decode_speed.worker_main(sys.argv[1]))", model, str(threads)]  # fmt: skip
        self.name = name
        self.proc = subprocess.Popen(cmd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=path or ROOT)

    def call(self, op: str, **kwargs: Any) -> dict[str, Any]:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps({"op": op, **kwargs}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"decode_speed: the {self.name} worker died")
        res = json.loads(line)
        if "error" in res:
            raise SystemExit(f"decode_speed: {self.name}: {op} failed: {res['error']}")
        return res

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(timeout=60)


def extract(ref: str, into: Path) -> str:
    """``lic_core`` at git ``ref`` into ``into``; returns the commit."""
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", ref], capture_output=True, text=True, check=True).stdout.strip()
    data = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", commit, "lic_core"], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(into, filter="data")
    return commit


def _payload(stream: Path) -> bytes:
    """A stream's entropy-coded strings, concatenated (its header differs between format versions)."""
    from lic_core import bitstream

    _, strings = bitstream.unpack(stream.read_bytes())
    flat: list[bytes] = []

    def walk(s: Any) -> None:
        if isinstance(s, (bytes, bytearray)):
            flat.append(bytes(s))
        else:
            for t in s:
                walk(t)

    walk(strings)
    return b"".join(flat)


def _pixels(png: Path):
    import numpy as np
    from PIL import Image

    with Image.open(png) as im:
        return np.asarray(im.convert("RGB"), dtype=np.int16)


def _psnr(a, b) -> float:
    import math

    mse = float(((a.astype(float) - b.astype(float)) ** 2).mean())
    return float("inf") if mse == 0 else 10 * math.log10(255**2 / mse)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="core.lite-q3")
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "kodak")
    ap.add_argument("--images", type=int, default=6)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ref", default="HEAD", help="git revision of the release to compare with (default HEAD)")
    ap.add_argument("--entropy-images", type=int, default=2, help="images for the CompressAI entropy-coding comparison")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "decode-speed-lite-q3-kodak")
    args = ap.parse_args()

    import numpy as np

    files = sorted(p for p in args.data.iterdir() if p.suffix.lower() == ".png")[: args.images]
    if not files:
        raise SystemExit(f"decode_speed: no PNG images in {args.data}")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "release").mkdir()
        commit = extract(args.ref, tmp / "release")
        versions = [Version("release", tmp / "release", args.model, args.threads), Version("this tree", None, args.model, args.threads)]
        try:
            info = {v.name: v.call("info") for v in versions}
            print(json.dumps(info), flush=True)
            per_image: dict[str, list[dict[str, float]]] = {v.name: [] for v in versions}
            checks = []
            for i, f in enumerate(files):
                samples: dict[str, dict[str, list[float]]] = {v.name: {k: [] for k in TIMES} for v in versions}
                for r in range(args.repeats):
                    for v in versions:
                        res = v.call("code", image=str(f), stream=str(tmp / f"{v.name}.lic"), png=str(tmp / f"{v.name}.png"))
                        for k in TIMES:
                            samples[v.name][k].append(res[k])
                old, new = versions
                new.call("decode", stream=str(tmp / f"{old.name}.lic"), png=str(tmp / "old-by-new.png"))
                src, a, b = _pixels(f), _pixels(tmp / f"{old.name}.png"), _pixels(tmp / "old-by-new.png")
                diff = np.abs(a - b)
                same_payload = _payload(tmp / f"{old.name}.lic") == _payload(tmp / f"{new.name}.lic")
                checks.append({"image": f.name, "same_payload": same_payload, "pixels_differing": int((diff > 0).sum()),
                               "max_abs_diff": int(diff.max()), "psnr_release": _psnr(src, a), "psnr_this": _psnr(src, b)})  # fmt: skip
                for v in versions:
                    per_image[v.name].append({k: statistics.median(x) for k, x in samples[v.name].items()})
                row = {v.name: per_image[v.name][-1] for v in versions}
                print(f"[{i + 1}/{len(files)}] {f.name}: " + "; ".join(
                    f"{n} compress {1e3 * r['compress']:.0f} ms decompress {1e3 * r['decompress']:.0f} ms" for n, r in row.items()
                ) + f"; pixels differing {checks[-1]['pixels_differing']}, same payload {same_payload}", flush=True)  # fmt: skip
            entropy = {v.name: v.call("entropy", images=[str(f) for f in files[: args.entropy_images]], repeats=args.repeats)
                       for v in versions}  # fmt: skip
        finally:
            for v in versions:
                v.close()

    mean = {n: {k: sum(r[k] for r in rows) / len(rows) for k in TIMES} for n, rows in per_image.items()}
    result = {
        "meta": {"model": args.model, "release": f"git {commit[:12]} ({args.ref})", "images": [f.name for f in files],
                 "data": "../shared/data/kodak" if args.data.resolve() == (ROOT.parent / "shared" / "data" / "kodak").resolve() else str(args.data),
                 "repeats": args.repeats, "threads": args.threads, "cpu_count": os.cpu_count(),
                 "load_average": os.getloadavg()},  # fmt: skip
        "mean_seconds": mean, "per_image_seconds": per_image, "reconstruction": checks, "entropy_vs_compressai": entropy,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
    md = markdown(result)
    args.out.with_suffix(".md").write_text(md)
    print(md)
    return 0


def markdown(result: dict[str, Any]) -> str:
    m, mean = result["meta"], result["mean_seconds"]
    old, new = mean["release"], mean["this tree"]
    lines = [
        f"{m['model']} on {len(m['images'])} images of {m['data']}, {m['threads']} thread(s), {m['repeats']} repeats "
        f"(median per image, mean over images), both versions interleaved in one run on a shared {m['cpu_count']}-core "
        f"machine (load average at the end {m['load_average'][0]:.1f}): read the ratios. Release: {m['release']}.",
        "",
        "| version | compress ms | decompress ms | decompress / compress | entropy enc ms | entropy dec ms | compress_file ms | decompress_file ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in (("release", old), ("this tree", new)):
        lines.append(
            f"| {name} | {1e3 * r['compress']:.1f} | {1e3 * r['decompress']:.1f} | {r['decompress'] / r['compress']:.2f}x | "
            f"{1e3 * r['encode_coding']:.1f} | {1e3 * r['decode_coding']:.1f} | {1e3 * r['compress_file']:.1f} | "
            f"{1e3 * r['decompress_file']:.1f} |"
        )
    lines.append(
        "| this tree / release | " + " | ".join(
            f"{new[k] / old[k]:.2f}x" if k != "ratio" else "" for k in
            ("compress", "decompress", "ratio", "encode_coding", "decode_coding", "compress_file", "decompress_file")
        ) + " |"  # fmt: skip
    )
    checks = result["reconstruction"]
    differing = sum(c["pixels_differing"] for c in checks)
    d_psnr = sum(c["psnr_this"] - c["psnr_release"] for c in checks) / len(checks)
    lines += [
        "",
        f"Entropy-coded payloads identical between the versions: {sum(c['same_payload'] for c in checks)}/{len(checks)}; "
        f"this tree decoded the release's streams (latent check passed: the release encoder's latents). Its pixels "
        f"against the release's decode of the same streams: {differing} differing in total "
        f"(max |diff| {max(c['max_abs_diff'] for c in checks)}), mean PSNR change {d_psnr:+.4f} dB.",
        "",
        "Entropy coding against CompressAI (mbt2018-mean-lite holding the default codec's transform and hyperprior "
        "weights vs CompressAI's MeanScaleHyperprior with the same weights; time inside the entropy coders):",
        "",
        "| version | lic enc ms | CompressAI enc ms | enc ratio | lic dec ms | CompressAI dec ms | dec ratio |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, e in result["entropy_vs_compressai"].items():
        a, b, q = e["lic"], e["compressai"], e["ratios"]
        lines.append(f"| {name} | {1e3 * a['encode_coding']:.2f} | {1e3 * b['encode_coding']:.2f} | {q['encode_coding']:.2f}x | "
                     f"{1e3 * a['decode_coding']:.2f} | {1e3 * b['decode_coding']:.2f} | {q['decode_coding']:.2f}x |")  # fmt: skip
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
