"""The OpenAI chat-completions wire format, shared by every backend that speaks it.

llama.cpp in-process (:mod:`ragforge.llm.llamacpp`) and any ``/v1/chat/completions`` server
(:mod:`ragforge.llm.openai_chat`) take the same request body and give the same replies; this module builds
the one and reads the other, so both backends stay a transport and nothing more.

* :func:`request_body` - messages, tools, ``format`` (``"json"`` or a JSON schema -> ``response_format``),
  Ollama-style ``options`` mapped to OpenAI fields (``num_predict`` -> ``max_tokens``, ...).
* :func:`parse_reply` / :class:`StreamAssembler` - a reply or a stream of chunks -> :class:`ChatResult`.
* :func:`error_from_body` - an error reply -> the :class:`~ragforge.errors.LLMError` a user can act on.
* :func:`estimate_tokens` - a cautious token count for a request, before it is sent.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from ragforge.errors import (
    LLMContextError,
    LLMError,
    LLMModelNotFoundError,
    LLMRateLimitError,
    LLMRequestError,
    LLMResponseError,
    LLMServerError,
)
from ragforge.llm.types import ChatResult, Format, Message, MessageLike, ToolCall, Usage, as_messages, tool_schemas

# Ollama option name -> OpenAI request field (options without an equivalent are dropped)
_OPTION_FIELDS = {
    "temperature": "temperature",
    "top_p": "top_p",
    "top_k": "top_k",
    "min_p": "min_p",
    "seed": "seed",
    "num_predict": "max_tokens",
    "max_tokens": "max_tokens",
    "stop": "stop",
    "repeat_penalty": "repeat_penalty",
    "presence_penalty": "presence_penalty",
    "frequency_penalty": "frequency_penalty",
    "top_logprobs": "top_logprobs",
}


def openai_message(message: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        out["tool_calls"] = [
            {"id": call.id or f"call_{i}", "type": "function",
             "function": {"name": call.name, "arguments": json.dumps(call.arguments, ensure_ascii=False)}}
            for i, call in enumerate(message.tool_calls)
        ]
    if message.role == "tool" and message.tool_name:
        out["name"] = message.tool_name
    return out


def openai_tools(tools: Sequence[Any] | None) -> list[dict[str, Any]]:
    """Tool schemas in OpenAI's shape (ours are already ``{"type": "function", "function": {...}}``)."""
    out = []
    for schema in tool_schemas(tools):
        out.append(schema if "function" in schema else {"type": "function", "function": schema})
    return out


def response_format(format: Format) -> dict[str, Any] | None:
    if format is None:
        return None
    if format == "json":
        return {"type": "json_object"}
    return {"type": "json_schema", "json_schema": {"name": "reply", "strict": True, "schema": format}}


def request_body(model: str, messages: Sequence[MessageLike], *, tools: Sequence[Any] | None = None,
                 format: Format = None, options: Mapping[str, Any] | None = None,
                 stream: bool = False) -> dict[str, Any]:
    """The /v1/chat/completions body, with Ollama-style ``options`` mapped to OpenAI fields."""
    body: dict[str, Any] = {"model": model, "messages": [openai_message(m) for m in as_messages(messages)],
                            "stream": stream}
    schemas = openai_tools(tools)
    if schemas:
        body["tools"] = schemas
    fmt = response_format(format)
    if fmt is not None:
        body["response_format"] = fmt
    for name, value in dict(options or {}).items():
        field = _OPTION_FIELDS.get(name)
        if field is not None and value is not None:
            body[field] = value
    if (options or {}).get("logprobs") or (options or {}).get("top_logprobs"):
        body["logprobs"] = True
    if stream:
        body["stream_options"] = {"include_usage": True}
    return body


def _tool_calls(raw: Any) -> list[ToolCall]:
    calls = []
    for item in raw or ():
        fn = item.get("function") or {}
        args = fn.get("arguments") or {}
        if isinstance(args, str):
            try:
                args = json.loads(args) if args.strip() else {}
            except json.JSONDecodeError as exc:
                raise LLMResponseError(f"a tool call's arguments are not JSON: {args[:200]!r}") from exc
        if not isinstance(args, dict):
            raise LLMResponseError(f"a tool call's arguments are not a JSON object: {args!r}")
        calls.append(ToolCall(name=str(fn.get("name") or ""), arguments=args, id=item.get("id")))
    return calls


def _usage(data: Mapping[str, Any]) -> Usage:
    usage = data.get("usage") or {}
    timings = data.get("timings") or {}
    millis = (timings.get("prompt_ms") or 0) + (timings.get("predicted_ms") or 0)
    return Usage(prompt_tokens=int(usage.get("prompt_tokens") or 0),
                 completion_tokens=int(usage.get("completion_tokens") or 0),
                 total_duration_s=millis / 1000 if millis else None)


def parse_reply(data: Any, *, model: str, latency_s: float = 0.0, where: str = "the server") -> ChatResult:
    """A non-streamed reply -> :class:`ChatResult`; an error body raises the matching LLMError."""
    if not isinstance(data, Mapping):
        raise LLMResponseError(f"malformed reply from {where}: expected a JSON object, got {type(data).__name__}")
    if "error" in data:
        raise error_from_body(data, status=None, model=model, where=where)
    try:
        choice = data["choices"][0]
        message = choice.get("message") or {}
    except (KeyError, IndexError, TypeError, AttributeError) as exc:
        raise LLMResponseError(f"malformed reply from {where}: no choices[0].message ({str(data)[:200]})") \
            from exc
    return ChatResult(text=message.get("content") or "", tool_calls=_tool_calls(message.get("tool_calls")),
                      model=str(data.get("model") or model), usage=_usage(data), latency_s=latency_s,
                      done_reason=choice.get("finish_reason"), **TokenLogprobs().add(choice).fields())


