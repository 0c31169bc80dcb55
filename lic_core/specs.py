"""Typed records that plugins return from their hooks.

They are plain dataclasses so that a plugin's entry-point module can build them without
importing torch or its own model code: the ``factory`` is a dotted path imported on first use.
"""

from __future__ import annotations

import copy
import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

KINDS: tuple[str, ...] = ("transform", "block", "entropy_model", "quantizer", "prepost", "loss")


class _Required:
    """The marker of a parameter that has no default (:data:`REQUIRED`); one instance."""

    _instance: "_Required | None" = None

    def __new__(cls) -> "_Required":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "REQUIRED"

    def __copy__(self) -> "_Required":
        return self

    def __deepcopy__(self, memo: dict) -> "_Required":
        return self

    def __reduce__(self) -> str:
        return "REQUIRED"


REQUIRED = _Required()
"""``ComponentSpec.params`` value of a parameter the recipe must give (the factory has no
default for it). Every other value, ``None`` included, is the parameter's default."""


def import_object(path: str) -> Any:
    """Import ``"package.module:attr.sub"`` and return the object it names."""
    module_name, _, attr = path.partition(":")
    if not module_name or not attr:
        raise ValueError(f"factory {path!r} must look like 'package.module:Object'")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


@dataclass(frozen=True)
class ComponentSpec:
    """One component a plugin provides.

    id:       ``"<plugin>.<name>"``; the short alias ``<name>`` works when it is unique.
    kind:     one of :data:`KINDS`.
    factory:  ``"pkg.mod:Callable"``, imported lazily; called with the kind's arguments
              (see ``docs/plugin-authoring.md``) plus the recipe's parameters.
    summary:  one line for listings.
    paper:    citation or URL of the method.
    params:   documented parameters: name -> default value, or :data:`REQUIRED` for one
              without a default (``None`` is a default like any other: optional).
    example:  small parameters the conformance kit builds the component with (fast on CPU).
    """

    id: str
    kind: str
    factory: str
    summary: str = ""
    paper: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    example: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"component {self.id!r}: unknown kind {self.kind!r} (kinds: {', '.join(KINDS)})")
        if "." not in self.id:
            raise ValueError(f"component id {self.id!r} must be namespaced as '<plugin>.<name>'")
        if ":" not in self.factory:
            raise ValueError(f"component {self.id!r}: factory {self.factory!r} must look like 'pkg.mod:Object'")

    @property
    def plugin(self) -> str:
        return self.id.split(".", 1)[0]

    @property
    def name(self) -> str:
        return self.id.split(".", 1)[1]

    @property
    def required_params(self) -> tuple[str, ...]:
        """Names of the parameters without a default (marked :data:`REQUIRED`)."""
        return tuple(k for k, v in self.params.items() if v is REQUIRED)

    @property
    def optional_params(self) -> dict[str, Any]:
        """The parameters with a default: name -> default (``None`` included)."""
        return {k: v for k, v in self.params.items() if v is not REQUIRED}

    def load(self) -> Callable[..., Any]:
        """Import and return the factory (this is where torch and model code get imported)."""
        return import_object(self.factory)


@dataclass(frozen=True)
class RecipeSpec:
    """A named recipe a plugin ships: a plain mapping that :func:`lic_core.compose` accepts.

    name:     unique across plugins (``lic recipes list``); ``<plugin>.<name>`` also finds it.
    recipe:   the mapping (components named by id).
    summary:  one line for listings.
    paper:    where the configuration comes from.
    """

    name: str
    recipe: Mapping[str, Any]
    summary: str = ""
    paper: str = ""

    def fresh(self) -> dict[str, Any]:
        """A deep copy to edit and compose; the stored recipe never changes."""
        out = copy.deepcopy(dict(self.recipe))
        out.setdefault("name", self.name)
        return out


@dataclass(frozen=True)
class ModelSpec:
    """A trained codec a plugin ships: a coding checkpoint inside one of its packages.

    id:       ``"<plugin>.<name>"``; written in the header of every stream it encodes, so
              that ``lic decompress`` finds the model without ``--model``.
    weights:  ``"package:relative/path.safetensors"``, located with :mod:`importlib.resources`
              (which imports that package only: keep its ``__init__`` light).
    recipe:   the recipe it was trained from (listings; the checkpoint embeds the recipe itself).
    quality:  its rank on the plugin's rate ladder (1 = lowest rate), what ``--quality`` picks;
              ``None`` for a model that is not on a ladder.
    lmbda:    the rate-distortion trade-off it was trained at; ``metric`` its distortion.
    summary:  one line for listings.
    default:  the ladder's default rate point (what ``--quality`` picks when not given; at
              most one per plugin; without one, the middle of the ladder).
    """

    id: str
    weights: str
    recipe: str = ""
    quality: int | None = None
    lmbda: float | None = None
    metric: str = "mse"
    summary: str = ""
    default: bool = False

    def __post_init__(self) -> None:
        if "." not in self.id:
            raise ValueError(f"model id {self.id!r} must be namespaced as '<plugin>.<name>'")
        if ":" not in self.weights:
            raise ValueError(f"model {self.id!r}: weights {self.weights!r} must look like 'package:path/file.safetensors'")
        if self.quality is not None and self.quality < 1:
            raise ValueError(f"model {self.id!r}: quality must be 1 or more, got {self.quality}")
        if self.default and self.quality is None:
            raise ValueError(f"model {self.id!r}: only a model with a quality can be its ladder's default")

    @property
    def plugin(self) -> str:
        return self.id.split(".", 1)[0]

    def path(self) -> Path:
        """Where the weights file is (it may be missing if the package was installed without it)."""
        from importlib.resources import files

        package, _, relative = self.weights.partition(":")
        return Path(str(files(package).joinpath(relative)))
