"""The llm package's public surface: pinned exports, protocol conformance, settings objects, doc examples."""

from __future__ import annotations

import doctest
import importlib

import pytest
from pydantic import ValidationError

import ragforge.llm as llm
from ragforge.llm import ChatModel, OllamaChat, RetryPolicy, SqliteCache
from ragforge.testing.chat import ScriptedChatModel

PINNED = [
    "Agent", "AgentResult", "CachedChat", "ChatModel", "ChatResult", "EventHook", "FallbackChat", "LayeredChat",
    "LlamaCppChat", "MemoryCache", "Message", "OllamaBackend", "OllamaChat", "OpenAIChat", "ResponseCache",
    "RetryClock", "RetryPolicy", "RetryingChat", "SqliteCache", "StreamResult", "Tool", "ToolBox", "ToolCall",
    "TracedChat", "Usage", "make_chat_model", "register_chat_model", "request_key", "structured",
]


def test_all_is_sorted_and_pinned():
    assert llm.__all__ == sorted(llm.__all__) == PINNED
    for name in llm.__all__:
        assert getattr(llm, name) is not None


def test_importing_llm_does_not_load_the_http_client():
    import subprocess
    import sys

    code = "import sys, ragforge.llm; print('ollama' in sys.modules, 'httpx' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_every_layer_is_a_chat_model(stub):
    inner = ScriptedChatModel(["x"])
    layers = [OllamaChat("llama3.2", host=stub.host), inner, llm.RetryingChat(inner),
              llm.FallbackChat([inner]), llm.CachedChat(inner), llm.TracedChat(inner, print),
              llm.OllamaBackend("llama3.2")]
    for layer in layers:
        assert isinstance(layer, ChatModel), layer


def test_settings_are_validated_value_objects():
    with pytest.raises(ValidationError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValidationError):
        RetryPolicy(base_delay=5, max_delay=1)
    with pytest.raises(ValidationError):
        RetryPolicy(retries=3)  # extra="forbid"
    assert RetryPolicy().max_attempts == 3


def test_instance_options_are_part_of_the_cache_key(stub, tmp_path):
    shared = SqliteCache(tmp_path / "c.sqlite")
    cold = OllamaChat("llama3.2", host=stub.host, cache=shared, options={"temperature": 0})
    hot = OllamaChat("llama3.2", host=stub.host, cache=shared, options={"temperature": 1})
    cold.chat("hi")
    assert not hot.chat("hi").cached and cold.chat("hi").cached


DOCUMENTED = ["ragforge.llm.output", "ragforge.testing.chat", "ragforge.testing.ollama_stub",
              "ragforge._ollama", "ragforge.llm.factory", "ragforge.testing.openai_stub", "ragforge._http"]


@pytest.mark.parametrize("module", DOCUMENTED)
def test_doc_examples_run(module):
    failures, _ = doctest.testmod(importlib.import_module(module))
    assert failures == 0
