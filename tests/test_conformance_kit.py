"""The conformance kit fails components that break a contract, with a reason naming the problem."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from lic_core.specs import ComponentSpec
from lic_core.testing import CheckResult, check_component

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(autouse=True)
def fake_modules(monkeypatch):
    monkeypatch.syspath_prepend(str(FIXTURES / "kit"))
    monkeypatch.syspath_prepend(str(FIXTURES / "discovery" / "good"))


def _result(spec: ComponentSpec, check: str) -> CheckResult:
    (result,) = check_component(spec, [check])
    return result


CASES = [
    (ComponentSpec("bad.stride", "transform", "lic_fake_kit.bad:WrongStrideTransform", example={"N": 8, "M": 8}),
     "shapes", "analysis output has shape (2, 8, 2, 3), expected (2, 8, 4, 6)"),
    (ComponentSpec("bad.shrink", "block", "lic_fake_kit.bad:ShrinkingBlock", example={"channels": 4}),
     "shapes", "output has shape (2, 4, 32, 24), expected (2, 4, 32, 48)"),
    (ComponentSpec("bad.noisy", "block", "lic_fake_kit.bad:NoisyEvalBlock"), "modes", "not deterministic"),
    (ComponentSpec("bad.unsaved", "block", "lic_fake_kit.bad:UnsavedBufferBlock"), "safetensors", "differs"),
    (ComponentSpec("bad.leaky", "block", "lic_fake_alpha.parts:LeakyBlock"),
     "gradients", "2 of 4 trainable parameters got no gradient: unused.weight, unused.bias"),
    (ComponentSpec("bad.decoder", "entropy_model", "lic_fake_kit.bad:OffByOneDecoder", example={"M": 8, "N": 8}),
     "coding", "decompress does not reproduce the eval forward's y_hat"),
    (ComponentSpec("bad.selfq", "entropy_model", "lic_fake_kit.bad:SelfQuantizingModel", example={"M": 8, "N": 8}),
     "quantizer", "the training forward never calls self.quantizer(..., latent='y') (calls: {})"),
    (ComponentSpec("bad.round", "quantizer", "lic_fake_kit.bad:NoRoundingQuantizer"), "eval", "is not round(x - means) + means"),
    (ComponentSpec("bad.finalize", "quantizer", "lic_fake_kit.bad:RandomFinalize"), "finalize", "not deterministic"),
    (ComponentSpec("bad.leak", "loss", "lic_fake_kit.bad:LeakingLoss"),
     "coding_state", "entropy_model.leaked_aux.weight"),
    (ComponentSpec("bad.params", "block", "lic_fake_alpha.parts:Block", params={"width": 3}),
     "build", "params/example name width, which the factory does not accept"),
]  # fmt: skip


@pytest.mark.parametrize(("spec", "check", "reason"), CASES, ids=[f"{c[0].id}:{c[1]}" for c in CASES])
def test_kit_fails_a_broken_component_with_its_reason(spec, check, reason):
    result = _result(spec, check)
    assert not result.passed and not result.skipped
    assert reason in result.detail, result.detail


def test_a_good_component_passes_every_check():
    results = check_component(ComponentSpec("fine.block", "block", "lic_fake_alpha.parts:Block", example={"channels": 4}))
    assert [r.check for r in results] == ["build", "shapes", "gradients", "modes", "safetensors"]
    assert all(r.passed for r in results), [r for r in results if not r.passed]


def test_a_crash_is_a_failure_with_its_origin():
    result = _result(ComponentSpec("bad.missing", "block", "lic_fake_kit.bad:DoesNotExist"), "build")
    assert not result.passed and result.detail.startswith("AttributeError") and "(at " in result.detail


def test_in_stride_is_skipped_when_the_factory_has_none():
    result = _result(ComponentSpec("hyper.t", "transform", "lic_core.builtins.gdn:ScaleHyperTransform",
                                   example={"in_channels": 8, "N": 8}), "in_stride")  # fmt: skip
    assert result.passed and result.skipped and result.status == "SKIP"


def test_kit_and_pytest_plugin_import_and_collect_without_torch():
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import lic_core.testing.pytest_plugin\n"
        "from lic_core.testing import conformance_tests, plan\n"
        "test = conformance_tests('core')\n"
        "marks = [m for m in test.pytestmark if m.name == 'parametrize']\n"
        "assert len(marks[0].args[1]) == len(plan('core')) > 40\n"
        "assert 'torch' not in sys.modules, sorted(m for m in sys.modules if m.startswith('torch'))[:3]\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_a_missing_plugin_gets_one_failing_discovery_check():
    from lic_core.testing import plan, run_check

    assert plan("no-such-plugin") == [("no-such-plugin", "discovery")]
    result = run_check("no-such-plugin", "discovery")
    assert not result.passed and "is not installed" in result.detail


def test_plan_covers_every_check_of_every_core_component():
    from lic_core.discovery import get_registry
    from lic_core.testing import KIND_CHECKS, PLUGIN_CHECKS, plan

    pairs = plan("core")
    assert pairs[: len(PLUGIN_CHECKS)] == [("core", c) for c in PLUGIN_CHECKS]
    for spec in get_registry().plugins["core"].components:
        assert [c for t, c in pairs if t == spec.id] == list(KIND_CHECKS[spec.kind])
    for kind, checks in KIND_CHECKS.items():
        module = importlib.import_module(f"lic_core.testing.checks.{kind}")
        assert all(callable(getattr(module, f"check_{c}", None)) for c in checks), kind


def test_lic_build_fixture_builds_from_the_example_with_overrides(lic_build):
    transform = lic_build("core.gdn", N=8)
    assert transform.N == 8 and transform.latent_channels == 24  # M from the example, N overridden
    entropy_model = lic_build("core.hyperprior", M=16)
    assert entropy_model.latent_channels == 16
