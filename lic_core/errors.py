"""Exceptions the core raises for user mistakes; the CLI prints them as one line and exits 1."""


class LicError(Exception):
    """A user-facing error: bad input, unknown id, mismatched checkpoint or stream."""


class PluginError(LicError):
    """A plugin could not be loaded (raised only with ``LIC_STRICT_PLUGINS=1``)."""


class CompositionError(LicError):
    """A recipe cannot be composed: unknown id, bad parameter, mismatched stages."""


class BitstreamError(LicError):
    """A ``.lic`` stream is truncated, altered, of an unknown version or made by other weights."""


class CheckpointError(LicError):
    """A checkpoint is not a lic safetensors file or does not match its recipe."""


class ComponentBuildError(CompositionError, ValueError):
    """A component refused the parameters of its recipe entry (its factory raised); a
    ``ValueError`` too, as those factories' own errors are."""
