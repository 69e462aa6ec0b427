"""Fakes that ship with ragforge, for its own tests and for yours.

- :class:`HashingEmbedder`: a deterministic embedder with no model (``make_embedder("hashing:256")``).
- :class:`ScriptedChatModel`: a ChatModel that replays scripted replies and records every call.
- :class:`OllamaStub`: a real HTTP server on 127.0.0.1 speaking Ollama's REST API, with scripted replies
  and injected faults, so the real ``ollama`` client can be tested without a model server.
"""

from __future__ import annotations

from ragforge.embedding.hashing import HashingEmbedder
from ragforge.testing.chat import ScriptedChatModel
from ragforge.testing.ollama_stub import OllamaStub

__all__ = ["HashingEmbedder", "OllamaStub", "ScriptedChatModel"]
