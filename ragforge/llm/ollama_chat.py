"""``OllamaChat``: a chat model on a local (or remote) Ollama server, with resilience by default.

``OllamaChat("llama3.2")`` is the layered chain ``trace -> cache -> fallback -> retry -> one request``
(:class:`~ragforge.llm.chain.LayeredChat`) over :class:`~ragforge.llm.backend.OllamaBackend`, which sends
every request with a ``num_ctx`` that fits its prompt and a ``num_predict`` bound on the reply.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

from ragforge.errors import ConfigError
from ragforge.llm.backend import OllamaBackend
from ragforge.llm.cache import ResponseCache
from ragforge.llm.chain import DEFAULT_TIMEOUT, FRESH_MEMORY_CACHE, LayeredChat, check_timeout
from ragforge.llm.types import ChatModel, EventHook
from ragforge.retry import RetryClock, RetryPolicy


class OllamaChat(LayeredChat):
    """A :class:`ChatModel` on Ollama's /api/chat.

    Args:
        model: an Ollama model name, e.g. ``"llama3.2"`` or ``"qwen2.5-coder:1.5b"``.
        host: the server URL; default ``$OLLAMA_HOST`` or ``http://127.0.0.1:11434``.
        timeout: seconds allowed for one call, retries included (default 300: CPU-only machines are slow).
        keep_alive: how long the server keeps the model loaded (``"5m"``, seconds, ``0`` to unload).
        options: Ollama options sent with every request (``temperature``, ``seed``, ``num_ctx``, ...);
            per-call ``options=`` are merged over them.
        max_tokens: the default ``num_predict`` (a bound on the reply's tokens) when options give none.
        max_context: the largest ``num_ctx`` sent; a prompt that cannot fit raises ``LLMContextError``.
        retry: a :class:`RetryPolicy`, or ``None`` for no retries.
        fallbacks: models tried in order when the primary fails: a model name (same host and settings) or any
            :class:`ChatModel` (e.g. ``OllamaChat("llama3.2", host="http://other:11434", cache=None)``).
        cache: a :class:`MemoryCache`, :class:`SqliteCache` (or any ``ResponseCache``), or ``None``.
        on_event: called with one ``llm_call`` trace event (a dict) per call.
        retry_clock: where retries read time and sleep (tests pass a fake).
    """

    def __init__(
        self,
        model: str,
        host: str | None = None,
        *,
        timeout: float | None = DEFAULT_TIMEOUT,
        keep_alive: float | str | None = None,
        options: Mapping[str, Any] | None = None,
        max_tokens: int = 1024,
        max_context: int = 32768,
        retry: RetryPolicy | None = RetryPolicy(),
        fallbacks: Sequence[str | ChatModel] = (),
        cache: ResponseCache | None = FRESH_MEMORY_CACHE,
        on_event: EventHook | None = None,
        retry_clock: RetryClock | None = None,
    ) -> None:
        if not model:
            raise ConfigError("OllamaChat needs a model name, e.g. OllamaChat('llama3.2')")
        same = partial(OllamaBackend, host=host, timeout=check_timeout(timeout), keep_alive=keep_alive,
                       options=options, max_tokens=max_tokens, max_context=max_context)
        backend = same(model)
        self.host = backend.host
        super().__init__(backend, retry=retry, fallbacks=fallbacks, cache=cache, on_event=on_event,
                         retry_clock=retry_clock, timeout=timeout, backend_for=same)

    def __repr__(self) -> str:
        return f"OllamaChat({self.model!r}, host={self.host!r})"

    def list_models(self) -> list[str]:
        """Names of the models pulled on the server (``/api/tags``)."""
        from ragforge._ollama import ollama_errors

        with ollama_errors(model=self.model, host=self.host, timeout=self.backend.timeout):
            listing = self.backend.client.list()
        return [m.model for m in listing.models if m.model]
