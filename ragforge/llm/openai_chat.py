"""``OpenAIChat``: a chat model on any OpenAI-compatible ``/v1/chat/completions`` server.

    from ragforge.llm import OpenAIChat
    llm = OpenAIChat("qwen2.5-coder", "http://127.0.0.1:8080/v1")   # llama-server, LM Studio, vLLM, LocalAI
    llm = make_chat_model("openai:qwen2.5-coder:1.5b@127.0.0.1:11434")  # Ollama's /v1, same client

The layers (trace -> cache -> fallback -> retry) are :class:`~ragforge.llm.chain.LayeredChat`'s; under them
:class:`OpenAIBackend` sends one HTTP request per call with httpx, in the wire format of
:mod:`ragforge.llm.openai_format`. Every request carries ``max_tokens``.

* Context: when the window is known (``max_context=``, else ``n_ctx`` / ``max_model_len`` /
  ``context_length`` in the server's ``/v1/models``, asked once per instance), a prompt that cannot fit
  raises :class:`~ragforge.errors.LLMContextError` before anything is sent, and ``max_tokens`` is lowered to
  the room left. The server's own "context exceeded" reply raises the same error.
* Typed output: ``format=`` goes out as ``response_format`` (a JSON schema, or ``json_object``). A server
  that refuses it (a 4xx naming response_format) is remembered per instance and the request sent again with
  the schema in the prompt instead; :func:`~ragforge.llm.structured` validates and re-asks either way.
* Errors: connection refused, a URL that is not an OpenAI API (an HTML page, a 404 for the endpoint, a reply
  that is not JSON), 429/5xx (retried), timeouts and malformed JSON all become one-line
  :class:`~ragforge.errors.LLMError` subclasses naming the URL.
"""

from __future__ import annotations

import json
import time
from collections.abc import Generator, Mapping, Sequence
from functools import partial
from typing import Any

from ragforge._http import (
    OpenAIHTTP,
    error_message,
    normalize_base_url,
    parse_openai_spec,
    special_status_error,
    status_error,
)
from ragforge.errors import (
    ConfigError,
    LLMConnectionError,
    LLMError,
    LLMModelNotFoundError,
    LLMResponseError,
    LLMTimeoutError,
)
from ragforge.llm.cache import ResponseCache
from ragforge.llm.chain import DEFAULT_TIMEOUT, FRESH_MEMORY_CACHE, LayeredChat, check_timeout
from ragforge.llm.openai_format import (
    StreamAssembler,
    context_error,
    error_from_body,
    estimate_tokens,
    parse_reply,
    request_body,
    response_format,
)
from ragforge.llm.types import (
    ChatModel,
    ChatResult,
    EventHook,
    Format,
    Message,
    MessageLike,
    StreamResult,
    ToolLike,
    as_messages,
)
from ragforge.retry import RetryClock, RetryPolicy

__all__ = ["OpenAIBackend", "OpenAIChat", "parse_openai_spec"]

_ENDPOINT = "/chat/completions"
_MIN_REPLY = 16  # a prompt that leaves less room than this for the reply does not fit
_REFUSAL_WORDS = ("response_format", "response format", "json_schema", "json_object")
_CONTEXT_KEYS = ("max_model_len", "context_length", "max_context_length", "n_ctx")


class _FormatRefused(Exception):
    """The server refused ``response_format`` (internal: the backend resends with the schema in the prompt)."""


