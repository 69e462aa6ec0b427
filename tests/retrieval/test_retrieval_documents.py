from __future__ import annotations

import pytest

from ragforge.errors import ConfigError
from ragforge.retrieval.documents import document_scores, rank_documents
from ragforge.types import Chunk, Hit


def _hit(source: str, score: float, n: int) -> Hit:
    chunk = Chunk(id=f"{source}-{n}", source=source, text="t", start=0, end=1, ordinal=n)
    return Hit(chunk=chunk, score=score)


HITS = [_hit("a", 0.9, 0), _hit("b", 0.8, 0), _hit("b", 0.7, 1), _hit("b", 0.6, 2), _hit("a", 0.1, 1),
        _hit("b", 0.5, 3)]


def test_max_scores_a_document_by_its_best_chunk():
    assert document_scores(HITS) == {"a": 0.9, "b": 0.8}


def test_sum_top_rewards_several_matching_chunks():
    scores = document_scores(HITS, method="sum_top", top=3)
    assert scores["a"] == pytest.approx(1.0)
    assert scores["b"] == pytest.approx(0.8 + 0.7 + 0.6)
    assert rank_documents(scores) == [("b", pytest.approx(2.1)), ("a", pytest.approx(1.0))]


def test_custom_doc_id_and_errors():
    assert document_scores(HITS, doc_id=lambda c: "all") == {"all": 0.9}
    with pytest.raises(ConfigError):
        document_scores(HITS, method="mean")  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        document_scores(HITS, method="sum_top", top=0)
    assert rank_documents({"b": 1.0, "a": 1.0}, k=1) == [("a", 1.0)]
