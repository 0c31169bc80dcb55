"""The long fuzz run of issue #27: hostile ``.lic`` streams, coding checkpoints and image files,
each case in a forked child with a time and memory limit (:mod:`lic_core.testing.fuzz`).

- streams: a 64x64 and a 128x96 crop of Kodak images coded by the default codec (``core.lite-q3``),
  format version 3 (what lic writes: constriction ANS strings) and the image's CompressAI-rANS
  stream (``legacy_rans``) rewritten as version 1 (still read);
  random and structure-aware mutations, and decoding by another model (``core.lite-q1``);
- checkpoints: a tiny composed codec's checkpoint and the shipped ``core.lite-q1`` file,
  mutated, loaded as ``lic compress --model`` does, used to code a 64x64 image and decode it;
- images: small PNG/TIFF/GIF/JPEG files of every mode the reader handles, mutated, read as
  ``lic compress`` does.

Counts per outcome go to ``OUT.json`` and ``OUT.md``; every failure (signal, timeout, memory,
internal error, silent change) is run again alone in its own child to confirm it.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/fuzz.py --streams 10000 --checkpoints 1000 \\
        --images 1000 --workers 2 --out benchmarks/results/fuzz
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Callable, Iterator

import torch

import lic_core
from lic_core import bitstream, zoo
from lic_core.imagecodec import compress_image, decode, latent_check
from lic_core.imageio import read_image
from lic_core.testing import fuzz

TINY = {"transform": {"id": "core.gdn", "N": 16, "M": 24}, "entropy_model": {"id": "core.hyperprior", "N": 16}}
REPO = Path(__file__).resolve().parents[1]


def _stream_cases(n: int, seed: int, codec, image) -> tuple[list[fuzz.Case], dict]:
    """``n`` cases from the stream of ``image``: 10 % of them on its version-1 rewrite, 1 %
    decoded by the other model."""
    data = compress_image(codec, image)
    x_hat, header = decode(data, codec)
    expected = fuzz.digest(x_hat, header.channels, header.bit_depth)
    from lic_core.coding.table_coder import legacy_rans

    with legacy_rans():  # versions 1 and 2 hold CompressAI rANS strings (format 3: constriction ANS)
        legacy = compress_image(codec, image)
        header, strings = bitstream.unpack(legacy)
        with torch.inference_mode():
            y_hat = codec.decompress(strings, header.shape)["y_hat"]
    v1 = fuzz.with_version(legacy, 1, latent_check(y_hat))
    n_v1 = n // 10
    n_cross = max(n // 100, 1)
    cases = fuzz.StreamMutator(data, seed).cases(n - n_v1 - n_cross, expected)
    cases += [
        fuzz.Case("stream-v1", c.mutation, c.data, expected, True)
        for c in fuzz.StreamMutator(v1, seed + 1).cases(n_v1, expected)
    ]
    mutated = fuzz.StreamMutator(data, seed + 2).cases(n_cross - 1, expected)
    cases += [fuzz.Case("stream", "cross-model " + c.mutation, c.data, expected, True, "other") for c in mutated]
    cases.append(fuzz.Case("stream", "cross-model", data, expected, True, "other"))
    return cases, {"bytes": len(data), "v1_bytes": len(v1)}


def _checkpoint_cases(args: argparse.Namespace, tmp: Path, image) -> tuple[Iterator[fuzz.Case], Callable[[fuzz.Case], str]]:
    torch.manual_seed(0)
    tiny = lic_core.compose(TINY).eval()
    tiny.update(force=True)
    tiny.save(tmp / "tiny.safetensors")
    shipped = zoo.weights_path("core.lite-q1")
    sources = {"tiny": (tmp / "tiny.safetensors").read_bytes(), "core.lite-q1": shipped.read_bytes()}
    tables = {p.name: p.read_bytes() for p in shipped.parent.glob("tables-*.safetensors")}  # the ladder's shared tables
    run = fuzz.checkpoint_runner(image, tables)
    n_shipped = args.checkpoints // 5
    parts = []
    for (name, blob), n in zip(sources.items(), (args.checkpoints - n_shipped, n_shipped)):
        expected = run(fuzz.Case("checkpoint", "unmutated", blob))
        parts.append(
            fuzz.Case("checkpoint", f"{name}: {c.mutation}", c.data, expected)
            for c in fuzz.checkpoint_cases(blob, n, args.seed, expected)
        )
    return itertools.chain(*parts), run  # made lazily: each case is a whole checkpoint


def _normalize(message: str) -> str:
    """A message with its numbers, hex digests and paths replaced, to count kinds of error."""
    message = re.sub(r"/\S+", "PATH", message)
    return re.sub(r"\b(0x)?[0-9a-f]*\d[0-9a-f]*\b", "N", message)[:110]


def _report(results: list[fuzz.Result], confirmed: dict[int, str]) -> dict:
    summary = fuzz.summarize(results)
    failures = [
        {"kind": r.case.kind, "mutation": r.case.mutation, "outcome": r.outcome, "alone": confirmed.get(i),
         "seconds": round(r.seconds, 2), "message": r.message}  # fmt: skip
        for i, r in enumerate(results)
        if r.outcome in fuzz.FAILURES
    ]
    messages: dict[str, Counter] = {}
    for r in results:
        if r.outcome == "clean":
            messages.setdefault(r.case.kind, Counter())[_normalize(r.message)] += 1
    unchanged = Counter(f"{r.case.kind}: {_normalize(r.case.mutation.split('=')[0])}" for r in results if r.outcome == "unchanged")
    summary["unchanged_by_mutation"] = dict(unchanged.most_common(20))
    summary["failures"] = failures[:200]
    summary["messages"] = {k: dict(c.most_common(25)) for k, c in messages.items()}
    return summary


def _markdown(out: dict) -> str:
    lines = [
        "# Fuzz run (issue #27)",
        "",
        f"`{out['command']}`: {out['cases']} cases in {out['seconds']:.0f} s on {out['settings']['workers']} "
        f"worker processes, {out['settings']['per_child']} cases per forked child, limits "
        f"{out['settings']['timeout_s']:g} s and {out['settings']['memory_gb']:g} GB per case. Streams: "
        f"{out['inputs']['stream']}; checkpoints: {out['inputs']['checkpoint']}; images: {out['inputs']['image']}.",
        "",
        "| kind | cases | clean error | unchanged | accepted | silent change | signal | timeout | memory | internal |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for kind, counts in sorted(out["by_kind"].items()):
        cells = [counts[o] for o in ("clean", "unchanged", "accepted", "silent", "signal", "timeout", "memory", "internal")]
        lines.append(f"| {kind} | {sum(counts.values())} | " + " | ".join(map(str, cells)) + " |")
    o = out["outcomes"]
    lines += [
        "",
        f"All kinds: {out['over_10s']} cases over 10 s (slowest {out['max_seconds']} s), {out['over_2gb']} "
        f"allocations over 2 GB (largest growth of a child's resident set {out['max_extra_mb']} MB), "
        f"{o['signal']} signals, {o['internal']} internal errors, {o['silent']} silent changes.",
        "",
        "*unchanged*: no error and the same output as the unmutated input (bytes the decoder never "
        "reads, a model id the decoding model ignores, ...); *accepted*: a checkpoint or image whose "
        "changed bytes no checksum covers, used without error; *silent change*: a stream decoded to "
        "another image without an error. Version-1 streams carry no commitment to their image fields "
        "(docs/bitstream.md), so their silent changes are what version 2 fixes.",
    ]
    if out["failures"]:
        lines += ["", "| kind | outcome | alone | mutation | message |", "|---|---|---|---|---|"]
        for f in out["failures"][:40]:
            lines.append(f"| {f['kind']} | {f['outcome']} | {f['alone']} | {f['mutation'][:60]} | {f['message'][:100]} |")
    lines += ["", "Mutations that left the output unchanged: " + "; ".join(f"{m} {n}x" for m, n in out["unchanged_by_mutation"].items())]
    lines += ["", "Most frequent clean errors per kind (numbers replaced by N):", ""]
    for kind, counts in sorted(out["messages"].items()):
        lines.append(f"- {kind}: " + "; ".join(f"{n}x `{m}`" for m, n in list(counts.items())[:8]))
    return "\n".join(lines) + "\n"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--streams", type=int, default=10000)
    p.add_argument("--checkpoints", type=int, default=1000)
    p.add_argument("--images", type=int, default=1000)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--per-child", type=int, default=50, help="cases run in turn by one forked child (1: one each)")
    p.add_argument("--timeout", type=float, default=10.0)
    p.add_argument("--memory-gb", type=float, default=2.0)
    p.add_argument("--seed", type=int, default=27)
    p.add_argument("--kodak", default=str(REPO.parent / "shared" / "data" / "kodak"))
    p.add_argument("--out", default="benchmarks/results/fuzz")
    args = p.parse_args()
    torch.set_num_threads(1)
    t0 = time.time()
    x, _ = read_image(Path(args.kodak) / "kodim01.png")
    image = x[..., 100:164, 200:264].contiguous()
    x23, _ = read_image(Path(args.kodak) / "kodim23.png")
    padded = x23[..., 200:296, 300:428].contiguous()  # 96 rows: 32 of padding to the stride
    codec, other = zoo.load_codec(quality=3), zoo.load_codec(quality=1)
    cases, stream_info = _stream_cases(args.streams // 2, args.seed, codec, image)
    more, padded_info = _stream_cases(args.streams - args.streams // 2, args.seed + 10, codec, padded)
    cases += more
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        checkpoint_cases, checkpoint_run = _checkpoint_cases(args, Path(tmp), image)
    stream_run = fuzz.stream_runner({"": codec, "other": other})
    image_cases = fuzz.image_cases(args.images, args.seed)
    limits = {"workers": args.workers, "timeout": args.timeout, "memory": int(args.memory_gb * 2**30)}
    results: list[fuzz.Result] = []
    confirmed: dict[int, str] = {}
    rounds = (("stream", cases, stream_run, args.per_child), ("checkpoint", checkpoint_cases, checkpoint_run,
              min(args.per_child, 10)), ("image", image_cases, fuzz.read_image_case, args.per_child))  # fmt: skip
    for label, batch, run, per_child in rounds:
        start = time.time()
        part = fuzz.run_cases(batch, run, per_child=per_child, **limits)
        again = [i for i, r in enumerate(part) if r.outcome in fuzz.FAILURES]
        alone = fuzz.run_cases([part[i].case for i in again], run, per_child=1, **limits) if again else []
        confirmed.update({len(results) + i: r.outcome for i, r in zip(again, alone)})
        results += part
        print(f"{label}: {len(part)} cases in {time.time() - start:.0f} s, {len(again)} failures", file=sys.stderr)
    out = {
        "command": "OMP_NUM_THREADS=1 .venv/bin/python benchmarks/fuzz.py " + " ".join(sys.argv[1:]),
        "seconds": round(time.time() - t0, 1),
        "settings": {"workers": args.workers, "per_child": args.per_child, "timeout_s": args.timeout,
                     "memory_gb": args.memory_gb, "seed": args.seed},  # fmt: skip
        "inputs": {
            "stream": f"half from a 64x64 crop of kodim01.png of ../shared/data/kodak at (100, 200), core.lite-q3, "
            f"{stream_info['bytes']} bytes (version {bitstream.VERSION}), {stream_info['v1_bytes']} (version 1); half from a 128x96 "
            f"crop of kodim23.png at (200, 300) (32 rows of padding), {padded_info['bytes']} bytes; "
            "cross-model: core.lite-q1",
            "checkpoint": f"a tiny composed codec ({json.dumps(TINY)}) and the shipped core.lite-q1, coding the same crop",
            "image": "16x16 PNG (RGB, RGBA, 16-bit gray), GIF (still, animated), TIFF (RGB, float, int32), JPEG with EXIF",
        },
        **_report(results, confirmed),
    }
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.with_suffix(".json").write_text(json.dumps(out, indent=1) + "\n")
    path.with_suffix(".md").write_text(_markdown(out))
    print(_markdown(out))
    bad = out["outcomes"]
    return 1 if bad["signal"] or bad["timeout"] or bad["memory"] or bad["internal"] else 0


if __name__ == "__main__":
    sys.exit(main())
