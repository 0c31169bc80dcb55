"""What the rANS bounds guards cost: lic's entropy coding against CompressAI's, with and without them.

``mbt2018-mean-lite`` holding the default codec's transform and hyperprior weights next to
CompressAI's ``MeanScaleHyperprior`` with the same weights (``lic bench``'s
``measure_side_by_side``, time inside the entropy coders), four ways: as shipped; with the
caller's thread count for the entropy parameters (:func:`lic_core.coding.one_thread.caller_threads`);
and both again with :mod:`lic_core.coding.bounded`'s guards replaced by CompressAI's plain calls
(the encoder's output-size check skipped, the decoder given the unpadded string).

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/entropy_guards.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from decode_speed import ROOT, _hyperprior_from  # noqa: E402


def main() -> int:
    torch.set_num_threads(2)
    import lic_core._quiet  # noqa: F401
    from compressai.ans import RansDecoder

    from lic_core.coding import bounded
    from lic_core.coding.one_thread import caller_threads
    from lic_core.evaluation.bench import measure_side_by_side, ratios
    from lic_core.evaluation.reference import compressai_twin
    from lic_core.imageio import read_image
    from lic_core.zoo import load_model

    hyper = _hyperprior_from(load_model("core.lite-q3"))
    twin = compressai_twin(hyper)
    kodak = ROOT.parent / "shared" / "data" / "kodak"
    xs = [read_image(kodak / f"kodim0{i}.png")[0] for i in (1, 2)]
    print("| variant | lic enc ms | CompressAI enc ms | ratio | lic dec ms | CompressAI dec ms | ratio |\n|---|---:|---:|---:|---:|---:|---:|")

    def show(label: str) -> None:
        ours, theirs = measure_side_by_side([hyper, twin], xs, 3)
        o, t, q = ours["summary"], theirs["summary"], ratios(ours["summary"], theirs["summary"])
        print(f"| {label} | {1e3 * o['encode_coding']:.1f} | {1e3 * t['encode_coding']:.1f} | {q['encode_coding']:.2f}x | "
              f"{1e3 * o['decode_coding']:.1f} | {1e3 * t['decode_coding']:.1f} | {q['decode_coding']:.2f}x |", flush=True)

    show("as shipped")
    with caller_threads():
        show("entropy parameters on the caller's threads")
    bounded.decode = lambda s, i, c, lengths, offsets: RansDecoder().decode_with_indexes(s, i, c, lengths, offsets)
    bounded.check_encodable = lambda *a: None
    show("without the bounds guards")
    with caller_threads():
        show("without the guards, caller's threads")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
