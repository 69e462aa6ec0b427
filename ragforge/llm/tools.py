"""Tools a model may call: built from a typed Python function or from a pydantic model.

The docstring becomes the description; type hints (through pydantic) become the JSON schema Ollama's
``tools=`` expects. Arguments are validated before the function runs; a validation error goes back to the
model as the tool's reply instead of being raised. A :class:`ToolBox` is the allow-list: a model can only
call the tools it was given.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from ragforge.errors import ConfigError, ToolError
from ragforge.llm.types import Message, ToolCall

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")


class Tool:
    """A callable tool with a JSON schema. Build with :meth:`from_function` or :meth:`from_model`."""

    def __init__(
        self, name: str, description: str, args_model: type[BaseModel], fn: Callable[..., Any] | None = None,
        *, unpack: bool = True,
    ) -> None:
        if not _NAME.match(name):
            raise ConfigError(f"invalid tool name {name!r}: letters, digits, _ . - only")
        self.name = name
        self.description = description
        self.args_model = args_model
        self.fn = fn
        self._unpack = unpack  # call fn(**fields) (functions) or fn(model_instance) (pydantic tools)

    def __repr__(self) -> str:
        return f"Tool({self.name!r})"

    @classmethod
    def from_function(
        cls, fn: Callable[..., Any], *, name: str | None = None, description: str | None = None
    ) -> Tool:
        """A tool from a typed function: every parameter becomes a property; defaults make it optional."""
        summary, arg_docs = _parse_docstring(inspect.getdoc(fn) or "")
        fields: dict[str, Any] = {}
        for param in inspect.signature(fn).parameters.values():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                raise ConfigError(f"tool function {fn.__name__} cannot take *args or **kwargs")
            hint = _hints(fn).get(param.name, Any)
            default = ... if param.default is param.empty else param.default
            fields[param.name] = (hint, _field(default, arg_docs.get(param.name)))
        model_name = "".join(p.title() for p in (name or fn.__name__).split("_")) + "Args"
        args_model = create_model(model_name, __config__=ConfigDict(extra="forbid"), **fields)
        return cls(name or fn.__name__, description if description is not None else summary, args_model, fn)

    @classmethod
    def from_model(
        cls, model: type[BaseModel], fn: Callable[[Any], Any] | None = None, *,
        name: str | None = None, description: str | None = None,
    ) -> Tool:
        """A tool whose arguments are ``model``; ``fn(instance)`` runs it (without ``fn``, the validated
        instance itself is the result, which suits a "final answer" tool)."""
        doc = description if description is not None else (inspect.getdoc(model) or "")
        if doc == inspect.getdoc(BaseModel):
            doc = ""
        return cls(name or model.__name__, doc.strip(), model, fn, unpack=False)

    def parameters(self) -> dict[str, Any]:
        """The JSON schema of the arguments, with ``$ref``s inlined and pydantic's titles dropped."""
        return ollama_schema(self.args_model.model_json_schema())

    def schema(self) -> dict[str, Any]:
        """The entry for Ollama's ``tools=``: ``{"type": "function", "function": {...}}``."""
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters()},
        }

    def validate(self, arguments: Mapping[str, Any]) -> BaseModel:
        """The validated arguments; raises pydantic's ``ValidationError``."""
        return self.args_model.model_validate(dict(arguments))

    def invoke(self, arguments: Mapping[str, Any]) -> Any:
        """Validate, then run; raises ``ValidationError`` (arguments) or :class:`ToolError` (the function)."""
        args = self.validate(arguments)
        if self.fn is None:
            return args
        try:
            if self._unpack:
                return self.fn(**{k: getattr(args, k) for k in type(args).model_fields})
            return self.fn(args)
        except ToolError:
            raise
        except Exception as exc:
            raise ToolError(f"tool {self.name!r} failed: {type(exc).__name__}: {exc}") from exc


def _hints(fn: Callable[..., Any]) -> dict[str, Any]:
    import typing

    try:
        return typing.get_type_hints(fn, include_extras=True)
    except Exception as exc:  # unresolvable forward references
        raise ConfigError(
            f"cannot read the type hints of tool function {fn.__name__}: {exc} "
            "(types named in annotations must be importable from the function's module)"
        ) from exc


