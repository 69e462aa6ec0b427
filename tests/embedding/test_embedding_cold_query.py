"""A cold ``ragforge query`` (a fresh process) embeds the query with the ONNX export and never imports torch."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ragforge.embedding import SentenceTransformerEmbedder
from ragforge.retrieval.index import open_index

SAMPLE = Path(__file__).resolve().parents[2] / "corpora" / "sample"
HEAVY = {"torch", "transformers", "sentence_transformers"}


def _cold_query(index: Path, *extra: str, env: dict[str, str] | None = None) -> tuple[list[dict], set[str]]:
    code = "import sys; from ragforge.cli import main; main(sys.argv[1:])"
    args = [sys.executable, "-X", "importtime", "-c", code, "query", "What soil pH do tomatoes prefer?",
            "--index", str(index), "-k", "2", "--json", *extra]
    out = subprocess.run(args, capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})})
    assert out.returncode == 0, out.stderr[-2000:]
    imported = {line.split("|")[-1].strip() for line in out.stderr.splitlines() if line.startswith("import time:")}
    return json.loads(out.stdout), imported


@pytest.mark.slow
def test_a_cold_query_imports_no_torch_and_finds_the_passage(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    shutil.copytree(SAMPLE / "gardening", docs)
    with open_index(tmp_path / "idx", create=True) as index:
        index.sync(docs)
        index.embedder.prepare_queries()  # what `ragforge index` does after a sync: export once, now
    hits, imported = _cold_query(tmp_path / "idx")
    assert hits[0]["source"] == "tomatoes.md" and "pH" in hits[0]["text"]
    assert "onnxruntime" in imported and not HEAVY & imported, sorted(HEAVY & imported)
    torch_hits, torch_imported = _cold_query(tmp_path / "idx", env={"RAGFORGE_QUERY_BACKEND": "torch"})
    assert "torch" in torch_imported  # the switch works, and the same passages come back
    assert [h["chunk_id"] for h in torch_hits] == [h["chunk_id"] for h in hits]
    for ours, theirs in zip(hits, torch_hits, strict=True):
        assert ours["scores"]["dense"] == pytest.approx(theirs["scores"]["dense"], abs=2e-3)


def test_importing_the_cli_and_the_embedding_layer_imports_no_torch() -> None:
    code = "import ragforge.cli, ragforge.embedding.sentence_transformer, ragforge.embedding.onnx_cache"
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True,
                         check=True)
    imported = {line.split("|")[-1].strip() for line in out.stderr.splitlines() if line.startswith("import time:")}
    assert "ragforge.cli" in imported and not (HEAVY | {"onnxruntime", "faiss"}) & imported


def test_the_embedder_can_be_told_to_keep_queries_on_torch(monkeypatch) -> None:
    monkeypatch.setenv("RAGFORGE_QUERY_BACKEND", "torch")
    assert SentenceTransformerEmbedder().query_backend == "torch"
    assert SentenceTransformerEmbedder(query_backend="onnx").query_backend == "onnx"  # the argument wins
