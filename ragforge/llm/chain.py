"""``LayeredChat``: one backend wrapped in the same layers, whichever server or file it talks to.

    trace (on_event) -> cache -> fallback -> retry -> one request (the backend)

:class:`~ragforge.llm.OllamaChat`, :class:`~ragforge.llm.LlamaCppChat` and
:class:`~ragforge.llm.OpenAIChat` are LayeredChats over their own backend. A backend is anything with
``model``, ``chat(messages, tools=, format=, options=)``, ``stream(messages, format=, options=)`` and
``close()``; it makes exactly one request per call and raises :class:`~ragforge.errors.LLMError` subclasses.

``timeout`` is the whole budget of one call, retries included: the retry policy gets it as its deadline
(unless it has its own), so a server that accepts the connection and never answers costs ``timeout``
seconds, not ``timeout`` times the attempts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ragforge.errors import ConfigError
from ragforge.llm.cache import CachedChat, MemoryCache, ResponseCache
from ragforge.llm.resilience import FallbackChat, RetryingChat, TracedChat
from ragforge.llm.types import ChatModel, ChatResult, EventHook, Format, MessageLike, StreamResult, ToolLike
from ragforge.retry import RetryClock, RetryPolicy

DEFAULT_TIMEOUT = 300.0  # seconds per call: a 1.5B model on two CPU cores reads a 1,200-token prompt in ~40 s


class _FreshMemoryCache:
    """Default for ``cache=``: a new :class:`MemoryCache` per instance (never one shared by all)."""

    def __repr__(self) -> str:
        return "MemoryCache()"


FRESH_MEMORY_CACHE: Any = _FreshMemoryCache()


def check_timeout(timeout: float | None) -> float | None:
    if timeout is not None and timeout <= 0:
        raise ConfigError("timeout must be a positive number of seconds (or None for no timeout)")
    return timeout


class LayeredChat:
    """A :class:`ChatModel` made of ``backend`` and the resilience layers around it.

    Args:
        backend: the one-request backend (see the module docstring).
        retry: a :class:`RetryPolicy`, or ``None`` for no retries. Its deadline defaults to ``timeout``.
        fallbacks: models tried in order when the primary fails: a model name (resolved by
            :meth:`backend_for`, same settings) or any :class:`ChatModel`.
        cache: a :class:`MemoryCache` (the default, one per instance), :class:`SqliteCache`, or ``None``.
        on_event: called with one ``llm_call`` trace event (a dict) per call.
        retry_clock: where retries read time and sleep (tests pass a fake).
        timeout: the backend's timeout, used as the retry deadline.
        backend_for: makes a backend with the same settings for another model (a fallback given by name);
            without it, fallbacks must be ChatModel objects.
    """

    def __init__(self, backend: Any, *, retry: RetryPolicy | None = RetryPolicy(),
                 fallbacks: Sequence[str | ChatModel] = (), cache: ResponseCache | None = FRESH_MEMORY_CACHE,
                 on_event: EventHook | None = None, retry_clock: RetryClock | None = None,
                 timeout: float | None = None, backend_for: Callable[[str], Any] | None = None) -> None:
        self.backend = backend
        self._backend_for = backend_for
        self.model: str = backend.model
        if retry is not None and retry.deadline is None and timeout is not None:
            retry = retry.model_copy(update={"deadline": timeout})
        self.retry = retry
        self.cache: ResponseCache | None = MemoryCache() if cache is FRESH_MEMORY_CACHE else cache
        self._backends = [backend]
        chain = [self._retried(backend, retry_clock)]
        chain += [self._fallback(f, retry_clock) for f in fallbacks]
        layer: Any = chain[0] if len(chain) == 1 else FallbackChat(chain)
        self._cached: CachedChat | None = CachedChat(layer, self.cache) if self.cache is not None else None
        layer = self._cached or layer
        self._top: Any = TracedChat(layer, on_event) if on_event is not None else layer

    def backend_for(self, model: str) -> Any:
        """A backend for another model of the same kind and settings (for fallbacks given by name)."""
        if self._backend_for is None:
            raise ConfigError(f"{type(self).__name__} cannot fall back to a model given by name ({model!r}); "
                              "pass a ChatModel object instead")
        return self._backend_for(model)

    def _fallback(self, fallback: str | ChatModel, clock: RetryClock | None) -> ChatModel:
        if not isinstance(fallback, str):
            return fallback
        backend = self.backend_for(fallback)
        self._backends.append(backend)
        return self._retried(backend, clock)

    def _retried(self, backend: Any, clock: RetryClock | None) -> Any:
        if self.retry is None or self.retry.max_attempts == 1:
            return backend
        return RetryingChat(backend, self.retry, clock=clock)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.model!r})"

    def check(self) -> None:
        """Fail fast (an LLMError that says what to do) when the server is down or the model missing.

        Cheap: no generation, no model load where the backend can avoid it. Commands call it before they
        load an embedding model or index anything.
        """
        check = getattr(self.backend, "check", None)
        if callable(check):
            check()

    def close(self) -> None:
        """Release what the backends hold (connections; a loaded model stays shared until unused)."""
        for backend in self._backends:
            backend.close()

    def __enter__(self) -> LayeredChat:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def chat(self, messages: Sequence[MessageLike], *, tools: Sequence[ToolLike] | None = None,
             format: Format = None, options: Mapping[str, Any] | None = None, cache: bool = True) -> ChatResult:
        """One reply. ``cache=False`` neither reads nor writes the response cache."""
        extra = {"cache": cache} if self._cached is not None else {}
        return self._top.chat(messages, tools=tools, format=format, options=self._options(options), **extra)

    def stream(self, messages: Sequence[MessageLike], *, format: Format = None,
               options: Mapping[str, Any] | None = None, cache: bool = True) -> StreamResult:
        """Iterate the reply's text pieces; ``.result`` afterwards holds the whole :class:`ChatResult`."""
        extra = {"cache": cache} if self._cached is not None else {}
        return self._top.stream(messages, format=format, options=self._options(options), **extra)

    def _options(self, options: Mapping[str, Any] | None) -> dict[str, Any] | None:
        # merged here too (not only in the backend) so the cache key covers the options actually sent
        merged = {**getattr(self.backend, "options", {}), **dict(options or {})}
        return merged or None
