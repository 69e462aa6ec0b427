"""A hashing-embedder index of the sample corpus: built in seconds, no model load."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import ragforge

SAMPLE = Path(__file__).resolve().parents[2] / "corpora" / "sample"


@pytest.fixture(scope="package")
def sample_index_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("mcp")
    shutil.copytree(SAMPLE, root / "sample")
    with ragforge.open_index(root / "idx", model="hashing:256", create=True) as index:
        report = index.sync(root / "sample")
    assert report.skipped == [] and report.added == 38
    return root / "idx"


@pytest.fixture
def index(sample_index_path: Path) -> Iterator[Any]:
    with ragforge.open_index(sample_index_path) as opened:
        yield opened