class TokenLogprobs:
    """The generated tokens' log-probabilities of a reply's choice (or of a stream's chunks), with the
    tokens and their likeliest alternatives when the server sent them."""

    def __init__(self) -> None:
        self.logprobs: list[float] = []
        self.tokens: list[str] = []
        self.top: list[list[tuple[str, float]]] = []

    def add(self, choice: Mapping[str, Any]) -> TokenLogprobs:
        content = (choice.get("logprobs") or {}).get("content") or ()
        for item in content:
            if not isinstance(item, Mapping) or "logprob" not in item:
                continue
            self.logprobs.append(float(item["logprob"]))
            self.tokens.append(str(item.get("token") or ""))
            alternatives = item.get("top_logprobs") or ()
            self.top.append([(str(alt.get("token") or ""), float(alt["logprob"]))
                             for alt in alternatives if isinstance(alt, Mapping) and "logprob" in alt])
        return self

    def fields(self) -> dict[str, Any]:
        """``logprobs``, ``tokens`` and ``top_logprobs`` for :class:`ChatResult` (None when absent)."""
        return {"logprobs": self.logprobs or None, "tokens": self.tokens if self.logprobs else None,
                "top_logprobs": self.top if any(self.top) else None}


class StreamAssembler:
    """Feed it the stream's chunks (dicts); it returns each text piece and, at the end, the ChatResult."""

    def __init__(self, model: str, where: str = "the server") -> None:
        self.model = model
        self.where = where
        self.parts: list[str] = []
        self.calls: dict[int, dict[str, Any]] = {}
        self.finish: str | None = None
        self.usage = Usage()
        self.server_model = ""
        self.logprobs = TokenLogprobs()

    def feed(self, chunk: Any) -> str:
        """The chunk's text piece ("" for chunks without text: role, progress, usage, finish)."""
        if not isinstance(chunk, Mapping):
            raise LLMResponseError(f"malformed stream chunk from {self.where}: {str(chunk)[:200]}")
        if "error" in chunk:
            raise error_from_body(chunk, status=None, model=self.model, where=self.where)
        self.server_model = str(chunk.get("model") or self.server_model)
        if chunk.get("usage"):
            self.usage = _usage(chunk)
        piece = ""
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") or {}
            piece += delta.get("content") or ""
            for call in delta.get("tool_calls") or ():
                slot = self.calls.setdefault(int(call.get("index", len(self.calls))),
                                             {"id": None, "function": {"name": "", "arguments": ""}})
                slot["id"] = call.get("id") or slot["id"]
                fn = call.get("function") or {}
                slot["function"]["name"] += fn.get("name") or ""
                slot["function"]["arguments"] += fn.get("arguments") or ""
            self.finish = choice.get("finish_reason") or self.finish
            self.logprobs.add(choice)
        if piece:
            self.parts.append(piece)
        return piece

    def result(self, latency_s: float) -> ChatResult:
        calls = _tool_calls([self.calls[i] for i in sorted(self.calls)])
        return ChatResult(text="".join(self.parts), tool_calls=calls, model=self.server_model or self.model,
                          usage=self.usage, latency_s=latency_s, done_reason=self.finish,
                          **self.logprobs.fields())


def error_from_body(data: Any, *, status: int | None, model: str, where: str) -> LLMError:
    """The LLMError for an OpenAI-style error body ``{"error": {"code", "message", "type"}}``."""
    error = data.get("error") if isinstance(data, Mapping) else None
    if isinstance(error, str):
        error = {"message": error}
    error = error if isinstance(error, Mapping) else {}
    message = str(error.get("message") or data)[:500]
    kind = str(error.get("type") or "")
    code = status if status is not None else _int(error.get("code"))
    if kind == "exceed_context_size_error" or "context size" in message or "context length" in message:
        return context_error(_int(error.get("n_prompt_tokens")), _int(error.get("n_ctx")), model=model,
                             detail=message)
    if code == 404 or kind == "not_found_error" and "model" in message.lower():
        return LLMModelNotFoundError(f"model {model!r} is not available at {where} (server said: {message})")
    if code == 429:
        return LLMRateLimitError(f"{where} is rate limiting (HTTP 429): {message}")
    if code is not None and code >= 500 or kind == "server_error":
        return LLMServerError(f"{where} failed (HTTP {code}) for model {model!r}: {message}")
    return LLMRequestError(f"{where} rejected the request for model {model!r} (HTTP {code}): {message}")


def context_error(prompt_tokens: int | None, n_ctx: int | None, *, model: str, detail: str = "") -> LLMContextError:
    size = f"{prompt_tokens:,} tokens" if prompt_tokens else "the prompt"
    window = f"the context of {n_ctx:,} tokens" if n_ctx else "the model's context"
    return LLMContextError(
        f"{size} do not fit {window} of {model!r}: ask with fewer passages (-k), shorter passages, "
        f"or a larger context (num_ctx / n_ctx)" + (f" [{detail}]" if detail and not prompt_tokens else ""))


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def estimate_tokens(messages: Sequence[MessageLike], *, tools: Sequence[Any] | None = None,
                    format: Format = None) -> int:
    """A cautious (high) token count of a request: UTF-8 bytes / 3, plus per-message overhead.

    English runs at about 4 characters a token for the usual tokenizers, so this over-counts on purpose: it
    sizes a context window that must hold the prompt.
    """
    size = sum(len(m.content.encode("utf-8")) + 16 for m in as_messages(messages))
    if tools:
        size += len(json.dumps(openai_tools(tools)))
    if isinstance(format, Mapping):
        size += len(json.dumps(format))
    return math.ceil(size / 3) + 8
