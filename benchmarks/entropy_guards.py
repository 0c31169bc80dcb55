"""Entropy-coding time of lic's coders against CompressAI's for the same weights and latents.

``mbt2018-mean-lite`` holding the default codec's transform and hyperprior weights next to
CompressAI's ``MeanScaleHyperprior`` with the same weights (``lic bench``'s
``measure_side_by_side``, time inside the entropy coders; the models are timed in turn on each
repeat, so load changes affect them alike).

Default (``.lic`` format 3, issue #29 item 3): three coders on the same latents, interleaved:
lic's constriction ANS (:mod:`lic_core.coding.ans`, what version 3 writes); lic's legacy
guarded CompressAI rANS (:mod:`lic_core.coding.rans` + :mod:`lic_core.coding.bounded`, what
versions 1 and 2 hold, inside :func:`lic_core.coding.table_coder.legacy_rans`); CompressAI's
own coder. Also the bytes of the strings of each (v3 against v2 size).

``--guards``: the earlier measurement of the rANS path four ways: as shipped; with the
caller's thread count for the entropy parameters (:func:`lic_core.coding.one_thread.caller_threads`);
and both again with :mod:`lic_core.coding.bounded`'s guards replaced by CompressAI's plain
calls (the encoder's output-size check skipped, the decoder given the unpadded string).

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/entropy_guards.py [--images 4] [--repeats 3]
    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/entropy_guards.py --guards
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).parent))
from decode_speed import ROOT, _hyperprior_from  # noqa: E402


class _Legacy(nn.Module):
    """``model`` coding with CompressAI's rANS (``legacy_rans``), for side-by-side timing."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.stride = getattr(model, "stride", 64)

    def forward(self, x):
        return self.model(x)

    def compress(self, x):
        from lic_core.coding.table_coder import legacy_rans

        with legacy_rans():
            return self.model.compress(x)

    def decompress(self, strings, shape):
        from lic_core.coding.table_coder import legacy_rans

        with legacy_rans():
            return self.model.decompress(strings, shape)


def _setup(images: int):
    from lic_core.evaluation.reference import compressai_twin
    from lic_core.imageio import read_image
    from lic_core.zoo import load_model

    hyper = _hyperprior_from(load_model("core.lite-q3"))
    twin = compressai_twin(hyper)
    kodak = ROOT.parent / "shared" / "data" / "kodak"
    xs = [read_image(kodak / f"kodim{i:02d}.png")[0] for i in range(1, images + 1)]
    return hyper, twin, xs


def ans_mode(images: int, repeats: int) -> None:
    from lic_core.evaluation.bench import measure_side_by_side, ratios

    hyper, twin, xs = _setup(images)
    legacy = _Legacy(copy.deepcopy(hyper))
    ans, rans, theirs = measure_side_by_side([hyper, legacy, twin], xs, repeats)
    ref = theirs["summary"]
    print(f"{len(xs)} Kodak images (kodim01-{len(xs):02d}), {repeats} repeats (median per image, mean over images), "
          f"{torch.get_num_threads()} threads\n")
    print("| coder | enc ms | enc ratio vs CompressAI | dec ms | dec ratio vs CompressAI | string bytes | exact decode |\n"
          "|---|---:|---:|---:|---:|---:|:-:|")
    for label, r in (("lic v3: constriction ANS (`ans.py`)", ans), ("lic v1/v2: guarded CompressAI rANS (`rans.py` + `bounded.py`)", rans),
                     ("CompressAI's own coder", theirs)):
        s, q = r["summary"], ratios(r["summary"], ref)
        print(f"| {label} | {1e3 * s['encode_coding']:.1f} | {q['encode_coding']:.2f}x | {1e3 * s['decode_coding']:.1f} | "
              f"{q['decode_coding']:.2f}x | {s['file_bits'] / 8:.0f} | {'yes' if s['exact_decode'] else 'NO'} |", flush=True)
    a, b = ans["summary"]["file_bits"], rans["summary"]["file_bits"]
    print(f"\nv3 (ANS) strings vs v2 (rANS) strings: {a / 8:.0f} vs {b / 8:.0f} bytes ({100 * (a / b - 1):+.3f}%)")
    print("per image (bytes v3 / v2):", ", ".join(f"{int(p['file_bits']) // 8}/{int(q['file_bits']) // 8}"
                                                  for p, q in zip(ans["per_image"], rans["per_image"])))


def guards_mode(images: int, repeats: int) -> None:
    import lic_core._quiet  # noqa: F401
    from compressai.ans import RansDecoder

    from lic_core.coding import bounded
    from lic_core.coding.one_thread import caller_threads
    from lic_core.coding.table_coder import legacy_rans
    from lic_core.evaluation.bench import measure_side_by_side, ratios

    hyper, twin, xs = _setup(images)
    lic = _Legacy(hyper)
    print("| variant | lic enc ms | CompressAI enc ms | ratio | lic dec ms | CompressAI dec ms | ratio |\n|---|---:|---:|---:|---:|---:|---:|")

    def show(label: str) -> None:
        ours, theirs = measure_side_by_side([lic, twin], xs, repeats)
        o, t, q = ours["summary"], theirs["summary"], ratios(ours["summary"], theirs["summary"])
        print(f"| {label} | {1e3 * o['encode_coding']:.1f} | {1e3 * t['encode_coding']:.1f} | {q['encode_coding']:.2f}x | "
              f"{1e3 * o['decode_coding']:.1f} | {1e3 * t['decode_coding']:.1f} | {q['decode_coding']:.2f}x |", flush=True)

    with legacy_rans():
        show("as shipped")
        with caller_threads():
            show("entropy parameters on the caller's threads")
        bounded.decode = lambda s, i, c, lengths, offsets: RansDecoder().decode_with_indexes(s, i, c, lengths, offsets)
        bounded.check_encodable = lambda *a: None
        show("without the bounds guards")
        with caller_threads():
            show("without the guards, caller's threads")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--guards", action="store_true", help="the rANS guards measurement (before format 3)")
    p.add_argument("--images", type=int, default=None, help="Kodak images (default 4; 2 with --guards)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.guards:
        guards_mode(args.images or 2, args.repeats)
    else:
        ans_mode(args.images or 4, args.repeats)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
