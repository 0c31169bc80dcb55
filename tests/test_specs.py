"""Component specs: required vs optional parameters, and every listed component's parameters
against its factory's signature."""

from __future__ import annotations

import copy
import inspect
import pickle

import pytest

from lic_core.discovery import get_registry
from lic_core.specs import REQUIRED, ComponentSpec

# the kind's positional arguments (passed by compose, not documented as params)
POSITIONAL = {"block": {"channels"}, "entropy_model": {"M"}, "prepost": {"in_channels", "layout"}}
# loss schedule keys, read by the trainer from the recipe entry, not by the factory
SCHEDULE = {"weight", "start", "until"}


def test_required_is_a_marker_and_none_a_default():
    spec = ComponentSpec("x.y", "block", "m:F", params={"hidden": REQUIRED, "norm": None, "depth": 2})
    assert spec.required_params == ("hidden",)
    assert spec.optional_params == {"norm": None, "depth": 2}
    assert copy.deepcopy(REQUIRED) is REQUIRED and pickle.loads(pickle.dumps(REQUIRED)) is REQUIRED
    assert repr(REQUIRED) == "REQUIRED"


def _components() -> list[ComponentSpec]:
    registry = get_registry()
    return [c for r in registry.plugins.values() if r.status == "ok" for c in r.components]


@pytest.mark.parametrize("spec", _components(), ids=lambda s: s.id)
def test_params_match_the_factory_signature(spec: ComponentSpec):
    sig = inspect.signature(spec.load()).parameters
    if any(p.kind == p.VAR_KEYWORD for p in sig.values()):
        pytest.skip("the factory takes **kwargs")
    own = {k: p for k, p in sig.items() if k != "self" and p.kind not in (p.VAR_POSITIONAL,)}
    positional = POSITIONAL.get(spec.kind, set())
    schedule = SCHEDULE if spec.kind == "loss" else set()
    listed = set(spec.params) - schedule
    assert listed <= set(own), f"params the factory does not take: {sorted(listed - set(own))}"
    unlisted = set(own) - listed - positional - schedule
    assert not unlisted, f"factory parameters missing from params: {sorted(unlisted)}"
    for name in sorted(listed):
        default, value = own[name].default, spec.params[name]
        if value is REQUIRED:
            assert default is inspect.Parameter.empty, f"{name} is listed as required but defaults to {default!r}"
            continue
        assert default is not inspect.Parameter.empty, f"{name} has no default: list it as REQUIRED"
        if default is None and value is not None:
            continue  # None in the signature means "computed"; the spec may document the value
        normal = list(default) if isinstance(default, tuple) else default
        assert normal == value, f"{name}: params say {value!r}, the factory's default is {default!r}"


def test_plugins_show_prints_none_as_a_default(capsys):
    from lic_core.cli.main import main

    assert main(["plugins", "show", "core"]) == 0
    out = capsys.readouterr().out
    assert "hyper=None" in out and "(required)" not in out
    checkerboard = out.split("core.checkerboard  [", 1)[1].split("\n  core.", 1)[0]
    assert "residual=False" in checkerboard
