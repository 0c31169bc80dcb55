"""An ablation's specification: the base ladder, the variants as recipe patches, one training
budget, the training data and the evaluation sets (a YAML/JSON file, see
docs/training-and-evaluation.md, "Ablations").

A variant's patch is a recipe override applied like a recipe's ``base:`` (mappings merge key by
key unless the patch names another ``id``, which replaces the entry; other values replace),
plus two list operators: ``KEY+: [...]`` appends to the base's list (``prepost+`` adds the
innermost stage, ``losses+`` a loss term) and ``+KEY: [...]`` prepends (``+prepost`` adds the
outermost stage).
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping

from lic_core.composition import merge_recipe
from lic_core.errors import LicError

CONTROL = "control"  # the base recipe fine-tuned with the same budget
BASE = "base"  # the base checkpoints as they are (no training): what fine-tuning alone buys
RESERVED = (CONTROL, BASE)
SPEC_KEYS = {"name", "base", "variants", "budget", "data", "eval", "lambdas"}
BUDGET_KEYS = {"steps", "batch", "patch", "lr", "fresh_lr", "seed", "schedule", "rate_weight", "clip", "aux_lr", "ckpt_every", "amp",
               "compile"}  # fmt: skip


class AblationError(LicError):
    """A specification that cannot be run (one line)."""


@dataclass(frozen=True)
class Budget:
    """What every run of an ablation trains with (the same for the control and each variant)."""

    steps: int
    batch: int = 8
    patch: int = 256
    lr: float = 1e-4
    fresh_lr: float | None = None  # the learning rate of a variant's new parts (default: lr)
    seed: int = 0
    schedule: str = "cosine"
    rate_weight: str | None = None  # lic train --rate-weight (e.g. "0.3:until=0.8")
    clip: float = 1.0
    aux_lr: float = 1e-3
    ckpt_every: int = 250
    amp: str | None = None
    compile: bool = False


@dataclass(frozen=True)
class ImageSet:
    """Images of one folder, optionally only its first or last ``count`` (sorted by name)."""

    dir: str
    first: int | None = None
    last: int | None = None

    def files(self, recursive: bool) -> list[Path]:
        from lic_core.training.data import list_images

        files = list_images(self.dir, recursive=recursive)
        if self.first is not None:
            files = files[: self.first]
        if self.last is not None:
            files = files[-self.last :] if self.last else []
        return files


@dataclass(frozen=True)
class RatePoint:
    """One rung of the base ladder: its checkpoint (path or shipped model id) and lambda."""

    name: str
    checkpoint: str
    lmbda: float


@dataclass
class AblationSpec:
    name: str
    points: list[RatePoint]
    base_recipe: dict[str, Any]
    variants: dict[str, dict[str, Any]]  # name -> recipe patch (the control's is empty)
    budget: Budget
    data: list[ImageSet]
    eval: dict[str, ImageSet]
    source: dict[str, Any] = field(default_factory=dict)

    def recipe(self, variant: str) -> dict[str, Any]:
        """The full recipe of a variant (the base recipe for the control)."""
        recipe = apply_patch(self.base_recipe, self.variants[variant])
        recipe["name"] = f"{self.base_recipe.get('name', 'codec')}+{variant}" if variant != CONTROL else self.base_recipe.get("name", "codec")
        return recipe

    def identity(self, variant: str, point: RatePoint) -> str:
        """A digest of everything a run depends on (a run directory serves only this run)."""
        data = {"recipe": self.recipe(variant) if variant != BASE else None, "point": asdict(point),
                "budget": asdict(self.budget) if variant != BASE else None,
                "data": [asdict(d) for d in self.data] if variant != BASE else None}  # fmt: skip
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def apply_patch(recipe: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """``recipe`` with ``patch`` applied (``KEY+`` appends, ``+KEY`` prepends, the rest merges
    as a recipe's ``base:`` does)."""
    out = copy.deepcopy(dict(recipe))
    plain = {}
    for key, value in patch.items():
        if key.endswith("+") or key.startswith("+"):
            name = key.strip("+")
            if not isinstance(value, list):
                raise AblationError(f"patch key {key!r} takes a list, got {type(value).__name__}")
            old = out.get(name) or []
            if not isinstance(old, list):
                raise AblationError(f"patch key {key!r}: the base recipe's {name!r} is not a list")
            out[name] = [*old, *copy.deepcopy(value)] if key.endswith("+") else [*copy.deepcopy(value), *old]
        else:
            plain[key] = value
    return merge_recipe(out, plain)


def _image_set(value: Any, where: str) -> ImageSet:
    if isinstance(value, (str, os.PathLike)):
        return ImageSet(str(value))
    if not isinstance(value, Mapping) or "dir" not in value or set(value) - {"dir", "first", "last"}:
        raise AblationError(f"{where}: an image set is a folder or {{dir: FOLDER, first: N | last: N}}, got {value!r}")
    counts = {k: value.get(k) for k in ("first", "last")}
    for k, v in counts.items():
        if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 0):
            raise AblationError(f"{where}: {k} must be a count >= 0, got {v!r}")
    return ImageSet(str(value["dir"]), counts["first"], counts["last"])


