"""`make demo`: the main job a newcomer runs (a few minutes on 2 cores).

1. lists the installed plugins (``lic plugins list``);
2. composes the hybrid from its recipe (``lic compose jiang-tinylic-small --summary``), or says
   in one line that no plugin provides it;
3. compresses Kodak images to ``.lic`` files and decompresses them (the model found from each
   stream's header) with every shipped codec: the default codec's rate ladder and, when a
   plugin ships one, the trained hybrid (on fewer images: it is much slower);
4. prints bpp/PSNR beside Pillow JPEG and WebP at matching rates, BD-rates against both
   (over all rates and over the high rates alone), and writes an RD plot with the published curves of ../shared/anchors.

The Pillow anchors are computed once (PSNR only, at the qualities of ``SWEEP``) and kept in
``OUT/anchors-cache.json``; a rerun, or one on more images, codes only what is missing.

    python examples/demo.py [--data DIR] [--images N] [--hybrid-images N] [--out DIR]
    python examples/demo.py --images 24          # all of Kodak
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HYBRID_RECIPE = "jiang-tinylic-small"
PUBLISHED = ("compressai-bmshj2018-hyperprior_mse_cpu.json", "compressai-mbt2018-mean_mse_cpu.json")
SWEEP = (1, 5, 10, 15, 20, 30, 40, 50, 75, 90)
HIGH_RATE = 0.5  # bpp: the BD-rates are also given over the rates from here up


def progress(total: int, desc: str):
    """A progress bar (stderr) for a step that takes more than a few seconds."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="img", dynamic_ncols=True, leave=False)


def section(title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, 74 - len(title)), flush=True)


def run_cli(*argv: str) -> None:
    from lic_core.cli.main import main

    print("$ lic " + " ".join(argv), flush=True)
    if main(list(argv)) != 0:
        raise SystemExit(f"demo: `lic {' '.join(argv)}` failed")


def code_with(model_id: str, files: list[Path], out_dir: Path) -> dict:
    """Compress and decompress ``files`` through .lic files; mean bpp (file size), PSNR and
    times. Decoding checks the stream's latent check value, so a stream that does not decode
    to exactly the encoder's latents stops the demo with an error."""
    from lic_core.evaluation.metrics import psnr
    from lic_core.imagecodec import compress_file, decompress_file
    from lic_core.imageio import read_image
    from lic_core.zoo import load_model

    codec = load_model(model_id)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    bar = progress(len(files), f"  {model_id}")
    for f in files:
        t0 = time.perf_counter()
        done = compress_file(codec, f, out_dir / f"{f.stem}.lic")
        t1 = time.perf_counter()
        decompress_file(done.path, out_dir / f"{f.stem}.png")  # finds the model from the header
        t2 = time.perf_counter()
        x, x_hat = read_image(f)[0], read_image(out_dir / f"{f.stem}.png")[0]
        rows.append({"bpp": done.bpp, "psnr": psnr(x, x_hat), "enc": t1 - t0, "dec": t2 - t1})
        bar.update(1)
    bar.close()
    return {k: sum(r[k] for r in rows) / len(rows) for k in rows[0]} | {"images": len(rows)}


def anchor_sweep(files: list[Path], fmt: str, cache) -> list[dict]:
    """Mean Pillow records per quality of ``SWEEP`` over ``files`` (PSNR only; from ``cache``)."""
    from lic_core.evaluation import anchors
    from lic_core.evaluation.codec_eval import read_image

    images = [read_image(f) for f in files]
    bar = progress(len(images) * len(SWEEP), f"  Pillow {fmt.upper()}, {len(SWEEP)} qualities")
    try:
        return anchors.sweep(images, fmt, SWEEP, on_image=lambda: bar.update(1), msssim=False, cache=cache)
    finally:
        bar.close()


