"""The core's version, kept in one place (plugins check it against their ``requires_core``)."""

__version__ = "0.1.0"