class OpenAIBackend:
    """Exactly one HTTP request per call (see :class:`OpenAIChat` for the layers and the two exceptions).

    Once per instance it may also ask ``GET /v1/models`` for the context window, and resend a request whose
    ``response_format`` the server refused.
    """

    def __init__(self, model: str, base_url: str | None = None, *, api_key: str | None = None,
                 timeout: float | None = DEFAULT_TIMEOUT, max_tokens: int = 1024, max_context: int | None = None,
                 options: Mapping[str, Any] | None = None) -> None:
        if not model:
            raise ConfigError("OpenAIChat needs a model name, e.g. OpenAIChat('qwen2.5-coder') "
                              "(llama-server answers to any name)")
        if max_tokens < 1:
            raise ConfigError("max_tokens must be >= 1")
        if max_context is not None and max_context <= _MIN_REPLY:
            raise ConfigError(f"max_context must be more than {_MIN_REPLY} tokens (or None to ask the server)")
        self.model = model
        self.base_url = normalize_base_url(base_url)
        self.timeout = timeout
        self.http = OpenAIHTTP(self.base_url, api_key=api_key, timeout=timeout, what="the OpenAI-compatible server")
        self.api_key = api_key
        self.max_tokens = max_tokens
        self.max_context = max_context
        self._asked_context = max_context is not None
        self.options = dict(options or {})
        self.refused_formats: set[str] = set()  # response_format types this server refused
        self.where = f"the server at {self.base_url}"

    def __repr__(self) -> str:
        return f"OpenAIBackend({self.model!r}, base_url={self.base_url!r})"

    def close(self) -> None:
        self.http.close()

    # -- the request ---------------------------------------------------------------------------------------
    def body(self, messages: Sequence[MessageLike], *, tools: Sequence[ToolLike] | None = None,
             format: Format = None, options: Mapping[str, Any] | None = None,
             stream: bool = False) -> dict[str, Any]:
        """The /v1/chat/completions body, as sent (the schema moved into the prompt if the server refused it)."""
        merged = {**self.options, **dict(options or {})}
        asked = [merged.pop(key, None) for key in ("num_predict", "max_tokens")]  # Ollama's name, or OpenAI's
        predict = next((int(n) for n in asked if n is not None and int(n) > 0), self.max_tokens)  # -1: no limit
        messages = as_messages(messages)
        fmt = response_format(format)
        if fmt is not None and fmt["type"] in self.refused_formats:
            messages, format = prompted(messages, format), None
        merged["max_tokens"] = self.bounded(predict, estimate_tokens(messages, tools=tools, format=format))
        return request_body(self.model, messages, tools=tools, format=format, options=merged, stream=stream)

    def bounded(self, predict: int, prompt_tokens: int) -> int:
        """``predict`` lowered to the room the window leaves; LLMContextError when the prompt cannot fit."""
        window = self.context_window()
        if window is None:
            return predict
        room = window - prompt_tokens
        if room < min(predict, _MIN_REPLY):
            raise context_error(prompt_tokens, window, model=self.model)
        return min(predict, room)

    def context_window(self) -> int | None:
        """``max_context``, else the window the server reports in ``/v1/models`` (asked once), else None."""
        if not self._asked_context:
            try:
                self._models(timeout=10.0)
            except LLMError as exc:  # unknown then; a server not yet up is asked again on the next call
                self._asked_context = not isinstance(exc, LLMConnectionError)
        return self.max_context

    def check(self) -> None:
        """Fail fast: the server answers ``/v1/models`` within 5 s as an OpenAI API and, when it lists several
        models, lists this one (llama-server lists its one file and answers to any name)."""
        names = self._models(timeout=5.0)
        if len(names) > 1 and self.model not in names:
            shown = ", ".join(sorted(names)[:10])
            raise LLMModelNotFoundError(f"model {self.model!r} is not among the models {self.base_url} serves "
                                        f"({shown}); pick one of them, or load it in the server")

    def _models(self, *, timeout: float) -> list[str]:
        """The model ids ``/v1/models`` lists (none when it has no listing); learns the context window."""
        status, data = self.http.get("/models", timeout=min(self.timeout or timeout, timeout))
        if status == 404:  # no listing: nothing to learn
            self._asked_context = True
            return []
        if status >= 400:
            raise status_error(status, data, base_url=self.base_url, endpoint="/models", model=self.model)
        if not self._asked_context:
            self._asked_context = True
            self.max_context = _window(data, self.model)
        entries = data.get("data") if isinstance(data, Mapping) else None
        return [str(e["id"]) for e in entries or () if isinstance(e, Mapping) and e.get("id")]

    def _send(self, send: Any, messages: Sequence[MessageLike], **kwargs: Any) -> Any:
        """``send(body)``, again with the schema in the prompt if the server refused ``response_format``."""
        body = self.body(messages, **kwargs)
        try:
            return send(body)
        except _FormatRefused:
            self.refused_formats.add(body["response_format"]["type"])
            return send(self.body(messages, **kwargs))

    def error(self, status: int, data: Any, body: Mapping[str, Any]) -> Exception:
        """The exception for an error reply (:class:`_FormatRefused` when it refuses response_format)."""
        lowered = error_message(data).lower()
        if ("response_format" in body and (400 <= status < 500 or status == 501)
                and any(word in lowered for word in _REFUSAL_WORDS)):
            return _FormatRefused()
        special = special_status_error(status, data, base_url=self.base_url, endpoint=_ENDPOINT, model=self.model)
        return special or error_from_body(data, status=status, model=self.model, where=self.where)

    # -- chat ----------------------------------------------------------------------------------------------
    def chat(self, messages: Sequence[MessageLike], *, tools: Sequence[ToolLike] | None = None,
             format: Format = None, options: Mapping[str, Any] | None = None) -> ChatResult:
        started = time.perf_counter()

        def send(body: dict[str, Any]) -> Any:
            status, data = self.http.post(_ENDPOINT, body)
            if status >= 400:
                raise self.error(status, data, body)
            return data

        data = self._send(send, messages, tools=tools, format=format, options=options, stream=False)
        return parse_reply(data, model=self.model, latency_s=time.perf_counter() - started, where=self.where)

    # -- stream --------------------------------------------------------------------------------------------
    def stream(self, messages: Sequence[MessageLike], *, format: Format = None,
               options: Mapping[str, Any] | None = None) -> StreamResult:
        return StreamResult(self._stream(messages, format, options))

    def _stream(self, messages: Sequence[MessageLike], format: Format,
                options: Mapping[str, Any] | None) -> Generator[str, None, ChatResult]:
        started = time.perf_counter()
        deadline = None if self.timeout is None else started + self.timeout
        assembler = StreamAssembler(self.model, where=self.where)
        whole: list[ChatResult] = []  # the reply of a server that ignored "stream": true

        def send(body: dict[str, Any]) -> Generator[str, None, None]:
            return _primed(self._read(body, assembler, whole, deadline))

        yield from self._send(send, messages, format=format, options=options, stream=True)
        latency = time.perf_counter() - started
        return whole[0].model_copy(update={"latency_s": latency}) if whole else assembler.result(latency)

    def _read(self, body: dict[str, Any], assembler: StreamAssembler, whole: list[ChatResult],
              deadline: float | None) -> Generator[str, None, None]:
        with self.http.stream(_ENDPOINT, body) as response:
            if response.status_code >= 400:
                raise self.error(response.status_code, self.http.decode(response, _ENDPOINT), body)
            if "text/event-stream" not in response.headers.get("content-type", ""):
                whole.append(parse_reply(self.http.decode(response, _ENDPOINT), model=self.model, where=self.where))
                if whole[0].text:
                    yield whole[0].text
                return
            for event in _events(response.iter_lines(), self.where):
                self._check_deadline(deadline)
                piece = assembler.feed(event)
                if piece:
                    yield piece

    def _check_deadline(self, deadline: float | None) -> None:
        if deadline is not None and time.perf_counter() > deadline:
            raise LLMTimeoutError(
                f"{self.where} did not finish the reply within {self.timeout:g} s; the stream was closed "
                "(which stops the generation). Raise the timeout (--timeout), ask with fewer passages (-k), "
                "or use a smaller model")


