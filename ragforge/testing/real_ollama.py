"""For tests that run against a real Ollama when one answers, and skip otherwise."""

from __future__ import annotations

import os


def pulled_chat_model(host: str, *, timeout: float = 0.5) -> str | None:
    """A chat model pulled on the Ollama at ``host``, or None when none answers within ``timeout``.

    ``RAGFORGE_TEST_OLLAMA_MODEL`` picks the model; otherwise the first listed model that is not an embedder.
    """
    import httpx

    try:
        reply = httpx.get(f"{host}/api/tags", timeout=timeout)
        names = [m.get("model") or m.get("name") for m in reply.json().get("models", [])]
    except Exception:  # noqa: BLE001 - anything at all means: no usable server here
        return None
    wanted = os.environ.get("RAGFORGE_TEST_OLLAMA_MODEL")
    if wanted:
        return wanted if any(n == wanted or n.split(":")[0] == wanted for n in names) else None
    chat = [n for n in names if n and "embed" not in n]
    return chat[0] if chat else None
