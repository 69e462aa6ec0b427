"""One spelling for every chat model, in the CLI and in Python: ``make_chat_model(spec)``.

    qwen2.5-coder:1.5b                      an Ollama model (a name with no registered scheme)
    ollama:qwen2.5-coder:1.5b               the same, said explicitly
    gguf:~/models/qwen-1.5b.gguf            a GGUF file run in-process by llama.cpp
    gguf:~/models/qwen.gguf?n_ctx=4096&threads=2   ... with llama.cpp settings
    openai:qwen2.5-coder@http://127.0.0.1:8080/v1  any OpenAI-compatible /v1/chat/completions server

``register_chat_model(scheme, factory)`` adds a scheme; a separate package can add one through the
``ragforge.chat_models`` entry-point group (name = scheme, value = factory). A factory is called as
``factory(rest_of_spec, **settings)`` where settings are the keyword arguments given to make_chat_model
(``timeout``, ``cache``, ``on_event``, ``options``, ``host`` for Ollama ...); a factory ignores those it has
no use for.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from ragforge._registry import Registry
from ragforge.errors import ConfigError
from ragforge.llm.types import ChatModel

ChatModelFactory = Callable[..., ChatModel]

_CHAT_MODELS: Registry[ChatModelFactory] = Registry("ragforge.chat_models", "chat model")


def register_chat_model(scheme: str, factory: ChatModelFactory) -> None:
    """Make ``make_chat_model("SCHEME:REST", **settings)`` call ``factory("REST", **settings)``."""
    if not callable(factory):
        raise ConfigError("a chat-model factory must be callable as factory(rest, **settings)")
    _CHAT_MODELS.register(scheme, factory)


def chat_model_schemes() -> frozenset[str]:
    return _CHAT_MODELS.names()


def split_chat_spec(spec: str) -> tuple[str, str]:
    """``(scheme, rest)``; a spec without a registered scheme is an Ollama model name."""
    head, sep, rest = spec.partition(":")
    if sep and head.strip() and _CHAT_MODELS.get(head.strip()) is not None:
        return head.strip().lower(), rest.strip()
    return "ollama", spec.strip()


def make_chat_model(spec: str | ChatModel, **settings: Any) -> ChatModel:
    """The chat model ``spec`` names (a ChatModel object is returned as it is)."""
    if not isinstance(spec, str):
        return spec
    if not spec.strip():
        raise ConfigError("no chat model given: pass an Ollama name (qwen2.5-coder:1.5b), gguf:PATH or "
                          "openai:NAME@URL")
    scheme, rest = split_chat_spec(spec)
    factory = _CHAT_MODELS.get(scheme)
    assert factory is not None
    return factory(rest, **_accepted(factory, settings))


_NONE_MEANS_DEFAULT = frozenset({"host", "timeout"})  # None from a CLI option left unset: the default


def _accepted(factory: Callable[..., Any], settings: dict[str, Any]) -> dict[str, Any]:
    """The settings ``factory`` takes (all of them when it takes ``**kwargs``). ``host=None`` and
    ``timeout=None`` mean "the default" and are dropped; any other None (``cache=None``: no cache) is kept."""
    given = {k: v for k, v in settings.items() if v is not None or k not in _NONE_MEANS_DEFAULT}
    try:
        params = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return given
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return given
    names = {p.name for p in params}
    return {k: v for k, v in given.items() if k in names}


def spec_settings(rest: str) -> tuple[str, dict[str, Any]]:
    """``"path?n_ctx=4096&threads=2"`` -> ``("path", {"n_ctx": 4096, "threads": 2})`` (numbers parsed)."""
    base, sep, query = rest.partition("?")
    settings: dict[str, Any] = {}
    for key, value in parse_qsl(query, keep_blank_values=True) if sep else ():
        settings[key] = _number(value)
    return base, settings


def _number(value: str) -> Any:
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


def _ollama(name: str, *, host: str | None = None, **settings: Any) -> ChatModel:
    if not name:
        raise ConfigError("'ollama:' needs a model name, e.g. ollama:qwen2.5-coder:1.5b")
    from ragforge.llm.ollama_chat import OllamaChat

    return OllamaChat(name, host=host, **_accepted(OllamaChat, settings))


_GGUF_SETTINGS = {"n_ctx": int, "threads": int, "batch": int, "max_tokens": int}


def _gguf(rest: str, **settings: Any) -> ChatModel:
    from ragforge.llm.llamacpp import LlamaCppChat

    path, given = spec_settings(rest)
    if not path:
        raise ConfigError("'gguf:' needs a file path, e.g. gguf:~/models/qwen2.5-coder-1.5b.gguf")
    unknown = set(given) - set(_GGUF_SETTINGS)
    if unknown:
        raise ConfigError(f"unknown gguf setting(s) {sorted(unknown)}; known: {sorted(_GGUF_SETTINGS)}")
    return LlamaCppChat(path, **given, **_accepted(LlamaCppChat, settings))


def _openai(rest: str, **settings: Any) -> ChatModel:
    from ragforge.llm.openai_chat import OpenAIChat, parse_openai_spec

    name, url = parse_openai_spec(rest)
    return OpenAIChat(name, base_url=url, **_accepted(OpenAIChat, settings))


register_chat_model("ollama", _ollama)
register_chat_model("gguf", _gguf)
register_chat_model("openai", _openai)
