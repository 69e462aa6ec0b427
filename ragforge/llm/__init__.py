"""Chat models: the :class:`ChatModel` protocol; Ollama, a GGUF file in-process (llama.cpp) and any
OpenAI-compatible server, each with retry/fallback/cache; tools, typed output, agent.

    llm = make_chat_model("qwen2.5-coder:1.5b")          # Ollama
    llm = make_chat_model("gguf:~/models/qwen.gguf")     # llama.cpp in-process
    llm = make_chat_model("openai:qwen@http://127.0.0.1:8080/v1")  # = OpenAIChat("qwen", "127.0.0.1:8080")

    from pydantic import BaseModel
    from ragforge.llm import Agent, OllamaChat, Tool, structured

    llm = OllamaChat("llama3.2", options={"temperature": 0}, fallbacks=["llama3.2:1b"])
    print(llm.chat([{"role": "user", "content": "Say hi"}]).text)
    for piece in (stream := llm.stream("Tell me a short joke")):
        print(piece, end="")
    print(stream.result.usage)

    class City(BaseModel):
        name: str
        country: str

    city = structured(llm, "Which city is the Eiffel Tower in?", City)  # City(name='Paris', ...)

    def add(a: int, b: int = 1) -> int:
        '''Add two integers.'''
        return a + b

    agent = Agent(llm, system_prompt="Use the tools.", tools=[add], output_type=int, max_steps=5)
    print(agent.run("What is 2 + 40?").output)

Layers (each a ChatModel, usable alone): ``OllamaChat`` = ``TracedChat`` (``on_event``) -> ``CachedChat``
(``MemoryCache``/``SqliteCache``) -> ``FallbackChat`` -> ``RetryingChat`` (``RetryPolicy``) -> one request.
Errors are :class:`~ragforge.errors.LLMError` subclasses; ``.retryable`` says which ones retry.
Without a server: :class:`ragforge.testing.ScriptedChatModel`, :class:`ragforge.testing.OllamaStub` and
:class:`ragforge.testing.OpenAIStub`.
"""

from __future__ import annotations

from ragforge.llm.agent import Agent, AgentResult
from ragforge.llm.backend import OllamaBackend
from ragforge.llm.cache import CachedChat, MemoryCache, ResponseCache, SqliteCache, request_key
from ragforge.llm.chain import LayeredChat
from ragforge.llm.factory import make_chat_model, register_chat_model
from ragforge.llm.llamacpp import LlamaCppChat
from ragforge.llm.ollama_chat import OllamaChat
from ragforge.llm.openai_chat import OpenAIChat
from ragforge.llm.output import structured
from ragforge.llm.resilience import FallbackChat, RetryingChat, TracedChat
from ragforge.llm.tools import Tool, ToolBox
from ragforge.llm.types import ChatModel, ChatResult, EventHook, Message, StreamResult, ToolCall, Usage
from ragforge.retry import RetryClock, RetryPolicy

__all__ = [
    "Agent",
    "AgentResult",
    "CachedChat",
    "ChatModel",
    "ChatResult",
    "EventHook",
    "FallbackChat",
    "LayeredChat",
    "LlamaCppChat",
    "MemoryCache",
    "Message",
    "OllamaBackend",
    "OllamaChat",
    "OpenAIChat",
    "ResponseCache",
    "RetryClock",
    "RetryPolicy",
    "RetryingChat",
    "SqliteCache",
    "StreamResult",
    "Tool",
    "ToolBox",
    "ToolCall",
    "TracedChat",
    "Usage",
    "make_chat_model",
    "register_chat_model",
    "request_key",
    "structured",
]
