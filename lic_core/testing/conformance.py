"""``conformance_tests(plugin)``: the whole kit as one parametrized pytest test function."""

from __future__ import annotations

from typing import Callable

from lic_core.testing.runner import plan, run_check


def conformance_tests(plugin: str) -> Callable[[str, str], None]:
    """A pytest test function with one item per ``(component, check)`` of ``plugin``.

    Usage, in a plugin's ``tests/test_conformance.py``::

        from lic_core.testing import conformance_tests
        test_conformance = conformance_tests("myplugin")

    Collection needs only discovery (no torch); each item imports what it checks when it runs.
    """
    import pytest

    pairs = plan(plugin)

    @pytest.mark.parametrize(("lic_target", "lic_check"), pairs, ids=[f"{t}:{c}" for t, c in pairs])
    def test_conformance(lic_target: str, lic_check: str) -> None:
        result = run_check(lic_target, lic_check)
        if result.skipped:
            pytest.skip(result.detail)
        if not result.passed:
            pytest.fail(f"{result.component} [{result.check}]: {result.detail}", pytrace=False)

    test_conformance.__doc__ = f"lic conformance kit on plugin {plugin!r}"
    return test_conformance
