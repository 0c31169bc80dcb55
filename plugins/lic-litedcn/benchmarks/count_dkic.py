"""Parameters and GMACs of recipe ``dkic`` (or another) on a 768x512 input.

MACs = FLOPs / 2 from ``torch.utils.flop_counter.FlopCounterMode`` over the eval forward
(convolutions and matmuls). ``grid_sample`` has no FLOP formula there, so the Lite-DCN
sampling is added analytically: per output value and sampling point, 4 bilinear taps plus the
modulation weight, i.e. ``5 * C * H * W * K * K`` MACs per Lite-DCN layer.

    OMP_NUM_THREADS=1 .venv/bin/python plugins/lic-litedcn/benchmarks/count_dkic.py --recipe dkic
"""

from __future__ import annotations

import argparse

import torch
from torch.utils.flop_counter import FlopCounterMode

import lic_core
from lic_litedcn.litedcn import LiteDCN


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recipe", default="dkic")
    ap.add_argument("--height", type=int, default=512)
    ap.add_argument("--width", type=int, default=768)
    args = ap.parse_args()
    torch.manual_seed(0)
    codec = lic_core.compose(args.recipe).eval()
    sampling = []

    def count(module: LiteDCN, inputs, output) -> None:
        _, c, h, w = output.shape
        sampling.append(5 * c * h * w * module.kernel_size**2)

    for m in codec.modules():
        if isinstance(m, LiteDCN):
            m.register_forward_hook(count)
    parts = {
        "transform": sum(p.numel() for p in codec.transform.parameters()),
        "entropy model": sum(p.numel() for p in codec.entropy_model.parameters()),
    }
    x = torch.rand(1, 3, args.height, args.width)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        codec(x)
    by_module = counter.get_flop_counts()
    macs = counter.get_total_flops() / 2
    extra = sum(sampling)
    print(f"recipe {args.recipe}: {sum(parts.values()) / 1e6:.2f} M parameters "
          f"({', '.join(f'{k} {v / 1e6:.2f} M' for k, v in parts.items())})")  # fmt: skip
    print(f"input {args.width}x{args.height}: {macs / 1e9:.1f} GMACs counted (conv/matmul) + "
          f"{extra / 1e9:.1f} GMACs Lite-DCN sampling = {(macs + extra) / 1e9:.1f} GMACs")  # fmt: skip
    for part in ("transform.analysis", "transform.synthesis", "entropy_model"):
        counts = by_module.get(f"Codec.{part}", {})
        print(f"  {part}: {sum(counts.values()) / 2e9:.1f} GMACs counted")

if __name__ == "__main__":
    main()
