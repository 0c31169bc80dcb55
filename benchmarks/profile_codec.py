"""Where a codec's encode and decode time goes: milliseconds per stage for one image.

Wraps the stages of a composed codec (transform, post-filters, hyper path, each checkerboard
pass's context conv and parameter net, scale indexes, rANS, container and image I/O) with
timers and runs ``compress_file``/``decompress_file`` on real images, reporting the median over
repeats of the time inside each stage (inclusive: a stage's time contains the stages it calls).

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/profile_codec.py --model core.lite-q3 \\
        --images 2 --repeats 3 --threads 2
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable

import torch

ROOT = Path(__file__).resolve().parent.parent


class StageTimer:
    """Inclusive wall time per label, accumulated per run (``laps``)."""

    def __init__(self) -> None:
        self.current: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    def wrap(self, label: str, fn: Callable) -> Callable:
        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.current[label] += time.perf_counter() - t0
                self.calls[label] += 1

        return timed

    def lap(self) -> dict[str, float]:
        out, self.current = dict(self.current), defaultdict(float)
        return out


def _patch(obj: Any, name: str, label: str, timer: StageTimer) -> None:
    target = getattr(obj, name)
    if isinstance(target, torch.nn.Module):  # a submodule: time its forward
        obj, name = target, "forward"
    setattr(obj, name, timer.wrap(label, getattr(obj, name)))


def instrument(codec: torch.nn.Module, timer: StageTimer) -> None:
    """Instance-level timers on the stages of a composed codec (as far as it has them)."""
    from lic_core import bitstream, imagecodec
    from lic_core.coding import ans, rans

    t = codec.transform
    _patch(t, "analysis", "analysis g_a", timer)
    _patch(t, "synthesis", "synthesis g_s", timer)
    for i, stage in enumerate(codec.prepost):  # recipe order (the decoder runs them last to first)
        _patch(stage, "post", f"prepost[{i}].post ({sum(p.numel() for p in stage.parameters())} params)", timer)
    em = codec.entropy_model
    side = getattr(em, "side", None)
    if side is not None:
        _patch(side.hyper, "analysis", "hyper analysis h_a", timer)
        _patch(side.hyper, "synthesis", "hyper synthesis h_s", timer)
        _patch(side.entropy_bottleneck, "compress", "z: factorized coder (incl. entropy coding)", timer)
        _patch(side.entropy_bottleneck, "decompress", "z: factorized coder (incl. entropy coding)", timer)
    coder = getattr(em, "coder", None)
    if coder is not None and hasattr(coder, "context"):
        for i, ctx in enumerate(coder.context):
            _patch(ctx, "forward", f"pass {i + 2}: masked context conv", timer)
        stage_params = coder.stage_params

        def timed_params(i: int, *args: Any, **kwargs: Any) -> Any:
            return timer.wrap(f"pass {i + 1}: entropy parameters", stage_params)(i, *args, **kwargs)

        coder.stage_params = timed_params
        gc = coder.gaussian.gaussian_conditional
        _patch(gc, "build_indexes", "y: scale indexes", timer)
    for name in ("encode", "decode"):
        _patch(ans, name, f"ANS {name} (constriction, .lic v3)", timer)
        _patch(rans, name, f"rANS {name} (table subset + C++ coder, .lic v1-2)", timer)
    _patch(bitstream, "pack", "container pack/unpack", timer)
    _patch(bitstream, "unpack", "container pack/unpack", timer)
    _patch(imagecodec, "read_image", "image read (PNG)", timer)
    _patch(imagecodec, "write_png", "image write (PNG)", timer)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="core.lite-q3")
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "kodak")
    ap.add_argument("--images", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    from lic_core import imagecodec
    from lic_core.training.data import list_images
    from lic_core.zoo import load_model

    codec = load_model(args.model)
    timer = StageTimer()
    instrument(codec, timer)
    files = list_images(args.data, recursive=False)[: args.images]
    runs: dict[str, list[dict[str, float]]] = {"encode": [], "decode": []}
    with tempfile.TemporaryDirectory() as tmp:
        for f in files:
            stream, png = Path(tmp) / "s.lic", Path(tmp) / "d.png"
            imagecodec.compress_file(codec, f, stream)  # warm-up
            imagecodec.decompress_file(stream, png, codec=codec)
            timer.lap()
            for _ in range(args.repeats):
                for kind in ("encode", "decode"):
                    t0 = time.perf_counter()
                    if kind == "encode":
                        imagecodec.compress_file(codec, f, stream)
                    else:
                        imagecodec.decompress_file(stream, png, codec=codec)
                    lap = timer.lap()
                    lap["TOTAL"] = time.perf_counter() - t0
                    runs[kind].append(lap)
    print(f"{args.model}: {len(files)} image(s) from {args.data.name}, {args.repeats} repeats, {args.threads} thread(s), "
          f"torch {torch.__version__}; median ms per image, inclusive")  # fmt: skip
    for kind, laps in runs.items():
        labels = sorted({k for lap in laps for k in lap}, key=lambda k: (k != "TOTAL", k))
        print(f"\n| {kind} stage | ms |\n|---|---:|")
        for k in labels:
            print(f"| {k} | {1e3 * statistics.median(lap.get(k, 0.0) for lap in laps):.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
