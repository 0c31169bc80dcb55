"""Hook specifications for lic plugins (pluggy project name ``lic``).

A plugin is a module named by an entry point in the ``lic`` group. It must stay *light*:
it imports neither torch nor its own model code, only :mod:`lic_core.hookspec` and
:mod:`lic_core.specs`. It may set a module attribute ``requires_core`` (a PEP 440 specifier,
for example ``">=0.1,<0.2"``); a plugin whose range excludes the running core is recorded as
``incompatible`` and skipped. Every hook is optional.

The entry-point name is the plugin's name and the namespace of its ids; ``core`` is reserved
for lic-core's built-in plugin. Whatever the module or a hook raises (``SystemExit`` and
``KeyboardInterrupt`` included) only marks that plugin broken: see :mod:`lic_core.discovery`.

Example::

    from lic_core.hookspec import hookimpl
    from lic_core.specs import ComponentSpec

    requires_core = ">=0.1,<0.2"

    @hookimpl
    def lic_components():
        return [ComponentSpec("qecm.quantizer", "quantizer", "lic_qecm.quantizer:QECMQuantizer")]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from lic_core.specs import ComponentSpec, ModelSpec, RecipeSpec

PROJECT = "lic"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def lic_components() -> list[ComponentSpec]:
    """Return the components this plugin provides.

    Called once per plugin when the registry is built. Each
    :class:`~lic_core.specs.ComponentSpec` names its factory by dotted path, so returning it
    imports nothing heavy. Every id must start with ``"<plugin>."`` where ``<plugin>`` is the
    entry-point name; an id provided by two plugins is an error naming both distributions.

    :return: a list of component specs (may be empty).
    """


@hookspec
def lic_recipes() -> list[RecipeSpec]:
    """Return the named recipes this plugin ships (the papers' configurations).

    A recipe is a plain mapping naming components by id, the same as a user's YAML file; it
    may use components of other plugins (a hybrid). Names are unique across plugins.

    :return: a list of recipe specs (may be empty).
    """


@hookspec
def lic_models() -> list[ModelSpec]:
    """Return the trained codecs this plugin ships (weights inside its package).

    Each :class:`~lic_core.specs.ModelSpec` points at a coding checkpoint by package resource,
    so returning it reads nothing. Ids follow the component rule (``"<plugin>.<name>"``,
    unique). Models with a ``quality`` form the plugin's rate ladder (at most one marked
    ``default``: what ``--quality`` picks when not given); the core's ladder is the default
    codec of ``lic compress``. Files shipped together may share their large coder tables
    (``lic models ship`` writes them once, beside the weights; ship that file too). A stream records its model's id, and ``lic decompress``
    loads that model when no ``--model`` is given.

    :return: a list of model specs (may be empty).
    """
