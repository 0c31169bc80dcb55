"""The checks of the conformance kit, one module per component kind (these import torch)
plus :mod:`~lic_core.testing.checks.plugin` for plugin-level checks (light)."""
