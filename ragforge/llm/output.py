"""Typed output: ask for JSON matching a schema (Ollama's ``format=``), validate it, re-ask on failure."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from ragforge.errors import ConfigError, StructuredOutputError
from ragforge.llm.types import ChatModel, Message, MessageLike, as_messages

T = TypeVar("T")


def output_schema(output_type: Any) -> dict[str, Any]:
    """The JSON schema sent as ``format=`` for ``output_type`` (a pydantic model or other type)."""
    return TypeAdapter(output_type).json_schema()


def parse_output(output_type: type[T] | Any, text: str) -> T:
    """``text`` validated as ``output_type``; raises pydantic's ``ValidationError``."""
    return TypeAdapter(output_type).validate_json(strip_fences(text))


def strip_fences(text: str) -> str:
    """``text`` without a surrounding Markdown code fence (```json ... ```), which small models often add."""
    stripped = text.strip()
    if stripped.startswith("```"):
        stripped = stripped.split("\n", 1)[1] if "\n" in stripped else ""
        stripped = stripped.rsplit("```", 1)[0]
    return stripped.strip()


def salvage_string(text: str, field: str) -> str | None:
    """The string value of ``field`` in a JSON reply that may be cut off (a runaway reply hit its token
    bound): ``'{"answer": "In committee [2]", "citations": [{"n": 2, "quote": "Much of'`` -> ``'In committee
    [2]'``. ``None`` when the field's value is not there or is itself cut off."""
    match = re.search(r'"' + re.escape(field) + r'"\s*:\s*"((?:[^"\\]|\\.)*)"', text)
    if match is None:
        return None
    try:
        return json.loads(f'"{match.group(1)}"')
    except json.JSONDecodeError:
        return None


def repair_prompt(error: ValidationError) -> str:
    """The user message that re-asks after an invalid reply."""
    problems = "\n".join(
        f"- {'.'.join(str(p) for p in e['loc']) or '(reply)'}: {e['msg']}"
        for e in error.errors(include_url=False)
    )
    return (
        "Your previous reply did not match the required JSON schema:\n"
        f"{problems}\n"
        "Reply again with only the corrected JSON, no other text."
    )


def structured(
    model: ChatModel,
    prompt: str | Sequence[MessageLike],
    output_type: type[T],
    *,
    retries: int = 2,
    system: str | None = None,
    options: Mapping[str, Any] | None = None,
    instruct: bool = True,
    schema: dict[str, Any] | None = None,
) -> T:
    """Ask ``model`` for an ``output_type`` value and return it validated.

    The JSON schema of ``output_type`` (or ``schema``, when given) goes to the server as ``format=``, which
    servers with grammars (Ollama, llama.cpp) enforce token by token; with ``instruct`` it is also
    appended to the last user message (models follow it better when told). An invalid reply is answered with
    the validation errors and the model asked again, up to ``retries`` times; then
    :class:`~ragforge.errors.StructuredOutputError` is raised with ``last_reply`` set.

    >>> from pydantic import BaseModel
    >>> from ragforge.testing.chat import ScriptedChatModel
    >>> class City(BaseModel):
    ...     name: str
    ...     population: int
    >>> llm = ScriptedChatModel(['{"name": "Oslo", "population": 709000}'])
    >>> structured(llm, "Largest city in Norway?", City)
    City(name='Oslo', population=709000)
    """
    if retries < 0:
        raise ConfigError("retries must be >= 0")
    schema = schema if schema is not None else output_schema(output_type)
    messages = _initial(prompt, system, schema if instruct else None)
    last_reply = ""
    last_error: ValidationError | None = None
    for _ in range(retries + 1):
        reply = model.chat(messages, format=schema, options=options)
        last_reply = reply.text
        try:
            return parse_output(output_type, reply.text)
        except ValidationError as exc:
            last_error = exc
            messages = messages + [reply.message(), Message(role="user", content=repair_prompt(exc))]
    count = last_error.error_count() if last_error is not None else 0
    raise StructuredOutputError(
        f"{model.model} did not produce a valid {getattr(output_type, '__name__', output_type)} after "
        f"{retries + 1} attempt(s); last reply had {count} validation error(s): {last_reply[:200]!r}",
        last_reply=last_reply,
    )


def _initial(prompt: str | Sequence[MessageLike], system: str | None, schema: dict | None) -> list[Message]:
    messages = as_messages(prompt)
    if system:
        messages.insert(0, Message(role="system", content=system))
    if schema is not None:
        for i in range(len(messages) - 1, -1, -1):
            if messages[i].role == "user":
                note = "\n\nReply with JSON matching this JSON schema:\n" + json.dumps(schema)
                messages[i] = messages[i].model_copy(update={"content": messages[i].content + note})
                break
    return messages
