"""OllamaEmbedder over /api/embed on the stub: the Embedder protocol, batching, errors, retries."""

from __future__ import annotations

import numpy as np
import pytest

from ragforge.embedding import Embedder, make_embedder
from ragforge.embedding.ollama import OllamaEmbedder
from ragforge.errors import LLMModelNotFoundError
from ragforge.llm import RetryPolicy


def test_embedder_protocol_and_vectors(stub):
    emb = OllamaEmbedder("nomic-embed-text", host=stub.host, batch_size=2,
                         document_prefix="search_document: ", query_prefix="search_query: ")
    assert isinstance(emb, Embedder) and emb.model_id == "ollama:nomic-embed-text"
    assert emb.dimension == 8 and emb.max_tokens == 2048
    docs = emb.embed_documents(["alpha", "beta beta", "gamma gamma gamma"])
    assert docs.shape == (3, 8) and docs.dtype == np.float32
    assert np.allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-5)
    assert np.allclose(docs[0], stub.embedding("search_document: alpha"), atol=1e-6)
    query = emb.embed_query("alpha")
    assert query.shape == (8,) and np.allclose(query, stub.embedding("search_query: alpha"), atol=1e-6)
    batches = [b["input"] for b in stub.bodies("/api/embed")]
    assert sorted(len(b) for b in batches) == [1, 1, 2]  # batch_size=2 for three documents, then the query
    assert all(b["truncate"] is True and b["model"] == "nomic-embed-text" for b in stub.bodies("/api/embed"))


def test_construction_contacts_nothing_and_make_embedder_builds_it(stub):
    emb = make_embedder("ollama:nomic-embed-text", host=stub.host)
    assert isinstance(emb, OllamaEmbedder) and stub.paths == []
    assert emb.embed_documents([]).shape == (0, 8)


def test_missing_embedding_model_says_pull_it(stub):
    with pytest.raises(LLMModelNotFoundError, match="ollama pull mxbai-embed-large"):
        _ = OllamaEmbedder("mxbai-embed-large", host=stub.host).dimension


def test_embedding_calls_are_retried(stub, clock):
    stub.fail_next(500, path="/api/embed")
    emb = OllamaEmbedder("nomic-embed-text", host=stub.host, dimensions=8,
                         retry=RetryPolicy(jitter=0), retry_clock=clock)
    assert emb.embed_documents(["x"]).shape == (1, 8)
    assert clock.sleeps == [0.5] and len(stub.bodies("/api/embed")) == 2


def test_token_estimate_is_conservative():
    emb = OllamaEmbedder("m", host="http://127.0.0.1:1")
    assert emb.count_tokens("") == 0
    assert emb.count_tokens("The quick brown fox jumps over the lazy dog.") >= 10
