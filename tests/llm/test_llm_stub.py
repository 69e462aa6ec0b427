"""The Ollama stub itself, driven by the official ollama client: shapes, faults, shutdown."""

from __future__ import annotations

import httpx
import ollama
import pytest

from ragforge.testing.ollama_stub import OllamaStub


def test_generate_streaming_and_not(stub):
    client = ollama.Client(host=stub.host)
    stub.script_chat("a b")
    whole = client.generate(model="llama3.2", prompt="hi", stream=False)
    assert whole.response == "a b" and whole.done and whole.done_reason == "stop" and whole.eval_count
    parts = list(client.generate(model="llama3.2", prompt="x y z", stream=True))
    assert "".join(p.response for p in parts) == "echo: x y z" and parts[-1].done and not parts[0].done


def test_tool_calls_stream_in_ollamas_shape(stub):
    stub.script_chat({"content": "", "tool_calls": [{"name": "f", "arguments": {"x": 1}}]})
    client = ollama.Client(host=stub.host)
    chunks = list(client.chat(model="llama3.2", messages=[{"role": "user", "content": "go"}], stream=True))
    calls = [c for chunk in chunks for c in (chunk.message.tool_calls or [])]
    assert [(c.function.name, dict(c.function.arguments)) for c in calls] == [("f", {"x": 1})]
    assert chunks[-1].done


def test_replies_are_queued_per_model_then_for_any_model(stub):
    stub.script_chat("for qwen", model="qwen2.5:0.5b")
    stub.script_chat("for anyone")
    client = ollama.Client(host=stub.host)
    msgs = [{"role": "user", "content": "?"}]
    assert client.chat(model="llama3.2", messages=msgs).message.content == "for anyone"
    assert client.chat(model="qwen2.5:0.5b", messages=msgs).message.content == "for qwen"
    stub.script_chat(lambda body: f"model was {body['model']}")
    assert client.chat(model="llama3.2", messages=msgs).message.content == "model was llama3.2"


def test_version_tags_show_and_unknown_paths(stub):
    assert httpx.get(f"{stub.host}/api/version").json() == {"version": stub.version}
    client = ollama.Client(host=stub.host)
    shown = client.show("llama3.2")
    assert shown.modelinfo["llama.context_length"] == 8192 and "tools" in shown.capabilities
    with pytest.raises(ollama.ResponseError) as info:
        client.show("missing")
    assert info.value.status_code == 404 and "not found" in info.value.error
    assert httpx.post(f"{stub.host}/api/nothing", json={}).status_code == 404
    assert stub.paths[0] == "/api/version"


@pytest.mark.parametrize("kind, status", [(429, 429), (500, 500), (404, 404)])
def test_status_faults_carry_ollamas_error_body(stub, kind, status):
    stub.fail_next(kind)
    reply = httpx.post(f"{stub.host}/api/chat", json={"model": "llama3.2", "messages": [], "stream": False})
    assert reply.status_code == status and set(reply.json()) == {"error"}


def test_fault_for_one_path_only(stub):
    stub.fail_next(500, path="/api/embed")
    body = {"model": "nomic-embed-text", "input": "x"}
    assert httpx.post(f"{stub.host}/api/embed", json=body).status_code == 500
    assert httpx.post(f"{stub.host}/api/embed", json=body).status_code == 200


def test_drop_and_malformed(stub):
    stub.fail_next("drop")
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.post(f"{stub.host}/api/chat", json={"model": "llama3.2", "messages": []})
    stub.fail_next("malformed")
    reply = httpx.post(f"{stub.host}/api/chat", json={"model": "llama3.2", "messages": []})
    with pytest.raises(ValueError):
        reply.json()


def test_unknown_fault_kind_is_refused(stub):
    with pytest.raises(ValueError):
        stub.fail_next(418)


def test_stops_cleanly_even_with_a_slow_request_in_flight():
    stub = OllamaStub().start()
    host = stub.host
    stub.fail_next("slow", delay=30)
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{host}/api/chat", json={"model": "llama3.2", "messages": []}, timeout=0.2)
    stub.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{host}/api/version", timeout=1)
