"""The engine over the real OllamaChat client against the Ollama stub server, and with no server at all."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import pytest

from ragforge.errors import LLMConnectionError, LLMModelNotFoundError
from ragforge.llm import OllamaChat
from ragforge.query import QueryConfig, QueryEngine, ask
from ragforge.testing.ollama_stub import OllamaStub
from ragforge.types import Answer

Q = "When did the Eiffel Tower open?"


def _tower_block(body: dict) -> int:
    prompt = next(m["content"] for m in body["messages"] if m["role"] == "user" and "Context:" in m["content"])
    return int(re.search(r"\[(\d+)\] \(tower\.md", prompt).group(1))


def _json_answer(body: dict) -> str:
    n = _tower_block(body)
    return json.dumps({"answer": f"It opened in 1889 [{n}].", "citations": [{"n": n, "quote": "opened in 1889"}]})


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_query_over_http_with_structured_reply(index) -> None:
    with OllamaStub(models=["llama3.2"]) as stub:
        stub.script_chat(_json_answer)
        config = QueryConfig(answer_format="json", quotes=True)
        answer = QueryEngine(index, llm=OllamaChat("llama3.2", host=stub.host), config=config).query(Q)
        body = stub.bodies("/api/chat")[0]
    assert body["model"] == "llama3.2" and body["format"]["type"] == "object"  # the JSON schema was sent
    assert body["options"]["temperature"] == 0.0 and body["options"]["num_predict"] == 128
    assert body["options"]["num_ctx"] == 2048  # a context that holds this prompt
    assert not answer.refused and answer.citations[0].verified and answer.citations[0].source == "tower.md"


def test_stream_over_http(index) -> None:
    with OllamaStub(models=["llama3.2"]) as stub:
        stub.script_chat(lambda body: f"It opened in 1889 [{_tower_block(body)}].")
        parts = list(QueryEngine(index, llm=OllamaChat("llama3.2", host=stub.host)).stream(Q))
    text = "".join(p for p in parts if isinstance(p, str))
    assert text.startswith("It opened in 1889 [") and isinstance(parts[-1], Answer)
    assert parts[-1].citations[0].source == "tower.md"


def test_ask_opens_the_index_by_path(index, tmp_path: Path) -> None:
    index.close()
    with OllamaStub(models=["llama3.2"]) as stub:
        stub.script_chat(_json_answer)
        answer = ask(tmp_path / "idx", Q, "llama3.2", host=stub.host, k=3)
    assert len(answer.hits) == 3 and answer.citations[0].source == "tower.md"


def test_malformed_server_reply_falls_back_then_refuses(index) -> None:
    with OllamaStub(models=["llama3.2"]) as stub:
        stub.script_chat("not json at all", '{"answers": false}')
        config = QueryConfig(answer_format="json")
        answer = QueryEngine(index, llm=OllamaChat("llama3.2", host=stub.host), config=config).query(Q)
    assert answer.refused and answer.citations == []


def test_closed_port_raises_connection_error_naming_ollama_serve(index) -> None:
    llm = OllamaChat("llama3.2", host=f"http://127.0.0.1:{_closed_port()}", retry=None)
    with pytest.raises(LLMConnectionError, match="ollama serve"):
        QueryEngine(index, llm=llm).query(Q)


def test_ask_says_what_to_start_or_pull(index, tmp_path: Path) -> None:
    index.close()
    with pytest.raises(LLMConnectionError, match="ollama serve"):
        ask(tmp_path / "idx", Q, "llama3.2", host=f"http://127.0.0.1:{_closed_port()}")
    with OllamaStub(models=["qwen2.5"]) as stub, pytest.raises(LLMModelNotFoundError, match="ollama pull llama3.2"):
        ask(tmp_path / "idx", Q, "llama3.2", host=stub.host)
