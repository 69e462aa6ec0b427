"""The Reader contract over every reader in the registry, each on a small valid sample (from corpora/sample,
or made from one) and, where tests/data/broken has one, a broken file of its format."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ragforge.readers import reader_for, supported_suffixes
from ragforge.readers.registry import Reader
from ragforge.testing.contracts import ReaderContract

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "corpora" / "sample"
BROKEN = ROOT / "tests" / "data" / "broken"
BROKEN_SAMPLES = {".pdf": "truncated.pdf", ".txt": "binary.txt", ".md": "empty.md", ".html": "script_only.html",
                  ".docx": "password_protected.docx", ".pptx": "not_a_zip.pptx", ".xlsx": "no_workbook.xlsx",
                  ".csv": "binary.csv", ".epub": "no_spine.epub", ".eml": "binary.eml", ".mbox": "no_from_line.mbox",
                  ".ipynb": "invalid_json.ipynb"}
MADE_FROM = {".text": ".txt", ".rst": ".txt", ".xlsm": ".xlsx", ".tsv": ".csv"}  # no sample of their own


def smallest_sample(suffix: str) -> Path | None:
    found = [p for p in SAMPLES.rglob(f"*{suffix}") if p.suffix == suffix]
    return min(found, key=lambda p: p.stat().st_size) if found else None


def test_every_registered_suffix_has_a_sample() -> None:
    """A reader added to the registry needs a sample here, or the contract does not run on it."""
    missing = sorted(s for s in supported_suffixes() if smallest_sample(s) is None and s not in MADE_FROM)
    assert not missing, f"add a small sample of {missing} to corpora/sample (or MADE_FROM)"


class TestEveryRegisteredReader(ReaderContract):
    @pytest.fixture(params=sorted(supported_suffixes()))
    def suffix(self, request: pytest.FixtureRequest) -> str:
        return str(request.param)

    @pytest.fixture
    def reader(self, suffix: str) -> Reader:
        found = reader_for(f"x{suffix}")
        assert found is not None
        return found

    @pytest.fixture
    def sample(self, suffix: str, tmp_path: Path) -> Path:
        own = smallest_sample(suffix)
        if own is not None:
            return own
        source = smallest_sample(MADE_FROM[suffix])
        assert source is not None
        made = tmp_path / f"sample{suffix}"
        if suffix == ".tsv":
            made.write_text(source.read_text(encoding="utf-8").replace(",", "\t"), encoding="utf-8")
        else:
            shutil.copy(source, made)
        return made

    @pytest.fixture
    def broken_sample(self, suffix: str) -> Path:
        if suffix not in BROKEN_SAMPLES:
            pytest.skip(f"tests/data/broken has no {suffix} file")
        return BROKEN / BROKEN_SAMPLES[suffix]
