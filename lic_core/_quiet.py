"""Silence a deprecation warning CompressAI triggers at import (``torch.jit.script``) so the
CLI prints only what matters. Import this module before ``compressai``."""

import warnings

warnings.filterwarnings("ignore", message=r".*torch\.jit\.script.*", category=FutureWarning)