def _primed(pieces: Generator[str, None, None]) -> Generator[str, None, None]:
    """``pieces`` with its first piece read now, so that a refused request raises inside ``_send``."""
    first = next(pieces, None)

    def rest() -> Generator[str, None, None]:
        try:
            if first is not None:
                yield first
            yield from pieces
        finally:
            pieces.close()  # a reader that stopped early closes the response, which stops the generation

    return rest()


def _events(lines: Any, where: str) -> Generator[Any, None, None]:
    """The JSON payloads of a server-sent-event stream, up to ``[DONE]``; ``error:`` events raise."""
    for line in lines:
        field, _, value = line.partition(":")
        value = value.strip()
        if field not in ("data", "error") or not value:
            continue  # blank separators, comments (": ping"), "event:" and "id:" lines
        if value == "[DONE]":
            return
        try:
            payload = json.loads(value)
        except ValueError as exc:
            raise LLMResponseError(f"malformed stream event from {where}: {value[:200]!r}") from exc
        yield {"error": payload} if field == "error" and "error" not in payload else payload


def _window(data: Any, model: str) -> int | None:
    """The context window a ``/v1/models`` listing reports for ``model`` (or its only model)."""
    entries = data.get("data") if isinstance(data, Mapping) else None
    if not isinstance(entries, list) or not entries:
        return None
    named = [e for e in entries if isinstance(e, Mapping) and e.get("id") == model]
    entry = named[0] if named else entries[0] if len(entries) == 1 else None
    if not isinstance(entry, Mapping):
        return None
    meta = entry.get("meta")
    found = {**entry, **(meta if isinstance(meta, Mapping) else {})}
    for key in _CONTEXT_KEYS:
        if isinstance(found.get(key), int) and found[key] > _MIN_REPLY:
            return int(found[key])
    return None