def _budget(value: Any) -> Budget:
    if not isinstance(value, Mapping) or "steps" not in value:
        raise AblationError("budget: a mapping with at least steps (and batch, patch, lr, seed, ...)")
    unknown = set(value) - BUDGET_KEYS
    if unknown:
        raise AblationError(f"budget: unknown keys {', '.join(sorted(unknown))} (known: {', '.join(sorted(BUDGET_KEYS))})")
    try:
        budget = Budget(**dict(value))
        if int(budget.steps) < 1 or int(budget.batch) < 1 or int(budget.patch) < 1 or float(budget.lr) <= 0:
            raise ValueError
    except (TypeError, ValueError):
        raise AblationError(f"budget: steps, batch and patch must be positive integers and lr positive, got {dict(value)}") from None
    return budget


def _points(base: Any, lambdas: Any) -> tuple[list[RatePoint], dict[str, Any]]:
    """The ladder's checkpoints (model ids or files), their lambdas and their common recipe."""
    from lic_core.checkpoint import read_metadata
    from lic_core.zoo import checkpoint_path

    entries = base.get("models") or base.get("checkpoints") if isinstance(base, Mapping) else base
    if not isinstance(entries, list) or not entries or not all(isinstance(e, str) for e in entries):
        raise AblationError("base: a list of shipped model ids or coding checkpoints ({models: [core.lite-q1, ...]})")
    if lambdas is not None and (not isinstance(lambdas, list) or len(lambdas) != len(entries)):
        raise AblationError(f"lambdas: one per base checkpoint ({len(entries)})")
    points, recipe = [], None
    for i, entry in enumerate(entries):
        path = checkpoint_path(entry)
        meta = read_metadata(path)
        this = json.loads(meta.get("lic.recipe", "null"))
        if recipe is not None and this != recipe:
            raise AblationError(f"base: {entry} has another recipe than {entries[0]} (a ladder shares one recipe)")
        recipe = this
        lmbda = lambdas[i] if lambdas is not None else meta.get("lic.lambda")
        if lmbda is None:
            raise AblationError(f"base: {entry} records no lambda; give lambdas: [...]")
        name = Path(entry).stem if str(entry).endswith(".safetensors") else str(entry).rsplit("-", 1)[-1]
        points.append(RatePoint(name, str(entry), float(json.loads(str(lmbda)))))
    if len({p.name for p in points}) != len(points):
        points = [RatePoint(f"p{i + 1}", p.checkpoint, p.lmbda) for i, p in enumerate(points)]
    return points, recipe


def load_spec(source: str | os.PathLike | Mapping[str, Any]) -> AblationSpec:
    """Read and check an ablation specification (a YAML/JSON file or a mapping)."""
    if isinstance(source, Mapping):
        data = dict(source)
    else:
        path = Path(source)
        if not path.is_file():
            raise AblationError(f"ablation spec not found: {path}")
        try:
            import yaml

            data = yaml.safe_load(path.read_text())
        except Exception as exc:
            raise AblationError(f"cannot parse {path}: {' '.join(str(exc).split())}") from None
        if not isinstance(data, Mapping):
            raise AblationError(f"{path}: an ablation spec is a mapping")
        data = {"name": path.stem, **data}
    unknown = set(data) - SPEC_KEYS
    if unknown:
        raise AblationError(f"unknown spec keys {', '.join(sorted(unknown))} (known: {', '.join(sorted(SPEC_KEYS))})")
    for key in ("base", "budget", "data", "eval"):
        if key not in data:
            raise AblationError(f"the spec needs {key!r}")
    points, recipe = _points(data["base"], data.get("lambdas"))
    variants = data.get("variants") or {}
    if not isinstance(variants, Mapping) or not all(isinstance(v, Mapping) for v in variants.values()):
        raise AblationError("variants: a mapping of name -> recipe patch")
    clash = [v for v in variants if v in RESERVED or not str(v).replace("-", "").replace("_", "").isalnum()]
    if clash:
        raise AblationError(f"variant names must be plain words other than {' and '.join(RESERVED)}: {', '.join(map(str, clash))}")
    data_sets = data["data"] if isinstance(data["data"], list) else [data["data"]]
    evals = data["eval"]
    if not isinstance(evals, Mapping) or not evals:
        raise AblationError("eval: a mapping of name -> image set ({kodak: ../shared/data/kodak})")
    spec = AblationSpec(
        name=str(data.get("name") or "ablation"),
        points=points,
        base_recipe=recipe,
        variants={CONTROL: {}, **{str(k): dict(v) for k, v in variants.items()}},
        budget=_budget(data["budget"]),
        data=[_image_set(d, "data") for d in data_sets],
        eval={str(k): _image_set(v, f"eval.{k}") for k, v in evals.items()},
        source=json.loads(json.dumps(data, default=str)),
    )
    from lic_core.composition import compose

    for variant in spec.variants:
        try:
            compose(spec.recipe(variant))  # a bad patch fails here, before anything runs
        except LicError as exc:
            raise AblationError(f"variant {variant}: {exc}") from None
    return spec
