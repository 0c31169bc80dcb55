"""The conformance kit: checks any component against its kind's contract (docs/plugin-authoring.md, section 6).

``conformance_tests("plugin")`` gives a plugin's test suite the whole kit in one line;
``check_component`` and ``check_plugin`` return :class:`CheckResult` lists (``lic plugins
check``); ``assert_codes_exactly`` is the codec-level coding contract for plugin tests.
Importing this package is light: torch is imported when a check runs.
"""

from lic_core.testing.coding import assert_codes_exactly
from lic_core.testing.conformance import conformance_tests
from lic_core.testing.result import CheckResult
from lic_core.testing.runner import KIND_CHECKS, PLUGIN_CHECKS, check_component, check_plugin, plan, run_check

__all__ = [
    "CheckResult",
    "assert_codes_exactly",
    "KIND_CHECKS",
    "PLUGIN_CHECKS",
    "check_component",
    "check_plugin",
    "conformance_tests",
    "plan",
    "run_check",
]
