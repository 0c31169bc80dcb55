"""The outcome of one conformance check (light: no torch)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CheckResult:
    """One check of one component (or of a plugin, for plugin-level checks).

    component: the component id, or the plugin name for plugin-level checks.
    check:     the check's name (``shapes``, ``gradients``, ``coding`` ...).
    passed:    True when the contract holds (a skipped check counts as passed).
    detail:    what was measured on success, why it failed otherwise.
    skipped:   the check does not apply to this component (for example ``in_stride``).
    """

    component: str
    check: str
    passed: bool
    detail: str = ""
    skipped: bool = False

    @property
    def status(self) -> str:
        return "SKIP" if self.skipped else ("PASS" if self.passed else "FAIL")


class CheckFailed(AssertionError):
    """Raised by a check when the contract does not hold; the message is the detail."""


class CheckSkipped(Exception):
    """Raised by a check that does not apply to the component; the message says why."""
