"""The ``route`` node: the user's documents, the user's tools, or both.

The small model sees the tools plus ``search_documents``. A model with native tool calls answers with them.
Small local models mostly do not: they write the call as JSON text (``{"name": "add", "arguments": {...}}``).
So, in order:

1. native tool calls in the reply;
2. else tool calls written as JSON in the reply's text;
3. else one schema-constrained choice: a JSON object ``{"tool": <one of the names or "none">, "arguments":
   {...}}`` that the server's grammar forces the model to write.

Arguments are validated by the tool's own pydantic model; an invalid or unknown call is dropped and the
trace says why. When no tool is chosen the question goes to retrieval and the trace says "no tool chosen",
never a silent fallback.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import ValidationError

from ragforge.errors import StructuredOutputError
from ragforge.llm import Message, Tool, ToolCall, structured
from ragforge.query import prompts
from ragforge.query.state import QueryContext, QueryDeps, QueryState

SEARCH_TOOL = "search_documents"
NO_TOOL = "none"


def search_documents(query: str) -> str:
    """Search the user's indexed documents for passages about the query.

    Args:
        query: what to look for
    """
    return query  # never run: the router only reads which tools the model called


def _json_objects(text: str) -> list[Any]:
    """Every JSON value that starts at a ``{`` or ``[`` of ``text`` and parses."""
    decoder = json.JSONDecoder()
    found, pos = [], 0
    while (match := re.compile(r"[\[{]").search(text, pos)) is not None:
        try:
            value, end = decoder.raw_decode(text, match.start())
        except json.JSONDecodeError:
            pos = match.start() + 1
            continue
        found.append(value)
        pos = end
    return found


def calls_in_text(text: str) -> list[ToolCall]:
    """Tool calls a model wrote as JSON text: ``{"name", "arguments"}`` objects, alone or in a list."""
    calls = []
    for value in _json_objects(text):
        for item in value if isinstance(value, list) else [value]:
            if not isinstance(item, dict):
                continue
            name = item.get("name") or item.get("tool") or (item.get("function") or {}).get("name")
            args = item.get("arguments", item.get("parameters", item.get("args", {})))
            if isinstance(args, str):
                try:
                    args = json.loads(args)
                except json.JSONDecodeError:
                    continue
            if isinstance(name, str) and isinstance(args, dict):
                calls.append(ToolCall(name=name, arguments=args))
    return calls


def choice_schema(tools: list[Tool]) -> dict[str, Any]:
    """The JSON schema of one tool choice: a tool name (or "none") and its arguments."""
    names = [t.name for t in tools] + [NO_TOOL]
    return {"type": "object", "properties": {"tool": {"type": "string", "enum": names},
                                             "arguments": {"type": "object"}},
            "required": ["tool", "arguments"]}


def _validate(call: ToolCall, tools: dict[str, Tool]) -> tuple[ToolCall | None, str | None]:
    tool = tools.get(call.name)
    if tool is None:
        return None, f"unknown tool {call.name!r}"
    try:
        tool.args_model.model_validate(call.arguments)
    except ValidationError as exc:
        return None, f"{call.name}: invalid arguments ({exc.error_count()} error(s))"
    return call, None


def _constrained_choice(state: QueryState, deps: QueryDeps, tools: list[Tool]) -> list[ToolCall]:
    listing = "\n".join(f"- {t.name}: {t.description} (arguments: {json.dumps(t.parameters())})" for t in tools)
    prompt = (f"{prompts.ROUTER_SYSTEM}\n\nTools:\n{listing}\n\nQuestion: {state.question}\n\n"
              f'Reply with a JSON object {{"tool": "<a tool name, or {NO_TOOL}>", "arguments": {{...}}}}.')
    try:
        reply = structured(deps.small_llm, prompt, dict, retries=0, options=deps.options, instruct=False,
                           schema=choice_schema(tools))
    except StructuredOutputError:
        return []
    name = reply.get("tool")
    args = reply.get("arguments") if isinstance(reply.get("arguments"), dict) else {}
    return [ToolCall(name=name, arguments=args)] if isinstance(name, str) and name != NO_TOOL else []


def route(state: QueryState, ctx: QueryContext) -> dict[str, Any]:
    """Retrieval, the user's tools, or both: the small model picks. No tools registered: retrieval."""
    deps: QueryDeps = ctx.deps
    update: dict[str, Any] = {"query": state.query or state.question}
    if not len(deps.tools):
        ctx.emit({"type": "route", "route": "retrieve", "reason": "no tools registered"})
        return {**update, "route": "retrieve", "tool_calls": []}
    tools = [Tool.from_function(search_documents), *deps.tools.tools.values()]
    messages = [Message(role="system", content=prompts.ROUTER_SYSTEM), Message(role="user", content=state.question)]
    reply = deps.small_llm.chat(messages, tools=tools, options=deps.options)
    how, raw = "native", list(reply.tool_calls)
    if not raw:
        how, raw = "text", calls_in_text(reply.text)
    if not raw:
        how, raw = "constrained", _constrained_choice(state, deps, tools)
    by_name = {t.name: t for t in tools}
    valid, problems = [], []
    for call in raw:
        checked, problem = _validate(call, by_name)
        if checked is not None:
            valid.append(checked)
        elif problem:
            problems.append(problem)
    search = any(c.name == SEARCH_TOOL for c in valid)
    calls = [c for c in valid if c.name != SEARCH_TOOL]
    choice = "both" if search and calls else "tools" if calls else "retrieve"
    event: dict[str, Any] = {"type": "route", "route": choice, "how": how if valid else None,
                             "tool_calls": [c.model_dump() for c in calls], "ignored": problems}
    if not valid:
        event["reason"] = "no tool chosen"
    ctx.emit(event)
    return {**update, "route": choice, "tool_calls": calls}


def after_route(state: QueryState) -> list[str]:
    return {"retrieve": ["retrieve"], "tools": ["call_tools"], "both": ["retrieve", "call_tools"]}[state.route]
