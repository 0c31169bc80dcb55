"""Speed and rate overhead of composed codecs side by side with a reference (CompressAI's model
holding the same weights), measured in one run on the same images and threads.

Per model and image (padded to the model's stride), medians over ``repeats`` of:

- ``forward``: the eval forward;
- ``compress`` / ``decompress``: the model's own calls (network and entropy coding);
- ``encode_coding`` / ``decode_coding``: the time spent inside the entropy coders'
  ``compress``/``decompress`` methods (every CompressAI ``EntropyModel`` below the model: the
  Gaussian conditionals and the factorized bottleneck) during the model's ``compress``
  (which also decodes ``z``) and ``decompress``: the entropy-coding path alone;

and the rate: ``file_bits`` (the coded strings) against ``likelihood_bits`` (what the eval
forward's likelihoods predict), ``overhead = file / likelihood - 1``. Decoding is checked to
reproduce the eval forward's reconstruction. Models compared are timed interleaved.
"""

from __future__ import annotations

import statistics
import time
from contextlib import ExitStack, contextmanager
from typing import Any, Callable, Iterator, Sequence

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from lic_core.losses import bits

TIMED = ("forward", "compress", "decompress", "encode_coding", "decode_coding")


class CodingTimer:
    """Accumulates wall time spent in entropy coders' ``compress``/``decompress`` (outermost calls)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._depth = 0

    def wrap(self, fn: Callable) -> Callable:
        def timed(*args: Any, **kwargs: Any) -> Any:
            if self._depth:
                return fn(*args, **kwargs)
            self._depth += 1
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - t0
                self._depth -= 1

        return timed

    def reset(self) -> None:
        self.seconds = 0.0


@contextmanager
def instrument(model: nn.Module) -> Iterator[CodingTimer]:
    """Time every entropy coder below ``model`` (instance attributes, removed afterwards)."""
    import lic_core._quiet  # noqa: F401
    from compressai.entropy_models import EntropyModel as Coder

    timer = CodingTimer()
    coders = [m for m in model.modules() if isinstance(m, Coder)]
    for m in coders:
        m.compress = timer.wrap(m.compress)
        m.decompress = timer.wrap(m.decompress)
    try:
        yield timer
    finally:
        for m in coders:
            del m.compress, m.decompress


def pad_to(x: Tensor, multiple: int) -> Tensor:
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    return F.pad(x, (0, pw, 0, ph), mode="replicate") if ph or pw else x


def _stride(model: nn.Module) -> int:
    return int(getattr(model, "stride", 64))


def _strings_bits(strings: Any) -> int:
    if isinstance(strings, (bytes, bytearray)):
        return 8 * len(strings)
    return sum(_strings_bits(s) for s in strings)


@torch.no_grad()
def measure(model: nn.Module, images: Sequence[Tensor], repeats: int = 3) -> dict[str, Any]:
    """Per-image medians and their means over images for one model (eval mode)."""
    return measure_side_by_side([model], images, repeats)[0]


@torch.no_grad()
def measure_side_by_side(models: Sequence[nn.Module], images: Sequence[Tensor], repeats: int = 3) -> list[dict[str, Any]]:
    """:func:`measure` for several models, interleaved (each repeat times every model in turn),
    so that load changes on the machine affect all of them alike."""
    for m in models:
        m.eval()
    per_image: list[list[dict[str, Any]]] = [[] for _ in models]
    with ExitStack() as stack:
        timers = [stack.enter_context(instrument(m)) for m in models]
        for x0 in images:
            state = []
            for m in models:
                x = pad_to(x0, _stride(m))
                out = m(x)  # warm-up and reference outputs
                enc = m.compress(x)
                dec = m.decompress(enc["strings"], enc["shape"])
                exact = bool(torch.equal(dec["x_hat"].clamp(0, 1), out["x_hat"].clamp(0, 1)))
                state.append((x, out, enc, exact, {k: [] for k in TIMED}))
            for _ in range(repeats):
                for m, timer, (x, _, _, _, samples) in zip(models, timers, state):
                    t0 = time.perf_counter()
                    m(x)
                    samples["forward"].append(time.perf_counter() - t0)
                    timer.reset()
                    t0 = time.perf_counter()
                    enc = m.compress(x)
                    samples["compress"].append(time.perf_counter() - t0)
                    samples["encode_coding"].append(timer.seconds)
                    timer.reset()
                    t0 = time.perf_counter()
                    m.decompress(enc["strings"], enc["shape"])
                    samples["decompress"].append(time.perf_counter() - t0)
                    samples["decode_coding"].append(timer.seconds)
            for i, (x, out, enc, exact, samples) in enumerate(state):
                file_bits = _strings_bits(enc["strings"])
                lik_bits = float(bits(out["likelihoods"]))
                per_image[i].append({
                    **{k: statistics.median(v) for k, v in samples.items()},
                    "file_bits": file_bits, "likelihood_bits": lik_bits,
                    "overhead": file_bits / lik_bits - 1 if lik_bits > 0 else float("nan"),
                    "exact_decode": exact, "pixels": int(x.shape[-2] * x.shape[-1]),
                })  # fmt: skip
    return [_summarize(rows) for rows in per_image]


def _summarize(per_image: list[dict[str, Any]]) -> dict[str, Any]:
    n = len(per_image)
    summary = {k: sum(r[k] for r in per_image) / n for k in TIMED}
    fb, lb = sum(r["file_bits"] for r in per_image), sum(r["likelihood_bits"] for r in per_image)
    summary.update(file_bits=fb, likelihood_bits=lb, overhead=fb / lb - 1 if lb > 0 else float("nan"),
                   exact_decode=all(r["exact_decode"] for r in per_image))  # fmt: skip
    return {"summary": summary, "per_image": per_image}


def ratios(ours: dict[str, Any], ref: dict[str, Any]) -> dict[str, float]:
    """ours / reference for every timing (below 1: ours is faster)."""
    return {k: ours[k] / ref[k] for k in TIMED if ref.get(k)}


def markdown(rows: Sequence[dict[str, Any]], header: str = "") -> str:
    """A markdown table of benchmark rows (``name`` + summary keys, ``ratio_*`` optional)."""
    lines = [header] if header else []
    lines += [
        "| model | forward ms | compress ms | decompress ms | entropy enc ms | entropy dec ms | file / likelihood bits | exact |",
        "|---|---:|---:|---:|---:|---:|---:|:-:|",
    ]
    for r in rows:
        s = r["summary"]
        lines.append(
            f"| {r['name']} | {1e3 * s['forward']:.1f} | {1e3 * s['compress']:.1f} | {1e3 * s['decompress']:.1f} | "
            f"{1e3 * s['encode_coding']:.2f} | {1e3 * s['decode_coding']:.2f} | {100 * s['overhead']:+.2f}% | "
            f"{'yes' if s['exact_decode'] else 'NO'} |"
        )
        if r.get("ratios"):
            q = r["ratios"]
            lines.append(
                f"| ↳ {r['name']} / {r['reference']} | {q.get('forward', float('nan')):.2f}x | {q.get('compress', float('nan')):.2f}x | "
                f"{q.get('decompress', float('nan')):.2f}x | {q.get('encode_coding', float('nan')):.2f}x | "
                f"{q.get('decode_coding', float('nan')):.2f}x | | |"
            )
    return "\n".join(lines) + "\n"
