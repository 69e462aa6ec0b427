"""Cross-encoder reranking with a tiny BERT cross-encoder the test builds and saves itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragforge.errors import ConfigError, RetrievalError
from ragforge.retrieval.rerank import CrossEncoderReranker, Reranker, apply_scores, resolve_reranker
from ragforge.types import Chunk, Hit

WORDS = ["the", "cat", "dog", "sat", "on", "mat", "a", "bird", "flew", "over", "house", "keys", "rotate", "how", "do",
         "i"]


@pytest.fixture(scope="module")
def tiny_cross_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    path = tmp_path_factory.mktemp("tiny-cross-encoder")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]
    (path / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = transformers.BertTokenizer(str(path / "vocab.txt"), do_lower_case=True)
    torch.manual_seed(0)
    config = transformers.BertConfig(
        vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=64, num_labels=1,
    )
    model = transformers.BertForSequenceClassification(config)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def _hits(texts: list[str]) -> list[Hit]:
    return [
        Hit(chunk=Chunk(id=f"c{i}", source=f"doc{i}.txt", text=t, start=0, end=len(t)),
            score=1.0 - i / 10, rank=i + 1, scores={"dense": 1.0 - i / 10})
        for i, t in enumerate(texts)
    ]


def test_cross_encoder_reranks_by_its_own_scores(tiny_cross_encoder: Path):
    from sentence_transformers import CrossEncoder

    texts = ["the cat sat on the mat", "a bird flew over the house", "how do i rotate keys",
             "the dog sat", "mat mat mat"]
    query = "how do i rotate the keys"
    pairs = [(query, t) for t in texts[:4]]
    expected = [float(s) for s in CrossEncoder(str(tiny_cross_encoder)).predict(pairs)]
    reranker = CrossEncoderReranker(str(tiny_cross_encoder))
    assert isinstance(reranker, Reranker)
    out = reranker.rerank(query, _hits(texts), top_n=4)
    assert [h.rank for h in out] == [1, 2, 3, 4, 5]
    head = out[:4]
    assert [h.scores["rerank"] for h in head] == pytest.approx(sorted(expected, reverse=True), abs=1e-5)
    assert all(h.score == h.scores["rerank"] and "dense" in h.scores for h in head)
    assert out[4].chunk.text == "mat mat mat" and "rerank" not in out[4].scores  # beyond top_n: untouched
    # resolve a path string into a (cached) cross-encoder reranker
    resolved = resolve_reranker(str(tiny_cross_encoder))
    assert isinstance(resolved, CrossEncoderReranker)
    assert resolve_reranker(str(tiny_cross_encoder)) is resolved


def test_missing_model_raises_retrieval_error(tmp_path: Path):
    reranker = CrossEncoderReranker(str(tmp_path / "no-such-model"))
    with pytest.raises(RetrievalError, match="could not load cross-encoder"):
        reranker.rerank("q", _hits(["a"]), top_n=1)


def test_resolve_reranker_choices():
    assert resolve_reranker(None) is None
    assert resolve_reranker("none") is None
    assert resolve_reranker("") is None
    with pytest.raises(ConfigError):
        resolve_reranker(42)  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        CrossEncoderReranker("  ")


def test_apply_scores_is_stable_and_checks_lengths():
    hits = _hits(["a", "b", "c"])
    out = apply_scores(hits, [0.5, 0.5, 0.9], top_n=3)
    assert [h.chunk.text for h in out] == ["c", "a", "b"]
    with pytest.raises(RetrievalError):
        apply_scores(hits, [0.1], top_n=3)


def test_index_search_reranks_with_a_cross_encoder_path(tiny_cross_encoder: Path, tmp_path: Path):
    from ragforge.retrieval.index import Index
    from ragforge.retrieval.search import SearchOptions
    from ragforge.types import Document

    texts = {"a.txt": "the cat sat on the mat", "b.txt": "a bird flew over the house",
             "c.txt": "how do i rotate keys", "d.txt": "the dog sat"}
    with Index.open(tmp_path / "idx", model="hashing:64", create=True) as index:
        index.sync_documents([Document(source=s, text=t, file_type="text") for s, t in texts.items()])
        hits = index.search("rotate the keys", k=3, mode="hybrid", rerank=str(tiny_cross_encoder),
                            options=SearchOptions(rerank_depth=4))
    assert len(hits) == 3 and [h.rank for h in hits] == [1, 2, 3]
    assert all({"fused", "dense", "rerank"} <= set(h.scores) for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
