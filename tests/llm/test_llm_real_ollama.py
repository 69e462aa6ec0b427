"""Against a real Ollama: runs only when OLLAMA_HOST (or the default host) answers and a model is pulled.

Pick the model with RAGFORGE_TEST_OLLAMA_MODEL (default: the first chat model the server lists).
"""

from __future__ import annotations

import os

import pytest
from pydantic import BaseModel

from ragforge._ollama import resolve_host
from ragforge.testing.real_ollama import pulled_chat_model

HOST = resolve_host(os.environ.get("OLLAMA_HOST"))  # read at import: the llm conftest clears OLLAMA_HOST


def _pulled_model() -> str | None:
    return pulled_chat_model(HOST)


class Answer(BaseModel):
    capital: str


@pytest.mark.ollama
def test_real_ollama_chat_stream_and_structured_output():
    model = _pulled_model()
    if model is None:
        pytest.skip(f"no Ollama with a pulled chat model at {HOST}")
    from ragforge.llm import OllamaChat, structured

    llm = OllamaChat(model, host=HOST, timeout=120, options={"temperature": 0, "seed": 1, "num_predict": 64})
    reply = llm.chat([{"role": "user", "content": "Reply with the single word: pong"}])
    assert reply.text.strip() and reply.usage.completion_tokens > 0 and reply.model
    stream = llm.stream("Count from 1 to 3.", cache=False)
    assert "".join(stream) == stream.result.text and stream.result.text
    answer = structured(llm, "What is the capital of France?", Answer, retries=2)
    assert answer.capital.strip()
