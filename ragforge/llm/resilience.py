"""Resilience layers, each a :class:`ChatModel` wrapping another: retry, fallback, and tracing.

Compose them by hand or let :class:`~ragforge.llm.OllamaChat` do it: cache -> fallback -> retry -> request.

Streams are retried (and fall back) only before their first piece arrives: once text has reached the caller,
a failure is raised rather than silently restarting the reply.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from typing import Any

from ragforge.errors import ConfigError, LLMError
from ragforge.llm.types import (
    ChatModel,
    ChatResult,
    EventHook,
    Format,
    MessageLike,
    StreamResult,
    as_messages,
)
from ragforge.retry import RetryClock, RetryPolicy, call_with_retry, next_delay


class RetryingChat:
    """Retries ``inner`` on retryable errors (connection, timeout, 429, 5xx) with backoff; never on other 4xx.

    ``clock`` supplies ``now``/``sleep``/``rng``; pass a fake one in tests so no real time passes.
    The result's ``retries`` says how many retries it took.
    """

    def __init__(self, inner: ChatModel, policy: RetryPolicy | None = None, *,
                 clock: RetryClock | None = None) -> None:
        self.inner = inner
        self.policy = policy or RetryPolicy()
        self.clock = clock or RetryClock()
        self.model = inner.model

    def chat(self, messages, *, tools=None, format: Format = None, options=None) -> ChatResult:
        def once() -> ChatResult:
            return self.inner.chat(messages, tools=tools, format=format, options=options)

        result, retries = call_with_retry(once, self.policy, self.clock)
        return result.model_copy(update={"retries": result.retries + retries})

    def stream(self, messages, *, format: Format = None, options=None) -> StreamResult:
        return StreamResult(self._stream(messages, format, options))

    def _stream(self, messages, format, options) -> Generator[str, None, ChatResult]:
        started = self.clock.now()
        attempt = 1
        while True:
            inner = self.inner.stream(messages, format=format, options=options)
            pieces = iter(inner)
            try:
                first = next(pieces, None)
                break
            except LLMError as exc:
                delay = next_delay(self.policy, exc, attempt, started, self.clock)
                if delay is None:
                    raise
            self.clock.sleep(delay)
            attempt += 1
        if first is not None:
            yield first
            yield from pieces
        return inner.result.model_copy(update={"retries": inner.result.retries + attempt - 1})


def _describe(model: ChatModel, exc: LLMError) -> str:
    return f"{model.model}: {type(exc).__name__}: {exc}"


class FallbackChat:
    """Tries ``models`` in order; the first that answers wins and the result records why earlier ones failed.

    Falls back on any :class:`LLMError` of the types in ``fallback_on`` (all of them by default: a missing
    model, a dead host or a 4xx such as "model does not support tools" may all be cured by another model).
    When every model fails, the last error's type is raised with every reason in its message.
    """

    def __init__(self, models: Sequence[ChatModel], *, fallback_on: tuple[type[LLMError], ...] = (LLMError,)):
        if not models:
            raise ConfigError("FallbackChat needs at least one model")
        self.models = list(models)
        self.fallback_on = fallback_on
        self.model = self.models[0].model

    def chat(self, messages, *, tools=None, format: Format = None, options=None) -> ChatResult:
        reasons: list[str] = []
        for candidate in self.models:
            try:
                result = candidate.chat(messages, tools=tools, format=format, options=options)
            except self.fallback_on as exc:
                reasons.append(_describe(candidate, exc))
                last = exc
                continue
            return self._mark(result, reasons)
        raise self._exhausted(last, reasons) from last

    def stream(self, messages, *, format: Format = None, options=None) -> StreamResult:
        return StreamResult(self._stream(messages, format, options))

    def _stream(self, messages, format, options) -> Generator[str, None, ChatResult]:
        reasons: list[str] = []
        for candidate in self.models:
            inner = candidate.stream(messages, format=format, options=options)
            pieces = iter(inner)
            try:
                first = next(pieces, None)
            except self.fallback_on as exc:
                reasons.append(_describe(candidate, exc))
                last = exc
                continue
            if first is not None:
                yield first
                yield from pieces
            return self._mark(inner.result, reasons)
        raise self._exhausted(last, reasons) from last

    @staticmethod
    def _mark(result: ChatResult, reasons: list[str]) -> ChatResult:
        if not reasons:
            return result
        return result.model_copy(update={"fallback_reason": "; ".join(reasons)})

    @staticmethod
    def _exhausted(last: LLMError, reasons: list[str]) -> LLMError:
        try:
            error = type(last)("every model failed: " + "; ".join(reasons))
        except TypeError:  # a subclass with another constructor: keep the original
            return last
        return error


class TracedChat:
    """Calls ``on_event`` once per call with a trace event (a dict), success or failure.

    Event keys: ``type`` ("llm_call"), ``model``, ``prompt_chars``, ``reply_chars``, ``latency_s``,
    ``cache_hit``, ``retries``, ``fallback`` (the reason, or None), ``tool_calls`` (how many),
    ``prompt_tokens``, ``completion_tokens``, ``stream``, ``error`` (``"Type: message"`` or None).
    """

    def __init__(self, inner: ChatModel, on_event: EventHook, *, clock: Callable[[], float] | None = None):
        import time

        self.inner = inner
        self.on_event = on_event
        self.clock = clock or time.perf_counter
        self.model = inner.model

    def chat(self, messages, *, tools=None, format: Format = None, options=None, **extra: Any) -> ChatResult:
        started = self.clock()
        try:
            result = self.inner.chat(messages, tools=tools, format=format, options=options, **extra)
        except LLMError as exc:
            self._emit(messages, None, started, error=exc, stream=False)
            raise
        self._emit(messages, result, started, stream=False)
        return result

    def stream(self, messages, *, format: Format = None, options=None, **extra: Any) -> StreamResult:
        return StreamResult(self._stream(messages, format, options, extra))

    def _stream(self, messages, format, options, extra) -> Generator[str, None, ChatResult]:
        started = self.clock()
        inner = self.inner.stream(messages, format=format, options=options, **extra)
        try:
            yield from inner
            result = inner.result
        except LLMError as exc:
            self._emit(messages, None, started, error=exc, stream=True)
            raise
        self._emit(messages, result, started, stream=True)
        return result

    def _emit(self, messages, result: ChatResult | None, started: float, *, stream: bool, error=None) -> None:
        latency = self.clock() - started
        self.on_event(chat_event(messages, result, latency, model=self.model, stream=stream, error=error))


def chat_event(
    messages: Sequence[MessageLike], result: ChatResult | None, latency_s: float, *, model: str,
    stream: bool = False, error: BaseException | None = None,
) -> dict[str, Any]:
    """The ``llm_call`` trace event for one call."""
    prompt_chars = sum(len(m.content) for m in as_messages(messages))
    return {
        "type": "llm_call",
        "model": result.model if result is not None and result.model else model,
        "prompt_chars": prompt_chars,
        "reply_chars": len(result.text) if result is not None else 0,
        "latency_s": latency_s,
        "cache_hit": bool(result is not None and result.cached),
        "retries": result.retries if result is not None else 0,
        "fallback": result.fallback_reason if result is not None else None,
        "tool_calls": len(result.tool_calls) if result is not None else 0,
        "prompt_tokens": result.usage.prompt_tokens if result is not None else 0,
        "completion_tokens": result.usage.completion_tokens if result is not None else 0,
        "stream": stream,
        "error": f"{type(error).__name__}: {error}" if error is not None else None,
    }

