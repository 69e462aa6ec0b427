"""The Index handle: sync with globs, search in every mode, and readers seeing a writer's commits."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragforge.embedding.hashing import HashingEmbedder
from ragforge.retrieval import open_index
from ragforge.retrieval.index import Index
from ragforge.store import Store
from ragforge.types import Document


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    (docs / "notes").mkdir(parents=True)
    (docs / "notes" / "kiln.md").write_text("# Kiln\n\nFiring pottery in a kiln needs slow cooling.\n")
    (docs / "notes" / "draft.txt").write_text("Draft: glazes crack when the kiln cools too fast.\n")
    (docs / "bread.txt").write_text("Sourdough bread rises overnight in a cool kitchen.\n")
    return docs


def test_sync_globs_and_search_modes(tmp_path, folder) -> None:
    with open_index(tmp_path / "idx", model="hashing:128", create=True) as index:
        report = index.sync(folder, include=("notes/**",), exclude=("draft*",))
        assert report.added == 1
        report = index.sync(folder)
        assert (report.added, report.unchanged) == (2, 1)
        for mode in ("dense", "lexical", "hybrid"):
            hits = index.search("kiln cooling", k=2, mode=mode)
            assert [h.rank for h in hits] == [1, 2], mode
            assert {h.source for h in hits} == {"notes/kiln.md", "notes/draft.txt"}, mode
        only_text = index.search("kiln", k=5, where={"file_type": "text"}, mode="hybrid")
        assert {h.source for h in only_text} == {"notes/draft.txt", "bread.txt"}  # dense finds bread too
        assert only_text[0].source == "notes/draft.txt"
        assert index.search("kiln", k=5, where={"path": "*.md"})[0].source == "notes/kiln.md"
        assert index.info().files == 3 and "hashing-128" in repr(index)


def test_a_reader_sees_a_writers_commit(tmp_path) -> None:
    embedder = HashingEmbedder(64)
    writer = Index.open(tmp_path / "idx", embedder=embedder, create=True)
    reader = Store.open(tmp_path / "idx")
    writer.sync_documents([Document(source="a", text="otters hold hands while sleeping", file_type="text")])
    hits = reader.dense_search(embedder.embed_query("otters sleeping"), 3)
    assert [c.source for c, _ in hits] == ["a"]
    writer.sync_documents([Document(source="b", text="beavers build dams", file_type="text")])
    assert [c.source for c, _ in reader.dense_search(embedder.embed_query("beavers dams"), 1)] == ["b"]
    assert [c.source for c, _ in reader.lexical_search("beavers", 3)] == ["b"]
    reader.close()
    writer.close()
