"""The parts of the ``ollama`` client we rely on beyond its documented API (pinned in pyproject.toml)."""

from __future__ import annotations

import inspect

import ollama


def test_the_private_request_call_is_still_there() -> None:
    """llm/backend.py sends /api/chat through Client._request (the public chat() drops nested tool
    schemas); a client version that changes it must fail here, not in a user's ask."""
    params = inspect.signature(ollama.Client._request).parameters
    assert list(params)[:3] == ["self", "cls", "args"] and "stream" in params  # (cls, "POST", path, json=, stream=)
    assert callable(getattr(ollama.Client, "close", None))
    assert "dimensions" in inspect.signature(ollama.Client.embed).parameters
