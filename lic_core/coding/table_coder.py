"""Which coder turns CompressAI-style table rows into bytes: the one switch between ``.lic``
format versions.

Format version 3 (what lic writes) codes the strings of lic's table coders
(:class:`~lic_core.coding.gaussian.GaussianConditional`,
:class:`~lic_core.coding.factorized.EntropyBottleneck`) with constriction's ANS
(:mod:`lic_core.coding.ans`); versions 1 and 2 used CompressAI's rANS (:mod:`lic_core.coding.rans`,
guarded by :mod:`lic_core.coding.bounded`). :func:`encode` and :func:`decode` dispatch on a
context variable: ANS by default, rANS inside :func:`legacy_rans` (which
:func:`lic_core.imagecodec.decode` enters for streams older than version 3). A context
variable is per thread and per asyncio task, so concurrent decodes of old and new streams do
not see each other's setting.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator

from torch import Tensor

from lic_core.coding import ans, rans
from lic_core.coding.rans import CoderTable

_LEGACY = ContextVar("lic_legacy_rans", default=False)


@contextmanager
def legacy_rans(enabled: bool = True) -> Iterator[None]:
    """Code with CompressAI's rANS (``.lic`` versions 1 and 2) for the duration of the block."""
    token = _LEGACY.set(bool(enabled))
    try:
        yield
    finally:
        _LEGACY.reset(token)


def using_legacy_rans() -> bool:
    return _LEGACY.get()


def encode(symbols: Tensor, indexes: Tensor, table: CoderTable) -> bytes:
    """:func:`lic_core.coding.ans.encode`, or :func:`lic_core.coding.rans.encode` inside :func:`legacy_rans`."""
    return (rans if _LEGACY.get() else ans).encode(symbols, indexes, table)


def decode(string: bytes, indexes: Tensor, table: CoderTable) -> Tensor:
    """:func:`lic_core.coding.ans.decode`, or :func:`lic_core.coding.rans.decode` inside :func:`legacy_rans`."""
    return (rans if _LEGACY.get() else ans).decode(string, indexes, table)
