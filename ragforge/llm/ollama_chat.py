"""``OllamaChat``: a chat model on a local (or remote) Ollama server, with resilience by default.

``OllamaChat("llama3.2")`` is the layered chain ``trace -> cache -> fallback -> retry -> one request``:

* one request: :class:`~ragforge.llm.backend.OllamaBackend` (errors translated to ``LLMError`` subclasses);
* retry: :class:`RetryingChat` with ``retry`` (``RetryPolicy()`` by default; ``None`` disables it);
* fallback: :class:`FallbackChat` over the primary model then ``fallbacks`` (each retried on its own);
* cache: :class:`CachedChat` with ``cache`` (a fresh ``MemoryCache()`` by default; ``None`` disables it);
* trace: ``on_event(event)`` once per call, when given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ragforge.retry import RetryClock, RetryPolicy
from ragforge.errors import ConfigError
from ragforge.llm.backend import OllamaBackend
from ragforge.llm.cache import CachedChat, MemoryCache, ResponseCache
from ragforge.llm.resilience import FallbackChat, RetryingChat, TracedChat
from ragforge.llm.types import ChatModel, ChatResult, EventHook, Format, MessageLike, StreamResult, ToolLike


class _FreshMemoryCache:
    """Default for ``cache=``: a new :class:`MemoryCache` per instance (never one shared by all)."""

    def __repr__(self) -> str:
        return "MemoryCache()"


_MEMORY = _FreshMemoryCache()


class OllamaChat:
    """A :class:`ChatModel` on Ollama's /api/chat.

    Args:
        model: an Ollama model name, e.g. ``"llama3.2"`` or ``"qwen2.5:7b"``.
        host: the server URL; default ``$OLLAMA_HOST`` or ``http://127.0.0.1:11434``.
        timeout: seconds allowed for each HTTP request (connect and each read).
        keep_alive: how long the server keeps the model loaded (``"5m"``, seconds, ``0`` to unload).
        options: Ollama options sent with every request (``temperature``, ``seed``, ``num_ctx``, ...);
            per-call ``options=`` are merged over them.
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
        timeout: float | None = 60.0,
        keep_alive: float | str | None = None,
        options: Mapping[str, Any] | None = None,
        retry: RetryPolicy | None = RetryPolicy(),
        fallbacks: Sequence[str | ChatModel] = (),
        cache: ResponseCache | None = _MEMORY,  # type: ignore[assignment]
        on_event: EventHook | None = None,
        retry_clock: RetryClock | None = None,
    ) -> None:
        if not model:
            raise ConfigError("OllamaChat needs a model name, e.g. OllamaChat('llama3.2')")
        if timeout is not None and timeout <= 0:
            raise ConfigError("timeout must be a positive number of seconds (or None for no timeout)")
        self.model = model
        self.backend = OllamaBackend(model, host, timeout=timeout, keep_alive=keep_alive, options=options)
        self.host = self.backend.host
        self.retry = retry
        self.cache: ResponseCache | None = MemoryCache() if cache is _MEMORY else cache
        self._backends = [self.backend]
        chain = [self._retried(self.backend, retry_clock)]
        chain += [self._fallback(f, retry_clock) for f in fallbacks]
        layer: Any = chain[0] if len(chain) == 1 else FallbackChat(chain)
        self._cached: CachedChat | None = CachedChat(layer, self.cache) if self.cache is not None else None
        layer = self._cached or layer
        self._top: Any = TracedChat(layer, on_event) if on_event is not None else layer

    def _fallback(self, fallback: str | ChatModel, clock: RetryClock | None) -> ChatModel:
        if not isinstance(fallback, str):
            return fallback
        main = self.backend
        backend = OllamaBackend(fallback, main.host, timeout=main.timeout, keep_alive=main.keep_alive,
                                options=main.options)
        self._backends.append(backend)
        return self._retried(backend, clock)

    def _retried(self, backend: OllamaBackend, clock: RetryClock | None) -> ChatModel:
        if self.retry is None or self.retry.max_attempts == 1:
            return backend
        return RetryingChat(backend, self.retry, clock=clock)

    def __repr__(self) -> str:
        return f"OllamaChat({self.model!r}, host={self.host!r})"

    def close(self) -> None:
        """Close the HTTP connections this instance opened (fallback models passed as objects are theirs)."""
        for backend in self._backends:
            backend.close()

    def __enter__(self) -> "OllamaChat":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def chat(
        self,
        messages: Sequence[MessageLike],
        *,
        tools: Sequence[ToolLike] | None = None,
        format: Format = None,
        options: Mapping[str, Any] | None = None,
        cache: bool = True,
    ) -> ChatResult:
        """One reply. ``cache=False`` neither reads nor writes the response cache."""
        extra = {"cache": cache} if self._cached is not None else {}
        return self._top.chat(messages, tools=tools, format=format, options=self._options(options), **extra)

    def stream(
        self,
        messages: Sequence[MessageLike],
        *,
        format: Format = None,
        options: Mapping[str, Any] | None = None,
        cache: bool = True,
    ) -> StreamResult:
        """Iterate the reply's text pieces; ``.result`` afterwards holds the whole :class:`ChatResult`."""
        extra = {"cache": cache} if self._cached is not None else {}
        return self._top.stream(messages, format=format, options=self._options(options), **extra)

    def _options(self, options: Mapping[str, Any] | None) -> dict[str, Any] | None:
        # merged here too (not only in the backend) so the cache key covers the options actually sent
        merged = {**self.backend.options, **dict(options or {})}
        return merged or None

    def list_models(self) -> list[str]:
        """Names of the models pulled on the server (``/api/tags``)."""
        from ragforge._ollama import ollama_errors

        with ollama_errors(model=self.model, host=self.host, timeout=self.backend.timeout):
            listing = self.backend.client.list()
        return [m.model for m in listing.models if m.model]
