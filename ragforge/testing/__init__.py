"""Fakes that ship with ragforge, for its own tests and for yours.

- :class:`HashingEmbedder`: a deterministic embedder with no model (``make_embedder("hashing:256")``).
- :class:`ScriptedChatModel`: a ChatModel that replays scripted replies and records every call.
- :class:`OllamaStub`: a real HTTP server on 127.0.0.1 speaking Ollama's REST API, with scripted replies
  and injected faults, so the real ``ollama`` client can be tested without a model server.
- :class:`OpenAIStub`: the same for the OpenAI API (``/v1/chat/completions``, ``/v1/embeddings``).
- :mod:`ragforge.testing.contracts`: contract suites (pytest test classes) any embedder, chat model, reader or
  checkpointer can subclass and pass; imported on its own, since it needs pytest.
"""

from __future__ import annotations

from ragforge.embedding.hashing import HashingEmbedder
from ragforge.testing.chat import ScriptedChatModel
from ragforge.testing.ollama_stub import OllamaStub
from ragforge.testing.openai_stub import OpenAIStub

__all__ = ["HashingEmbedder", "OllamaStub", "OpenAIStub", "ScriptedChatModel"]
