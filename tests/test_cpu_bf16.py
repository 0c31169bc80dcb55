"""The native-bfloat16 probe behind the trainer's warning that ``--amp bf16`` would be emulated."""

from __future__ import annotations

import pytest

from lic_core.training import cpu_bf16

AVX2_ONLY = "processor\t: 0\nflags\t\t: fpu sse2 avx avx2 fma\n\nprocessor\t: 1\nflags\t\t: fpu sse2 avx avx2 fma\n"
SAPPHIRE_RAPIDS = "processor\t: 0\nflags\t\t: avx2 avx512f avx512_bf16 amx_bf16 amx_tile\n"
NEOVERSE_V1 = "processor\t: 0\nFeatures\t: fp asimd sve bf16 i8mm\n"


@pytest.mark.parametrize("text, expected", [(AVX2_ONLY, False), (SAPPHIRE_RAPIDS, True), (NEOVERSE_V1, True), ("", None)])
def test_native_bf16_reads_the_cpu_flags(tmp_path, text, expected):
    info = tmp_path / "cpuinfo"
    info.write_text(text)
    assert cpu_bf16.native_bf16(info) is expected


def test_native_bf16_is_unknown_without_cpuinfo(tmp_path):
    assert cpu_bf16.native_bf16(tmp_path / "missing") is None
