"""A mixin that keeps a CompressAI entropy model's coder table resident after ``update()``."""

from __future__ import annotations

from lic_core.coding.rans import CoderTable


class ResidentTable:
    """Caches :class:`CoderTable` built from ``_quantized_cdf``/``_cdf_length``/``_offset``.

    The cache is keyed on the buffers' identity and version, so ``update()`` and
    ``load_state_dict`` (which replace or rewrite the buffers) invalidate it by themselves.
    """

    def coder_table(self) -> CoderTable:
        key = tuple((id(b), b._version) for b in (self._quantized_cdf, self._cdf_length, self._offset))
        cached = self.__dict__.get("_coder_table")
        if cached is None or cached[0] != key:
            self._check_cdf_size()
            self._check_cdf_length()
            self._check_offsets_size()
            table = CoderTable.from_buffers(self._quantized_cdf, self._cdf_length, self._offset)
            self.__dict__["_coder_table"] = cached = (key, table)
        return cached[1]
