"""The numeric precision a local model runs in, chosen from what the CPU reports.

    auto   bf16 when the CPU reports AMX (``amx_bf16``) or AVX512-BF16 (``avx512_bf16``), else fp32
    fp32   what the model's own library does
    bf16   ``torch.autocast("cpu", dtype=torch.bfloat16)``: the matrix products in bfloat16, the rest in fp32.
           Its vectors are interchangeable with fp32 ones (cosine >= 0.9999 on the sample corpus, tested), so
           an index built in one can be searched or extended in the other: same model id.
    int8   ONNX Runtime with int8 weights (dynamic, per-channel quantisation of the exported model). Opt-in:
           its vectors differ more (cosine ~0.99 to fp32), so it is a different model id, with its own index.

The CPU flags are read from ``/proc/cpuinfo`` (Linux); elsewhere none are known and ``auto`` means fp32.
"""

from __future__ import annotations

from pathlib import Path

from ragforge.errors import ConfigError

PRECISIONS = ("auto", "fp32", "bf16", "int8")
BF16_FLAGS = frozenset({"amx_bf16", "avx512_bf16"})
# The flags that decide or explain the speed of a CPU model; recorded in index manifests.
REPORTED_FLAGS = ("amx_bf16", "amx_int8", "amx_tile", "avx512_bf16", "avx512_vnni", "avx512f", "avx_vnni", "avx2")
CPUINFO = Path("/proc/cpuinfo")


def cpu_flags(cpuinfo: Path = CPUINFO) -> frozenset[str]:
    """The feature flags of the first CPU listed in ``cpuinfo`` (empty when the file is unreadable)."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip() in ("flags", "Features"):
            return frozenset(value.split())
    return frozenset()


def reported_flags(flags: frozenset[str]) -> list[str]:
    """The flags among :data:`REPORTED_FLAGS` that ``flags`` holds, in that order."""
    return [flag for flag in REPORTED_FLAGS if flag in flags]


def resolve_precision(requested: str, flags: frozenset[str], device: str = "cpu") -> str:
    """``fp32``, ``bf16`` or ``int8``: what ``requested`` means on a CPU with ``flags``."""
    precision = (requested or "auto").strip().lower()
    if precision not in PRECISIONS:
        raise ConfigError(f"unknown precision {requested!r}: use one of {', '.join(PRECISIONS)}")
    if precision != "auto":
        return precision
    return "bf16" if device == "cpu" and flags & BF16_FLAGS else "fp32"
