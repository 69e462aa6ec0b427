"""The vocabulary of chat models: messages, tool calls, results, streams, the :class:`ChatModel` protocol."""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from ragforge.errors import ConfigError

Role = Literal["system", "user", "assistant", "tool"]


class ToolCall(BaseModel):
    """A call the model asks for: a tool name and its JSON arguments (``id`` when the server gives one)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    id: str | None = None


class Message(BaseModel):
    """One chat message. Plain dicts in Ollama's shape are accepted wherever a Message is."""

    model_config = ConfigDict(extra="forbid")

    role: Role
    content: str = ""
    tool_calls: list[ToolCall] | None = None
    tool_name: str | None = None  # on role="tool" messages: which tool produced this content

    @classmethod
    def coerce(cls, value: Message | Mapping[str, Any]) -> Message:
        if isinstance(value, Message):
            return value
        if hasattr(value, "model_dump"):  # e.g. an ollama.Message
            value = value.model_dump(exclude_none=True)
        if not isinstance(value, Mapping):
            raise ConfigError(f"a message must be a Message or a dict, not {type(value).__name__}")
        data = dict(value)
        if data.get("content") is None:
            data["content"] = ""
        calls = data.get("tool_calls")
        if calls:
            data["tool_calls"] = [_coerce_call(c) for c in calls]
        return cls.model_validate(data)

    def to_ollama(self) -> dict[str, Any]:
        """The message in the shape of Ollama's /api/chat ``messages`` items."""
        out: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.tool_calls:
            out["tool_calls"] = [
                {"function": {"name": c.name, "arguments": c.arguments}} for c in self.tool_calls
            ]
        if self.tool_name:
            out["tool_name"] = self.tool_name
        return out


def _coerce_call(call: Any) -> ToolCall:
    if isinstance(call, ToolCall):
        return call
    data = dict(call)
    if "function" in data:  # Ollama's shape {"function": {"name", "arguments"}}
        fn = dict(data["function"])
        return ToolCall(name=fn["name"], arguments=dict(fn.get("arguments") or {}), id=data.get("id"))
    return ToolCall.model_validate(data)


MessageLike = Message | Mapping[str, Any]


def as_messages(messages: str | Iterable[MessageLike]) -> list[Message]:
    """A list of :class:`Message` from messages, dicts, or one string (a single user message)."""
    if isinstance(messages, str):
        return [Message(role="user", content=messages)]
    return [Message.coerce(m) for m in messages]


class Usage(BaseModel):
    """Token counts as reported by the server (``prompt_eval_count``, ``eval_count``); 0 when not reported."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_duration_s: float | None = None  # the server's own timing (``total_duration``, ns -> s)

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class ChatResult(BaseModel):
    """What one chat call produced, with how it was produced (cache, retries, fallback)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    model: str = ""
    usage: Usage = Usage()
    latency_s: float = 0.0
    done_reason: str | None = None
    cached: bool = False
    retries: int = 0
    fallback_reason: str | None = None  # why the primary model was not the one that answered
    logprobs: list[float] | None = None  # each generated token's log-probability, when asked (logprobs=True)
    tokens: list[str] | None = None  # the generated tokens' text, alongside ``logprobs``
    # per generated token, the likeliest tokens and their log-probabilities, when asked (top_logprobs=N)
    top_logprobs: list[list[tuple[str, float]]] | None = None

    @property
    def confidence(self) -> float | None:
        """The geometric-mean probability of the generated tokens (None when logprobs were not returned)."""
        if not self.logprobs:
            return None
        import math

        return math.exp(sum(self.logprobs) / len(self.logprobs))

    def message(self) -> Message:
        """The assistant message to append to the history."""
        return Message(role="assistant", content=self.text, tool_calls=list(self.tool_calls) or None)


class StreamResult:
    """Iterate for the reply's text pieces; afterwards ``.result`` is the assembled :class:`ChatResult`.

    Built on a generator that yields ``str`` pieces and *returns* the final ChatResult. Reading ``.result``
    before the stream is exhausted drains it first.
    """

    def __init__(self, pieces: Generator[str, None, ChatResult]) -> None:
        self._gen = pieces
        self._result: ChatResult | None = None
        self._parts: list[str] = []

    def __iter__(self) -> Iterator[str]:
        while self._result is None:
            try:
                piece = next(self._gen)
            except StopIteration as stop:
                self._result = stop.value if stop.value is not None else ChatResult(text="".join(self._parts))
                return
            self._parts.append(piece)
            yield piece

    @property
    def result(self) -> ChatResult:
        if self._result is None:
            for _ in self:
                pass
        assert self._result is not None
        return self._result

    @property
    def text(self) -> str:
        """The text received so far."""
        return "".join(self._parts)

    def close(self) -> None:
        self._gen.close()


ToolLike = Any  # a ragforge.llm.Tool, or a tool schema dict in Ollama's shape
Format = Literal["json"] | dict[str, Any] | None


@runtime_checkable
class ChatModel(Protocol):
    """A chat model: messages in; text, tool calls (or JSON for a ``format`` schema) out; or a stream.

    ``messages`` are :class:`Message` objects or dicts in Ollama's shape (a plain string is one user message).

    ``tools`` are :class:`~ragforge.llm.Tool` objects or schema dicts in Ollama's shape; ``format`` is
    ``"json"`` or a JSON schema; ``options`` are Ollama's (temperature, seed, num_ctx, ...).
    """

    model: str

    def chat(
        self,
        messages: Sequence[MessageLike],
        *,
        tools: Sequence[ToolLike] | None = None,
        format: Format = None,
        options: Mapping[str, Any] | None = None,
    ) -> ChatResult: ...

    def stream(
        self,
        messages: Sequence[MessageLike],
        *,
        format: Format = None,
        options: Mapping[str, Any] | None = None,
    ) -> StreamResult: ...


EventHook = Callable[[dict[str, Any]], None]


def tool_schemas(tools: Sequence[ToolLike] | None) -> list[dict[str, Any]]:
    """Ollama ``tools=`` entries for Tool objects (anything with ``.schema()``) or ready-made dicts."""
    out = []
    for tool in tools or ():
        if isinstance(tool, type):
            raise ConfigError(f"pass Tool.from_model({tool.__name__}) rather than the class itself")
        schema = tool.schema() if hasattr(tool, "schema") and callable(tool.schema) else tool
        if not isinstance(schema, Mapping):
            raise ConfigError(f"a tool must be a Tool or a schema dict, not {type(tool).__name__}")
        out.append(dict(schema))
    return out
