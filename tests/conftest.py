"""Shared test settings: everything offline, nothing downloaded, no stray Ollama host, no writes to ~/.ragforge."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(autouse=True, scope="session")
def _ragforge_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One data directory for the session (ONNX exports are made there once), never the user's own."""
    patch = pytest.MonkeyPatch()
    patch.setenv("RAGFORGE_HOME", str(tmp_path_factory.mktemp("ragforge-home")))
    yield
    patch.undo()
