"""A small tool-using agent in the spirit of PydanticAI: model, system prompt, tools, output type.

``run()`` loops model -> tool calls -> tool results -> model until a typed answer or the step limit. A typed
answer (any ``output_type`` but ``str``) is given through a ``final_result`` tool whose arguments are the
output type, so it is validated like any other tool call and errors go back to the model.

Model roles: with ``planner=`` a (larger) model first writes a short plan and the (smaller) ``model``
executes it with the tools.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from ragforge.errors import AgentStepLimitError, ConfigError
from ragforge.llm.output import strip_fences
from ragforge.llm.tools import Tool, ToolBox
from ragforge.llm.types import (
    ChatModel,
    ChatResult,
    EventHook,
    Message,
    MessageLike,
    ToolCall,
    Usage,
    as_messages,
)

FINAL_TOOL = "final_result"


class AgentResult(BaseModel):
    """The answer and how it was reached."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    output: Any
    messages: list[Message]
    steps: int  # model calls, the planner's included
    tool_calls: list[ToolCall] = Field(default_factory=list)
    plan: str | None = None
    usage: Usage = Usage()


class Agent:
    """A model with tools that answers with ``output_type``.

    Args:
        model: the model that calls tools and answers (the executor).
        system_prompt: instructions put first in every run.
        tools: :class:`Tool` objects or typed functions; the model may call only these.
        output_type: ``str`` (the final text) or a pydantic model or type (validated, via ``final_result``).
        max_steps: most model calls in one run; reaching it raises :class:`AgentStepLimitError`.
        planner: optional larger model that writes a plan the executor follows.
        options: Ollama options for every call.
        on_event: called with ``{"type": "tool_call", "name", "ok", "step"}`` for every tool call the model
            makes (model calls themselves are traced by the model's own ``on_event``).
    """

    def __init__(
        self,
        model: ChatModel,
        *,
        system_prompt: str = "",
        tools: Sequence[Tool | Callable[..., Any]] = (),
        output_type: Any = str,
        max_steps: int = 10,
        planner: ChatModel | None = None,
        options: dict[str, Any] | None = None,
        on_event: EventHook | None = None,
    ) -> None:
        if max_steps < 1:
            raise ConfigError("max_steps must be >= 1")
        self.model = model
        self.system_prompt = system_prompt
        self.output_type = output_type
        self.max_steps = max_steps
        self.planner = planner
        self.options = options
        self.on_event = on_event
        self.toolbox = ToolBox(tools)
        self._final: Tool | None = None
        if output_type is not str:
            if FINAL_TOOL in self.toolbox:
                raise ConfigError(f"{FINAL_TOOL!r} is reserved for the agent's answer")
            self._final = _final_tool(output_type)

    def tool_schemas(self) -> list[dict[str, Any]]:
        schemas = self.toolbox.schemas()
        return schemas + [self._final.schema()] if self._final else schemas

    def run(self, prompt: str | Sequence[MessageLike]) -> AgentResult:
        """Run to a final answer; raises :class:`AgentStepLimitError` after ``max_steps`` model calls."""
        run = _Run(self)
        return run.go(as_messages(prompt))


