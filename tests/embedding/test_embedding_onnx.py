"""The real MiniLM on the sample corpus: bf16 and the ONNX query path agree with fp32 torch; the export cache.

Every test here shares the session's $RAGFORGE_HOME, where the first one exports the model once; tests that
damage or change an export work on a copy, in their own $RAGFORGE_HOME.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from ragforge.chunking import chunk_document
from ragforge.config import data_dir
from ragforge.embedding import SentenceTransformerEmbedder
from ragforge.embedding.onnx_cache import cache_root, fingerprint
from ragforge.embedding.sentence_transformer import default_model_path
from ragforge.readers import read_file, walk

pytestmark = pytest.mark.slow
SAMPLE = Path(__file__).resolve().parents[2] / "corpora" / "sample"
QUESTIONS = [json.loads(line)["question"] for line in (SAMPLE / "questions.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def export_dir() -> Path:
    """The session's export of the default model (made here if no earlier test made it)."""
    SentenceTransformerEmbedder(query_backend="onnx").prepare_queries()
    return cache_root() / fingerprint(default_model_path(), cache_root())


@pytest.fixture(scope="module")
def torch_fp32() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(precision="fp32", query_backend="torch")


def _min_cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float((a * b).sum(axis=1).min())  # rows are unit vectors


def _notices(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "ragforge.embedding"]


def test_onnx_query_vectors_match_torch_without_loading_torch(export_dir: Path, torch_fp32) -> None:
    onnx = SentenceTransformerEmbedder()  # query_backend auto: torch is not loaded, so the export is used
    fast = np.stack([onnx.embed_query(q) for q in QUESTIONS])
    assert onnx._model is None and onnx._onnx["fp32"] is not None
    reference = np.stack([torch_fp32.embed_query(q) for q in QUESTIONS])
    assert _min_cosine(fast, reference) >= 0.9999
    assert fast.dtype == np.float32 and np.allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-5)


def test_bf16_document_vectors_are_interchangeable_with_fp32_on_the_sample_corpus(torch_fp32) -> None:
    bf16 = SentenceTransformerEmbedder(precision="bf16", query_backend="torch")
    texts = []
    for entry in walk(SAMPLE).files:
        doc = read_file(entry.path, entry.source)
        texts += [c.text for c in chunk_document(doc, max_tokens=bf16.max_tokens, overlap_tokens=32,
                                                 count_tokens=bf16.count_tokens)]
    assert len(texts) > 100
    assert _min_cosine(bf16.embed_documents(texts), torch_fp32.embed_documents(texts)) >= 0.9999
    queries = np.stack([bf16.embed_query(q) for q in QUESTIONS])
    assert _min_cosine(queries, np.stack([torch_fp32.embed_query(q) for q in QUESTIONS])) >= 0.9999


def test_a_second_use_loads_the_export_without_exporting_again(export_dir: Path, caplog) -> None:
    made = (export_dir / "export.json").stat().st_mtime_ns
    with caplog.at_level(logging.INFO, logger="ragforge.embedding"):
        SentenceTransformerEmbedder().embed_query("the kettle shows E3")
    assert _notices(caplog) == []
    assert (export_dir / "export.json").stat().st_mtime_ns == made


def _own_home(monkeypatch, tmp_path: Path, export_dir: Path | None = None) -> Path:
    """A fresh $RAGFORGE_HOME for this test, holding a copy of the session's export when given."""
    home = tmp_path / "home"
    if export_dir is not None:
        shutil.copytree(export_dir, home / "onnx" / export_dir.name)
    monkeypatch.setenv("RAGFORGE_HOME", str(home))
    return home / "onnx" / (export_dir.name if export_dir else "")


def _truncate(folder: Path) -> None:
    data = folder / "model.onnx.data"
    data.write_bytes(data.read_bytes()[:1000])


