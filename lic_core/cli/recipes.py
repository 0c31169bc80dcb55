"""``lic recipes list | show NAME``: the named recipes plugins ship (light: no torch)."""

from __future__ import annotations

import argparse
import json

from lic_core.cli.plugins import table


def register(subparsers: argparse._SubParsersAction) -> None:
    what = "list and show named recipes"
    parser = subparsers.add_parser("recipes", help=what, description=what)
    actions = parser.add_subparsers(dest="recipes_action", metavar="ACTION")
    actions.required = True
    p = actions.add_parser("list", help="every named recipe with its plugin and summary")
    p.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    p.set_defaults(handler=_list)
    p = actions.add_parser("show", help="one recipe as YAML (ready to edit and pass to `lic compose`)")
    p.add_argument("name", metavar="NAME", help="recipe name (or its unique short alias)")
    p.set_defaults(handler=_show)


def _list(args: argparse.Namespace) -> int:
    from lic_core.discovery import get_registry

    registry = get_registry()
    specs = sorted(registry.recipes.values(), key=lambda r: r.name)
    if args.json:
        data = [
            {"name": r.name, "plugin": registry.recipe_owner(r.name).name, "summary": r.summary, "paper": r.paper}
            for r in specs
        ]
        print(json.dumps(data, indent=2))
        return 0
    rows = [[r.name, registry.recipe_owner(r.name).name, r.summary] for r in specs]
    print(table(rows, ["NAME", "PLUGIN", "SUMMARY"]) if rows else "no recipes (no plugin ships one)")
    return 0


def _show(args: argparse.Namespace) -> int:
    import yaml

    from lic_core.discovery import get_registry

    registry = get_registry()
    spec = registry.recipe(args.name)
    header = [f"# {spec.name} (plugin {registry.recipe_owner(spec.name).name})"]
    header += [f"# {line}" for line in (spec.summary, f"paper: {spec.paper}" if spec.paper else "") if line]
    recipe = spec.fresh()
    recipe = {"name": recipe.pop("name"), **recipe}
    body = yaml.safe_dump(recipe, sort_keys=False, default_flow_style=None, allow_unicode=True)
    print("\n".join(header) + "\n" + body, end="")
    return 0
