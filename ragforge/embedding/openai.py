"""``OpenAIEmbedder``: embeddings from any OpenAI-compatible ``/v1/embeddings`` server, for the index.

    make_embedder("openai:nomic-embed-text@http://127.0.0.1:8081/v1")   # llama-server --embeddings, LM Studio,
    OpenAIEmbedder("bge-m3", "http://127.0.0.1:8000/v1")                 # vLLM, LocalAI, Ollama's /v1 ...

Nothing is contacted at construction. The dimension is learnt from the first reply (or a one-text probe when
asked before any embedding). Calls are retried on connection errors, timeouts, 429 and 5xx under a
:class:`~ragforge.retry.RetryPolicy`. Token counts are an estimate (the API has no tokenizer endpoint): one
token per 3 bytes of UTF-8, which over-counts English, so chunks sized with it stay inside the window.

The model id (recorded in the index and in embedding-cache keys) names the server's URL as well as the
model: llama-server answers to any model name, so the name alone would not tell two servers' vectors apart.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ragforge._http import OpenAIHTTP, normalize_base_url, status_error
from ragforge.embedding.base import BaseEmbedder
from ragforge.errors import ConfigError, EmbeddingError, LLMResponseError
from ragforge.retry import RetryClock, RetryPolicy, call_with_retry

_ENDPOINT = "/embeddings"


class OpenAIEmbedder(BaseEmbedder):
    """An :class:`~ragforge.embedding.base.Embedder` over an OpenAI-compatible /v1/embeddings.

    Args:
        model: the embedding model's name on the server (llama-server answers to any name).
        base_url: the API's base URL; ``http://`` and ``/v1`` are added when missing. Default
            ``$OPENAI_BASE_URL``, else ``http://127.0.0.1:8080/v1``.
        api_key: sent as ``Authorization: Bearer``; default ``$OPENAI_API_KEY`` when set (never required).
        timeout: seconds per HTTP request.
        dimensions: ask the server for vectors of this size (models trained for it, e.g. text-embedding-3).
        max_tokens: the input window (default 512: llama-server embeds an input in one batch of
            ``--ubatch-size`` tokens, 512 unless started with more).
        retry: a :class:`RetryPolicy`, or ``None`` for a single attempt.
    """

    def __init__(self, model: str, base_url: str | None = None, *, api_key: str | None = None,
                 timeout: float | None = 60.0, batch_size: int = 32, query_prefix: str = "",
                 document_prefix: str = "", dimensions: int | None = None, max_tokens: int = 512,
                 retry: RetryPolicy | None = RetryPolicy(), retry_clock: RetryClock | None = None) -> None:
        if not model:
            raise ConfigError("OpenAIEmbedder needs a model name, e.g. OpenAIEmbedder('nomic-embed-text')")
        if max_tokens < 1 or (dimensions is not None and dimensions < 1):
            raise ConfigError("max_tokens and dimensions must be positive")
        super().__init__(batch_size=batch_size, query_prefix=query_prefix, document_prefix=document_prefix)
        self.model = model
        self.base_url = normalize_base_url(base_url)
        self.http = OpenAIHTTP(self.base_url, api_key=api_key, timeout=timeout, what="the embedding server")
        self.retry = retry or RetryPolicy(max_attempts=1)
        self.retry_clock = retry_clock
        self._requested = dimensions
        self._dimensions = dimensions
        self._max_tokens = max_tokens

    @property
    def model_id(self) -> str:
        return f"openai:{self.model}@{self.base_url}"

    @property
    def dimension(self) -> int:
        if self._dimensions is None:
            self._dimensions = int(self._request(["dimension probe"]).shape[1])
        return self._dimensions

    @property
    def max_tokens(self) -> int:
        return self._max_tokens

    def count_tokens(self, text: str) -> int:
        return math.ceil(len(text.encode("utf-8")) / 3)

    def close(self) -> None:
        self.http.close()

    def _embed(self, texts: list[str]) -> np.ndarray:
        vectors = self._request(texts)
        if self._dimensions is None:
            self._dimensions = int(vectors.shape[1])
        return vectors

    def _request(self, texts: list[str]) -> np.ndarray:
        body: dict[str, Any] = {"model": self.model, "input": texts}
        if self._requested is not None:
            body["dimensions"] = self._requested

        def once() -> Any:
            status, data = self.http.post(_ENDPOINT, body)
            if status >= 400:
                raise status_error(status, data, base_url=self.base_url, endpoint=_ENDPOINT, model=self.model)
            return data

        return self._vectors(call_with_retry(once, self.retry, self.retry_clock)[0], len(texts))

    def _vectors(self, data: Any, count: int) -> np.ndarray:
        """The reply's vectors in input order (the API gives each an ``index``)."""
        try:
            items = sorted(data["data"], key=lambda item: item["index"])
            vectors = np.asarray([item["embedding"] for item in items], dtype=np.float32)
        except (KeyError, TypeError, ValueError) as exc:
            raise LLMResponseError(f"malformed reply from {self.base_url}{_ENDPOINT}: expected "
                                   f"data[].embedding lists of numbers ({str(data)[:200]})") from exc
        if vectors.ndim != 2 or vectors.shape[0] != count:
            raise EmbeddingError(f"{self.model_id}: the server returned {vectors.shape[0] if vectors.ndim else 0}"
                                 f" embeddings of shape {vectors.shape[1:]} for {count} inputs")
        return vectors
