"""Recipes to codecs: validate a recipe, resolve its ids and build a :class:`Codec`."""

from __future__ import annotations

import copy
import inspect
import json
import math
from pathlib import Path
from typing import Any, Mapping

from lic_core.discovery import get_registry
from lic_core.errors import ComponentBuildError, CompositionError, LicError
from lic_core.specs import ComponentSpec

RECIPE_KEYS = {"base", "name", "description", "paper", "transform", "entropy_model", "quantizer", "prepost", "losses", "train", "exact"}
DEFAULT_QUANTIZER = "core.mixed"
# recipes nest a few levels (recipe -> transform -> block -> ...); deeper is hostile input
MAX_DEPTH = 32


class ComponentRef:
    """A recipe entry ``{id: ..., **params}`` resolved to its spec; calling it builds the component.

    Extra positional and keyword arguments given at the call (``channels`` for a block,
    ``in_channels`` for a hyper transform) are merged over the recipe's parameters.
    """

    def __init__(self, spec: ComponentSpec, params: Mapping[str, Any]) -> None:
        self.spec = spec
        self.params = dict(params)

    @property
    def id(self) -> str:
        return self.spec.id

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from lic_core.interfaces import KIND_BASES

        factory = self.spec.load()
        params = {**self.params, **kwargs}
        try:
            inspect.signature(factory).bind(*args, **params)
        except TypeError as exc:
            raise CompositionError(f"{self.spec.kind} {self.spec.id!r}: {exc}") from None
        except ValueError:  # no signature (builtins): let the call report
            pass
        try:
            obj = factory(*args, **params)
        except LicError:
            raise
        except Exception as exc:  # a parameter the component refuses: one line naming it
            text = " ".join(str(exc).split()) or type(exc).__name__
            raise ComponentBuildError(f"{self.spec.kind} {self.spec.id!r}: {_short(text, 300)}") from None
        base = KIND_BASES[self.spec.kind]
        if not isinstance(obj, base):
            raise CompositionError(
                f"{self.spec.id!r} built a {type(obj).__name__}, which is not a lic_core.{base.__name__}"
            )
        return obj

    def to_recipe(self) -> dict[str, Any]:
        return {"id": self.spec.id, **{k: _unref(v) for k, v in self.params.items()}}

    def __repr__(self) -> str:
        return f"ComponentRef({self.to_recipe()!r})"


def _unref(value: Any) -> Any:
    if isinstance(value, ComponentRef):
        return value.to_recipe()
    if isinstance(value, list):
        return [_unref(v) for v in value]
    return value


def _entry(entry: Any, what: str) -> dict[str, Any]:
    if isinstance(entry, str):
        return {"id": entry}
    if isinstance(entry, Mapping) and isinstance(entry.get("id"), str):
        return dict(entry)
    raise CompositionError(f"{what}: expected an id or a mapping with a string 'id', got {_short(repr(entry), 60)}")


def resolve(entry: Any, kind: str | None, what: str) -> ComponentRef:
    """Resolve an entry (id string or ``{id, **params}``), nested refs included."""
    entry = _entry(entry, what)
    try:
        spec = get_registry().component(str(entry.pop("id")), kind=kind)
    except LicError as exc:
        raise CompositionError(f"{what}: {exc}") from None
    params = {k: _resolve_value(v, f"{what}.{k}") for k, v in entry.items()}
    for key, value in params.items():
        _check_type(value, spec.params.get(key), f"{what}.{key}")
    return ComponentRef(spec, params)


