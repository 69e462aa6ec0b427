"""The Embedder contract over every embedder ragforge ships: hashing, MiniLM (slow), Ollama and
OpenAI-compatible servers (on the stubs)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ragforge.embedding import HashingEmbedder, SentenceTransformerEmbedder
from ragforge.embedding.ollama import OllamaEmbedder
from ragforge.embedding.openai import OpenAIEmbedder
from ragforge.testing import OllamaStub, OpenAIStub
from ragforge.testing.contracts import EmbedderContract

PREFIXES = {"query_prefix": "query: ", "document_prefix": "passage: "}


class TestHashingEmbedder(EmbedderContract):
    @pytest.fixture
    def embedder(self) -> HashingEmbedder:
        return HashingEmbedder(64)

    @pytest.fixture
    def prefixed_embedder(self) -> HashingEmbedder:
        return HashingEmbedder(64, **PREFIXES)


@pytest.mark.slow
class TestMiniLM(EmbedderContract):
    @pytest.fixture(scope="class")
    def embedder(self) -> SentenceTransformerEmbedder:
        return SentenceTransformerEmbedder()

    @pytest.fixture
    def prefixed_embedder(self, embedder: SentenceTransformerEmbedder) -> SentenceTransformerEmbedder:
        return SentenceTransformerEmbedder(**PREFIXES)

    @pytest.fixture
    def failing_embedder(self) -> SentenceTransformerEmbedder:
        return SentenceTransformerEmbedder("no-such-org/no-such-model-xyz")


class TestOllamaEmbedder(EmbedderContract):
    related_ranks_higher = False  # the stub's vectors are hashes of the whole text

    @pytest.fixture(scope="class")
    def server(self) -> Iterator[OllamaStub]:
        with OllamaStub(models=["nomic-embed-text"]) as stub:
            yield stub

    @pytest.fixture
    def embedder(self, server: OllamaStub) -> OllamaEmbedder:
        return OllamaEmbedder("nomic-embed-text", host=server.host, batch_size=4)

    @pytest.fixture
    def prefixed_embedder(self, server: OllamaStub) -> OllamaEmbedder:
        return OllamaEmbedder("nomic-embed-text", host=server.host, **PREFIXES)

    @pytest.fixture
    def failing_embedder(self, server: OllamaStub) -> OllamaEmbedder:
        return OllamaEmbedder("not-pulled", host=server.host, retry=None)


class TestOpenAIEmbedder(EmbedderContract):
    related_ranks_higher = False  # the stub's vectors are hashes of the whole text

    @pytest.fixture(scope="class")
    def server(self) -> Iterator[OpenAIStub]:
        with OpenAIStub() as stub:
            yield stub

    @pytest.fixture
    def embedder(self, server: OpenAIStub) -> OpenAIEmbedder:
        return OpenAIEmbedder("nomic-embed-text", server.base_url, batch_size=4)

    @pytest.fixture
    def prefixed_embedder(self, server: OpenAIStub) -> OpenAIEmbedder:
        return OpenAIEmbedder("nomic-embed-text", server.base_url, **PREFIXES)

    @pytest.fixture
    def failing_embedder(self) -> OpenAIEmbedder:
        return OpenAIEmbedder("nomic-embed-text", "http://127.0.0.1:9/v1", retry=None, timeout=5)
