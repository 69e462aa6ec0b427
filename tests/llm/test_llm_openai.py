"""OpenAIChat against the scripted OpenAI stub: requests as sent, replies, streams, tools, typed output."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from ragforge.errors import ConfigError, LLMContextError
from ragforge.llm import ChatModel, OpenAIChat, Tool, make_chat_model, structured
from ragforge.llm.openai_chat import OpenAIBackend, prompted
from ragforge.llm.types import Message
from ragforge.testing.openai_stub import OpenAIStub


@pytest.fixture
def stub():
    with OpenAIStub() as server:
        yield server


@pytest.fixture(autouse=True)
def _no_openai_env(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


class City(BaseModel):
    name: str
    country: str


def test_chat_sends_one_request_with_a_reply_bound_and_mapped_options(stub):
    llm = OpenAIChat("qwen", stub.base_url, options={"temperature": 0, "seed": 7, "num_ctx": 4096})
    result = llm.chat([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hello there"}],
                      options={"num_predict": 50})
    assert isinstance(llm, ChatModel)
    assert result.text == "echo: hello there" and result.done_reason == "stop" and result.model == "qwen"
    assert result.usage.prompt_tokens > 0 and result.usage.completion_tokens == 3
    (body,) = stub.bodies()
    assert body["model"] == "qwen" and body["stream"] is False
    assert (body["max_tokens"], body["temperature"], body["seed"]) == (50, 0, 7)
    assert "num_ctx" not in body and "num_predict" not in body
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert stub.paths == ["/v1/models", "/v1/chat/completions"]  # the context window, asked once
    llm.chat("again", cache=False)
    assert stub.paths.count("/v1/models") == 1


def test_every_call_is_bounded_and_the_bound_is_honoured(stub):
    llm = OpenAIChat("qwen", stub.base_url, max_tokens=4)
    stub.script_chat("one two three four five six seven")
    result = llm.chat("count")
    assert stub.bodies()[-1]["max_tokens"] == 4
    assert result.text == "one two three four " and result.done_reason == "length"
    llm.chat("no limit, Ollama-style", options={"num_predict": -1})
    assert stub.bodies()[-1]["max_tokens"] == 4  # still bounded


def test_the_stream_yields_pieces_that_add_up_to_the_result(stub):
    llm = OpenAIChat("qwen", stub.base_url)
    stub.script_chat("The kettle needs descaling every three months.")
    stream = llm.stream("How often?")
    pieces = list(stream)
    assert len(pieces) == 7 and "".join(pieces) == stream.result.text
    assert stream.result.usage.completion_tokens == 7 and stream.result.done_reason == "stop"
    body = stub.bodies()[-1]
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert llm.stream("How often?").result.cached  # the cache serves streams too


def test_a_server_that_does_not_stream_still_gives_a_stream():
    with OpenAIStub(streaming=False) as stub:
        stub.script_chat("all at once")
        stream = OpenAIChat("qwen", stub.base_url).stream("hi")
        assert list(stream) == ["all at once"] and stream.result.usage.completion_tokens == 3


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(st.characters(blacklist_categories=("Cs",)), max_size=60))
def test_any_reply_survives_the_wire_streamed_or_not(stub, text):
    llm = OpenAIChat("qwen", stub.base_url, cache=None)
    stub.script_chat(text, text)
    assert llm.chat("x").text == text
    assert "".join(llm.stream("x")) == text


def add(a: int, b: int = 1) -> int:
    """Add two integers."""
    return a + b


def test_tool_calls_go_out_in_openai_shape_and_come_back_parsed(stub):
    llm = OpenAIChat("qwen", stub.base_url)
    stub.script_chat({"content": "", "tool_calls": [{"name": "add", "arguments": {"a": 2, "b": 40}}]})
    result = llm.chat("What is 2 + 40?", tools=[Tool.from_function(add)])
    assert [(c.name, c.arguments, c.id) for c in result.tool_calls] == [("add", {"a": 2, "b": 40}, "call_0")]
    assert result.done_reason == "tool_calls"
    sent = stub.bodies()[-1]["tools"][0]
    assert sent["type"] == "function" and sent["function"]["name"] == "add"
    history = [{"role": "user", "content": "What is 2 + 40?"}, result.message(),
               {"role": "tool", "content": "42", "tool_name": "add"}]
    llm.chat(history, tools=[Tool.from_function(add)])
    replayed = stub.bodies()[-1]["messages"]
    assert replayed[1]["tool_calls"][0]["function"] == {"name": "add", "arguments": '{"a": 2, "b": 40}'}
    assert replayed[2] == {"role": "tool", "content": "42", "name": "add"}


def test_json_schema_goes_out_as_response_format(stub):
    llm = OpenAIChat("qwen", stub.base_url)
    stub.script_chat('{"name": "Paris", "country": "France"}')
    assert structured(llm, "Where is the Eiffel Tower?", City) == City(name="Paris", country="France")
    sent = stub.bodies()[-1]["response_format"]
    assert sent["type"] == "json_schema" and sent["json_schema"]["schema"]["required"] == ["name", "country"]
    assert llm.backend.refused_formats == set()


def test_a_server_without_response_format_is_detected_once_and_prompted_instead():
    with OpenAIStub(response_format=False) as stub:
        llm = OpenAIChat("qwen", stub.base_url)
        stub.script_chat('{"name": "Paris", "country": "France"}', '{"name": "Rome", "country": "Italy"}')
        assert structured(llm, "Eiffel Tower?", City).name == "Paris"
        assert structured(llm, "Colosseum?", City).name == "Rome"
        sent = stub.bodies()
    assert ["response_format" in body for body in sent] == [True, False, False]  # refused once, remembered
    assert llm.backend.refused_formats == {"json_schema"}
    schema = json.dumps(City.model_json_schema())
    assert sent[2]["messages"][-1]["content"].count(schema) == 1  # structured() already put it in the prompt


def test_prompted_json_adds_the_schema_or_the_instruction_once():
    schema = City.model_json_schema()
    asked = prompted([Message(role="user", content="Eiffel Tower?")], schema)
    assert asked[0].content.startswith("Eiffel Tower?\n\nReply with only a JSON object matching this JSON schema")
    assert prompted(asked, schema) == asked
    assert "single JSON object" in prompted([Message(role="system", content="s")], "json")[-1].content


def test_a_prompt_that_cannot_fit_fails_before_anything_is_sent():
    with OpenAIStub(n_ctx=256) as stub:
        llm = OpenAIChat("qwen", stub.base_url)
        with pytest.raises(LLMContextError, match=r"tokens do not fit the context of 256 tokens of 'qwen'"):
            llm.chat("word " * 400)
        assert stub.bodies() == [] and stub.paths == ["/v1/models"]
        llm.chat("word " * 100)  # fits, with a reply bound lowered to the room left
        assert 16 <= stub.bodies()[-1]["max_tokens"] < 256 - 100


def test_max_context_given_is_used_without_asking_the_server(stub):
    llm = OpenAIChat("qwen", stub.base_url, max_context=64)
    with pytest.raises(LLMContextError, match="the context of 64 tokens"):
        llm.chat("word " * 100)
    assert stub.paths == []


def test_the_servers_own_context_overflow_is_a_context_error():
    with OpenAIStub(n_ctx=100) as stub:
        llm = OpenAIChat("qwen", stub.base_url, max_context=100_000)  # a wrong window: the server tells
        with pytest.raises(LLMContextError, match=r"tokens do not fit the context of 100 tokens"):
            llm.chat("word " * 200)
        assert len(stub.bodies()) == 1  # not retried


def test_the_window_is_found_in_each_servers_spelling():
    from ragforge.llm.openai_chat import _window

    assert _window({"data": [{"id": "m", "meta": {"n_ctx": 2048}}]}, "other") == 2048  # llama-server
    assert _window({"data": [{"id": "a", "max_model_len": 8192}, {"id": "b"}]}, "a") == 8192  # vLLM
    assert _window({"data": [{"id": "a", "context_length": 4096}, {"id": "b"}]}, "c") is None
    assert _window({"object": "list", "data": []}, "a") is None and _window("html", "a") is None


def test_api_key_from_the_argument_or_the_environment(stub, monkeypatch):
    OpenAIChat("qwen", stub.base_url).chat("a")
    assert "Authorization" not in stub.headers[-1]
    OpenAIChat("qwen", stub.base_url, api_key="sk-arg").chat("b")
    assert stub.headers[-1]["Authorization"] == "Bearer sk-arg"
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    OpenAIChat("qwen", stub.base_url).chat("c")
    assert stub.headers[-1]["Authorization"] == "Bearer sk-env"


def test_the_spec_spelling_and_settings(stub, monkeypatch):
    port = stub.url.rsplit(":", 1)[1]
    llm = make_chat_model(f"openai:qwen2.5-coder:1.5b@127.0.0.1:{port}", timeout=30, options={"seed": 1},
                          host="ignored", max_tokens=64)
    assert isinstance(llm, OpenAIChat) and llm.model == "qwen2.5-coder:1.5b"
    assert llm.base_url == stub.base_url and llm.backend.timeout == 30 and llm.backend.max_tokens == 64
    assert llm.chat("hi").text == "echo: hi"
    monkeypatch.setenv("OPENAI_BASE_URL", stub.url)
    assert make_chat_model("openai:qwen").base_url == stub.base_url
    monkeypatch.delenv("OPENAI_BASE_URL")
    assert make_chat_model("openai:qwen").base_url == "http://127.0.0.1:8080/v1"


def test_fallback_by_name_is_another_model_on_the_same_server():
    with OpenAIStub(models=["small"]) as stub:
        llm = OpenAIChat("big", stub.base_url, fallbacks=["small"])
        result = llm.chat("hi")
    assert result.text == "echo: hi" and "model 'big' is not available" in result.fallback_reason


hosts = st.sampled_from(["localhost", "127.0.0.1", "gpu-box.lan", "[::1]"])
paths = st.lists(st.sampled_from(["api", "openai", "v1", "v1beta", "x"]), max_size=3).map("/".join)


@given(scheme=st.sampled_from(["", "http://", "https://"]), host=hosts,
       port=st.one_of(st.just(""), st.integers(1, 65535).map(lambda p: f":{p}")), path=paths,
       slash=st.sampled_from(["", "/"]))
def test_base_urls_are_normalised_once_and_for_all(scheme, host, port, path, slash):
    from ragforge._http import normalize_base_url

    url = normalize_base_url(f"{scheme}{host}{port}" + (f"/{path}" if path else "") + slash)
    assert normalize_base_url(url) == url and not url.endswith("/")
    assert url.startswith(("http://", "https://")) and f"{host}{port}" in url
    assert any(part.startswith("v1") for part in url.split("/")[3:])


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"model": ""}, "needs a model name"),
    ({"model": "m", "max_tokens": 0}, "max_tokens must be >= 1"),
    ({"model": "m", "max_context": 8}, "max_context must be more than 16"),
    ({"model": "m", "base_url": "ftp://host/v1"}, "invalid server URL"),
])
def test_bad_settings_are_refused(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        OpenAIBackend(**kwargs)


def test_the_docs_example_runs_against_a_server(stub):
    import re
    from pathlib import Path

    page = (Path(__file__).resolve().parents[2] / "docs" / "llm.md").read_text(encoding="utf-8")
    (block,) = [b for b in re.findall(r"```python\n(.*?)```", page, flags=re.S) if "openai:qwen2.5-coder@" in b]
    stub.script_chat("Hi!", '{"name": "Paris", "country": "France"}')
    scope: dict = {}
    exec(block.replace("127.0.0.1:8080", stub.url.removeprefix("http://")), scope)
    assert scope["city"] == scope["City"](name="Paris", country="France")
    assert stub.bodies()[0]["model"] == "qwen2.5-coder" and "response_format" in stub.bodies()[1]


LOGPROBS = [{"token": "Paris", "logprob": -0.1, "top_logprobs": [{"token": "Paris", "logprob": -0.1},
                                                                  {"token": "The", "logprob": -2.5},
                                                                  {"token": "Lyon", "logprob": -4.0}]}]


@pytest.mark.parametrize("streamed", [False, True])
def test_token_log_probabilities_and_their_alternatives_come_back_when_asked(stub, streamed: bool):
    llm = OpenAIChat("qwen", stub.base_url, cache=None)
    stub.script_chat({"content": "Paris", "logprobs": LOGPROBS}, {"content": "Paris", "logprobs": LOGPROBS})
    ask = (lambda **kw: llm.stream("Capital?", **kw).result) if streamed else (lambda **kw: llm.chat("Capital?", **kw))
    result = ask(options={"top_logprobs": 2})
    body = stub.bodies()[-1]
    assert body["logprobs"] is True and body["top_logprobs"] == 2
    assert result.tokens == ["Paris"] and result.logprobs == [-0.1]
    assert result.top_logprobs == [[("Paris", -0.1), ("The", -2.5)]]
    plain = ask()
    assert plain.logprobs is None and plain.tokens is None and plain.top_logprobs is None
