"""The ``lic`` command line. One module per command group; each stays light at import time."""
