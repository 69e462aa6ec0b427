"""Against a real Ollama (skipped here): runs when OLLAMA_HOST (or the default host) has a chat model pulled.

Pick the model with RAGFORGE_TEST_OLLAMA_MODEL (default: the first chat model the server lists). The asserts
are about shape (a grounded answer or an honest refusal), not about a particular model's wording.
"""

from __future__ import annotations

import os

import pytest

from ragforge._ollama import resolve_host
from ragforge.testing.real_ollama import pulled_chat_model

HOST = resolve_host(os.environ.get("OLLAMA_HOST"))


def _pulled_model() -> str | None:
    return pulled_chat_model(HOST)


@pytest.mark.ollama
def test_real_model_answers_with_citations_or_refuses(index) -> None:
    model = _pulled_model()
    if model is None:
        pytest.skip(f"no Ollama with a pulled chat model at {HOST}")
    from ragforge.llm import OllamaChat
    from ragforge.query import QueryEngine

    llm = OllamaChat(model, host=HOST, timeout=180, options={"seed": 1})
    engine = QueryEngine(index, llm=llm)
    answer = engine.query("When did the Eiffel Tower open?")
    assert answer.refused or (answer.citations and all(1 <= c.number <= len(answer.hits) for c in answer.citations))
    unrelated = engine.query("What is the boiling point of mercury in Kelvin?")
    assert unrelated.refused or unrelated.citations
