"""The hashing embedder and the base class around it: shapes, normalisation, order, batching, determinism."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from ragforge.embedding import BaseEmbedder, Embedder, HashingEmbedder, make_embedder
from ragforge.errors import ConfigError, EmbeddingError


def test_vectors_are_normalised_float32_in_input_order() -> None:
    embedder = HashingEmbedder(128, batch_size=2)
    texts = ["short", "a much longer text with many more words in it", "", "middle sized text here", "short"]
    out = embedder.embed_documents(texts)
    assert out.shape == (5, 128) and out.dtype == np.float32
    norms = np.linalg.norm(out, axis=1)
    assert np.allclose(norms[[0, 1, 3, 4]], 1.0) and norms[2] == 0.0  # nothing to hash: a zero vector
    assert np.array_equal(out[0], out[4])
    for text, row in zip(texts, out, strict=True):
        assert np.array_equal(embedder.embed_documents([text])[0], row)


def test_similar_texts_are_closer_and_query_equals_document() -> None:
    embedder = HashingEmbedder()
    query = embedder.embed_query("storm at the lighthouse")
    docs = embedder.embed_documents(["the lighthouse keeper saw a storm", "tomatoes need sun"])
    assert docs[0] @ query > docs[1] @ query
    assert np.allclose(embedder.embed_query("storm at the lighthouse"), embedder.embed_documents(
        ["storm at the lighthouse"])[0])
    assert embedder.embed_query("Storm AT the lighthouse!") @ query == pytest.approx(1.0)


def test_deterministic_across_processes() -> None:
    code = ("from ragforge.embedding import HashingEmbedder;"
            "print(HashingEmbedder(64).embed_query('stable hashing across runs').round(6).tolist())")
    runs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
            for _ in range(2)}
    assert len(runs) == 1
    here = HashingEmbedder(64).embed_query("stable hashing across runs").round(6).tolist()
    assert runs.pop().strip() == str(here)


def test_identity_and_tokens() -> None:
    embedder = HashingEmbedder(256)
    assert isinstance(embedder, Embedder) and isinstance(embedder, BaseEmbedder)
    assert (embedder.model_id, embedder.dimension, embedder.max_tokens, embedder.spec) == (
        "hashing-256", 256, 256, "hashing:256")
    assert embedder.count_tokens("Hello, wide world! 42") == 4
    assert embedder.embed_documents([]).shape == (0, 256)


def test_make_embedder_specs() -> None:
    assert make_embedder("hashing").model_id == "hashing-256"
    assert make_embedder("hashing:32").dimension == 32
    for bad in ("", "hashing:x", "hashing:1", "ollama:"):
        with pytest.raises(ConfigError):
            make_embedder(bad)
    st = make_embedder("all-MiniLM-L6-v2")
    assert st.model_id == "sentence-transformers/all-MiniLM-L6-v2"
    assert st.dimension == 384 and st.max_tokens == 254  # from config files, without loading the model
    assert st._model is None


class _Broken(BaseEmbedder):
    def __init__(self, rows: int, dim: int) -> None:
        super().__init__(batch_size=4)
        self.rows, self.dim = rows, dim

    model_id = "broken"  # type: ignore[assignment]
    dimension = 8  # type: ignore[assignment]
    max_tokens = 10  # type: ignore[assignment]

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def _embed(self, texts: list[str]) -> np.ndarray:
        return np.ones((len(texts) + self.rows, self.dim))


@pytest.mark.parametrize(("rows", "dim", "message"), [(1, 8, "expected 2 vectors"), (0, 5, "dimension 8")])
def test_base_rejects_wrong_shapes(rows, dim, message) -> None:
    with pytest.raises(EmbeddingError, match=message):
        _Broken(rows, dim).embed_documents(["a", "b"])


def test_prefixes_are_applied() -> None:
    plain = HashingEmbedder(64)
    prefixed = HashingEmbedder(64, query_prefix="query: ", document_prefix="passage: ")
    assert np.allclose(prefixed.embed_query("x y"), plain.embed_query("query: x y"))
    assert np.allclose(prefixed.embed_documents(["x y"])[0], plain.embed_documents(["passage: x y"])[0])
    with pytest.raises(ConfigError):
        HashingEmbedder(64, batch_size=0)
