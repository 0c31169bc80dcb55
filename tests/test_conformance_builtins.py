"""The conformance kit on every built-in component of plugin ``core``."""

from lic_core.testing import conformance_tests

test_conformance = conformance_tests("core")
