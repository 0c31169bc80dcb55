"""Whether this CPU computes bfloat16 natively, read from the kernel's CPU flags.

Without AVX512-BF16 / AMX (x86) or BF16 (Arm), PyTorch emulates bfloat16 on the CPU: on an AVX2-only
AMD EPYC a compiled ``--amp bf16`` step of the default recipe took 9.3 s against 1.24 s in
float32 (docs/zoo.md, cycle 5), so the trainer warns rather than let such a run crawl unnoticed.
"""

from __future__ import annotations

from pathlib import Path

NATIVE_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16", "bf16"})


def cpu_flags(cpuinfo: str) -> set[str]:
    """The feature flags in a ``/proc/cpuinfo`` text (x86 ``flags``, Arm ``Features``)."""
    flags: set[str] = set()
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() in ("flags", "features"):
            flags.update(value.split())
    return flags


def native_bf16(cpuinfo_path: str | Path = "/proc/cpuinfo") -> bool | None:
    """True or False where the CPU's flags tell; None where they cannot be read (not Linux)."""
    try:
        flags = cpu_flags(Path(cpuinfo_path).read_text(errors="replace"))
    except OSError:
        return None
    return bool(flags & NATIVE_BF16_FLAGS) if flags else None
