"""OllamaChat driving the real ollama client against the stub server: requests, replies, streams, errors."""

from __future__ import annotations

import socket

import pytest
from pydantic import BaseModel

from ragforge._ollama import resolve_host
from ragforge.errors import (
    ConfigError,
    LLMConnectionError,
    LLMContextError,
    LLMModelNotFoundError,
    LLMRateLimitError,
    LLMResponseError,
    LLMServerError,
    LLMTimeoutError,
    RagforgeError,
)
from ragforge.llm import Message, OllamaChat, RetryPolicy, Tool

NO_RETRY = RetryPolicy(max_attempts=1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_chat_sends_ollamas_request_shape_and_parses_the_reply(stub):
    stub.script_chat("Paris is the capital.")
    options = {"temperature": 0, "seed": 7, "num_ctx": 4096}
    llm = OllamaChat("llama3.2", host=stub.host, keep_alive="10m", options=options)
    system = {"role": "system", "content": "Be brief."}
    messages = [system, Message(role="user", content="Capital of France?")]
    result = llm.chat(messages, options={"temperature": 0.2})
    body = stub.bodies()[-1]
    assert body == {
        "model": "llama3.2",
        "messages": [system, {"role": "user", "content": "Capital of France?"}],
        "stream": False,
        "options": {"temperature": 0.2, "seed": 7, "num_ctx": 4096, "num_predict": 1024},  # a bounded reply
        "keep_alive": "10m",
    }
    assert result.text == "Paris is the capital."
    assert result.model == "llama3.2" and result.done_reason == "stop"
    assert result.usage.prompt_tokens > 0 and result.usage.completion_tokens > 0
    assert result.latency_s > 0 and not result.cached and result.retries == 0


def test_every_request_gets_a_context_that_fits_and_a_reply_bound(stub):
    stub.script_chat("ok")
    llm = OllamaChat("llama3.2", host=stub.host, max_tokens=200, cache=None)
    llm.chat("short question")
    assert stub.bodies()[-1]["options"] == {"num_ctx": 2048, "num_predict": 200}
    llm.chat("word " * 4000)  # ~20,000 bytes: about 6,700 tokens by the cautious estimate
    assert stub.bodies()[-1]["options"] == {"num_ctx": 8192, "num_predict": 200}


def test_a_prompt_that_cannot_fit_fails_before_it_is_sent(stub):
    llm = OllamaChat("llama3.2", host=stub.host, max_context=4096, cache=None)
    sent = len(stub.bodies())
    with pytest.raises(LLMContextError, match="do not fit the context of 4,096 tokens"):
        llm.chat("word " * 10000)
    assert len(stub.bodies()) == sent


def test_tool_calls_are_parsed_and_history_with_tool_results_is_sent_back(stub):
    stub.script_chat({"content": "", "tool_calls": [{"name": "get_weather", "arguments": {"city": "Oslo"}}]})

    def get_weather(city: str) -> str:
        """Current weather for a city."""
        return "rain"

    llm = OllamaChat("llama3.2", host=stub.host, cache=None)
    first = llm.chat("Weather in Oslo?", tools=[Tool.from_function(get_weather)])
    assert [(c.name, c.arguments) for c in first.tool_calls] == [("get_weather", {"city": "Oslo"})]
    history = [Message(role="user", content="Weather in Oslo?"), first.message(),
               Message(role="tool", tool_name="get_weather", content="rain")]
    llm.chat(history)
    sent = stub.bodies()[-1]["messages"]
    assert sent[1] == {"role": "assistant", "content": "",
                       "tool_calls": [{"function": {"name": "get_weather", "arguments": {"city": "Oslo"}}}]}
    assert sent[2] == {"role": "tool", "content": "rain", "tool_name": "get_weather"}


class Address(BaseModel):
    street: str
    city: str


def test_nested_tool_schemas_reach_the_server_intact(stub):
    def ship(to: Address, items: list[str]) -> str:
        """Ship items."""
        return "ok"

    OllamaChat("llama3.2", host=stub.host).chat("ship it", tools=[Tool.from_function(ship)])
    params = stub.bodies()[-1]["tools"][0]["function"]["parameters"]
    assert params["properties"]["to"]["properties"]["city"] == {"type": "string"}
    assert params["properties"]["items"] == {"type": "array", "items": {"type": "string"}}


def test_format_schema_is_sent(stub):
    stub.script_chat('{"age": 22}')
    schema = {"type": "object", "properties": {"age": {"type": "integer"}}, "required": ["age"]}
    assert OllamaChat("llama3.2", host=stub.host).chat("age?", format=schema).text == '{"age": 22}'
    assert stub.bodies()[-1]["format"] == schema


def test_stream_assembles_pieces_and_final_result(stub):
    stub.script_chat("The sky is blue because of Rayleigh scattering.")
    stream = OllamaChat("llama3.2", host=stub.host).stream("why is the sky blue?")
    pieces = list(stream)
    assert len(pieces) == 8 and "".join(pieces) == "The sky is blue because of Rayleigh scattering."
    assert stream.result.text == "".join(pieces)
    assert stream.result.done_reason == "stop" and stream.result.usage.completion_tokens > 0
    assert stub.bodies()[-1]["stream"] is True


def test_stream_result_can_be_read_without_iterating(stub):
    stub.script_chat("one two three")
    assert OllamaChat("llama3.2", host=stub.host).stream("count").result.text == "one two three"


def test_host_comes_from_argument_then_env_then_default(stub, monkeypatch):
    assert resolve_host(None) == "http://127.0.0.1:11434"
    monkeypatch.setenv("OLLAMA_HOST", stub.host)
    assert OllamaChat("llama3.2").host == stub.host
    assert OllamaChat("llama3.2", host="gpu-box").host == "http://gpu-box:11434"
    assert OllamaChat("llama3.2").chat("hi").text == "echo: hi"


def test_list_models(stub):
    assert OllamaChat("llama3.2", host=stub.host).list_models() == [
        "llama3.2:latest", "qwen2.5:0.5b", "nomic-embed-text:latest"]


def test_ollama_not_running_says_start_it():
    host = f"http://127.0.0.1:{_free_port()}"
    with pytest.raises(LLMConnectionError, match="ollama serve") as info:
        OllamaChat("llama3.2", host=host, retry=NO_RETRY).chat("hi")
    assert host in str(info.value) and info.value.retryable and isinstance(info.value, RagforgeError)


def test_ollama_not_running_while_streaming():
    with pytest.raises(LLMConnectionError, match="ollama serve"):
        list(OllamaChat("llama3.2", host=f"127.0.0.1:{_free_port()}", retry=NO_RETRY).stream("hi"))


def test_model_not_pulled_says_pull_it_and_is_not_retried(stub):
    with pytest.raises(LLMModelNotFoundError, match=r"run `ollama pull mistral`") as info:
        OllamaChat("mistral", host=stub.host).chat("hi")
    assert not info.value.retryable
    assert len(stub.bodies()) == 1  # no retry on a 404


def test_timeout_names_the_figure_used(stub):
    stub.fail_next("slow", delay=2.0)
    with pytest.raises(LLMTimeoutError, match=r"within 0\.2 s"):
        OllamaChat("llama3.2", host=stub.host, timeout=0.2, retry=NO_RETRY).chat("hi")


def test_a_silent_server_costs_the_timeout_not_attempts_times_timeout(stub):
    """Issue 10 row 16: a server that accepts and never answers; the timeout is the whole budget of a call."""
    import time

    stub.fail_next("slow", delay=3.0, times=5)
    started = time.perf_counter()
    with pytest.raises(LLMTimeoutError, match=r"within 0\.5 s"):
        OllamaChat("llama3.2", host=stub.host, timeout=0.5, cache=None).chat("hi")  # default retry policy
    assert time.perf_counter() - started < 1.5  # one attempt: a retry would start past the deadline


def test_malformed_reply(stub):
    stub.fail_next("malformed")
    with pytest.raises(LLMResponseError, match="malformed reply"):
        OllamaChat("llama3.2", host=stub.host, retry=NO_RETRY).chat("hi")


def test_malformed_stream(stub):
    stub.fail_next("malformed")
    with pytest.raises(LLMResponseError):
        list(OllamaChat("llama3.2", host=stub.host, retry=NO_RETRY).stream("hi"))


@pytest.mark.parametrize("fault, error",
                         [(429, LLMRateLimitError), (500, LLMServerError), ("drop", LLMConnectionError)])
def test_each_transient_fault_maps_to_a_retryable_error(stub, fault, error):
    stub.fail_next(fault)
    with pytest.raises(error) as info:
        OllamaChat("llama3.2", host=stub.host, retry=NO_RETRY).chat("hi")
    assert info.value.retryable


def test_default_chain_retries_transient_faults_then_answers(stub, clock):
    stub.fail_next(500)
    stub.fail_next("drop")
    stub.fail_next(429)
    policy = RetryPolicy(max_attempts=4, jitter=0)
    result = OllamaChat("llama3.2", host=stub.host, retry=policy, retry_clock=clock).chat("hi")
    assert result.text == "echo: hi" and result.retries == 3
    assert clock.sleeps == [0.5, 1.0, 2.0]


def test_invalid_settings_are_config_errors():
    with pytest.raises(ConfigError):
        OllamaChat("")
    with pytest.raises(ConfigError):
        OllamaChat("llama3.2", timeout=0)
    with pytest.raises(ConfigError):
        OllamaChat("llama3.2", host="ftp://x")


def test_close_releases_connections_and_reopens_on_demand(stub):
    with OllamaChat("llama3.2", host=stub.host, cache=None, fallbacks=["qwen2.5:0.5b"]) as llm:
        llm.chat("one")
        assert llm.backend._client is not None
    assert llm.backend._client is None
    assert llm.chat("two").text == "echo: two"


LOGPROBS = [{"token": "Paris", "logprob": -0.1, "top_logprobs": [{"token": "Paris", "logprob": -0.1},
                                                                  {"token": "The", "logprob": -2.5},
                                                                  {"token": "Lyon", "logprob": -4.0}]}]


@pytest.mark.parametrize("streamed", [False, True])
def test_token_log_probabilities_and_their_alternatives_come_back_when_asked(stub, streamed: bool):
    llm = OllamaChat("llama3.2", host=stub.host, cache=None)
    stub.script_chat({"content": "Paris", "logprobs": LOGPROBS}, {"content": "Paris", "logprobs": LOGPROBS})
    ask = (lambda **kw: llm.stream("Capital?", **kw).result) if streamed else (lambda **kw: llm.chat("Capital?", **kw))
    result = ask(options={"top_logprobs": 2})
    body = stub.bodies()[-1]
    assert body["logprobs"] is True and body["top_logprobs"] == 2 and "top_logprobs" not in body["options"]
    assert result.tokens == ["Paris"] and result.logprobs == [-0.1]
    assert result.top_logprobs == [[("Paris", -0.1), ("The", -2.5)]]
    plain = ask()  # not asked: none sent, none parsed
    assert plain.logprobs is None and plain.tokens is None and plain.top_logprobs is None
