"""Plugin discovery: entry points in group ``lic``, loaded one at a time through pluggy.

A plugin that fails to import, has an invalid hookimpl, declares an incompatible
``requires_core`` or collides with another plugin is recorded with its error, reported in one
``lic: warning:`` line on stderr and skipped, so the host keeps working; ``LIC_STRICT_PLUGINS=1``
raises instead. Any exception raised by plugin code counts, ``SystemExit``,
``KeyboardInterrupt`` and every other ``BaseException`` included: only a SIGINT actually delivered
while plugins load (the user pressing Ctrl-C, seen by a handler installed for the duration)
still interrupts. ``LIC_DISABLE_PLUGINS=a,b`` blocks plugins (by plugin or distribution name)
before their module is imported and before duplicates are looked for. Two distributions
claiming one plugin name are both errors. The name ``core`` is lic-core's built-in plugin:
another distribution's entry point named ``core`` is refused. Nothing here imports torch.
"""

from __future__ import annotations

import importlib
import os
import re
import signal
import sys
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from types import ModuleType
from typing import Any, Iterable, Iterator

import pluggy
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from lic_core import hookspec
from lic_core.errors import LicError, PluginError
from lic_core.specs import ComponentSpec, ModelSpec, RecipeSpec
from lic_core.version import __version__

GROUP = "lic"
STATUSES = ("ok", "error", "incompatible", "disabled")
CORE = "core"  # lic-core's built-in plugin; no other distribution may use the name
CORE_DISTRIBUTION = "lic-core"
CORE_MODULE = "lic_core.builtins.plugin"


@dataclass
class PluginRecord:
    """What discovery knows about one plugin, whatever its status."""

    name: str
    distribution: str
    version: str
    module: str
    status: str = "ok"
    error: str = ""
    requires_core: str = ""
    components: list[ComponentSpec] = field(default_factory=list)
    recipes: list[RecipeSpec] = field(default_factory=list)
    models: list[ModelSpec] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "module": self.module,
            "status": self.status,
            "error": self.error,
            "requires_core": self.requires_core,
            "components": [
                {"id": c.id, "kind": c.kind, "summary": c.summary, "paper": c.paper} for c in self.components
            ],
            "recipes": [r.name for r in self.recipes],
            "models": [m.id for m in self.models],
        }


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _disabled_names() -> set[str]:
    return {n.strip() for n in os.environ.get("LIC_DISABLE_PLUGINS", "").split(",") if n.strip()}


def _normalized(distribution: str) -> str:
    """A distribution name as PEP 503 compares them (``lic_core`` is ``lic-core``)."""
    return re.sub(r"[-_.]+", "-", distribution).lower()


def describe(exc: BaseException, limit: int = 300) -> str:
    """``Type: message`` on one line of at most about ``limit`` characters, even for an
    exception whose ``str()`` fails."""
    try:
        text = " ".join(str(exc).split())
    except BaseException:  # noqa: BLE001 (a plugin's exception type may do anything)
        text = "(unprintable)"
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class _InterruptWatch:
    """Tells a real Ctrl-C from a ``KeyboardInterrupt`` raised by plugin code: while active
    (main thread only), a SIGINT handler records that the signal arrived, then does what the
    previous handler would."""

    def __init__(self) -> None:
        self.received = False
        self._previous: Any = None
        self._installed = False

    def __enter__(self) -> "_InterruptWatch":
        if threading.current_thread() is threading.main_thread():
            previous = signal.getsignal(signal.SIGINT)
            if previous is not None:  # None: a handler set outside Python, which cannot be restored
                self._previous = previous
                signal.signal(signal.SIGINT, self._handle)
                self._installed = True
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)
            self._installed = False

    def _handle(self, signum: int, frame: Any) -> None:
        if self._previous == signal.SIG_IGN:
            return
        self.received = True
        if callable(self._previous):
            self._previous(signum, frame)  # Python's default handler raises KeyboardInterrupt
        else:
            raise KeyboardInterrupt