class _Run:
    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        self.steps = 0
        self.calls: list[ToolCall] = []
        self.prompt_tokens = 0
        self.completion_tokens = 0

    def ask(self, model: ChatModel, messages: list[Message], tools: list[dict] | None) -> ChatResult:
        if self.steps >= self.agent.max_steps:
            raise AgentStepLimitError(
                f"agent reached its step limit ({self.agent.max_steps} model calls) without a final answer; "
                f"last message: {messages[-1].content[:200]!r}"
            )
        self.steps += 1
        reply = model.chat(messages, tools=tools or None, options=self.agent.options)
        self.prompt_tokens += reply.usage.prompt_tokens
        self.completion_tokens += reply.usage.completion_tokens
        return reply

    def go(self, prompt: list[Message]) -> AgentResult:
        agent = self.agent
        system = agent.system_prompt
        plan = self.make_plan(prompt) if agent.planner is not None else None
        if plan:
            system = (system + "\n\n" if system else "") + "Follow this plan:\n" + plan
        messages = ([Message(role="system", content=system)] if system else []) + prompt
        tools = agent.tool_schemas()
        while True:
            reply = self.ask(agent.model, messages, tools)
            messages.append(reply.message())
            if not reply.tool_calls:
                done, output = self.final_from_text(reply.text, messages)
            else:
                done, output = self.run_calls(reply.tool_calls, messages)
            if done:
                usage = Usage(prompt_tokens=self.prompt_tokens, completion_tokens=self.completion_tokens)
                return AgentResult(output=output, messages=messages, steps=self.steps, tool_calls=self.calls,
                                   plan=plan, usage=usage)

    def make_plan(self, prompt: list[Message]) -> str:
        agent = self.agent
        names = ", ".join(f"{t.name} ({t.description.splitlines()[0] if t.description else 'no description'})"
                          for t in agent.toolbox.tools.values()) or "none"
        ask = Message(
            role="user",
            content="Write a short numbered plan (at most 5 steps) for the task below. "
            f"Tools the executor can call: {names}. Do not solve the task, only plan it.\n\nTask:\n"
            + "\n".join(m.content for m in prompt if m.role == "user"),
        )
        system = [Message(role="system", content=agent.system_prompt)] if agent.system_prompt else []
        messages = system + [ask]
        return self.ask(agent.planner, messages, None).text.strip()  # type: ignore[arg-type]

    def run_calls(self, calls: list[ToolCall], messages: list[Message]) -> tuple[bool, Any]:
        agent = self.agent
        for call in calls:
            self.calls.append(call)
            final = agent._final is not None and call.name == FINAL_TOOL
            box = ToolBox([agent._final]) if final else agent.toolbox  # type: ignore[list-item]
            tool_message, value, ok = box.run(call)
            if agent.on_event is not None:
                agent.on_event({"type": "tool_call", "name": call.name, "ok": ok, "step": self.steps})
            if final and ok:
                return True, _unwrap(value)
            messages.append(tool_message)
        return False, None

    def final_from_text(self, text: str, messages: list[Message]) -> tuple[bool, Any]:
        agent = self.agent
        if agent._final is None:
            return True, text
        try:
            return True, _parse_final(text, agent._final)
        except ValueError:  # JSONDecodeError and pydantic's ValidationError are ValueErrors
            messages.append(Message(
                role="user",
                content=f"Give your final answer by calling the `{FINAL_TOOL}` tool "
                "with arguments matching its schema.",
            ))
            return False, None


class _Wrapped(BaseModel):
    """Marker base for output types wrapped in {"result": ...}."""

    if TYPE_CHECKING:  # each wrapper made by _final_tool declares it with the output type
        result: Any


def _final_tool(output_type: Any) -> Tool:
    description = "Give the final answer. Call this once you have everything you need."
    if isinstance(output_type, type) and issubclass(output_type, BaseModel):
        return Tool.from_model(output_type, name=FINAL_TOOL, description=description)
    wrapper = create_model("FinalResult", __base__=_Wrapped, result=(output_type, ...))
    return Tool.from_model(wrapper, name=FINAL_TOOL, description=description)


def _unwrap(value: Any) -> Any:
    return value.result if isinstance(value, _Wrapped) else value


def _parse_final(text: str, final: Tool) -> Any:
    """A final answer given as JSON text instead of a ``final_result`` call; raises ``ValueError``."""
    data = json.loads(strip_fences(text))
    if issubclass(final.args_model, _Wrapped) and not (isinstance(data, dict) and set(data) == {"result"}):
        data = {"result": data}
    return _unwrap(final.args_model.model_validate(data))