def prompted(messages: list[Message], format: Format) -> list[Message]:
    """``messages`` asking in words for the JSON ``format`` describes (for servers without response_format).

    The schema is added to the last user message unless a message already holds it (``structured()`` with
    ``instruct=True`` puts it there).
    """
    if format == "json":
        note = "Reply with a single JSON object and no other text."
    else:
        schema = json.dumps(format)
        if any(schema in m.content for m in messages):
            return messages
        note = "Reply with only a JSON object matching this JSON schema, no other text:\n" + schema
    out = list(messages)
    for i in range(len(out) - 1, -1, -1):
        if out[i].role == "user":
            out[i] = out[i].model_copy(update={"content": f"{out[i].content}\n\n{note}"})
            return out
    return out + [Message(role="user", content=note)]


class OpenAIChat(LayeredChat):
    """A :class:`ChatModel` on an OpenAI-compatible ``/v1/chat/completions`` server.

    Args:
        model: the model name the server knows (llama-server answers to any name).
        base_url: the API's base URL; ``http://`` and ``/v1`` are added when missing. Default
            ``$OPENAI_BASE_URL``, else ``http://127.0.0.1:8080/v1`` (llama-server's default port).
        api_key: sent as ``Authorization: Bearer``; default ``$OPENAI_API_KEY`` when set (never required).
        timeout: seconds allowed for one call, retries included (default 300: CPU-only machines are slow).
        max_tokens: the default bound on a reply's tokens (``options={"num_predict": n}`` per call).
        max_context: the model's context window in tokens; default: what the server's /v1/models reports,
            else unknown (the server's own overflow reply still raises ``LLMContextError``).
        options: Ollama-style options sent with every call (``temperature``, ``seed``, ``top_p``, ...).
        retry, fallbacks, cache, on_event, retry_clock: as for :class:`~ragforge.llm.OllamaChat`; a fallback
            given by name is another model on the same server.
    """

    def __init__(self, model: str, base_url: str | None = None, *, api_key: str | None = None,
                 timeout: float | None = DEFAULT_TIMEOUT, max_tokens: int = 1024, max_context: int | None = None,
                 options: Mapping[str, Any] | None = None, retry: RetryPolicy | None = RetryPolicy(),
                 fallbacks: Sequence[str | ChatModel] = (), cache: ResponseCache | None = FRESH_MEMORY_CACHE,
                 on_event: EventHook | None = None, retry_clock: RetryClock | None = None) -> None:
        # a fallback named by model is another model on the same server: its window is asked, not assumed
        same = partial(OpenAIBackend, base_url=base_url, api_key=api_key, timeout=check_timeout(timeout),
                       max_tokens=max_tokens, options=options)
        backend = same(model, max_context=max_context)
        self.base_url = backend.base_url
        super().__init__(backend, retry=retry, fallbacks=fallbacks, cache=cache, on_event=on_event,
                         retry_clock=retry_clock, timeout=timeout, backend_for=same)

    def __repr__(self) -> str:
        return f"OpenAIChat({self.model!r}, base_url={self.base_url!r})"