def _field(default: Any, doc: str | None) -> Any:
    from pydantic import Field

    return Field(default, description=doc) if doc else default


def _parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """The description (text before an ``Args:`` section) and Google-style per-argument descriptions."""
    lines = doc.splitlines()
    summary: list[str] = []
    args: dict[str, str] = {}
    section = None
    current = None
    for line in lines:
        stripped = line.strip()
        header = re.match(r"^(Args|Arguments|Parameters|Returns|Raises|Yields|Examples?):\s*$", stripped)
        if header:
            section = header.group(1)
            continue
        if section is None:
            summary.append(line)
        elif section in ("Args", "Arguments", "Parameters"):
            m = re.match(r"^(\w+)\s*(\([^)]*\))?\s*:\s*(.*)$", stripped)
            if m and not line.startswith("        "):
                current = m.group(1)
                args[current] = m.group(3)
            elif current and stripped:
                args[current] = (args[current] + " " + stripped).strip()
    return "\n".join(summary).strip(), args


def ollama_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A pydantic JSON schema made self-contained: ``$ref`` inlined, ``$defs`` and ``title`` removed."""
    defs = schema.get("$defs", {})

    def walk(node: Any, seen: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [walk(v, seen) for v in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            ref = node["$ref"].split("/")[-1]
            if ref in seen:  # recursive model: leave an open object rather than loop forever
                return {"type": "object"}
            merged = {**defs.get(ref, {}), **{k: v for k, v in node.items() if k != "$ref"}}
            return walk(merged, seen + (ref,))
        out = {}
        for key, value in node.items():
            if key in ("$defs", "title"):
                continue
            if key in ("default", "enum", "const", "examples"):
                out[key] = value  # data, not schema: keep as is
            elif key == "properties" and isinstance(value, dict):
                out[key] = {name: walk(sub, seen) for name, sub in value.items()}
            else:
                out[key] = walk(value, seen)
        return out

    result = walk(schema, ())
    result.setdefault("type", "object")
    result.setdefault("properties", {})
    return result


def render_result(value: Any) -> str:
    """A tool's return value as the text sent back to the model."""
    if isinstance(value, str):
        return value
    if isinstance(value, BaseModel):
        return value.model_dump_json()
    return json.dumps(value, default=str, ensure_ascii=False)


class ToolBox:
    """The allow-list of tools for one conversation; runs a model's tool calls and says what happened."""

    def __init__(self, tools: Iterable[Tool | Callable[..., Any]] = ()) -> None:
        self.tools: dict[str, Tool] = {}
        for item in tools:
            tool = item if isinstance(item, Tool) else Tool.from_function(item)
            if tool.name in self.tools:
                raise ConfigError(f"two tools are named {tool.name!r}")
            self.tools[tool.name] = tool

    def __contains__(self, name: str) -> bool:
        return name in self.tools

    def __len__(self) -> int:
        return len(self.tools)

    def schemas(self) -> list[dict[str, Any]]:
        return [t.schema() for t in self.tools.values()]

    def run(self, call: ToolCall) -> tuple[Message, Any, bool]:
        """Run one call: ``(tool message for the model, raw value or None, ok)``.

        Unknown tools and invalid arguments are not raised: the model is told, so it can correct itself.
        A failure inside the tool function raises :class:`ToolError`.
        """
        tool = self.tools.get(call.name)
        if tool is None:
            allowed = ", ".join(sorted(self.tools)) or "none"
            text = f"Error: there is no tool named {call.name!r}. Tools you may call: {allowed}."
            return Message(role="tool", tool_name=call.name, content=text), None, False
        try:
            value = tool.invoke(call.arguments)
        except ValidationError as exc:
            text = (f"Error: invalid arguments for tool {call.name!r}:\n{_errors(exc)}\n"
                    "Fix them and call it again.")
            return Message(role="tool", tool_name=call.name, content=text), None, False
        return Message(role="tool", tool_name=call.name, content=render_result(value)), value, True


def _errors(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors(include_url=False):
        where = ".".join(str(p) for p in err["loc"]) or "(arguments)"
        lines.append(f"- {where}: {err['msg']}")
    return "\n".join(lines)