def _overwrite_in_place(folder: Path) -> None:
    """Zero 1 MB of weights without changing the size or the mtime: only the probe vector can tell."""
    data = folder / "model.onnx.data"
    stat = data.stat()
    with open(data, "r+b") as handle:
        handle.seek(stat.st_size * 2 // 3)
        handle.write(bytes(1 << 20))
    os.utime(data, ns=(stat.st_atime_ns, stat.st_mtime_ns))


@pytest.mark.parametrize("damage", [_truncate, _overwrite_in_place])
def test_a_damaged_export_is_rebuilt_not_used(damage, export_dir: Path, torch_fp32, monkeypatch, tmp_path,
                                              caplog) -> None:
    copy = _own_home(monkeypatch, tmp_path, export_dir)
    damage(copy)
    with caplog.at_level(logging.WARNING, logger="ragforge.embedding"):
        vector = SentenceTransformerEmbedder().embed_query(QUESTIONS[0])
    notices = _notices(caplog)
    assert any("is damaged" in n and "rebuilding" in n for n in notices), notices
    assert (copy / "model.onnx.data").stat().st_size == (export_dir / "model.onnx.data").stat().st_size
    assert float(vector @ torch_fp32.embed_query(QUESTIONS[0])) >= 0.9999


def test_a_changed_model_file_exports_again(export_dir: Path, monkeypatch, tmp_path, caplog) -> None:
    _own_home(monkeypatch, tmp_path)
    model = tmp_path / "model"
    shutil.copytree(default_model_path(), model)
    config = model / "tokenizer_config.json"
    config.write_text(config.read_text() + "\n")  # same settings, different bytes: a different model file
    with caplog.at_level(logging.WARNING, logger="ragforge.embedding"):
        SentenceTransformerEmbedder(str(model)).embed_query(QUESTIONS[0])
        SentenceTransformerEmbedder(str(model)).embed_query(QUESTIONS[1])
    assert sum("exporting" in n for n in _notices(caplog)) == 1  # once, then reused
    keys = [p.name for p in (data_dir() / "onnx").iterdir() if p.is_dir()]
    assert keys == [fingerprint(model, data_dir() / "onnx")] and keys != [export_dir.name]


def test_a_model_that_cannot_be_exported_stays_on_torch_with_a_notice(monkeypatch, tmp_path, caplog) -> None:
    _own_home(monkeypatch, tmp_path)
    model = tmp_path / "model"
    shutil.copytree(default_model_path(), model)
    (model / "1_Pooling" / "config.json").write_text(json.dumps(
        {"word_embedding_dimension": 384, "pooling_mode_weightedmean_tokens": True}))  # torch has it, we do not
    with caplog.at_level(logging.WARNING, logger="ragforge.embedding"):
        first = SentenceTransformerEmbedder(str(model))
        vector = first.embed_query(QUESTIONS[0])
        again = SentenceTransformerEmbedder(str(model), query_backend="onnx")
        again.embed_query(QUESTIONS[1])
    notices = _notices(caplog)
    assert len(notices) == 2 and all("weightedmean" in n and "embedding with torch" in n for n in notices), notices
    assert "\n" not in notices[0] and "delete" in notices[1]  # one line; the second says how to try again
    assert first._model is not None and again._model is not None  # both queries ran on torch
    direct = SentenceTransformerEmbedder(str(model), query_backend="torch", precision=first.precision)
    assert float(vector @ direct.embed_query(QUESTIONS[0])) >= 0.9999


def test_int8_runs_on_onnx_runtime_under_its_own_model_id(export_dir: Path, torch_fp32) -> None:
    int8 = SentenceTransformerEmbedder(precision="int8")
    texts = QUESTIONS[:8]
    vectors = int8.embed_documents(texts)
    assert int8._model is None and int8.model_id.endswith("+int8")
    assert vectors.shape == (8, 384) and np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    closeness = _min_cosine(vectors, torch_fp32.embed_documents(texts))
    assert 0.95 <= closeness < 0.9999  # close, but not the same model: hence its own id
    assert float(int8.embed_query(texts[0]) @ vectors[0]) >= 0.9999
