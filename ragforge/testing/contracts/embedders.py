"""``EmbedderContract``: what any :class:`~ragforge.embedding.Embedder` must do.

    class TestMyEmbedder(EmbedderContract):
        deterministic = True            # the same text always gives the same vector (the default)

        @pytest.fixture
        def embedder(self):
            return MyEmbedder()

        @pytest.fixture
        def failing_embedder(self):     # optional: one whose every call fails (server down, model missing)
            return MyEmbedder(url="http://127.0.0.1:9")

        @pytest.fixture
        def prefixed_embedder(self):    # optional: built with query_prefix / document_prefix
            return MyEmbedder(query_prefix="query: ", document_prefix="passage: ")
"""

from __future__ import annotations

import numpy as np
import pytest

from ragforge.embedding.base import Embedder
from ragforge.errors import EmbeddingError, LLMError, RagforgeError

TEXTS = ["Descale the kettle with white vinegar once a month.",
         "The lighthouse keeper logged the storm at midnight.",
         "Tomatoes prefer slightly acidic soil."]
AWKWARD = ["", "   \n\t ", "日本語のテキストと絵文字 🚀", "a" * 20 + " " + "word " * 3000]


def assert_unit_rows(vectors: np.ndarray, rows: int, dimension: int) -> None:
    assert isinstance(vectors, np.ndarray) and vectors.dtype == np.float32, type(vectors)
    assert vectors.shape == (rows, dimension), vectors.shape
    assert np.isfinite(vectors).all()
    if rows:
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)


