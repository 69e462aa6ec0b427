"""--precision through the CLI: recorded in the manifest, shown by info, honoured on reopening, int8 apart."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from ragforge.cli import main
from ragforge.retrieval.index import open_index
from ragforge.store import Store

SAMPLE = Path(__file__).resolve().parents[2] / "corpora" / "sample"


def _run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.slow
def test_precision_is_recorded_shown_reused_and_int8_needs_a_rebuild(tmp_path: Path) -> None:
    docs, index = tmp_path / "docs", str(tmp_path / "idx")
    shutil.copytree(SAMPLE / "gardening", docs)
    _run("index", str(docs), "--index", index, "--precision", "fp32", "-q")
    manifest = json.loads((tmp_path / "idx" / "manifest.json").read_text())
    assert manifest["precision"] == "fp32" and manifest["embedder"]["precision"] == "fp32"
    assert isinstance(manifest["embedder"]["cpu_flags"], list)
    assert "precision fp32 (asked: fp32; CPU flags when built:" in _run("info", "--index", index)
    with open_index(index) as reopened:
        assert reopened.embedder.precision == "fp32"  # the recorded choice, not this CPU's auto

    refused = CliRunner().invoke(main, ["index", str(docs), "--index", index, "--precision", "int8", "-q"])
    assert refused.exit_code == 1 and len(refused.output.strip().splitlines()) == 1
    assert "precision fp32" in refused.output and "--rebuild" in refused.output

    _run("index", str(docs), "--index", index, "--precision", "int8", "--rebuild", "-q")
    info = json.loads(_run("info", "--index", index, "--json"))
    assert info["model_id"].endswith("+int8") and info["embedder"]["precision"] == "int8"
    hits = json.loads(_run("query", "What soil pH do tomatoes prefer?", "--index", index, "--json", "-k", "1"))
    assert hits[0]["source"] == "tomatoes.md"

    Store.rebuild(index, model="hashing:64")  # another model: the int8 choice does not follow it
    with open_index(index) as rebuilt:
        assert rebuilt.info().model_id == "hashing-64" and rebuilt.store.manifest.precision is None


def test_a_precision_for_an_embedder_without_precisions_is_one_clear_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["index", str(SAMPLE / "gardening"), "--index", str(tmp_path / "idx"),
                                       "--model", "hashing:64", "--precision", "bf16", "-q"])
    assert result.exit_code == 1 and "applies to sentence-transformers models" in result.output
    _run("index", str(SAMPLE / "gardening"), "--index", str(tmp_path / "idx"), "--model", "hashing:64", "-q")
    assert "\nprecision" not in _run("info", "--index", str(tmp_path / "idx"))  # no line for it
