"""Vector-index forms: ivf-pq (trained, retrained, exact deletions, re-scored), hnsw, and what the manifest keeps."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from ragforge.cli import main
from ragforge.config import IndexConfig, VectorConfig
from ragforge.errors import ConfigError
from ragforge.ingest import sync_documents
from ragforge.retrieval.index import build_index
from ragforge.store import Store, ann, db
from ragforge.types import Document

ROOT = Path(__file__).resolve().parents[2]
IVF = VectorConfig(kind="ivf-pq", min_train=400, retrain_factor=2.0)
WORDS = [f"w{i}" for i in range(400)]


def _docs(n: int, start: int = 0) -> list[Document]:
    rng = np.random.default_rng(start)
    docs = []
    for i in range(start, start + n):
        topic = rng.integers(0, 40)
        words = [WORDS[(topic * 10 + int(j)) % 400] for j in rng.integers(0, 25, size=12)]
        docs.append(Document(source=f"d{i:05d}.txt", text=" ".join(words), file_type="text"))
    return docs


def _store(path: Path, vectors: VectorConfig) -> Store:
    return Store.create(path, IndexConfig(model="hashing:64", vectors=vectors))


def _ids(store: Store) -> set[int]:
    return {r for (r,) in store._conn.execute("SELECT rowid FROM chunks")}


def _recall(approximate: Store, exact: Store, queries: list[str], k: int = 10) -> float:
    found = total = 0
    for text in queries:
        vector = exact.embedder.embed_query(text)
        truth = {c.id for c, _ in exact.dense_search(vector, k)}
        found += len(truth & {c.id for c, _ in approximate.dense_search(vector, k)})
        total += len(truth)
    return found / total


def test_ivf_pq_is_exact_until_trained_then_trains_retrains_and_deletes_exactly(tmp_path: Path) -> None:
    store, exact = _store(tmp_path / "ivf", IVF), _store(tmp_path / "flat", VectorConfig())
    docs = _docs(300)
    for target in (store, exact):
        sync_documents(target, docs, delete_missing=False)
    assert ann.form(store._index) == "flat"  # fewer than min_train vectors: exact
    docs += _docs(300, 300)
    for target in (store, exact):
        sync_documents(target, docs, delete_missing=False)
    info = store.info().vectors
    assert info["form"] == "ivf-pq" and info["trained_for"] == 600 and info["m"] == 8  # 64 dims / 8
    queries = [" ".join(WORDS[t * 10:t * 10 + 4]) for t in range(40)]
    assert _recall(store, exact, queries) >= 0.9  # toy data; the real figures: scripts/bench_vectors.py

    gone = [d.source for d in docs[:100]]
    for target in (store, exact):
        sync_documents(target, docs[100:])
    assert set(ann.ids_of(store._index)) == _ids(store) and store._index.ntotal == 500
    hits = {c.source for q in queries for c, _ in store.dense_search(store.embedder.embed_query(q), 20)}
    assert not hits & set(gone)
    assert db.get_meta(store._conn, "vectors_trained_on") == "600"  # 500 < 2 x 600: not retrained

    docs = docs[100:] + _docs(800, 600)
    for target in (store, exact):
        sync_documents(target, docs)
    assert store.info().vectors["trained_for"] == 1300  # grew past 2 x 600: trained again
    assert _recall(store, exact, queries) >= 0.9  # toy data; the real figures: scripts/bench_vectors.py
    store.close()
    reopened = Store.open(tmp_path / "ivf")  # the file's checksum and ids match the rows
    assert ann.form(reopened._index) == "ivf-pq" and _recall(reopened, exact, queries) >= 0.9
    reopened.close()
    exact.close()


def test_a_damaged_ivf_pq_file_is_rebuilt_from_the_cache_in_its_form(tmp_path: Path) -> None:
    with _store(tmp_path / "idx", IVF) as store:
        sync_documents(store, _docs(500))
        name = db.get_meta(store._conn, "vectors_file")
    data = bytearray((tmp_path / "idx" / name).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (tmp_path / "idx" / name).write_bytes(bytes(data))
    with Store.open(tmp_path / "idx") as store:  # a reader: rebuilt in memory
        assert ann.form(store._index) == "ivf-pq" and store._index.ntotal == 500
        with store.writing():  # the writer rewrites it on disk
            pass
    with Store.open(tmp_path / "idx") as store:
        assert db.get_meta(store._conn, "vectors_file") != name and store._index.ntotal == 500


def test_the_default_nprobe_and_a_file_written_with_an_older_one(tmp_path: Path) -> None:
    # SciFact's real vectors (nlist 100) need 25-32 cells for Recall@10 >= 0.95: scripts/probe_ivfpq_rerank.py
    assert [ann.default_nprobe(n) for n in (20, 100, 1000, 2000)] == [20, 32, 125, 250]
    with _store(tmp_path / "idx", IVF) as store:
        sync_documents(store, _docs(1000))
        nlist = store._index.nlist
        assert nlist == 1000 // 39 and store._index.nprobe == ann.default_nprobe(nlist) == nlist
        old = store._index
        old.nprobe = 8  # what the default gave before: the file keeps it
        with store.writing():
            store._commit(old, lambda conn: None)
    with Store.open(tmp_path / "idx") as store:  # searched with today's default, not the file's
        assert store._index.nprobe == nlist and store.info().vectors["nprobe"] == nlist
    with _store(tmp_path / "five", IVF.model_copy(update={"nprobe": 5})) as store:
        sync_documents(store, _docs(450))
    with Store.open(tmp_path / "five") as store:  # a chosen nprobe is kept
        assert ann.form(store._index) == "ivf-pq" and store._index.nprobe == 5


def test_a_sync_killed_before_its_commit_leaves_the_trained_index(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    for doc in _docs(450):
        (folder / doc.source).write_text(doc.text)
    build_index(folder, tmp_path / "idx", model="hashing:64", vectors=IVF)
    with Store.open(tmp_path / "idx") as store:
        before, form = _ids(store), ann.form(store._index)
    assert form == "ivf-pq"
    for doc in _docs(450, 450):  # doubles the corpus: the commit would retrain
        (folder / doc.source).write_text(doc.text)
    code = "import sys; from ragforge.retrieval.index import build_index; build_index(sys.argv[1], sys.argv[2])"
    env = dict(os.environ, PYTHONPATH=str(ROOT), RAGFORGE_TEST_CRASH_AT="before_commit")
    run = subprocess.run([sys.executable, "-c", code, str(folder), str(tmp_path / "idx")], env=env, timeout=120)
    assert run.returncode == 1
    with Store.open(tmp_path / "idx") as store:
        assert _ids(store) == before and store.info().vectors["trained_for"] == 450
    report = build_index(folder, tmp_path / "idx")
    assert report.added == 450 and report.chunks_from_cache == 0
    with Store.open(tmp_path / "idx") as store:
        assert store.info().vectors["trained_for"] == 900 and store._index.ntotal == 900


def test_hnsw_deletes_exactly_and_finds_what_flat_finds(tmp_path: Path) -> None:
    store, exact = _store(tmp_path / "hnsw", VectorConfig(kind="hnsw")), _store(tmp_path / "flat", VectorConfig())
    docs = _docs(500)
    for target in (store, exact):
        sync_documents(target, docs)
        sync_documents(target, docs[50:])
    assert ann.form(store._index) == "hnsw" and set(ann.ids_of(store._index)) == _ids(store)
    queries = [" ".join(WORDS[t * 10:t * 10 + 4]) for t in range(40)]
    assert _recall(store, exact, queries) >= 0.9  # toy data; the real figures: scripts/bench_vectors.py
    store.close()
    exact.close()
    with Store.open(tmp_path / "hnsw") as reopened:
        assert reopened._index.ntotal == 450


def test_the_manifest_records_the_vectors_and_the_cli_keeps_them(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    for doc in _docs(20):
        (folder / doc.source).write_text(doc.text)
    runner = CliRunner()
    index = str(tmp_path / "idx")
    result = runner.invoke(main, ["index", str(folder), "--index", index, "--model", "hashing:64", "-q",
                                  "--vectors", "ivf-pq", "--vector-option", "nprobe=4"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "idx" / "manifest.json").read_text())
    assert manifest["vectors"]["kind"] == "ivf-pq" and manifest["vectors"]["nprobe"] == 4
    info = runner.invoke(main, ["info", "--index", index])
    assert "ivf-pq (exact until it holds enough vectors to train on)" in info.output
    again = runner.invoke(main, ["index", str(folder), "--index", index, "--vectors", "hnsw"])
    assert again.exit_code == 1 and "--rebuild" in again.output
    rebuilt = runner.invoke(main, ["index", str(folder), "--index", index, "--vectors", "hnsw", "--rebuild", "-q"])
    assert rebuilt.exit_code == 0 and "added 20" in rebuilt.output and "20 from cache" in rebuilt.output
    assert json.loads((tmp_path / "idx" / "manifest.json").read_text())["vectors"]["kind"] == "hnsw"
    bad = runner.invoke(main, ["index", str(folder), "--index", index, "--vectors", "hnsw", "--vector-option", "x=1"])
    assert bad.exit_code == 2 and "KEY=VALUE" in bad.output
    with pytest.raises(ConfigError):
        build_index(folder, index, vectors=VectorConfig(kind="flat"))


def test_an_index_without_vector_settings_is_flat(tmp_path: Path) -> None:
    """Indexes made before --vectors have no "vectors" in their manifest: they open as flat."""
    with _store(tmp_path / "idx", VectorConfig()) as store:
        sync_documents(store, _docs(5))
    manifest = tmp_path / "idx" / "manifest.json"
    data = json.loads(manifest.read_text())
    del data["vectors"]
    text = json.dumps(data, indent=2)
    manifest.write_text(text)
    conn = db.connect(tmp_path / "idx")
    db.set_meta(conn, "manifest", text)
    conn.commit()
    conn.close()
    with Store.open(tmp_path / "idx") as store:
        assert store.vector_config.kind == "flat" and store.info().vectors == {"kind": "flat", "form": "flat"}
