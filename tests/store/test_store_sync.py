"""Syncing a folder: add, modify, delete, rename, touch and no-op, with the three indexes kept in step."""

from __future__ import annotations

import os
from itertools import pairwise
from pathlib import Path

import pytest

from ragforge.config import WalkConfig
from ragforge.ingest import sync_folder
from ragforge.store import Store

PARAGRAPHS = [
    "The lighthouse keeper logged the storm at midnight and trimmed the lamp twice before dawn.",
    "Tomatoes grow best in warm, well-drained soil with full sun and steady watering every morning.",
    "Espresso needs a fine grind, a firm tamp and water just below boiling for a rich crema.",
    "Glaciers carve valleys slowly, dragging boulders and leaving moraines when they retreat.",
]


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    (docs / "sub").mkdir(parents=True)
    (docs / "alpha.md").write_text("# Alpha\n\n" + "\n\n".join(PARAGRAPHS[:2]) + "\n")
    (docs / "beta.txt").write_text("\n\n".join(PARAGRAPHS[2:]) + "\n")
    (docs / "sub" / "gamma.txt").write_text("Quartz clocks keep time with a vibrating crystal.\n")
    return docs


def _sources(store: Store, text: str) -> list[str]:
    return [chunk.source for chunk, _ in store.lexical_search(text, 10)]


def test_first_sync_adds_every_file(make_store, folder, consistent, counting) -> None:
    store = make_store()
    report = sync_folder(store, folder)
    assert (report.added, report.changed, report.removed, report.unchanged) == (3, 0, 0, 0)
    assert report.chunks_added >= 4 and report.chunks_embedded == report.chunks_added
    assert consistent(store) == {"alpha.md", "beta.txt", "sub/gamma.txt"}
    assert _sources(store, "lighthouse storm") == ["alpha.md"]
    top = store.dense_search(store.embedder.embed_query("espresso grind crema"), 1)
    assert top[0][0].source == "beta.txt"
    assert "added 3" in report.summary()


def test_no_op_sync_reads_nothing_and_keeps_the_vector_file(make_store, folder, counting) -> None:
    store = make_store()
    sync_folder(store, folder)
    name = store._vectors_file
    mtime = (store.path / name).stat().st_mtime_ns
    calls = counting.calls
    report = sync_folder(store, folder)
    assert (report.unchanged, report.added, report.changed, report.chunks_added) == (3, 0, 0, 0)
    assert store._vectors_file == name and (store.path / name).stat().st_mtime_ns == mtime
    assert counting.calls == calls


def test_touched_file_with_same_content_is_unchanged(make_store, folder) -> None:
    store = make_store()
    sync_folder(store, folder)
    name = store._vectors_file
    os.utime(folder / "beta.txt", ns=(1_000_000_000, 1_000_000_000))
    report = sync_folder(store, folder)
    assert report.unchanged == 3 and report.changed == 0
    assert store._vectors_file == name
    row = store._conn.execute("SELECT mtime_ns FROM files WHERE source = 'beta.txt'").fetchone()
    assert row[0] == 1_000_000_000


def test_modified_file_reuses_cached_embeddings(make_store, folder, consistent, counting) -> None:
    store = make_store()
    sync_folder(store, folder)
    (folder / "alpha.md").write_text(f"# Alpha\n\n{PARAGRAPHS[0]}\n\nPeppers like heat and little water.\n")
    counting.texts.clear()
    report = sync_folder(store, folder)
    assert (report.changed, report.unchanged) == (1, 2)
    assert report.chunks_from_cache >= 1  # the untouched paragraph
    assert all("Peppers" in text for text in counting.texts) and counting.texts
    consistent(store)
    assert _sources(store, "peppers") == ["alpha.md"]
    assert _sources(store, "tomatoes") == []


