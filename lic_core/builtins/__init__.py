"""The core's built-in components, registered through the same hooks as plugin ``core``."""