class EmbedderContract:
    """Subclass, provide an ``embedder`` fixture, and every ``test_*`` below runs on it."""

    deterministic: bool = True  # the same text always gives the same vector
    related_ranks_higher: bool = True  # a query is nearer a passage that shares its words than an unrelated one

    @pytest.fixture
    def embedder(self) -> Embedder:
        raise NotImplementedError("a subclass of EmbedderContract provides an `embedder` fixture")

    @pytest.fixture
    def failing_embedder(self) -> Embedder:
        pytest.skip("no `failing_embedder` fixture: this embedder has no failure to provoke")

    @pytest.fixture
    def prefixed_embedder(self) -> Embedder:
        pytest.skip("no `prefixed_embedder` fixture: this embedder takes no prefixes")

    def test_describes_itself(self, embedder: Embedder) -> None:
        assert isinstance(embedder, Embedder)
        assert isinstance(embedder.model_id, str) and embedder.model_id.strip()
        assert isinstance(embedder.dimension, int) and embedder.dimension > 0
        assert isinstance(embedder.max_tokens, int) and embedder.max_tokens > 0

    def test_counts_tokens(self, embedder: Embedder) -> None:
        assert embedder.count_tokens("") == 0
        short, long = embedder.count_tokens("a cat"), embedder.count_tokens("a cat sat on the mat " * 50)
        assert isinstance(short, int) and 0 < short < long

    def test_documents_are_normalised_float32_rows(self, embedder: Embedder) -> None:
        assert_unit_rows(embedder.embed_documents(TEXTS), len(TEXTS), embedder.dimension)

    def test_a_query_is_one_normalised_vector(self, embedder: Embedder) -> None:
        vector = embedder.embed_query(TEXTS[0])
        assert isinstance(vector, np.ndarray) and vector.dtype == np.float32
        assert vector.shape == (embedder.dimension,) and np.isfinite(vector).all()
        assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-4)

    def test_no_texts_give_an_empty_array(self, embedder: Embedder) -> None:
        vectors = embedder.embed_documents([])
        assert vectors.shape == (0, embedder.dimension) and vectors.dtype == np.float32

    def test_batches_keep_the_input_order(self, embedder: Embedder) -> None:
        batch = int(getattr(embedder, "batch_size", 16))
        texts = [f"note {i}: " + " ".join(f"w{(i * 7 + j) % 97}" for j in range(1 + i % 9))
                 for i in range(max(9, 2 * batch + 1))]  # three batches or more, of unequal lengths
        texts[5] = texts[1]
        vectors = embedder.embed_documents(texts)
        assert_unit_rows(vectors, len(texts), embedder.dimension)
        assert np.allclose(vectors[5], vectors[1], atol=1e-5)  # a text repeated in a batch: the same row
        for i in sorted({0, 2, batch, len(texts) - 1}):
            alone = embedder.embed_documents([texts[i]])[0]
            # the same row, up to the rounding of the precision (bf16 differs by padding), and no other row
            similarity = vectors @ alone
            assert similarity[i] >= 0.995 and similarity[i] >= similarity.max() - 1e-6, i

    def test_documents_and_queries_share_one_space(self, embedder: Embedder) -> None:
        query, document = embedder.embed_query(TEXTS[1]), embedder.embed_documents([TEXTS[1]])[0]
        assert query.shape == document.shape
        if getattr(embedder, "query_prefix", "") == getattr(embedder, "document_prefix", ""):
            assert np.allclose(query, document, atol=1e-4)  # no prefixes: a query is a one-text document

    def test_prefixes_set_queries_apart(self, prefixed_embedder: Embedder) -> None:
        query, document = prefixed_embedder.embed_query(TEXTS[1]), prefixed_embedder.embed_documents([TEXTS[1]])[0]
        assert np.linalg.norm(query) == pytest.approx(1.0, abs=1e-4)
        assert not np.allclose(query, document, atol=1e-4)

    def test_is_deterministic(self, embedder: Embedder) -> None:
        if not self.deterministic:
            pytest.skip("this embedder does not promise the same vector twice")
        first, again = embedder.embed_documents(TEXTS), embedder.embed_documents(TEXTS)
        assert np.allclose(first, again, rtol=0, atol=1e-5)
        assert np.allclose(embedder.embed_query(TEXTS[0]), embedder.embed_query(TEXTS[0]), rtol=0, atol=1e-5)

    def test_related_text_ranks_higher(self, embedder: Embedder) -> None:
        if not self.related_ranks_higher:
            pytest.skip("this embedder's vectors carry no meaning (a test fake)")
        scores = embedder.embed_documents(TEXTS) @ embedder.embed_query("how often should I descale my kettle")
        assert int(np.argmax(scores)) == 0, scores

    def test_awkward_texts_are_embedded(self, embedder: Embedder) -> None:
        """Empty and blank texts, non-Latin scripts, emoji and a text far past the window: vectors, never an
        error (a text past the window is cut, as ``max_tokens`` warns). A text with no content may be a zero
        row; every other row has unit length."""
        vectors = embedder.embed_documents(AWKWARD)
        assert vectors.shape == (len(AWKWARD), embedder.dimension) and np.isfinite(vectors).all()
        norms = np.linalg.norm(vectors, axis=1)
        assert all(abs(n - 1.0) < 1e-4 or (n == 0 and not text.strip()) for n, text in zip(norms, AWKWARD, strict=True))
        assert norms[2] == pytest.approx(1.0, abs=1e-4) and norms[3] == pytest.approx(1.0, abs=1e-4)

    def test_failures_are_ragforge_errors(self, failing_embedder: Embedder) -> None:
        """An embedder fails with :class:`EmbeddingError` (a model that cannot load or encode) or, when its
        model sits behind a server, with the :class:`LLMError` subclass that says what to do (and whether
        a retry may help); never with a foreign exception or a traceback-length message."""
        for call in (lambda: failing_embedder.embed_documents(TEXTS), lambda: failing_embedder.embed_query("x")):
            with pytest.raises(RagforgeError) as caught:
                call()
            assert isinstance(caught.value, (EmbeddingError, LLMError)), type(caught.value)
            message = str(caught.value)
            assert message.strip() and "\n" not in message and len(message) < 600, message
