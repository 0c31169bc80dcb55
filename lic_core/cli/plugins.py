"""``lic plugins list | show NAME | check NAME``: what discovery found, and the conformance kit.

Light at import and for ``list``/``show`` (discovery only, no torch); ``check`` imports torch
when the checks run.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from lic_core.errors import LicError


def register(subparsers: argparse._SubParsersAction) -> None:
    what = "list, inspect and check plugins"
    parser = subparsers.add_parser("plugins", help=what, description=what)
    actions = parser.add_subparsers(dest="plugins_action", metavar="ACTION")
    actions.required = True

    p = actions.add_parser("list", help="plugins with version, status, error and components")
    p.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    p.set_defaults(handler=_list)

    p = actions.add_parser("show", help="one plugin: components (summary, paper, params) and recipes")
    p.add_argument("name", metavar="NAME", help="plugin name (entry-point name) or distribution name")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(handler=_show)

    p = actions.add_parser(
        "check",
        help="run the conformance kit on a plugin's components",
        description="Run the conformance kit (docs/plugin-authoring.md, section 6) on every component of plugin "
        "NAME; exit 0 only if all pass.",
    )
    p.add_argument("name", metavar="NAME", help="plugin name (entry-point name) or distribution name")
    p.add_argument("--component", action="append", metavar="ID", help="check only this component (repeatable)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.set_defaults(handler=_check)


def _registry():
    from lic_core.discovery import get_registry

    return get_registry()


def find_plugin(name: str):
    """A plugin record by entry-point or distribution name, or a one-line :class:`LicError`."""
    registry = _registry()
    if name in registry.plugins:
        return registry.plugins[name]
    for record in registry.plugins.values():
        if record.distribution.lower().replace("_", "-") == name.lower().replace("_", "-"):
            return record
    from lic_core.catalog import load_catalog

    for entry in load_catalog():
        if name in (entry.get("name"), entry.get("distribution")):
            raise LicError(f"plugin {name!r} is not installed: pip install ./{entry['path']}")
    installed = ", ".join(sorted(registry.plugins)) or "none"
    raise LicError(f"unknown plugin {name!r} (installed: {installed})")


def _shorten(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def table(rows: list[list[str]], header: list[str]) -> str:
    """A plain left-aligned text table."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip() for row in [header, *rows]]
    return "\n".join(lines)


def _list(args: argparse.Namespace) -> int:
    from lic_core.api import list_plugins

    records = list_plugins()
    if args.json:
        print(json.dumps([r.as_dict() for r in records], indent=2))
        return 0
    rows = []
    for r in records:
        kinds: dict[str, int] = {}
        for c in r.components:
            kinds[c.kind] = kinds.get(c.kind, 0) + 1
        if r.models:
            kinds["shipped model"] = len(r.models)
        what = ", ".join(f"{n} {k}" for k, n in kinds.items()) if r.status == "ok" else _shorten(r.error, 70)
        rows.append([r.name, r.distribution, r.version, r.status, what])
    print(table(rows, ["NAME", "DISTRIBUTION", "VERSION", "STATUS", "COMPONENTS / ERROR"]))
    bad = [r for r in records if r.status in ("error", "incompatible")]
    if bad:
        print(f"\n{len(bad)} plugin(s) not loaded; `lic plugins show NAME` gives the full error.", file=sys.stderr)
    return 0


def _format_value(value: Any) -> str:
    from lic_core.specs import REQUIRED

    if value is REQUIRED:
        return "(required)"
    return json.dumps(value) if isinstance(value, (dict, list, str)) else str(value)


def _show(args: argparse.Namespace) -> int:
    record = find_plugin(args.name)
    if args.json:
        data = record.as_dict()
        data["components"] = [
            {"id": c.id, "kind": c.kind, "summary": c.summary, "paper": c.paper, "factory": c.factory,
             "params": c.optional_params, "required": list(c.required_params), "example": dict(c.example)}
            for c in record.components
        ]  # fmt: skip
        data["recipes"] = [{"name": r.name, "summary": r.summary, "paper": r.paper} for r in record.recipes]
        data["models"] = [{"id": m.id, "recipe": m.recipe, "quality": m.quality, "lambda": m.lmbda,
                           "summary": m.summary, "weights": m.weights} for m in record.models]  # fmt: skip
        print(json.dumps(data, indent=2, default=str))
        return 0
    out = [f"{record.name}  ({record.distribution} {record.version})  status: {record.status}"]
    out.append(f"  entry module: {record.module}")
    if record.requires_core:
        out.append(f"  requires lic-core {record.requires_core}")
    if record.error:
        out.append(f"  error: {record.error}")
    if record.components:
        out.append("\ncomponents:")
    for c in sorted(record.components, key=lambda c: c.id):
        out.append(f"  {c.id}  [{c.kind}]  {c.summary}")
        if c.paper:
            out.append(f"      paper: {c.paper}")
        out.append(f"      factory: {c.factory}")
        if c.params:
            out.append("      params: " + ", ".join(f"{k}={_format_value(v)}" for k, v in c.params.items()))
    if record.recipes:
        out.append("\nrecipes:")
    for r in sorted(record.recipes, key=lambda r: r.name):
        out.append(f"  {r.name}  {r.summary}")
        if r.paper:
            out.append(f"      paper: {r.paper}")
    if record.models:
        out.append("\nshipped models:")
    for m in sorted(record.models, key=lambda m: (m.quality or 0, m.id)):
        out.append(f"  {m.id}  recipe {m.recipe}  {m.summary}")
    print("\n".join(out))
    return 0


def _check(args: argparse.Namespace) -> int:
    from lic_core.testing.runner import KIND_CHECKS, plan, run_check

    record = find_plugin(args.name)
    if args.component:
        registry = _registry()
        pairs = []
        for key in args.component:
            spec = registry.component(key)
            if registry.owner(spec.id).name != record.name:
                raise LicError(f"component {spec.id!r} is not provided by plugin {record.name!r}")
            pairs += [(spec.id, name) for name in KIND_CHECKS[spec.kind]]
    else:
        pairs = plan(record.name)
    results = []
    for target, check in pairs:  # one at a time, printed as they come: a long kit shows progress
        result = run_check(target, check)
        results.append(result)
        if not args.json:
            print(f"{result.status}  {result.component}  {result.check}: {result.detail}", flush=True)
    failed = sum(not r.passed for r in results)
    skipped = sum(r.skipped for r in results)
    if args.json:
        print(json.dumps([{**r.__dict__, "status": r.status} for r in results], indent=2))
    else:
        print(f"\n{record.name}: {len(results) - failed - skipped} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0
