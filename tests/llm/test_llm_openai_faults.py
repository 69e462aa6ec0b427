"""OpenAIChat's errors, each injected by the scripted stub: one line naming the URL, retried when it helps."""

from __future__ import annotations

import socket
import time

import pytest

from ragforge.errors import (
    LLMConnectionError,
    LLMModelNotFoundError,
    LLMRateLimitError,
    LLMRequestError,
    LLMResponseError,
    LLMServerError,
    LLMTimeoutError,
)
from ragforge.llm import OpenAIChat, RetryPolicy
from ragforge.testing.openai_stub import OpenAIStub


@pytest.fixture
def stub():
    with OpenAIStub() as server:
        yield server


def _llm(stub: OpenAIStub, clock, **kwargs) -> OpenAIChat:
    kwargs.setdefault("retry", RetryPolicy(jitter=0))
    return OpenAIChat("qwen", stub.base_url, retry_clock=clock, cache=None, max_context=4096, **kwargs)


@pytest.mark.parametrize("fault", [429, 500, 503, "drop"])
def test_transient_faults_are_retried_with_backoff(stub, clock, fault):
    stub.fail_next(fault, times=2)
    result = _llm(stub, clock).chat("hi")
    assert result.text == "echo: hi" and result.retries == 2
    assert clock.sleeps == [0.5, 1.0] and len(stub.bodies()) == 3


@pytest.mark.parametrize(("fault", "error", "message"), [
    (429, LLMRateLimitError, r"http://127\.0\.0\.1:\d+/v1 is rate limiting \(HTTP 429\)"),
    (500, LLMServerError, r"failed \(HTTP 500\) for model 'qwen': internal server error"),
    ("drop", LLMConnectionError, r"the connection to http://127\.0\.0\.1:\d+/v1 was dropped"),
])
def test_a_fault_that_outlasts_the_retries_says_what_happened(stub, clock, fault, error, message):
    stub.fail_next(fault, times=3)
    with pytest.raises(error, match=message):
        _llm(stub, clock).chat("hi")
    assert len(stub.bodies()) == 3


def test_a_stream_is_retried_before_its_first_piece(stub, clock):
    stub.fail_next(500)
    stream = _llm(stub, clock).stream("one two")
    assert "".join(stream) == "echo: one two" and stream.result.retries == 1


def test_a_server_that_never_answers_costs_the_timeout_once(stub):
    stub.fail_next("slow", delay=30)
    llm = OpenAIChat("qwen", stub.base_url, timeout=0.4, cache=None, max_context=4096)
    started = time.perf_counter()
    with pytest.raises(LLMTimeoutError, match=r"did not answer /chat/completions within 0.4 s.*raise the timeout"):
        llm.chat("hi")
    assert time.perf_counter() - started < 2.5  # the budget is spent: no retry
    assert len(stub.bodies()) == 1


def test_a_stream_that_outlasts_the_whole_budget_is_closed(stub):
    stub.fail_next("trickle", delay=0.15)  # every piece arrives in time, the whole reply does not
    stub.script_chat("one two three four five six seven eight nine ten eleven twelve")
    llm = OpenAIChat("qwen", stub.base_url, timeout=0.5, cache=None, max_context=4096)
    started = time.perf_counter()
    with pytest.raises(LLMTimeoutError, match=r"did not finish the reply within 0.5 s; the stream was closed"):
        list(llm.stream("count"))
    assert time.perf_counter() - started < 1.5


def test_malformed_json_is_a_response_error_and_not_retried(stub, clock):
    stub.fail_next("malformed")
    with pytest.raises(LLMResponseError, match=r"malformed JSON from the OpenAI-compatible server at http://"):
        _llm(stub, clock).chat("hi")
    assert len(stub.bodies()) == 1


def test_a_malformed_stream_is_a_response_error(stub, clock):
    stub.fail_next("malformed")
    with pytest.raises(LLMResponseError, match="malformed JSON"):
        list(_llm(stub, clock).stream("hi"))


def test_an_html_page_is_not_an_openai_server(stub, clock):
    stub.fail_next("html")
    with pytest.raises(LLMResponseError) as caught:
        _llm(stub, clock).chat("hi")
    message = str(caught.value)
    assert "does not look like an OpenAI-compatible server: /chat/completions answered an HTML page" in message
    assert "\n" not in message and "llama-server" in message


def test_a_url_without_the_api_is_not_an_openai_server(stub, clock):
    llm = OpenAIChat("qwen", stub.url + "/api", retry_clock=clock, cache=None)
    assert llm.base_url == stub.url + "/api/v1"
    with pytest.raises(LLMRequestError, match=r"/api/v1 does not look like an OpenAI-compatible server: POST "
                                              r"/chat/completions answered HTTP 404 \(File Not Found\)"):
        llm.chat("hi")


def test_a_model_the_server_does_not_have_is_named():
    with OpenAIStub(models=["llama3.2"]) as stub, \
            pytest.raises(LLMModelNotFoundError, match=r"model 'qwen' is not available at the server at http"):
        OpenAIChat("qwen", stub.base_url).chat("hi")


def test_a_server_that_is_not_running_says_to_start_it(clock):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    llm = OpenAIChat("qwen", f"127.0.0.1:{port}", retry_clock=clock)
    with pytest.raises(LLMConnectionError, match=rf"cannot connect to http://127.0.0.1:{port}/v1 .*is the server "
                                                 r"running\? Start it \(e\.g\. `llama-server"):
        llm.chat("hi")
    assert len(clock.sleeps) == 2  # retried, as a server may be starting


def test_a_refused_api_key_says_which_setting(stub, clock):
    stub.fail_next(401)
    with pytest.raises(LLMRequestError, match=r"refused the API key \(HTTP 401: Invalid API key\); set "
                                              r"OPENAI_API_KEY"):
        _llm(stub, clock).chat("hi")
    assert len(stub.bodies()) == 1


def test_check_fails_fast_before_any_work(stub, clock):
    llm = OpenAIChat("qwen", stub.base_url)
    llm.check()
    llm.chat("hi")
    assert stub.paths == ["/v1/models", "/v1/chat/completions"]  # the window was learnt by the check
    stub.fail_next("html", path="/v1/models")
    with pytest.raises(LLMResponseError, match="does not look like an OpenAI-compatible server: /models answered"):
        OpenAIChat("qwen", stub.base_url).check()
    with OpenAIStub(models=["llama3.2", "qwen2.5-coder:1.5b"]) as several:
        OpenAIChat("llama3.2", several.base_url).check()
        with pytest.raises(LLMModelNotFoundError, match=r"model 'qwen' is not among the models http://127.0.0.1:"
                                                        r"\d+/v1 serves \(llama3.2, qwen2.5-coder:1.5b\)"):
            OpenAIChat("qwen", several.base_url).check()


def test_check_names_a_stopped_server():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(LLMConnectionError, match="is the server running"):
        OpenAIChat("qwen", f"127.0.0.1:{port}").check()


@pytest.mark.parametrize("fault", ["html", 503])
def test_ragforge_ask_with_a_bad_url_is_one_line(stub, tmp_path, fault):
    from click.testing import CliRunner

    from ragforge.cli import main

    stub.fail_next(fault, path="/v1/models")
    result = CliRunner().invoke(main, ["ask", "Why?", "--index", str(tmp_path / "idx"),
                                       "--llm", f"openai:qwen@{stub.url}"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    (line,) = result.output.strip().splitlines()
    assert line.startswith("Error: ") and stub.base_url in line
