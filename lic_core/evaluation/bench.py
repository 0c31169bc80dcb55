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

The distance to the hardware: :func:`stage_macs` counts the multiply-accumulates (convolutions
and matmuls) of ``compress`` and ``decompress`` per stage and per pixel, and
:func:`matmul_peak` measures the machine's float32 matmul rate at the same thread count in the
same run; :func:`attach_efficiency` adds the achieved MAC rate and its fraction of that peak.
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


def matmul_peak(size: int = 1024, seconds: float = 0.5, device: str = "cpu") -> float:
    """The best float32 matmul rate seen in ``seconds`` of ``size`` x ``size`` products, in
    multiply-accumulates per second: the machine's practical peak at the current thread count."""
    a = torch.randn(size, size, device=device)
    b = torch.randn(size, size, device=device)
    torch.mm(a, b)  # warm-up
    best, start = float("inf"), time.perf_counter()
    while time.perf_counter() - start < seconds or best == float("inf"):
        if device != "cpu":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        torch.mm(a, b)
        if device != "cpu":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t0)
    return size**3 / best


def _stage_keys(model: nn.Module) -> list[str]:
    """The stages MACs are reported for: pre/post stages, analysis, synthesis, and the entropy
    model's parts (hyperprior side, context coder ...)."""
    keys = [f"prepost.{i}" for i in range(len(getattr(model, "prepost", [])))]
    keys += ["transform.analysis", "transform.synthesis"]
    em = getattr(model, "entropy_model", None)
    if em is not None:
        keys += [f"entropy_model.{name}" for name, _ in em.named_children() if name != "quantizer"]
    return keys


_STAGE_METHODS = ("forward", "pre", "post", "compress", "decompress")


@contextmanager
def _count_stages(model: nn.Module, keys: Sequence[str]) -> Iterator[dict[str, int]]:
    """MACs (FLOPs / 2) inside each stage's methods while the context is open (outermost call
    of a stage only; instance attributes, removed afterwards)."""
    from torch.utils.flop_counter import FlopCounterMode

    counts: dict[str, int] = {}
    depth: dict[str, int] = {}
    patched = []
    for key in keys:
        module = model.get_submodule(key)
        for name in _STAGE_METHODS:
            if getattr(type(module), name, None) is None or name in module.__dict__:
                continue

            def counted(*args: Any, _fn=getattr(module, name), _key=key, **kwargs: Any) -> Any:
                if depth.get(_key):
                    return _fn(*args, **kwargs)
                depth[_key] = 1
                try:
                    with FlopCounterMode(display=False) as counter:
                        out = _fn(*args, **kwargs)
                finally:
                    depth[_key] = 0
                counts[_key] = counts.get(_key, 0) + counter.get_total_flops() // 2
                return out

            module.__dict__[name] = counted
            patched.append((module, name))
    try:
        yield counts
    finally:
        for module, name in patched:
            del module.__dict__[name]


def _has_submodule(model: nn.Module, key: str) -> bool:
    try:
        model.get_submodule(key)
    except AttributeError:
        return False
    return True


@torch.no_grad()
def stage_macs(model: nn.Module, x: Tensor) -> dict[str, dict[str, float]]:
    """MACs per pixel of ``x`` (padded to the stride) for ``compress`` and ``decompress``, per
    stage (:func:`_stage_keys`) and in ``total``; entropy coding itself is not counted."""
    from torch.utils.flop_counter import FlopCounterMode

    model.eval()
    x = pad_to(x, _stride(model))
    pixels = x.shape[-2] * x.shape[-1]
    keys = [k for k in _stage_keys(model) if _has_submodule(model, k)]
    out = {}
    enc: dict[str, Any] = {}
    for kind in ("compress", "decompress"):
        with _count_stages(model, keys) as counts, FlopCounterMode(display=False) as total:
            if kind == "compress":
                enc = model.compress(x)
            else:
                model.decompress(enc["strings"], enc["shape"])
        per_stage = {k: counts[k] / pixels for k in keys if counts.get(k)}
        out[kind] = {**per_stage, "total": total.get_total_flops() // 2 / pixels}
    return out


def attach_efficiency(result: dict[str, Any], macs: dict[str, dict[str, float]], peak: float) -> None:
    """Add MACs per pixel and the achieved fraction of ``peak`` (MAC/s) to ``result["summary"]``."""
    s = result["summary"]
    pixels = sum(r["pixels"] for r in result["per_image"]) / len(result["per_image"])
    s["stage_macs_per_pixel"] = macs
    s["matmul_peak_macs_per_s"] = peak
    for kind in ("compress", "decompress"):
        rate = macs[kind]["total"] * pixels / s[kind] if s[kind] > 0 else float("nan")
        s[f"{kind}_macs_per_pixel"] = macs[kind]["total"]
        s[f"{kind}_macs_per_s"] = rate
        s[f"{kind}_peak_fraction"] = rate / peak


def efficiency_markdown(rows: Sequence[dict[str, Any]]) -> str:
    """MACs per pixel per stage and the achieved fraction of the matmul peak, per model."""
    rows = [r for r in rows if "compress_peak_fraction" in r["summary"]]
    if not rows:
        return ""
    peak = rows[0]["summary"]["matmul_peak_macs_per_s"]
    lines = [
        f"\nMACs per pixel (convolutions and matmuls; entropy coding not counted) and the achieved MAC rate against "
        f"the machine's float32 matmul peak measured in this run ({peak / 1e9:.1f} GMAC/s):\n",
        "| model | call | kMAC/pixel | GMAC/s | of peak | per stage (kMAC/pixel) |",
        "|---|---|---:|---:|---:|---|",
    ]
    for r in rows:
        s = r["summary"]
        for kind in ("compress", "decompress"):
            stages = ", ".join(f"{k} {v / 1e3:.1f}" for k, v in s["stage_macs_per_pixel"][kind].items() if k != "total" and v)
            lines.append(f"| {r['name']} | {kind} | {s[f'{kind}_macs_per_pixel'] / 1e3:.1f} | {s[f'{kind}_macs_per_s'] / 1e9:.1f} | "
                         f"{100 * s[f'{kind}_peak_fraction']:.0f}% | {stages} |")  # fmt: skip
    return "\n".join(lines) + "\n"


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
