"""One request to Ollama's /api/chat through the official ``ollama`` client; errors translated here.

The request body is formed here in Ollama's documented shape and sent with the client's own transport and
reply parsing (``Client._request`` + ``ollama.ChatResponse``). The public ``Client.chat`` is not used because
it re-validates ``tools`` through ``ollama.Tool``, whose ``Property`` type drops nested ``properties``,
``anyOf`` and ``default`` (ollama-python issue #724), so nested pydantic arguments would never reach the
server.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Mapping, Sequence
from typing import Any

from ragforge._ollama import make_client, ollama_errors, resolve_host
from ragforge.llm.openai_format import context_error, estimate_tokens
from ragforge.llm.types import (
    ChatResult,
    Format,
    MessageLike,
    StreamResult,
    ToolCall,
    ToolLike,
    Usage,
    as_messages,
    tool_schemas,
)


class OllamaBackend:
    """Exactly one HTTP request per call; no retry, cache or fallback (those are layers around it)."""

    def __init__(
        self,
        model: str,
        host: str | None = None,
        *,
        timeout: float | None = 300.0,
        keep_alive: float | str | None = None,
        options: Mapping[str, Any] | None = None,
        max_tokens: int = 1024,
        max_context: int = 32768,
    ) -> None:
        self.model = model
        self.host = resolve_host(host)
        self.timeout = timeout
        self.keep_alive = keep_alive
        self.options = dict(options or {})
        self.max_tokens = max_tokens
        self.max_context = max_context
        self._client = None

    def __repr__(self) -> str:
        return f"OllamaBackend({self.model!r}, host={self.host!r})"

    @property
    def client(self):
        if self._client is None:
            self._client = make_client(self.host, self.timeout)
        return self._client

    def check(self) -> None:
        """The server answers (within 5 s) and has the model pulled; else the LLMError that says what to run."""
        from ragforge._ollama import make_client
        from ragforge.errors import LLMModelNotFoundError

        client = make_client(self.host, min(5.0, self.timeout or 5.0))
        try:
            with ollama_errors(model=self.model, host=self.host, timeout=5.0):
                names = [m.model for m in client.list().models if m.model]
        finally:
            client.close()
        wanted = {self.model, f"{self.model}:latest"}
        if not wanted & set(names):
            raise LLMModelNotFoundError(f"model {self.model!r} is not available on the Ollama server at "
                                        f"{self.host}; run `ollama pull {self.model}`")

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def body(self, messages, *, tools=None, format: Format = None, options=None, stream: bool) -> dict:
        """The /api/chat request body, as sent."""
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [m.to_ollama() for m in as_messages(messages)],
            "stream": stream,
        }
        schemas = tool_schemas(tools)
        if schemas:
            body["tools"] = schemas
        if format is not None:
            body["format"] = format
        merged = {**self.options, **dict(options or {})}
        top = merged.pop("top_logprobs", None)
        if merged.pop("logprobs", None) or top:
            body["logprobs"] = True
        if top:
            body["top_logprobs"] = int(top)
        body["options"] = self.sized(merged, body["messages"], schemas, format)
        if self.keep_alive is not None:
            body["keep_alive"] = self.keep_alive
        return body

    def sized(self, options: dict[str, Any], messages: list[dict[str, Any]], tools: list[dict[str, Any]],
              format: Format) -> dict[str, Any]:
        """``options`` with a ``num_predict`` bound and a ``num_ctx`` that holds the prompt and the reply.

        ``num_ctx`` is a power of two from 2,048 (Ollama reloads a model when it changes, so few sizes are
        used); an explicit ``num_ctx`` is left alone. A prompt that cannot fit ``max_context`` fails here,
        before anything is sent.
        """
        sized = dict(options)
        predict = sized.setdefault("num_predict", self.max_tokens)
        if "num_ctx" in sized:
            return sized
        needed = estimate_tokens(messages, tools=tools, format=format) + max(0, int(predict or 0))
        window = 2048
        while window < needed and window < self.max_context:
            window *= 2
        if needed > min(window, self.max_context):
            raise context_error(needed, self.max_context, model=self.model)
        sized["num_ctx"] = window
        return sized

    def chat(
        self,
        messages: Sequence[MessageLike],
        *,
        tools: Sequence[ToolLike] | None = None,
        format: Format = None,
        options: Mapping[str, Any] | None = None,
    ) -> ChatResult:
        from ollama import ChatResponse

        body = self.body(messages, tools=tools, format=format, options=options, stream=False)
        started = time.perf_counter()
        with ollama_errors(model=self.model, host=self.host, timeout=self.timeout):
            reply = self.client._request(ChatResponse, "POST", "/api/chat", json=body, stream=False)
        msg = reply.message
        return ChatResult(
            text=msg.content or "",
            tool_calls=_calls(msg.tool_calls),
            model=reply.model or self.model,
            usage=_usage(reply),
            latency_s=time.perf_counter() - started,
            done_reason=reply.done_reason,
            **_token_logprobs(getattr(reply, "logprobs", None) or ()),
        )

    def stream(
        self,
        messages: Sequence[MessageLike],
        *,
        format: Format = None,
        options: Mapping[str, Any] | None = None,
    ) -> StreamResult:
        body = self.body(messages, format=format, options=options, stream=True)
        return StreamResult(self._stream(body))

    def _stream(self, body: dict[str, Any]) -> Generator[str, None, ChatResult]:
        from ollama import ChatResponse

        started = time.perf_counter()
        parts: list[str] = []
        calls: list[ToolCall] = []
        logprobs: list[Any] = []
        last = None
        with ollama_errors(model=self.model, host=self.host, timeout=self.timeout):
            chunks = self.client._request(ChatResponse, "POST", "/api/chat", json=body, stream=True)
            for chunk in chunks:
                last = chunk
                calls.extend(_calls(chunk.message.tool_calls))
                logprobs.extend(getattr(chunk, "logprobs", None) or ())
                if chunk.message.content:
                    parts.append(chunk.message.content)
                    yield chunk.message.content
        return ChatResult(
            text="".join(parts),
            tool_calls=calls,
            model=(last.model if last is not None and last.model else self.model),
            usage=_usage(last) if last is not None else Usage(),
            latency_s=time.perf_counter() - started,
            done_reason=last.done_reason if last is not None else None,
            **_token_logprobs(logprobs),
        )


def _token_logprobs(items: Sequence[Any]) -> dict[str, Any]:
    """ChatResult's ``logprobs``, ``tokens`` and ``top_logprobs`` from Ollama's per-token logprobs."""
    if not items:
        return {"logprobs": None, "tokens": None, "top_logprobs": None}
    top = [[(alt.token, alt.logprob) for alt in getattr(lp, "top_logprobs", None) or ()] for lp in items]
    return {"logprobs": [lp.logprob for lp in items], "tokens": [lp.token for lp in items],
            "top_logprobs": top if any(top) else None}


def _calls(raw) -> list[ToolCall]:
    return [ToolCall(name=c.function.name, arguments=dict(c.function.arguments or {})) for c in raw or ()]


def _usage(reply) -> Usage:
    total = reply.total_duration
    return Usage(
        prompt_tokens=reply.prompt_eval_count or 0,
        completion_tokens=reply.eval_count or 0,
        total_duration_s=total / 1e9 if total else None,
    )
