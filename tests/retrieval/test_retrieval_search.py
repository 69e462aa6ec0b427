"""run_search through a real index (hashing embedder): stage scores, fusion by hand, reranking, filters."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from pydantic import ValidationError

from ragforge.errors import ConfigError
from ragforge.retrieval.index import Index
from ragforge.retrieval.rerank import apply_scores
from ragforge.retrieval.search import SearchOptions
from ragforge.types import Document, Hit

DOCS = {
    "animals/zebra.txt": "The zebra has black and white stripes and lives on the savanna.",
    "animals/otter.txt": "An otter swims in rivers and eats fish; otters hold hands while sleeping.",
    "animals/lion.txt": "The lion is a big cat of the savanna that hunts zebra at night.",
    "plants/fern.txt": "A fern is a plant that reproduces with spores instead of seeds.",
    "plants/oak.txt": "The oak tree grows acorns; squirrels bury them for the winter.",
}


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory):
    path = tmp_path_factory.mktemp("search") / "idx"
    idx = Index.open(path, model="hashing:256", create=True)
    idx.sync_documents([Document(source=s, text=t, file_type="text") for s, t in DOCS.items()])
    yield idx
    idx.close()


def test_lexical_hits_carry_lexical_scores_only(index: Index):
    hits = index.search("otter rivers", k=3, mode="lexical")
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
    assert hits[0].source == "animals/otter.txt"
    assert all(set(h.scores) == {"lexical"} and h.score == h.scores["lexical"] for h in hits)
    assert len(hits) == 1  # only one document has either word


def test_dense_exact_text_ranks_first(index: Index):
    hits = index.search(DOCS["plants/fern.txt"], k=5, mode="dense")
    assert hits[0].source == "plants/fern.txt" and hits[0].score == pytest.approx(1.0, abs=1e-4)
    assert all(set(h.scores) == {"dense"} for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_hybrid_rrf_matches_a_hand_fusion_of_the_two_lists(index: Index):
    query = "zebra on the savanna"
    dense = {h.chunk.id: h.rank for h in index.search(query, k=100, mode="dense")}
    lexical = {h.chunk.id: h.rank for h in index.search(query, k=100, mode="lexical")}
    hybrid = index.search(query, k=5, mode="hybrid", options=SearchOptions(fusion="rrf", rrf_k=60))
    for hit in hybrid:
        expected = sum(1 / (60 + ranks[hit.chunk.id]) for ranks in (dense, lexical) if hit.chunk.id in ranks)
        assert hit.scores["fused"] == pytest.approx(expected) and hit.score == hit.scores["fused"]
        assert ("lexical" in hit.scores) == (hit.chunk.id in lexical)
        assert "dense" in hit.scores
    assert {hybrid[0].source, hybrid[1].source} == {"animals/zebra.txt", "animals/lion.txt"}


def test_default_hybrid_is_weighted_zscore_fusion(index: Index):
    from ragforge.retrieval.fusion import normalise

    query = "zebra on the savanna"
    dense = index.search(query, k=100, mode="dense")
    lexical = index.search(query, k=100, mode="lexical")
    zd = dict(zip((h.chunk.id for h in dense), normalise([h.score for h in dense], "zscore"), strict=True))
    zl = dict(zip((h.chunk.id for h in lexical), normalise([h.score for h in lexical], "zscore"), strict=True))
    top = index.search(query, k=3)
    for hit in top:
        expected = 0.5 * zd[hit.chunk.id] + 0.5 * zl.get(hit.chunk.id, min(zl.values()))
        assert hit.scores["fused"] == pytest.approx(expected)


def test_weighted_fusion_all_dense_weight_follows_dense_order(index: Index):
    query = "squirrels and acorns"
    dense = [h.chunk.id for h in index.search(query, k=5, mode="dense")]
    opts = SearchOptions(fusion="weighted", dense_weight=1.0)
    assert [h.chunk.id for h in index.search(query, k=5, mode="hybrid", options=opts)] == dense
    assert index.search(query, k=1, mode="hybrid", options={"fusion": "weighted", "weight": 0.0})[0].source \
        == "plants/oak.txt"


class ShortestFirst:
    """A real (if silly) reranker: shorter chunks first."""

    def rerank(self, query: str, hits: Sequence[Hit], top_n: int) -> list[Hit]:
        return apply_scores(hits, [-float(len(h.text)) for h in hits[:top_n]], min(top_n, len(hits)))


def test_rerank_reorders_the_top_and_records_its_score(index: Index):
    hits = index.search("the", k=5, mode="dense", rerank=ShortestFirst(),
                        options=SearchOptions(rerank_depth=5))
    assert [len(h.text) for h in hits] == sorted(len(h.text) for h in hits)
    assert all(h.scores["rerank"] == h.score == -len(h.text) and "dense" in h.scores for h in hits)
    assert [h.rank for h in hits] == [1, 2, 3, 4, 5]


def test_where_filter_reaches_the_store(index: Index):
    hits = index.search("savanna zebra lion fern", k=5, mode="hybrid", where={"path": "plants/*"})
    assert hits and all(h.source.startswith("plants/") for h in hits)


def test_argument_errors(index: Index):
    with pytest.raises(ConfigError):
        index.search("x", k=3, mode="semantic")
    with pytest.raises(ConfigError):
        index.search("x", k=0)
    assert index.search("   ", k=3) == []
    with pytest.raises(ValidationError):
        SearchOptions(depth=10)  # type: ignore[call-arg]
    assert SearchOptions(weight=0.7).dense_weight == 0.7


def test_search_all_returns_the_whole_fused_list(index: Index):
    from ragforge.retrieval.search import search_all

    query = "zebra otter fern"
    dense = {h.chunk.id for h in index.search(query, k=100, mode="dense")}
    lexical = {h.chunk.id for h in index.search(query, k=100, mode="lexical")}
    hits = search_all(index.store, index.embedder, query, 2, mode="hybrid")
    assert {h.chunk.id for h in hits} == dense | lexical
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