def _check_type(value: Any, default: Any, what: str) -> None:
    """Refuse a value whose type cannot be what a numeric or boolean default documents: a string,
    a boolean or a fraction for an integer (``1.5``, ``"abc"``), a string or non-finite value for
    a number, a non-boolean for a flag. Lists (per-stage values) are checked item by item; None,
    and parameters without such a default, are left to the component."""
    if value is None or isinstance(default, (str, list, tuple, Mapping)) or default is None:
        return
    items = value if isinstance(value, (list, tuple)) else [value]
    if isinstance(default, bool):
        ok, expected = value in (True, False) and not isinstance(value, float), "true or false"
    elif isinstance(default, int):
        ok, expected = all(isinstance(v, int) and not isinstance(v, bool) for v in items), "an integer"
    elif isinstance(default, float):
        ok = all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in items)
        expected = "a finite number"
    else:
        return
    if not ok:
        raise CompositionError(f"{what} must be {expected} (default {default!r}), not {_short(repr(value), 40)}")


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."


def check_depth(node: Any, what: str = "recipe", limit: int = MAX_DEPTH) -> None:
    """Refuse mappings and lists nested deeper than ``limit`` (before anything recurses into them)."""
    stack = [(node, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Mapping):
            children = list(item.values())
        elif isinstance(item, (list, tuple)):
            children = list(item)
        else:
            continue
        if depth > limit:
            raise CompositionError(f"{what} is nested deeper than {limit} levels")
        stack.extend((child, depth + 1) for child in children)


def _resolve_value(value: Any, what: str) -> Any:
    if isinstance(value, Mapping) and "id" in value:
        return resolve(value, None, what)
    if isinstance(value, list) and value and all(isinstance(v, Mapping) and "id" in v for v in value):
        return [resolve(v, None, f"{what}[{i}]") for i, v in enumerate(value)]
    return value


def load_recipe(source: Any, _chain: tuple[str, ...] = ()) -> dict[str, Any]:
    """A fresh recipe dict from a mapping, a YAML/JSON path, or a named recipe.

    A recipe with ``base: NAME`` starts from that recipe and overrides it: mappings merge key by
    key (unless the override names another ``id``, which replaces the entry), anything else —
    lists included — is replaced.
    """
    data = _read_recipe(source)
    base = data.pop("base", None)
    if base is None:
        return data
    if str(base) in _chain:
        raise CompositionError(f"recipe base cycle: {' -> '.join((*_chain, str(base)))}")
    return merge_recipe(load_recipe(base, (*_chain, str(base))), data)


def merge_recipe(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` overridden by ``override`` as a recipe's ``base:`` is (see :func:`load_recipe`)."""
    out = dict(base)
    for key, value in override.items():
        old = out.get(key)
        same_component = isinstance(value, Mapping) and isinstance(old, Mapping) and value.get("id", old.get("id")) == old.get("id")
        out[key] = merge_recipe(old, value) if same_component else copy.deepcopy(value)
    return out


def _read_recipe(source: Any) -> dict[str, Any]:
    if isinstance(source, Mapping):
        check_depth(source)
        return copy.deepcopy(dict(source))
    if not isinstance(source, (str, Path)):
        raise CompositionError(f"a recipe is a mapping, a YAML/JSON file or a recipe name, not {type(source).__name__}")
    path = Path(source)
    if path.suffix.lower() in {".yaml", ".yml", ".json"} or path.is_file():
        if not path.is_file():
            raise CompositionError(f"recipe file not found: {path}")
        text = path.read_text()
        try:
            if path.suffix.lower() == ".json":
                data = json.loads(text)
            else:
                import yaml

                data = yaml.safe_load(text)
        except Exception as exc:
            raise CompositionError(f"cannot parse recipe {path}: {exc}") from None
        if not isinstance(data, Mapping):
            raise CompositionError(f"recipe {path} must be a mapping at top level")
        check_depth(data, f"recipe {path}")
        data = dict(data)
        data.setdefault("name", path.stem)
        return data
    try:
        return get_registry().recipe(str(source)).fresh()
    except LicError as exc:
        raise CompositionError(str(exc)) from None


def get_recipe(name: str) -> dict[str, Any]:
    """A fresh, editable copy of a named recipe."""
    return load_recipe(name)


def create(component_id: str, *args: Any, **params: Any) -> Any:
    """Build one component by id (``lic_core.create("qecm.quantizer", harmonics=5)``)."""
    return resolve({"id": component_id, **params}, None, component_id)(*args)


def compose(source: Any, training: bool = True):
    """Build a :class:`~lic_core.codec.Codec` from a recipe (mapping, file or name).

    ``training=False`` builds a codec for coding only: the recipe's loss terms (training-only
    modules, such as CCA's auxiliary entropy model) are recorded in its recipe but neither
    resolved nor built, so their plugins need not be installed.
    """
    from lic_core.codec import Codec

    recipe = load_recipe(source)
    unknown = set(recipe) - RECIPE_KEYS
    if unknown:
        raise CompositionError(f"unknown recipe keys: {', '.join(sorted(unknown))} (allowed: {', '.join(sorted(RECIPE_KEYS))})")
    for key in ("transform", "entropy_model"):
        if key not in recipe:
            raise CompositionError(f"recipe {recipe.get('name', '')!r} has no {key!r}")
    if not isinstance(recipe.get("prepost", []), list) or not isinstance(recipe.get("losses", []), list):
        raise CompositionError("'prepost' and 'losses' must be lists")

    stage_refs = [resolve(e, "prepost", f"prepost[{i}]") for i, e in enumerate(recipe.get("prepost", []))]
    transform_ref = resolve(recipe["transform"], "transform", "transform")
    entropy_ref = resolve(recipe["entropy_model"], "entropy_model", "entropy_model")
    quantizer_ref = resolve(recipe.get("quantizer", DEFAULT_QUANTIZER), "quantizer", "quantizer")
    loss_refs = [resolve(e, "loss", f"losses[{i}]") for i, e in enumerate(recipe.get("losses", []))] if training else []

    stages, in_channels, in_stride = [], 3, 1
    layout: Mapping[str, Any] = {"producer": "image"}
    outer = "the input image"
    for ref in stage_refs:
        stage = ref(in_channels, layout)
        if int(stage.in_channels) != in_channels:
            raise CompositionError(
                f"{ref.id!r} expects {stage.in_channels} input channels but {outer} gives {in_channels}"
            )
        stages.append(stage)
        in_channels, in_stride, layout, outer = int(stage.out_channels), in_stride * int(stage.stride), stage.layout, repr(ref.id)
    stem = {"in_stride": in_stride} if in_stride != 1 else {}
    transform = transform_ref(in_channels=in_channels, **stem)
    if int(transform.in_channels) != in_channels:
        raise CompositionError(
            f"transform {transform_ref.id!r} takes {transform.in_channels} channels but {outer} gives {in_channels}"
        )
    entropy_model = entropy_ref(int(transform.latent_channels))
    if int(entropy_model.latent_channels) != int(transform.latent_channels):
        raise CompositionError(
            f"entropy model {entropy_ref.id!r} codes {entropy_model.latent_channels} channels but "
            f"transform {transform_ref.id!r} makes {transform.latent_channels}"
        )
    normalized = {
        **{k: v for k, v in recipe.items() if k in {"name", "description", "paper", "train"}},
        "transform": transform_ref.to_recipe(),
        "entropy_model": entropy_ref.to_recipe(),
        "quantizer": quantizer_ref.to_recipe(),
        "prepost": [r.to_recipe() for r in stage_refs],
        "losses": [r.to_recipe() for r in loss_refs] if training else list(recipe.get("losses", [])),
    }
    codec = Codec(transform, entropy_model, quantizer_ref(), stages, [r() for r in loss_refs], recipe=normalized)
    for term in codec.losses:
        term.setup(codec)
    if recipe.get("exact"):  # exact entropy parameters (lic_core.coding.robust): recorded in codec.recipe
        from lic_core.coding.robust import exact_options, make_exact

        try:
            make_exact(codec, **exact_options(recipe["exact"]))
        except ValueError as exc:
            raise CompositionError(f"exact: {exc}") from None
    return codec