def test_deleted_file_leaves_faiss_sqlite_and_fts(make_store, folder, consistent) -> None:
    store = make_store()
    sync_folder(store, folder)
    gone = {r[0] for r in store._conn.execute("SELECT rowid FROM chunks WHERE source = 'beta.txt'")}
    (folder / "beta.txt").unlink()
    report = sync_folder(store, folder)
    assert report.removed == 1 and report.chunks_removed == len(gone)
    assert consistent(store) == {"alpha.md", "sub/gamma.txt"}
    assert _sources(store, "espresso glaciers") == []
    hits = store.dense_search(store.embedder.embed_query(PARAGRAPHS[2]), 50)
    assert all(chunk.source != "beta.txt" for chunk, _ in hits)
    from ragforge.store import vectors

    assert not gone & set(vectors.ids_of(store._index).tolist())


def test_rename_costs_no_embedding_calls(make_store, folder, consistent, counting) -> None:
    store = make_store()
    sync_folder(store, folder)
    (folder / "beta.txt").rename(folder / "sub" / "beta-moved.txt")
    calls = counting.calls
    report = sync_folder(store, folder)
    assert (report.renamed, report.removed, report.added, report.chunks_embedded) == (1, 0, 0, 0)
    assert counting.calls == calls
    assert consistent(store) == {"alpha.md", "sub/gamma.txt", "sub/beta-moved.txt"}
    assert _sources(store, "espresso") == ["sub/beta-moved.txt"]


def test_walk_filters_and_search_filters(make_store, folder) -> None:
    store = make_store()
    report = sync_folder(store, folder, WalkConfig(exclude=("sub",)))
    assert report.added == 2
    sync_folder(store, folder)
    in_sub = store.lexical_search("quartz lighthouse", 10, {"path": "sub/*"})
    assert {c.source for c, _ in in_sub} == {"sub/gamma.txt"}
    assert {c.file_type for c, _ in store.lexical_search("quartz lighthouse espresso", 10,
                                                          {"file_type": "markdown"})} == {"markdown"}


@pytest.mark.parametrize("damage", ["binary", "empty", "fifo", "too_large"])
def test_a_file_that_can_no_longer_be_indexed_loses_its_chunks(make_store, folder, consistent, damage) -> None:
    store = make_store()
    sync_folder(store, folder)
    target = folder / "beta.txt"
    walk = WalkConfig(max_file_bytes=10_000)
    if damage == "binary":
        target.write_bytes(b"\x00\x01\x02binary now" * 50)
    elif damage == "empty":
        target.write_bytes(b"")
    elif damage == "fifo":
        target.unlink()
        os.mkfifo(target)
    else:
        target.write_text("espresso " * 5000)
    report = sync_folder(store, folder, walk)
    assert [s.source for s in report.skipped] == ["beta.txt"] and report.dropped == ["beta.txt"]
    assert report.removed == 0 and report.chunks_removed >= 1
    assert "its previous chunks were removed" in report.summary()
    assert _sources(store, "espresso glaciers") == []
    assert consistent(store) == {"alpha.md", "sub/gamma.txt"}
    target.unlink()
    target.write_text("Fixed again: sourdough needs time.\n")
    assert sync_folder(store, folder, walk).added == 1
    assert _sources(store, "sourdough") == ["beta.txt"]


def test_reopen_sees_the_same_index(make_store, folder, consistent, tmp_path) -> None:
    store = make_store()
    sync_folder(store, folder)
    info = store.info()
    store.close()
    again = Store.open(tmp_path / "idx")
    assert again.info().chunks == info.chunks and again.info().files == 3
    assert again.embedder.model_id == "hashing-64"
    consistent(again)
    assert sync_folder(again, folder).unchanged == 3
    again.close()


def test_progress_reaches_the_total(make_store, folder) -> None:
    store = make_store()
    seen: list[tuple[int, int]] = []
    sync_folder(store, folder, progress=lambda done, total, source: seen.append((done, total)))
    assert seen[-1] == (3, 3)
    assert all(a <= b for (a, _), (b, _) in pairwise(seen))
