"""Does decoding depend on the number of threads? The release against this tree.

Each version encodes the images with 2 threads, then decodes its streams with 1, 2 and 4
threads, each run in its own process. Per version and thread count: the streams that fail to
decode ("decoder drift": the decoder's latents differ from the encoder's, which the decoder
checks itself), and over the streams that decode with both, the largest absolute difference
of 8-bit pixels from the first thread count's decode and the fraction of pixels that differ.

    .venv/bin/python benchmarks/thread_determinism.py --images 24
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from decode_speed import ROOT, extract  # noqa: E402

WORKER = """
import sys, torch
torch.set_num_threads(int(sys.argv[1]))
from lic_core.imagecodec import compress_file, decompress_file
from lic_core.zoo import load_model
codec = load_model(sys.argv[2])
mode, pairs = sys.argv[3], sys.argv[4:]
from lic_core.errors import BitstreamError
failed = []
for src, dst in zip(pairs[::2], pairs[1::2]):
    if mode == "encode":
        compress_file(codec, src, dst)
        continue
    try:
        decompress_file(src, dst, codec=codec)
    except BitstreamError as exc:
        failed.append(src)
print("FAILED " + " ".join(failed))
"""


def run(version_path: Path | None, threads: int, model: str, mode: str, pairs: list[tuple[str, str]]) -> list[str]:
    """Encode or decode ``(source, destination)`` pairs in a fresh process; the streams that failed."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    if version_path is not None:
        env["PYTHONPATH"] = str(version_path) + os.pathsep + env.get("PYTHONPATH", "")
    args = [x for p in pairs for x in p]
    done = subprocess.run([sys.executable, "-c", WORKER, str(threads), model, mode, *args], env=env, check=True,
                          cwd=version_path or ROOT, stdout=subprocess.PIPE, text=True)  # fmt: skip
    line = [x for x in done.stdout.splitlines() if x.startswith("FAILED")][-1]
    return line.split()[1:]


def pixels(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), dtype=np.int16)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="core.lite-q3")
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "kodak")
    ap.add_argument("--images", type=int, default=24)
    ap.add_argument("--threads", default="1,2,4")
    ap.add_argument("--ref", default="HEAD")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "thread-determinism-lite-q3-kodak")
    args = ap.parse_args()
    files = sorted(p for p in args.data.iterdir() if p.suffix.lower() == ".png")[: args.images]
    counts = [int(t) for t in args.threads.split(",")]
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        commit = extract(args.ref, tmp / "release")
        result = {}
        for label, path in (("release", tmp / "release"), ("this tree", None)):
            tag = label.replace(" ", "-")
            streams = [str(tmp / f"{tag}-{f.stem}.lic") for f in files]
            run(path, 2, args.model, "encode", [(str(f), s) for f, s in zip(files, streams)])
            decoded, failures = {}, {}
            for t in counts:
                outs = [str(tmp / f"{tag}-{t}-{f.stem}.png") for f in files]
                failed = set(run(path, t, args.model, "decode", list(zip(streams, outs))))
                failures[t] = [Path(s).stem.removeprefix(tag + "-") for s in streams if s in failed]
                decoded[t] = [None if s in failed else pixels(Path(o)) for s, o in zip(streams, outs)]
                print(f"{label}: decoded {len(files) - len(failed)}/{len(files)} streams with {t} thread(s)", flush=True)
            base = counts[0]
            pairs = {}
            for t in counts[1:]:
                diffs = [np.abs(a - b) for a, b in zip(decoded[base], decoded[t]) if a is not None and b is not None]
                differing = sum(int((d > 0).any(-1).sum()) for d in diffs)
                total = sum(d.shape[0] * d.shape[1] for d in diffs)
                pairs[f"{base} vs {t}"] = {
                    "max_abs_diff": int(max(d.max() for d in diffs)) if diffs else None, "pixels_differing": differing,
                    "fraction": differing / total if total else None, "images_differing": sum(int(d.any()) for d in diffs),
                    "images_compared": len(diffs),
                }  # fmt: skip
            result[label] = {"decode_failures": {str(t): v for t, v in failures.items()}, "pixels": pairs}
    data = {"model": args.model, "release": f"git {commit[:12]} ({args.ref})", "images": [f.name for f in files],
            "data": "../shared/data/kodak", "threads": counts, "result": result}  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(data, indent=1) + "\n")
    lines = [f"{args.model}: {len(files)} Kodak images encoded with 2 threads, decoded with {', '.join(map(str, counts))} "
             f"threads (8-bit RGB pixels compared with the {counts[0]}-thread decode). Release: {data['release']}.", "",
             "| version | threads | streams failing to decode (drift) | max abs diff | pixels differing | fraction | images differing |",
             "|---|---|---|---:|---:|---:|---:|"]  # fmt: skip
    for label, r in result.items():
        for t in counts:
            fails = r["decode_failures"][str(t)]
            p = r["pixels"].get(f"{counts[0]} vs {t}")
            cells = ("-", "-", "-", "-") if p is None or p["images_compared"] == 0 else (
                p["max_abs_diff"], p["pixels_differing"], f"{p['fraction']:.2e}", f"{p['images_differing']}/{p['images_compared']}")
            lines.append(f"| {label} | {t} | {len(fails)}/{len(files)} {' '.join(fails)} | " + " | ".join(map(str, cells)) + " |")
    md = "\n".join(lines) + "\n"
    args.out.with_suffix(".md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
