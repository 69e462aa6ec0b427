"""``OllamaEmbedder``: embeddings from a model served by Ollama (``POST /api/embed``) for the index.

    make_embedder("ollama:nomic-embed-text")  # or OllamaEmbedder("nomic-embed-text", host="http://gpu:11434")

Nothing is contacted at construction. The dimension and context length are read from ``/api/show`` on first
need (a missing model fails there, with ``ollama pull NAME`` in the message). Calls are retried on connection
errors, timeouts, 429 and 5xx under a :class:`~ragforge.retry.RetryPolicy`. Token counts are an estimate
(Ollama's API has no tokenizer endpoint): one token per 3 bytes of UTF-8, which over-counts English, so
chunks sized with it stay inside the model's window.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from ragforge._ollama import make_client, ollama_errors, resolve_host
from ragforge.embedding.base import BaseEmbedder
from ragforge.errors import ConfigError, EmbeddingError
from ragforge.retry import RetryClock, RetryPolicy, call_with_retry

_DEFAULT_WINDOW = 2048  # Ollama's usual num_ctx for embedding models; the model's own length may be larger


class OllamaEmbedder(BaseEmbedder):
    """An :class:`~ragforge.embedding.base.Embedder` over Ollama's /api/embed.

    Args:
        model: an Ollama embedding model, e.g. ``"nomic-embed-text"``, ``"mxbai-embed-large"``, ``"bge-m3"``.
        host: server URL; default ``$OLLAMA_HOST`` or ``http://127.0.0.1:11434``.
        timeout: seconds per HTTP request.
        dimensions: ask the server to truncate vectors to this size (Matryoshka models only).
        max_tokens: the input window; default the model's context length, at most 2048 (Ollama's usual
            ``num_ctx``), or ``options["num_ctx"]`` when given.
        truncate: let the server cut inputs longer than the window (else it answers with an error).
        retry: a :class:`RetryPolicy`, or ``None`` for a single attempt.
    """

    def __init__(
        self,
        model: str,
        host: str | None = None,
        *,
        timeout: float | None = 60.0,
        keep_alive: float | str | None = None,
        batch_size: int = 32,
        query_prefix: str = "",
        document_prefix: str = "",
        dimensions: int | None = None,
        max_tokens: int | None = None,
        truncate: bool = True,
        options: Mapping[str, Any] | None = None,
        retry: RetryPolicy | None = RetryPolicy(),
        retry_clock: RetryClock | None = None,
    ) -> None:
        if not model:
            raise ConfigError("OllamaEmbedder needs a model name, e.g. 'nomic-embed-text'")
        super().__init__(batch_size=batch_size, query_prefix=query_prefix, document_prefix=document_prefix)
        self.model = model
        self.host = resolve_host(host)
        self.timeout = timeout
        self.keep_alive = keep_alive
        self.truncate = truncate
        self.options = dict(options or {})
        self.retry = retry or RetryPolicy(max_attempts=1)
        self.retry_clock = retry_clock
        self._dimensions = dimensions
        self._max_tokens = max_tokens
        self._info: dict[str, int] | None = None
        self._client = None

    @property
    def model_id(self) -> str:
        return f"ollama:{self.model}"

    @property
    def dimension(self) -> int:
        if self._dimensions is None:
            self._dimensions = self._model_info().get("embedding_length") or self._probe_dimension()
        return self._dimensions

    @property
    def max_tokens(self) -> int:
        if self._max_tokens is None:
            window = int(self.options.get("num_ctx") or _DEFAULT_WINDOW)
            length = self._model_info().get("context_length") or window
            self._max_tokens = min(length, window)
        return self._max_tokens

    def count_tokens(self, text: str) -> int:
        return math.ceil(len(text.encode("utf-8")) / 3)

    @property
    def client(self):
        if self._client is None:
            self._client = make_client(self.host, self.timeout)
        return self._client

    def _call(self, fn):
        def once():
            with ollama_errors(model=self.model, host=self.host, timeout=self.timeout):
                return fn()

        return call_with_retry(once, self.retry, self.retry_clock)[0]

    def _model_info(self) -> dict[str, int]:
        """``embedding_length`` and ``context_length`` from /api/show's ``model_info`` (when present)."""
        if self._info is None:
            shown = self._call(lambda: self.client.show(self.model))
            info: dict[str, int] = {}
            for key, value in (shown.modelinfo or {}).items():
                for field in ("embedding_length", "context_length"):
                    if key.endswith("." + field) and isinstance(value, int):
                        info[field] = value
            self._info = info
        return self._info

    def _probe_dimension(self) -> int:
        return int(self._request(["dimension probe"]).shape[1])

    def _request(self, texts: list[str]) -> np.ndarray:
        reply = self._call(lambda: self.client.embed(
            model=self.model, input=texts, truncate=self.truncate, options=self.options or None,
            keep_alive=self.keep_alive, dimensions=self._dimensions,
        ))
        vectors = np.asarray(reply.embeddings, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(texts):
            raise EmbeddingError(
                f"{self.model_id}: Ollama returned {len(reply.embeddings)} embeddings for {len(texts)} inputs"
            )
        return vectors

    def _embed(self, texts: list[str]) -> np.ndarray:
        return self._request(texts)
