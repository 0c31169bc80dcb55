"""``lic eval CKPT... --data DIR``: real coding through ``.lic``, anchors, result files, RD plot."""

from __future__ import annotations

import argparse

from lic_core.budget import add_option, apply_option


def register(sub) -> None:
    p = sub.add_parser(
        "eval",
        help="evaluate checkpoints (and JPEG/WebP anchors) on a folder of images",
        description="Code every image through the .lic container; write one CompressAI-format result file "
        "per codec (checkpoints of one recipe and metric form one curve), per-image records, a table "
        "and an RD plot.",
    )
    p.add_argument("checkpoints", nargs="*", help="coding checkpoints (.safetensors) or shipped model ids (lic models list)")
    p.add_argument("--data", required=True, help="folder of test images (e.g. Kodak)")
    p.add_argument("--anchors", default="", help="classic codecs to measure with Pillow: jpeg,webp")
    p.add_argument("--qualities", default="", help="anchor quality sweep (default 5,10,20,...,90,95)")
    p.add_argument("--out-dir", default="results", help="where result files go (default results/)")
    p.add_argument("--plot", help="RD plot PNG to write (a regular file, replaced if it exists)")
    p.add_argument("--json", dest="json_out",
                   help="also write every curve into one file ({'curves': {name: results}}; a regular file, replaced if it exists)")
    p.add_argument("--published", nargs="*", default=[], help="result files (FILE or FILE:NAME) drawn dashed on the plot")
    p.add_argument("--metric", choices=("psnr", "ms-ssim"), default="psnr", help="quality axis of the plot")
    p.add_argument("--limit", type=int, help="only the first N images")
    p.add_argument("--device", default="cpu")
    add_option(p)
    p.add_argument("--per-image", action="store_true", help="print per-image rows too")
    p.add_argument("--no-progress", dest="progress", action="store_false")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import json
    import os
    from pathlib import Path

    from tqdm import tqdm

    from lic_core.atomic import atomic_write_bytes, check_output
    from lic_core.checkpoint import load, read_metadata
    from lic_core.errors import LicError
    from lic_core.evaluation import anchors as anchor_mod
    from lic_core.evaluation.codec_eval import evaluate_codec, read_image
    from lic_core.evaluation.plot import plot_rd
    from lic_core.evaluation.report import checkpoint_label, curve_of, slug, summarize, table
    from lic_core.evaluation.results import parse_curve_arg, read_curves, shown_path, write_curve
    from lic_core.training.data import list_images
    from lic_core.zoo import checkpoint_path

    apply_option(args)
    names = [a.strip().lower() for a in args.anchors.split(",") if a.strip()]
    bad = [a for a in names if a not in anchor_mod.ANCHORS]
    if bad:
        raise LicError(f"unknown anchor(s) {', '.join(bad)} (known: {', '.join(anchor_mod.ANCHORS)})")
    if not args.checkpoints and not names:
        raise LicError("nothing to evaluate: give checkpoints and/or --anchors")
    qualities = [int(q) for q in args.qualities.split(",") if q.strip()] or list(anchor_mod.DEFAULT_QUALITIES)
    files = list_images(args.data, recursive=False)[: args.limit]
    checkpoints = [checkpoint_path(c) for c in args.checkpoints]
    outputs = [o for o in (args.plot, args.json_out) if o is not None]
    if len(outputs) == 2 and os.path.abspath(outputs[0]) == os.path.abspath(outputs[1]):
        raise LicError(f"--plot and --json both name {outputs[0]}: give two files")
    for out in outputs:  # checked before hours of coding, not when the results are written
        check_output(out, inputs=[*checkpoints, *files, *args.published])
    images = [read_image(f) for f in files]
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    work = len(args.checkpoints) * len(files) + len(names) * len(qualities) * len(files)
    bar = tqdm(total=work, desc="eval", disable=not args.progress, dynamic_ncols=True)
    groups: dict[str, list[dict]] = {}
    per_image: dict[str, list[dict]] = {}
    for ckpt in checkpoints:
        name, info = checkpoint_label(read_metadata(ckpt), Path(ckpt))
        codec = load(ckpt, device=args.device)
        bar.set_description(f"eval {Path(ckpt).name}")
        rows = evaluate_codec(codec, files, [x.to(args.device) for x in images], on_image=lambda: bar.update(1))
        groups.setdefault(name, []).append({**summarize(rows), **info})
        per_image.setdefault(name, []).append({**info, "images": rows})
    for a in names:
        bar.set_description(f"eval {a}")
        groups[f"{a.upper()} (Pillow)"] = anchor_mod.sweep(images, a, qualities, on_image=lambda: bar.update(1))
    bar.close()

    curves, written = [], []
    for name, points in groups.items():
        points = sorted(points, key=lambda p: p["bpp"])
        is_anchor = "quality" in points[0]
        desc = (f"Pillow {name.split()[0]} quality sweep on {len(files)} images of {shown_path(args.data)}" if is_anchor
                else f"lic eval through the .lic container on {len(files)} images of {shown_path(args.data)}")  # fmt: skip
        curve = curve_of(name, desc, [{k: v for k, v in p.items() if k != "checkpoint"} for p in points])
        labels = [f"q={p['quality']:g}" if is_anchor else f"λ={p.get('lambda', '?')}" for p in points]
        curves.append((curve, labels))
        written.append(write_curve(curve, out_dir / f"{slug(name)}.json"))
        if name in per_image:
            (out_dir / f"{slug(name)}.per-image.json").write_text(json.dumps(per_image[name], indent=1) + "\n")
    print(table(curves))
    if args.per_image:
        for name, entries in per_image.items():
            for entry in entries:
                for r in entry["images"]:
                    ms = "-" if r["ms-ssim-rgb"] is None else f"{r['ms-ssim-rgb']:.5f}"
                    print(f"{name[:30]:30s} {r['image']:>16s} {r['bpp']:8.4f} {r['psnr-rgb']:8.3f} {ms:>8s} "
                          f"{r['encoding_time']:8.4f} {r['decoding_time']:8.4f}")  # fmt: skip
    if args.json_out:
        combined = {"about": f"lic eval on {len(files)} images of {args.data}",
                    "curves": {c.name: c.results for c, _ in curves}}  # fmt: skip
        atomic_write_bytes(args.json_out, (json.dumps(combined, indent=1) + "\n").encode())
        written.append(Path(args.json_out))
    for path in written:
        print(f"wrote {path}")
    if args.plot:
        published = []
        for arg in args.published:
            published.extend(read_curves(arg) if Path(arg).exists() else [parse_curve_arg(arg)])
        print(f"wrote {plot_rd([c for c, _ in curves], args.plot, published, args.metric, title=f'{Path(args.data).name}')}")
    return 0
