"""``lic bench MODEL...``: latency and rate overhead side by side with CompressAI's twin."""

from __future__ import annotations

import argparse


def register(sub) -> None:
    p = sub.add_parser(
        "bench",
        help="speed and rate overhead vs CompressAI's model holding the same weights",
        description="For each model (a checkpoint, or a recipe with seeded random weights): forward, compress "
        "and decompress latency, entropy-coding time and file-vs-likelihood bits, next to CompressAI's "
        "model of the same architecture holding the same weights (medians over repeats, ratios; a model "
        "CompressAI has no twin for, e.g. one with pre/post stages, is benched alone), and MACs per pixel "
        "per stage with the achieved fraction of the machine's matmul peak measured in the same run. "
        "Writes JSON and markdown tables.",
    )
    p.add_argument("models", nargs="+", help="coding checkpoints (.safetensors), shipped model ids or recipes (random weights)")
    p.add_argument("--data", default=None, help="images to code (default: ../shared/data/kodak when present)")
    p.add_argument("--images", type=int, default=4, help="first N images (default 4)")
    p.add_argument("--size", type=int, default=0, help="center-crop images to SIZE x SIZE (0: full images)")
    p.add_argument("--repeats", type=int, default=3, help="timed repeats per image (median; default 3)")
    p.add_argument("--reference", choices=("compressai", "none"), default="compressai")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--seed", type=int, default=0, help="seed of random weights for recipes")
    p.add_argument("--out-dir", default="benchmarks/results", help="where bench-NAME.json/.md go")
    p.add_argument("--name", help="result file name (default from the models)")
    p.set_defaults(handler=run)


def _default_data():
    from pathlib import Path

    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "shared" / "data" / "kodak"
        if candidate.is_dir():
            return candidate
    return None


def run(args: argparse.Namespace) -> int:
    import json
    import platform
    from pathlib import Path

    import torch

    import lic_core
    from lic_core.discovery import get_registry
    from lic_core.errors import LicError
    from lic_core.evaluation.bench import (
        attach_efficiency, efficiency_markdown, markdown, matmul_peak, measure, measure_side_by_side, pad_to, ratios,
        stage_macs,
    )  # fmt: skip
    from lic_core.evaluation.codec_eval import read_image
    from lic_core.evaluation.reference import compressai_twin, forward_gap
    from lic_core.evaluation.report import slug
    from lic_core.evaluation.results import shown_path
    from lic_core.training.data import list_images
    from lic_core.zoo import load_model

    torch.set_num_threads(max(1, args.threads))
    data = args.data or _default_data()
    if data is None:
        raise LicError("no --data given and ../shared/data/kodak not found")
    files = list_images(data, recursive=False)[: args.images]
    images = []
    for f in files:
        x = read_image(f)
        if args.size:
            h, w = x.shape[-2:]
            s = min(args.size, h, w)
            x = x[..., (h - s) // 2 : (h - s) // 2 + s, (w - s) // 2 : (w - s) // 2 + s].contiguous()
        images.append(x.to(args.device))

    peak = matmul_peak(device=args.device)
    print(f"float32 matmul peak at {torch.get_num_threads()} thread(s): {peak / 1e9:.1f} GMAC/s", flush=True)
    rows = []
    for spec in args.models:
        if spec.endswith(".safetensors"):
            codec = lic_core.load(spec, device=args.device)
        elif spec in get_registry().models:
            codec = load_model(spec, device=args.device)
        else:
            torch.manual_seed(args.seed)
            codec = lic_core.compose(spec).to(args.device).eval()
            codec.update(force=True)
        name = str(codec.recipe.get("name") or Path(spec).stem)
        print(f"bench {name} ({spec}) on {len(images)} images x {args.repeats} repeats ...", flush=True)
        ref = None
        if args.reference == "compressai":
            try:
                ref = compressai_twin(codec)
            except LicError as exc:
                print(f"{name}: {exc}; benched without a reference", flush=True)
        if ref is not None:
            gap = forward_gap(codec, ref, pad_to(images[0][..., :256, :256], int(codec.stride)))
            ours, theirs = measure_side_by_side([codec, ref], images, args.repeats)
            attach_efficiency(ours, stage_macs(codec, images[0]), peak)
            attach_efficiency(theirs, stage_macs(ref, images[0]), peak)
            row = {"name": f"lic {name}", "source": shown_path(spec), **ours}
            row.update(reference=f"CompressAI {type(ref).__name__}", ratios=ratios(ours["summary"], theirs["summary"]),
                       forward_gap=gap)  # fmt: skip
            rows.append(row)
            rows.append({"name": f"CompressAI {type(ref).__name__}", "source": shown_path(spec), **theirs})
        else:
            result = measure(codec, images, args.repeats)
            attach_efficiency(result, stage_macs(codec, images[0]), peak)
            rows.append({"name": f"lic {name}", "source": shown_path(spec), **result})

    meta = {
        "torch": torch.__version__, "threads": torch.get_num_threads(), "device": args.device,
        "cpu": platform.processor() or platform.machine(), "images": [f.name for f in files],
        "size": args.size or "full", "repeats": args.repeats, "matmul_peak_macs_per_s": peak,
    }  # fmt: skip
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"bench-{slug(args.name or '+'.join(Path(m).stem for m in args.models))}"
    (out_dir / f"{stem}.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1) + "\n")
    header = (f"Images: {len(files)} from {shown_path(data)} ({meta['size']}), {args.repeats} repeats (median), "
              f"{meta['threads']} thread(s), {args.device}, torch {torch.__version__}. Ratios are lic / CompressAI "
              f"(below 1: lic is faster); file / likelihood bits is the coder's rate overhead.\n")  # fmt: skip
    table = markdown(rows, header) + efficiency_markdown(rows)
    (out_dir / f"{stem}.md").write_text(table)
    print(table)
    for r in rows:
        if "forward_gap" in r:
            print(f"{r['name']} vs {r['reference']}: largest forward difference {max(r['forward_gap'].values()):.3g}")
    print(f"wrote {out_dir / (stem + '.json')} and {out_dir / (stem + '.md')}")
    return 0
