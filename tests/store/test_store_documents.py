"""sync_documents, dense filters, and the embedding cache across syncs."""

from __future__ import annotations

import pytest

from ragforge.ingest import sync_documents
from ragforge.store import Store, Where
from ragforge.types import Document


def _doc(source: str, text: str, file_type: str = "corpus", title: str | None = None) -> Document:
    return Document(source=source, text=text, file_type=file_type, title=title)


def test_documents_add_change_remove_and_noop(make_store, consistent, counting) -> None:
    store = make_store()
    docs = [_doc(f"d{i}", f"Document {i} talks about topic {i} and nothing else.") for i in range(6)]
    assert sync_documents(store, docs).added == 6
    name = store._vectors_file
    calls = counting.calls
    again = sync_documents(store, docs)
    assert again.unchanged == 6 and store._vectors_file == name and counting.calls == calls
    docs[1] = _doc("d1", "Completely new words: saxophone quartet.")
    report = sync_documents(store, docs[:5])
    assert (report.changed, report.removed, report.unchanged) == (1, 1, 4)
    assert consistent(store) == {f"d{i}" for i in range(5)}
    assert [c.source for c, _ in store.lexical_search("saxophone", 5)] == ["d1"]


def test_delete_missing_false_keeps_other_documents(make_store) -> None:
    store = make_store()
    sync_documents(store, [_doc("a", "alpha words"), _doc("b", "beta words")])
    report = sync_documents(store, [_doc("c", "gamma words")], delete_missing=False)
    assert report.added == 1 and report.removed == 0
    assert store.info().files == 3


def test_title_change_is_a_change(make_store) -> None:
    store = make_store()
    sync_documents(store, [_doc("a", "same text", title="One")])
    report = sync_documents(store, [_doc("a", "same text", title="Two")])
    assert report.changed == 1 and report.chunks_from_cache == 1 and report.chunks_embedded == 0
    assert store.get_chunks([c.id for c, _ in store.lexical_search("same", 1)])[0].title == "Two"


def test_cache_survives_removal_and_readd(make_store, counting) -> None:
    store = make_store()
    doc = _doc("a", "an unusual sentence about walruses")
    sync_documents(store, [doc])
    sync_documents(store, [])
    assert store.info().chunks == 0
    calls = counting.calls
    assert sync_documents(store, [doc]).chunks_from_cache == 1
    assert counting.calls == calls


def test_many_new_chunks_are_embedded_in_big_batches(make_store, counting) -> None:
    store = make_store()
    docs = [_doc(f"d{i}", f"text number {i} with words {i * 7}") for i in range(600)]
    sync_documents(store, docs)
    # one embed_documents call for all 600 new texts (windows of 2048), cut into batches of 256
    assert counting.calls == 3


@pytest.mark.parametrize("where", [Where(file_type="pdf"), {"file_type": "pdf"}, {"path": "pdf/*"}])
def test_filtered_dense_search_returns_k_matching_chunks(make_store, where) -> None:
    store = make_store()
    docs = [_doc(f"text/{i}", f"rivers and lakes and water {i}", "text") for i in range(60)]
    docs += [_doc(f"pdf/{i}", f"mountain granite summit number {i}", "pdf") for i in range(4)]
    sync_documents(store, docs)
    query = store.embedder.embed_query("rivers and lakes and water")
    hits = store.dense_search(query, 3, where)
    assert len(hits) == 3 and all(c.file_type == "pdf" for c, _ in hits)
    assert len(store.dense_search(query, 10, where)) == 4
    assert store.dense_search(query, 3, {"file_type": "html"}) == []
    unfiltered = store.dense_search(query, 3)
    assert all(c.file_type == "text" for c, _ in unfiltered)
    assert [s for _, s in unfiltered] == sorted((s for _, s in unfiltered), reverse=True)


def test_l2_metric_scores_higher_is_better(make_store) -> None:
    from ragforge.config import IndexConfig

    store = make_store(IndexConfig(model="hashing:64", metric="l2"))
    sync_documents(store, [_doc("a", "apples and pears"), _doc("b", "trains and buses")])
    hits = store.dense_search(store.embedder.embed_query("apples and pears"), 2)
    assert hits[0][0].source == "a" and hits[0][1] > hits[1][1]
    assert hits[0][1] == pytest.approx(0.0, abs=1e-5)


def test_get_chunks_keeps_order_and_skips_unknown(make_store) -> None:
    store = make_store()
    sync_documents(store, [_doc("a", "apples"), _doc("b", "pears")])
    ids = [c.id for c, _ in store.lexical_search("apples pears", 5)]
    assert [c.id for c in store.get_chunks([ids[1], "nope", ids[0]])] == [ids[1], ids[0]]


def test_info_describes_the_index(make_store, tmp_path) -> None:
    store = make_store()
    sync_documents(store, [_doc("a", "apples"), _doc("b", "pears")])
    info = store.info()
    assert (info.files, info.chunks, info.dimension, info.metric) == (2, 2, 64, "ip")
    assert info.model == "hashing:64" and info.model_id == "hashing-64" and info.size_bytes > 0
    assert Store.exists(tmp_path / "idx") and not Store.exists(tmp_path / "nothing")
