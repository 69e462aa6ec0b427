"""The Checkpointer contract over both checkpointers ragforge ships."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragforge.graph import MemoryCheckpointer, SqliteCheckpointer
from ragforge.testing.contracts import CheckpointerContract


class TestMemoryCheckpointer(CheckpointerContract):
    @pytest.fixture
    def checkpointer(self) -> MemoryCheckpointer:
        return MemoryCheckpointer()


class TestSqliteCheckpointer(CheckpointerContract):
    @pytest.fixture
    def checkpointer(self, tmp_path: Path) -> SqliteCheckpointer:
        return SqliteCheckpointer(tmp_path / "checkpoints.sqlite")

    def test_checkpoints_outlive_the_object(self, tmp_path: Path) -> None:
        SqliteCheckpointer(tmp_path / "ck.sqlite").put("t", {"v": 1, "step": 3})
        again = SqliteCheckpointer(tmp_path / "ck.sqlite").get("t")
        assert again is not None and again["step"] == 3