def at_rate(sweep: list[dict], bpp: float) -> dict:
    """The sweep point whose mean bpp is closest to ``bpp``."""
    return min(sweep, key=lambda p: abs(p["bpp"] - bpp))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "kodak", help="Kodak folder")
    parser.add_argument("--images", type=int, default=8, help="images coded by the default codec (default 8; 24: all of Kodak)")
    parser.add_argument("--hybrid-images", type=int, default=1, help="images coded by a shipped hybrid (default 1)")
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "demo", help="where streams, PNGs and the plot go")
    args = parser.parse_args()

    from lic_core.discovery import get_registry
    from lic_core.errors import LicError
    from lic_core.evaluation.anchors import AnchorCache
    from lic_core.evaluation.bdrate import bd_metrics
    from lic_core.evaluation.plot import plot_rd
    from lic_core.evaluation.results import Curve, read_curves
    from lic_core.training.data import list_images
    from lic_core.zoo import ladder, list_models

    try:
        files = list_images(args.data, recursive=False)
    except LicError as exc:
        raise SystemExit(f"demo: {exc} (pass --data DIR with the Kodak images)") from None
    started = time.perf_counter()

    section("plugins")
    run_cli("plugins", "list")
    run_cli("models", "list")
    section("the hybrid, composed from its recipe")
    if HYBRID_RECIPE in get_registry().recipes:
        run_cli("recipes", "show", HYBRID_RECIPE)
        run_cli("compose", HYBRID_RECIPE, "--summary")
    else:
        print(f"no installed plugin provides the recipe {HYBRID_RECIPE!r}: skipped", flush=True)

    rows: list[tuple[str, str, dict]] = []
    section(f"coding {min(args.images, len(files))} Kodak images with the default codec")
    specs = ladder()
    default_name = f"lic default ({specs[0].recipe.removeprefix('core.')})"
    for spec in specs:
        r = code_with(spec.id, files[: args.images], args.out / spec.id)
        rows.append((default_name, f"q={spec.quality}", r))
        print(f"  {spec.id}: {r['bpp']:.4f} bpp, {r['psnr']:.2f} dB, encode {r['enc']:.2f} s, decode {r['dec']:.2f} s per image", flush=True)
    hybrid = [m for m in list_models() if m.recipe == HYBRID_RECIPE and m.path().is_file()]
    hybrid_files = files[: args.hybrid_images]
    if not hybrid:
        print(f"\nno trained {HYBRID_RECIPE} is shipped: the hybrid is shown composed from its recipe only, "
              "without rate-distortion numbers", flush=True)  # fmt: skip
    for spec in hybrid:
        section(f"coding {len(hybrid_files)} Kodak images with the hybrid {spec.id}")
        r = code_with(spec.id, hybrid_files, args.out / spec.id)
        rows.append((f"hybrid {HYBRID_RECIPE}", f"λ={spec.lmbda:g}", r))
        print(f"  {spec.id}: {r['bpp']:.4f} bpp, {r['psnr']:.2f} dB, encode {r['enc']:.2f} s, decode {r['dec']:.2f} s per image", flush=True)

    section("Pillow JPEG and WebP at matching rates (same images)")
    cache = AnchorCache(args.out / "anchors-cache.json")
    print(f"anchors: Pillow JPEG/WebP at qualities {', '.join(map(str, SWEEP))} (PSNR), cached in {cache.path}", flush=True)
    sweeps = {fmt: anchor_sweep(files[: args.images], fmt, cache) for fmt in ("jpeg", "webp")}
    hybrid_sweeps = {fmt: anchor_sweep(hybrid_files, fmt, cache) for fmt in ("jpeg", "webp")} if hybrid else {}
    head = f"{'codec':44s} {'point':>8s} {'bpp':>7s} {'PSNR':>7s} {'JPEG@bpp':>16s} {'WebP@bpp':>16s} {'enc s':>6s} {'dec s':>6s}"
    print(head + "\n" + "-" * len(head))
    for name, point, r in rows:
        ref = hybrid_sweeps if name.startswith("hybrid") else sweeps
        j, w = at_rate(ref["jpeg"], r["bpp"]), at_rate(ref["webp"], r["bpp"])
        print(f"{name:44s} {point:>8s} {r['bpp']:7.4f} {r['psnr']:7.2f} "
              f"{j['psnr-rgb']:6.2f}@{j['bpp']:.3f} {w['psnr-rgb']:7.2f}@{w['bpp']:.3f} {r['enc']:6.2f} {r['dec']:6.2f}")
    ours = [r for name, _, r in rows if not name.startswith("hybrid")]
    if len(ours) >= 2:
        bpp, psnr = [r["bpp"] for r in ours], [r["psnr"] for r in ours]
        for fmt, label in (("jpeg", "JPEG"), ("webp", "WebP")):
            s = sweeps[fmt]
            values = []
            for span, rate_range in (("all rates", None), (f"from {HIGH_RATE:g} bpp", (HIGH_RATE, float("inf")))):
                try:
                    m = bd_metrics([p["bpp"] for p in s], [p["psnr-rgb"] for p in s], bpp, psnr, "pchip", rate_range)
                    values.append(f"{m['bd_rate']:+.1f}% ({span})")
                except ValueError as exc:
                    values.append(f"undefined {span} ({exc})")
            print(f"BD-rate of the default codec against Pillow {label}: {', '.join(values)} "
                  f"(pchip, {len(files[: args.images])} images)")

    curves = [Curve(default_name, "", {"bpp": [r["bpp"] for r in ours], "psnr-rgb": [r["psnr"] for r in ours]})]
    curves += [Curve(f"{name} ({r['images']} images)", "", {"bpp": [r["bpp"]], "psnr-rgb": [r["psnr"]]})
               for name, _, r in rows if name.startswith("hybrid")]  # fmt: skip
    curves += [Curve(f"{label} (Pillow)", "", {"bpp": [p["bpp"] for p in sweeps[fmt]], "psnr-rgb": [p["psnr-rgb"] for p in sweeps[fmt]]})
               for fmt, label in (("jpeg", "JPEG"), ("webp", "WebP"))]  # fmt: skip
    anchors_dir = ROOT.parent / "shared" / "anchors" / "compressai-kodak"
    published = [c for name in PUBLISHED if (anchors_dir / name).is_file() for c in read_curves(anchors_dir / name)]
    args.out.mkdir(parents=True, exist_ok=True)
    for c in curves:  # only the low-rate part of the sweeps is of interest next to ours
        keep = [i for i, b in enumerate(c.bpp) if b <= 2.0]
        c.results = {k: [v[i] for i in keep] for k, v in c.results.items()}
    plot = plot_rd(curves, args.out / "rd-kodak.png", published, title=f"Kodak ({min(args.images, len(files))} images)")
    (args.out / "demo.json").write_text(json.dumps({"rows": [{"codec": n, "point": p, **r} for n, p, r in rows],
                                                    "anchors": sweeps}, indent=1) + "\n")  # fmt: skip
    print(f"\nwrote {plot} and {args.out / 'demo.json'}; streams and PNGs under {args.out}")
    print(f"demo done in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
