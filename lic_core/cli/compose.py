"""``lic compose RECIPE``: build a codec from a recipe and describe it (params, MACs, stages)."""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

from lic_core.evaluation.macs import MACS_SIZE, part_macs


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compose",
        help="build a codec from a recipe and describe it",
        description="Build a codec from a recipe (YAML/JSON file or recipe name) and describe it.",
    )
    p.add_argument("recipe", help="recipe file or name (lic recipes list)")
    p.add_argument("--summary", action="store_true", help=f"stages, components, parameters and MACs at {MACS_SIZE}x{MACS_SIZE}")
    p.add_argument("--save", metavar="CKPT", help="write an untrained coding checkpoint (.safetensors)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import lic_core

    codec = lic_core.compose(args.recipe)
    name = codec.recipe.get("name") or str(args.recipe)
    if args.summary:
        print(summary(codec, name))
    else:
        print(f"{name}: stride {codec.stride}, {codec.num_parameters():,} coding parameters")
    if args.save:
        from lic_core.checkpoint import save_codec

        codec.eval().update(force=True)
        save_codec(codec, args.save)
        print(f"wrote {args.save} (untrained, coding tables built)")
    return 0


def _entry(entry: dict[str, Any]) -> str:
    """``id k=v ...`` with nested component entries in braces."""
    return " ".join([entry["id"], *(f"{k}={_value(v)}" for k, v in entry.items() if k != "id")])


def _value(value: Any) -> str:
    if isinstance(value, dict) and "id" in value:
        return "{" + _entry(value) + "}"
    if isinstance(value, list) and value and all(isinstance(v, dict) and "id" in v for v in value):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return value if isinstance(value, str) else json.dumps(value)


def _params(module) -> int:
    return sum(p.numel() for p in module.parameters())


def _macs_of(macs: dict[str, int], key: str) -> int | None:
    """A part's MACs; a part used through methods (``stage.pre``) rather than called as a
    module is not entered by the counter, so its direct children's counts are summed."""
    if key in macs:
        return macs[key]
    children = [v for k, v in macs.items() if k.startswith(key + ".") and "." not in k[len(key) + 1 :]]
    return sum(children) if children else None


def summary(codec, name: str) -> str:
    """A human-readable description: stages, components with ids, parameters, MACs."""
    r = codec.recipe
    pre = [e["id"] for e in r.get("prepost", [])]
    t, em, q = r["transform"]["id"], r["entropy_model"]["id"], r["quantizer"]["id"]
    stages = ["image", *(f"{s} pre" for s in pre), f"{t} analysis", f"{em} ({q})", f"{t} synthesis"]
    stages += [*(f"{s} post" for s in reversed(pre)), "image"]

    macs, total_macs = part_macs(codec)
    rows = [
        *((f"prepost[{i}]", _entry(e), codec.prepost[i], f"prepost.{i}") for i, e in enumerate(r.get("prepost", []))),
        ("transform.analysis", _entry(r["transform"]), codec.transform.analysis, "transform.analysis"),
        ("transform.synthesis", r["transform"]["id"], codec.transform.synthesis, "transform.synthesis"),
        ("entropy_model", _entry(r["entropy_model"]), codec.entropy_model, "entropy_model"),
        ("quantizer", _entry(r["quantizer"]), codec.quantizer, "quantizer"),
        *((f"losses[{i}] (training)", _entry(e), codec.losses[i], f"losses.{i}") for i, e in enumerate(r.get("losses", []))),
    ]
    width = max(len(row[0]) for row in rows) + 2
    lines = [
        f"recipe   {name}",
        f"stride   {codec.stride} (inputs are padded to a multiple of it)",
        f"stages   {' -> '.join(stages)}",
        "",
        f"{'part':<{width}}{'params':>12}{'MACs':>16}  component",
    ]
    for label, component, module, key in rows:
        m = _macs_of(macs, key)
        lines.append(f"{label:<{width}}{_params(module):>12,}{(f'{m:,}' if m is not None else '-'):>16}  {component}")
    coding = codec.num_parameters(coding_only=True)
    training = codec.num_parameters(coding_only=False) - coding
    side = math.ceil(MACS_SIZE / codec.stride) * codec.stride
    lines += [
        "",
        f"coding parameters         {coding:,}",
        f"training-only parameters  {training:,}",
        f"MACs for a {side}x{side} image: {total_macs / 1e9:.3f} G ({total_macs / side**2 / 1e3:.1f} kMAC/pixel)",
    ]
    return "\n".join(lines)