class Registry:
    """Every plugin found, and an index of their components, recipes and models by id and alias."""

    def __init__(self, strict: bool | None = None) -> None:
        self.strict = _env_flag("LIC_STRICT_PLUGINS") if strict is None else strict
        self.pm = pluggy.PluginManager(hookspec.PROJECT)
        self.pm.add_hookspecs(hookspec)
        self.plugins: dict[str, PluginRecord] = {}
        self.components: dict[str, ComponentSpec] = {}
        self.recipes: dict[str, RecipeSpec] = {}
        self._component_owner: dict[str, str] = {}
        self._recipe_owner: dict[str, str] = {}
        self.models: dict[str, ModelSpec] = {}
        self._model_owner: dict[str, str] = {}
        self._watch: _InterruptWatch | None = None

    # -- loading -------------------------------------------------------------------------
    def load_entry_points(self, eps: Iterable[EntryPoint] | None = None) -> "Registry":
        """Load the built-in ``core`` plugin, then every entry point of group ``lic``."""
        eps = list(entry_points(group=GROUP) if eps is None else eps)
        disabled = _disabled_names()
        core = PluginRecord(CORE, CORE_DISTRIBUTION, __version__, CORE_MODULE)
        if disabled & {CORE, CORE_DISTRIBUTION}:
            self._disable(core)
        else:
            self.add_module(CORE_MODULE, name=CORE, distribution=CORE_DISTRIBUTION, version=__version__)
        seen: dict[str, str] = {}
        blocked: list[PluginRecord] = []
        with self._watching():
            for ep in sorted(eps, key=lambda e: e.name):
                dist = ep.dist.name if ep.dist is not None else "(unknown)"
                version = ep.dist.version if ep.dist is not None else ""
                record = PluginRecord(ep.name, dist, version, ep.value)
                if ep.name == CORE:
                    if _normalized(dist) != CORE_DISTRIBUTION:
                        self._refuse(record, f"the plugin name {CORE!r} is reserved for lic-core's built-in plugin")
                    continue  # lic-core's own entry point: the built-in loaded above
                if ep.name in disabled or dist in disabled:
                    blocked.append(record)  # listed at the end: never a duplicate of a loaded plugin
                    continue
                if ep.name in seen:
                    if seen[ep.name] != dist:  # two distributions claim one plugin name (and its ids)
                        self._conflict(record, seen[ep.name])
                    continue  # otherwise the same distribution found twice on sys.path
                seen[ep.name] = dist
                self._load(record, lambda ep=ep: ep.load())
                self._guard()  # a Ctrl-C the plugin swallowed still stops the program
        for record in blocked:
            self._disable(record)
        return self

    def add_module(self, module: str | ModuleType, name: str, distribution: str = "(local)", version: str = "") -> PluginRecord:
        """Register a plugin module directly (tests, notebooks) with the same checks as an entry point."""
        label = module if isinstance(module, str) else module.__name__
        record = PluginRecord(name, distribution, version, label)
        loader = (lambda: importlib.import_module(module)) if isinstance(module, str) else (lambda: module)
        with self._watching():
            self._load(record, loader)
            self._guard()  # a Ctrl-C the plugin swallowed still stops the program
        return record

    @contextmanager
    def _watching(self) -> Iterator[None]:
        """Plugin code runs inside: a SIGINT that arrives meanwhile is recorded (see :meth:`_guard`)."""
        outer = self._watch
        with _InterruptWatch() as self._watch:
            try:
                yield
            finally:
                self._watch = outer

    def _key(self, record: PluginRecord) -> str:
        """Where a record goes in :attr:`plugins`: its name, or ``name (distribution)`` when taken."""
        taken = record.name in self.plugins and self.plugins[record.name] is not record
        return f"{record.name} ({record.distribution})" if taken else record.name

    def _disable(self, record: PluginRecord) -> None:
        record.status, record.error = "disabled", "blocked by LIC_DISABLE_PLUGINS"
        self.plugins[self._key(record)] = record

    def _refuse(self, record: PluginRecord, message: str) -> None:
        """An entry point that is never imported (a reserved name): an error beside the others."""
        record.status, record.error = "error", message
        self.plugins[f"{record.name} ({record.distribution})"] = record
        if self.strict:
            raise PluginError(f"plugin {record.name!r} ({record.distribution}): {message}")
        self._warn(record)

    def _warn(self, record: PluginRecord) -> None:
        """One line on stderr per plugin that is not loaded (``lic plugins show`` has the rest)."""
        release = f" {record.version}" if record.version else ""
        print(
            f"lic: warning: plugin {record.name!r} ({record.distribution}{release}) not loaded: {record.error}",
            file=sys.stderr,
        )

    def _guard(self, exc: BaseException | None = None) -> None:
        """Raise ``KeyboardInterrupt`` when a real Ctrl-C arrived while plugin code ran (even if
        the plugin caught it or raised something else); anything else only breaks that plugin."""
        if self._watch is not None and self._watch.received:
            if isinstance(exc, KeyboardInterrupt):
                raise exc
            raise KeyboardInterrupt

    def _conflict(self, record: PluginRecord, first_distribution: str) -> None:
        """Two distributions provide plugin ``record.name``: neither is used, both are errors."""
        a, b = sorted((first_distribution, record.distribution))
        message = (
            f"duplicate plugin {record.name!r} (component ids '{record.name}.*'): "
            f"provided by distributions {a!r} and {b!r}; uninstall one"
        )
        first = self.plugins.get(record.name)
        if first is not None and first.distribution == first_distribution:
            self._unload(first)
            first.status, first.error = "error", message
        record.status, record.error = "error", message
        self.plugins[f"{record.name} ({record.distribution})"] = record
        if self.strict:
            raise PluginError(message)
        self._warn(record)  # one line: the message names both distributions

    def _unload(self, record: PluginRecord) -> None:
        """Remove a loaded plugin's hooks, components, recipes and models from the index."""
        if self.pm.has_plugin(record.name):
            self.pm.unregister(name=record.name)
        for spec in record.components:
            if self._component_owner.get(spec.id) == record.name:
                del self.components[spec.id], self._component_owner[spec.id]
        for recipe in record.recipes:
            if self._recipe_owner.get(recipe.name) == record.name:
                del self.recipes[recipe.name], self._recipe_owner[recipe.name]
        for model in record.models:
            if self._model_owner.get(model.id) == record.name:
                del self.models[model.id], self._model_owner[model.id]
        record.components, record.recipes, record.models = [], [], []

    def _fail(self, record: PluginRecord, status: str, message: str) -> PluginRecord:
        record.status, record.error = status, message
        self.plugins[record.name] = record
        if self.strict:
            raise PluginError(f"plugin {record.name!r} ({record.distribution}): {message}")
        self._warn(record)
        return record

    def _load(self, record: PluginRecord, loader) -> PluginRecord:
        try:
            module = loader()
            record.requires_core = str(getattr(module, "requires_core", "") or "")
        except BaseException as exc:  # a broken plugin must not take the host down, whatever it raises
            self._guard(exc)
            return self._fail(record, "error", f"import failed: {describe(exc)}")
        if record.requires_core:
            try:
                ok = Version(__version__) in SpecifierSet(record.requires_core)
            except InvalidSpecifier:
                return self._fail(record, "error", f"invalid requires_core {record.requires_core!r}")
            if not ok:
                return self._fail(
                    record, "incompatible", f"requires lic-core {record.requires_core}, running {__version__}"
                )
        try:
            self.pm.register(module, name=record.name)
            self.pm.check_pending()
        except BaseException as exc:
            self._guard(exc)
            if self.pm.is_registered(module):
                self.pm.unregister(module)
            return self._fail(record, "error", f"invalid hookimpl: {describe(exc)}")
        try:
            components = self._call(record.name, "lic_components")
            recipes = self._call(record.name, "lic_recipes")
            models = self._call(record.name, "lic_models")
            self._validate(record, components, recipes, models)
        except BaseException as exc:
            self._guard(exc)
            self.pm.unregister(name=record.name)
            return self._fail(record, "error", describe(exc))
        record.components, record.recipes, record.models = components, recipes, models
        self.plugins[record.name] = record
        for spec in components:
            self.components[spec.id] = spec
            self._component_owner[spec.id] = record.name
        for recipe in recipes:
            self.recipes[recipe.name] = recipe
            self._recipe_owner[recipe.name] = record.name
        for model in models:
            self.models[model.id] = model
            self._model_owner[model.id] = record.name
        return record

    def _call(self, plugin: str, hook: str) -> list:
        out: list = []
        for impl in getattr(self.pm.hook, hook).get_hookimpls():
            if impl.plugin_name == plugin:
                out.extend(impl.function() or [])
        return out

    def _validate(self, record: PluginRecord, components: list, recipes: list, models: list) -> None:
        """Each hook returned its spec type, namespaced ids (recipe names are free), no key
        another plugin already provides and at most one default model."""
        kinds = (
            ("lic_components", components, ComponentSpec, "component id", self.components, self._component_owner),
            ("lic_recipes", recipes, RecipeSpec, "recipe", self.recipes, self._recipe_owner),
            ("lic_models", models, ModelSpec, "model id", self.models, self._model_owner),
        )
        for hook, specs, spec_type, what, table, owners in kinds:
            for spec in specs:
                if not isinstance(spec, spec_type):
                    raise TypeError(f"{hook} returned {type(spec).__name__}, expected {spec_type.__name__}")
                key = spec.name if spec_type is RecipeSpec else spec.id
                if spec_type is not RecipeSpec and spec.plugin != record.name:
                    raise ValueError(f"{what} {key!r} must start with '{record.name}.'")
                if key in table:
                    other = self.plugins[owners[key]].distribution
                    raise ValueError(
                        f"duplicate {what} {key!r}: provided by distributions {other!r} and {record.distribution!r}"
                    )
        defaults = [m.id for m in models if isinstance(m, ModelSpec) and m.default]
        if len(defaults) > 1:
            raise ValueError(f"lic_models marks {len(defaults)} models as the default ({', '.join(defaults)}): one at most")

    # -- lookup --------------------------------------------------------------------------
    def owner(self, component_id: str) -> PluginRecord:
        return self.plugins[self._component_owner[component_id]]

    def recipe_owner(self, name: str) -> PluginRecord:
        return self.plugins[self._recipe_owner[name]]

    def _resolve(self, key: str, table: dict, owners: dict, what: str) -> str:
        if key in table:
            return key
        matches = sorted(k for k in table if k.split(".", 1)[-1] == key or f"{owners[k]}.{k}" == key)
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise LicError(f"{what} {key!r} is ambiguous: use one of {', '.join(matches)}")
        raise LicError(unknown_message(what, key, self))

    def component(self, key: str, kind: str | None = None) -> ComponentSpec:
        """Find a component by full id or unique short alias (a clear error otherwise)."""
        spec = self.components[self._resolve(key, self.components, self._component_owner, "component")]
        if kind is not None and spec.kind != kind:
            raise LicError(f"component {spec.id!r} is a {spec.kind}, not a {kind}")
        return spec

    def recipe(self, key: str) -> RecipeSpec:
        return self.recipes[self._resolve(key, self.recipes, self._recipe_owner, "recipe")]

    def model(self, key: str) -> ModelSpec:
        """Find a shipped model by full id or unique short alias (a clear error otherwise)."""
        return self.models[self._resolve(key, self.models, self._model_owner, "model")]

    def list_components(self, kind: str | None = None, pattern: str | None = None) -> list[ComponentSpec]:
        import fnmatch

        out = [c for c in self.components.values() if kind is None or c.kind == kind]
        if pattern:
            out = [c for c in out if fnmatch.fnmatch(c.id, pattern) or fnmatch.fnmatch(c.name, pattern)]
        return sorted(out, key=lambda c: c.id)


def unknown_message(what: str, key: str, registry: Registry) -> str:
    """'unknown component' with a hint from registry.yaml or from a plugin that failed to load."""
    from lic_core.catalog import provider_hint

    hint = provider_hint(key, registry)
    return f"unknown {what} {key!r}" + (f": {hint}" if hint else "")


_REGISTRY: Registry | None = None


def get_registry(refresh: bool = False) -> Registry:
    """The process-wide registry, built on first use."""
    global _REGISTRY
    if _REGISTRY is None or refresh:
        _REGISTRY = Registry().load_entry_points()
    return _REGISTRY
