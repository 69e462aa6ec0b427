"""Opening: missing index, other format version, other model, damaged vector files, no pickle anywhere."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest

from ragforge.embedding.hashing import HashingEmbedder
from ragforge.errors import IndexCorruptError, IndexNotFoundError, IndexVersionError, ModelMismatchError, StoreError
from ragforge.ingest import sync_documents
from ragforge.retrieval.index import Index, build_index
from ragforge.store import FORMAT_VERSION, Store
from ragforge.types import Document

PACKAGE = Path(__file__).resolve().parents[2] / "ragforge"


def _docs(n: int = 5) -> list[Document]:
    return [Document(source=f"d{i}", text=f"note {i} on subject {i * 3}", file_type="text") for i in range(n)]


def test_no_index_says_how_to_make_one(tmp_path) -> None:
    with pytest.raises(IndexNotFoundError, match="ragforge index DIR --index"):
        Store.open(tmp_path / "nothing")
    with pytest.raises(IndexNotFoundError):
        Index.open(tmp_path)


def test_other_format_version_says_rebuild(make_store, tmp_path) -> None:
    make_store().close()
    manifest = tmp_path / "idx" / "manifest.json"
    data = json.loads(manifest.read_text())
    data["format_version"] = FORMAT_VERSION + 1
    manifest.write_text(json.dumps(data))
    with pytest.raises(IndexVersionError, match="--rebuild") as info:
        Store.open(tmp_path / "idx")
    assert f"format {FORMAT_VERSION + 1}" in str(info.value)


def test_other_model_names_both_models(make_store, tmp_path) -> None:
    make_store().close()
    with pytest.raises(ModelMismatchError) as info:
        Store.open(tmp_path / "idx", HashingEmbedder(32))
    message = str(info.value)
    assert "hashing-64" in message and "hashing-32" in message and "--model hashing:64" in message
    with pytest.raises(ModelMismatchError, match="--rebuild"):
        Index.open(tmp_path / "idx", model="hashing:128")


def test_create_twice_refuses(make_store, tmp_path) -> None:
    make_store().close()
    with pytest.raises(StoreError, match="already exists"):
        Store.create(tmp_path / "idx", embedder=HashingEmbedder(64))


def test_missing_vector_file_is_rebuilt_from_the_cache(make_store, tmp_path, consistent) -> None:
    store = make_store()
    sync_documents(store, _docs())
    name = store._vectors_file
    store.close()
    (tmp_path / "idx" / name).unlink()
    reader = Store.open(tmp_path / "idx")  # rebuilt in memory: a reader writes nothing
    assert reader.dense_search(reader.embedder.embed_query("note 3 on subject 9"), 1)[0][0].source == "d3"
    assert not (tmp_path / "idx" / name).exists() and not list((tmp_path / "idx").glob("vectors-*"))
    reader.close()
    again = Store.open(tmp_path / "idx")
    with again.writing():  # the writer rebuilds it on disk
        pass
    assert consistent(again) == {f"d{i}" for i in range(5)}
    assert again._vectors_file != name
    assert again.dense_search(again.embedder.embed_query("note 3 on subject 9"), 1)[0][0].source == "d3"
    again.close()


def test_vectors_that_cannot_be_rebuilt_raise_corrupt(make_store, tmp_path) -> None:
    store = make_store()
    sync_documents(store, _docs())
    name = store._vectors_file
    store._conn.execute("DELETE FROM embeddings")
    store.close()
    (tmp_path / "idx" / name).unlink()
    with pytest.raises(IndexCorruptError, match="--rebuild"):
        Store.open(tmp_path / "idx")


def test_stray_vector_files_are_left_by_readers_and_removed_by_the_next_writer(make_store, tmp_path) -> None:
    store = make_store()
    sync_documents(store, _docs())
    store.close()
    stray = tmp_path / "idx" / "vectors-999999.faiss"
    stray.write_bytes(b"junk")
    (tmp_path / "idx" / ".vectors-000007.faiss.tmp-123").write_bytes(b"junk")
    before = sorted(p.name for p in (tmp_path / "idx").iterdir())
    with Store.open(tmp_path / "idx") as reader:
        assert reader.lexical_search("note", 3)
    assert sorted(p.name for p in (tmp_path / "idx").iterdir()) == before
    with Store.open(tmp_path / "idx") as writer:
        sync_documents(writer, _docs())
    assert sorted(p.name for p in (tmp_path / "idx").glob("*vectors*")) == [store._vectors_file]


def test_build_index_rebuild_switches_model(tmp_path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text("hello there\n")
    assert build_index(folder, tmp_path / "idx", model="hashing:64").added == 1
    with pytest.raises(ModelMismatchError):
        build_index(folder, tmp_path / "idx", model="hashing:32")
    assert build_index(folder, tmp_path / "idx").unchanged == 1  # keeps the index's own model
    assert build_index(folder, tmp_path / "idx", model="hashing:32", rebuild=True).added == 1
    with Index.open(tmp_path / "idx") as index:
        assert index.info().model_id == "hashing-32"


def test_index_open_create_and_context_manager(tmp_path) -> None:
    with Index.open(tmp_path / "new", model="hashing:64", create=True) as index:
        index.sync_documents(_docs(3))
        assert index.info().chunks == 3 and index.embedder.model_id == "hashing-64"
    with Index.open(tmp_path / "new", create=True) as index:  # exists: just opens it
        assert index.info().files == 3


def test_nothing_in_ragforge_imports_pickle() -> None:
    offenders = [str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
                 if re.search(r"^\s*(import|from)\s+(c?pickle|dill|joblib)\b", p.read_text(), re.M)]
    assert offenders == []


def test_rebuild_keeps_the_model_the_chunking_and_the_embedding_cache(tmp_path) -> None:
    from ragforge.config import ChunkingConfig, IndexConfig

    folder = tmp_path / "docs"
    folder.mkdir()
    for i in range(4):
        (folder / f"f{i}.txt").write_text(f"note {i} about otters and kestrels, number {i * 7}\n")
    config = IndexConfig(model="hashing:256", chunking=ChunkingConfig(max_tokens=12, overlap_tokens=2))
    Index.open(tmp_path / "idx", create=True, config=config).close()
    first = build_index(folder, tmp_path / "idx")
    report = build_index(folder, tmp_path / "idx", rebuild=True)
    assert report.added == 4 and report.chunks_embedded == 0
    assert report.chunks_from_cache == report.chunks_added == first.chunks_added
    with Index.open(tmp_path / "idx") as index:
        info = index.info()
        assert (info.model, info.chunking["max_tokens"], info.chunking["overlap_tokens"]) == ("hashing:256", 12, 2)
    other = build_index(folder, tmp_path / "idx", model="hashing:64", rebuild=True)
    assert other.chunks_embedded == other.chunks_added  # another model: nothing to reuse
    back = build_index(folder, tmp_path / "idx", model="hashing:256", rebuild=True)
    assert back.chunks_embedded == 0  # the first model's cache survived the switch


def test_rebuild_of_an_older_format_or_a_lost_manifest_keeps_model_and_cache(tmp_path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text("walruses rest on the ice\n")
    build_index(folder, tmp_path / "idx", model="hashing:128")
    manifest = tmp_path / "idx" / "manifest.json"
    data = json.loads(manifest.read_text())
    data["format_version"] = 1
    manifest.write_text(json.dumps(data))
    with pytest.raises(IndexVersionError, match="format 1.*keeps the model and the embedding cache"):
        Index.open(tmp_path / "idx")
    manifest.unlink()
    with pytest.raises(IndexCorruptError, match="manifest.json is missing.*--rebuild"):
        Index.open(tmp_path / "idx")
    report = build_index(folder, tmp_path / "idx", rebuild=True)
    assert report.added == 1 and report.chunks_embedded == 0
    with Index.open(tmp_path / "idx") as index:
        assert index.info().model == "hashing:128"


def test_a_reader_of_a_damaged_vector_file_rebuilds_it_once_not_per_query(make_store, tmp_path, caplog) -> None:
    store = make_store()
    sync_documents(store, _docs())
    store._conn.execute("DELETE FROM meta WHERE key = 'vectors_file'")
    store.close()
    with caplog.at_level(logging.WARNING, logger="ragforge.store"), Store.open(tmp_path / "idx") as reader:
        for _ in range(5):
            assert reader.dense_search(reader.embedder.embed_query("note 3 on subject 9"), 1)[0][0].source == "d3"
    assert sum("rebuilt in memory" in r.getMessage() for r in caplog.records) == 1
