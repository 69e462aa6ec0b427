"""``ScriptedChatModel``: a :class:`~ragforge.llm.ChatModel` that replays scripted replies, no server needed.

>>> from ragforge.testing.chat import ScriptedChatModel
>>> llm = ScriptedChatModel(["Paris.", ScriptedChatModel.tool_call("search", query="capital of France")])
>>> llm.chat([{"role": "user", "content": "Capital of France?"}]).text
'Paris.'
>>> llm.chat("again").tool_calls[0].name
'search'
>>> llm.calls[0].messages[0].content
'Capital of France?'
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from ragforge.llm.types import (
    ChatResult,
    Message,
    MessageLike,
    StreamResult,
    ToolCall,
    as_messages,
    tool_schemas,
)

Reply = str | ChatResult | BaseException | type | Callable[[list[Message]], str | ChatResult]


@dataclass
class ScriptedCall:
    """What one call received (so tests can assert the prompts)."""

    messages: list[Message]
    tools: list[dict[str, Any]] = field(default_factory=list)
    format: Any = None
    options: dict[str, Any] = field(default_factory=dict)
    stream: bool = False

    @property
    def prompt(self) -> str:
        """The last user message's content."""
        users = [m.content for m in self.messages if m.role == "user"]
        return users[-1] if users else ""


class OutOfRepliesError(AssertionError):
    """A ScriptedChatModel was called more times than it had replies.

    A test-setup error, deliberately not an ``LLMError``: retry and fallback layers must not swallow it."""


class ScriptedChatModel:
    """Replies in order from ``replies``; each is a string, a ChatResult, an exception (raised), or a callable
    ``f(messages) -> str | ChatResult``. With ``repeat_last=True`` the last reply is reused forever."""

    def __init__(
        self, replies: Iterable[Reply] = (), *, model: str = "scripted", repeat_last: bool = False
    ) -> None:
        self.replies: list[Reply] = list(replies)
        self.model = model
        self.repeat_last = repeat_last
        self.calls: list[ScriptedCall] = []
        self._next = 0

    @staticmethod
    def tool_call(name: str, /, **arguments: Any) -> ChatResult:
        """A reply that calls one tool."""
        return ChatResult(tool_calls=[ToolCall(name=name, arguments=arguments)], done_reason="stop")

    @staticmethod
    def tool_calls(*calls: tuple[str, Mapping[str, Any]]) -> ChatResult:
        """A reply that calls several tools: ``tool_calls(("a", {...}), ("b", {...}))``."""
        tool_calls = [ToolCall(name=n, arguments=dict(a)) for n, a in calls]
        return ChatResult(tool_calls=tool_calls, done_reason="stop")

    @property
    def remaining(self) -> int:
        return max(0, len(self.replies) - self._next)

    def add(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    def _take(self, messages: list[Message]) -> ChatResult:
        if self._next >= len(self.replies):
            if not (self.repeat_last and self.replies):
                raise OutOfRepliesError(
                    f"ScriptedChatModel {self.model!r} ran out of replies: call {len(self.calls)} but only "
                    f"{len(self.replies)} scripted; last prompt: {self.calls[-1].prompt[:200]!r}"
                )
            reply = self.replies[-1]
        else:
            reply = self.replies[self._next]
            self._next += 1
        if isinstance(reply, BaseException) or (isinstance(reply, type) and issubclass(reply, BaseException)):
            raise reply
        if callable(reply) and not isinstance(reply, ChatResult):
            reply = cast(Callable[[list[Message]], str | ChatResult], reply)(messages)  # classes were raised above
        if isinstance(reply, str):
            return ChatResult(text=reply, model=self.model, done_reason="stop")
        if isinstance(reply, ChatResult):
            return reply if reply.model else reply.model_copy(update={"model": self.model})
        raise TypeError(f"unsupported scripted reply {reply!r}")

    def chat(
        self, messages: Sequence[MessageLike], *, tools=None, format=None, options=None, **_: Any
    ) -> ChatResult:
        msgs = as_messages(messages)
        self.calls.append(ScriptedCall(msgs, tool_schemas(tools), format, dict(options or {})))
        return self._take(msgs)

    def stream(self, messages: Sequence[MessageLike], *, format=None, options=None, **_: Any) -> StreamResult:
        msgs = as_messages(messages)
        self.calls.append(ScriptedCall(msgs, [], format, dict(options or {}), stream=True))
        return StreamResult(self._pieces(msgs))

    def _pieces(self, messages: list[Message]) -> Generator[str, None, ChatResult]:
        result = self._take(messages)
        words = result.text.split(" ")
        for i, word in enumerate(words):
            piece = word if i == len(words) - 1 else word + " "
            if piece:
                yield piece
        return result
