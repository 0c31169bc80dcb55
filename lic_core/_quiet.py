"""Silence a deprecation warning CompressAI's import triggers (``torch.jit.script``, called by
``torch_geometric`` which CompressAI imports), so that importing lic prints nothing.

``import lic_core`` imports this module first (it is light), so the filter is in place
whichever of ``lic_core`` and ``compressai`` is imported first; lic's pytest plugin adds the
same filter to pytest's own (:data:`PYTEST_FILTER`), which replaces the process's filters
while it imports plugins and runs tests.
"""

import warnings

MESSAGE = r".*torch\.jit\.script.*"
PYTEST_FILTER = f"ignore:{MESSAGE}:FutureWarning"

warnings.filterwarnings("ignore", message=MESSAGE, category=FutureWarning)
