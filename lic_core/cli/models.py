"""``lic models list | ship``: the trained codecs plugins ship (listing is light: no torch)."""

from __future__ import annotations

import argparse
import json

from lic_core.cli.plugins import table


def register(subparsers: argparse._SubParsersAction) -> None:
    what = "list the trained codecs plugins ship"
    parser = subparsers.add_parser("models", help=what, description=what)
    actions = parser.add_subparsers(dest="models_action", metavar="ACTION")
    actions.required = True
    p = actions.add_parser("list", help="every shipped model: id, recipe, quality, lambda, weights file")
    p.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    p.set_defaults(handler=_list)
    p = actions.add_parser("ship", help="write a trained checkpoint as a shipped model's weights (maintainers)")
    p.add_argument("checkpoint", metavar="CKPT", help="coding checkpoint written by lic train")
    p.add_argument("id", metavar="ID", help="model id declared by a plugin's lic_models hook")
    p.add_argument("--note", default="", help="how it was made (recorded as lic.note), e.g. the training command")
    p.set_defaults(handler=_ship)


def _list(args: argparse.Namespace) -> int:
    from lic_core.zoo import DEFAULT_LADDER, default_quality, list_models

    models = list_models()
    default = default_quality()
    if args.json:
        data = [
            {"id": m.id, "recipe": m.recipe, "quality": m.quality, "lambda": m.lmbda, "metric": m.metric,
             "summary": m.summary, "weights": str(m.path()), "installed": m.path().is_file(),
             "default": m.plugin == DEFAULT_LADDER and m.quality == default}
            for m in models
        ]  # fmt: skip
        print(json.dumps(data, indent=2))
        return 0
    rows = [
        [m.id + (" (default)" if m.plugin == DEFAULT_LADDER and m.quality == default else ""), m.recipe,
         "" if m.quality is None else str(m.quality), "" if m.lmbda is None else f"{m.lmbda:g}",
         "yes" if m.path().is_file() else "MISSING"]
        for m in models
    ]  # fmt: skip
    print(table(rows, ["ID", "RECIPE", "QUALITY", "LAMBDA", "WEIGHTS"]) if rows else "no shipped models")
    return 0


def _ship(args: argparse.Namespace) -> int:
    from lic_core.zoo import ship

    extra = {"note": args.note} if args.note else {}
    path = ship(args.checkpoint, args.id, **extra)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0
