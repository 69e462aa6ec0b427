"""Retry (counts, backoff on a fake clock, deadline, no retry on 4xx), fallback order and reasons, traces."""

from __future__ import annotations

import pytest

from ragforge.errors import (
    LLMConnectionError,
    LLMModelNotFoundError,
    LLMRateLimitError,
    LLMRequestError,
    LLMServerError,
    LLMTimeoutError,
)
from ragforge.llm import FallbackChat, OllamaBackend, OllamaChat, RetryingChat, RetryPolicy, TracedChat
from ragforge.testing.chat import OutOfRepliesError, ScriptedChatModel

EXACT = RetryPolicy(max_attempts=5, base_delay=0.5, max_delay=3.0, multiplier=2.0, jitter=0)


def test_backoff_is_exponential_and_capped(clock):
    inner = ScriptedChatModel([LLMServerError("boom")] * 4 + ["ok"])
    result = RetryingChat(inner, EXACT, clock=clock).chat("hi")
    assert result.text == "ok" and result.retries == 4
    assert clock.sleeps == [0.5, 1.0, 2.0, 3.0]
    assert len(inner.calls) == 5


def test_jitter_stays_within_its_band(clock):
    policy = RetryPolicy(max_attempts=4, base_delay=1.0, max_delay=10.0, jitter=0.25)
    inner = ScriptedChatModel([LLMTimeoutError("slow")] * 3 + ["ok"])
    RetryingChat(inner, policy, clock=clock).chat("hi")
    for sleep, nominal in zip(clock.sleeps, [1.0, 2.0, 4.0], strict=True):
        assert nominal * 0.75 <= sleep <= nominal * 1.25
    assert clock.sleeps != [1.0, 2.0, 4.0]


def test_gives_up_after_max_attempts_with_the_last_error(clock):
    inner = ScriptedChatModel([LLMConnectionError("down")] * 3 + ["never"])
    with pytest.raises(LLMConnectionError, match="down"):
        RetryingChat(inner, RetryPolicy(max_attempts=3, jitter=0), clock=clock).chat("hi")
    assert len(inner.calls) == 3 and len(clock.sleeps) == 2


def test_deadline_bounds_the_total_time(clock):
    policy = RetryPolicy(max_attempts=10, base_delay=1.0, max_delay=60, jitter=0, deadline=5.0)
    inner = ScriptedChatModel([LLMRateLimitError("429")] * 10)
    with pytest.raises(LLMRateLimitError):
        RetryingChat(inner, policy, clock=clock).chat("hi")
    assert clock.sleeps == [1.0, 2.0]  # a third sleep (4 s) would end past the 5 s deadline
    assert sum(clock.sleeps) <= 5.0


@pytest.mark.parametrize("error", [LLMRequestError("400 bad"), LLMModelNotFoundError("404")])
def test_no_retry_on_4xx(clock, error):
    inner = ScriptedChatModel([error, "never"])
    with pytest.raises(type(error)):
        RetryingChat(inner, EXACT, clock=clock).chat("hi")
    assert len(inner.calls) == 1 and clock.sleeps == []


def test_retry_against_real_faults_on_the_stub(stub, clock):
    stub.fail_next(500, times=2)
    backend = OllamaBackend("llama3.2", stub.host)
    result = RetryingChat(backend, EXACT, clock=clock).chat("hi")
    assert result.retries == 2 and clock.sleeps == [0.5, 1.0] and len(stub.bodies()) == 3


def test_404_from_the_stub_is_not_retried(stub, clock):
    stub.fail_next(404)
    with pytest.raises(LLMModelNotFoundError):
        RetryingChat(OllamaBackend("llama3.2", stub.host), EXACT, clock=clock).chat("hi")
    assert len(stub.bodies()) == 1 and clock.sleeps == []


def test_stream_is_retried_before_its_first_piece(stub, clock):
    stub.fail_next("drop")
    stream = RetryingChat(OllamaBackend("llama3.2", stub.host), EXACT, clock=clock).stream("a b c")
    assert "".join(stream) == "echo: a b c"
    assert stream.result.retries == 1 and clock.sleeps == [0.5]


def test_fallback_tries_models_in_order_and_records_why(clock):
    first = ScriptedChatModel([LLMModelNotFoundError("model 'big' not found")], model="big")
    second = ScriptedChatModel([LLMConnectionError("host down")], model="medium")
    third = ScriptedChatModel(["small answers"], model="small")
    result = FallbackChat([first, second, third]).chat("hi")
    assert result.text == "small answers" and result.model == "small"
    assert result.fallback_reason == (
        "big: LLMModelNotFoundError: model 'big' not found; medium: LLMConnectionError: host down")
    assert [len(m.calls) for m in (first, second, third)] == [1, 1, 1]


def test_fallback_does_not_run_when_the_primary_answers():
    second = ScriptedChatModel([], model="b")
    result = FallbackChat([ScriptedChatModel(["fine"], model="a"), second]).chat("hi")
    assert result.fallback_reason is None and second.calls == []


def test_when_every_model_fails_all_reasons_are_raised():
    models = [ScriptedChatModel([LLMServerError("500")], model="a"),
              ScriptedChatModel([LLMTimeoutError("t")], model="b")]
    expected = r"every model failed: a: LLMServerError: 500; b: LLMTimeoutError: t"
    with pytest.raises(LLMTimeoutError, match=expected):
        FallbackChat(models).chat("hi")


def test_ollama_chat_falls_back_to_another_model_on_the_same_host(stub):
    stub.fail_next(404)
    events = []
    llm = OllamaChat("llama3.2", host=stub.host, fallbacks=["qwen2.5:0.5b"], on_event=events.append)
    result = llm.chat("hi")
    assert result.model == "qwen2.5:0.5b" and "llama3.2: LLMModelNotFoundError" in result.fallback_reason
    assert [b["model"] for b in stub.bodies()] == ["llama3.2", "qwen2.5:0.5b"]
    assert events[-1]["fallback"] == result.fallback_reason and events[-1]["model"] == "qwen2.5:0.5b"


def test_ollama_chat_falls_back_to_another_host(stub):
    dead = "http://127.0.0.1:9"  # discard port: nothing listens
    backup = OllamaChat("llama3.2", host=stub.host, cache=None)
    llm = OllamaChat("llama3.2", host=dead, retry=RetryPolicy(max_attempts=1), fallbacks=[backup])
    result = llm.chat("hi")
    assert result.text == "echo: hi" and "ollama serve" in result.fallback_reason


def test_each_fallback_gets_its_own_retries(stub, clock):
    stub.fail_next(500, times=2)  # primary: both attempts fail; the fallback then answers first time
    llm = OllamaChat("llama3.2", host=stub.host, fallbacks=["qwen2.5:0.5b"],
                     retry=RetryPolicy(max_attempts=2, jitter=0), retry_clock=clock)
    result = llm.chat("hi")
    assert result.model == "qwen2.5:0.5b" and clock.sleeps == [0.5]
    assert [b["model"] for b in stub.bodies()] == ["llama3.2", "llama3.2", "qwen2.5:0.5b"]


def test_trace_events_for_success_cache_hit_and_failure(clock):
    events = []
    inner = ScriptedChatModel([LLMServerError("x"), "four words in reply"], model="m")
    traced = TracedChat(RetryingChat(inner, EXACT, clock=clock), events.append)
    traced.chat([{"role": "user", "content": "12345"}])
    assert events[0] == {**events[0], "type": "llm_call", "model": "m", "prompt_chars": 5, "reply_chars": 19,
                         "cache_hit": False, "retries": 1, "fallback": None, "error": None}
    with pytest.raises(OutOfRepliesError):
        traced.chat("again")  # the script is exhausted
    assert len(events) == 1  # OutOfRepliesError is a test-setup error, not an LLM call failure

    failing = TracedChat(ScriptedChatModel([LLMRequestError("bad")], model="m"), events.append)
    with pytest.raises(LLMRequestError):
        failing.chat("x")
    assert events[-1]["error"] == "LLMRequestError: bad" and events[-1]["reply_chars"] == 0


def test_events_are_per_instance_not_global(stub):
    a_events, b_events = [], []
    OllamaChat("llama3.2", host=stub.host, on_event=a_events.append).chat("a")
    OllamaChat("llama3.2", host=stub.host, on_event=b_events.append).chat("b")
    assert len(a_events) == 1 and len(b_events) == 1


def test_stream_falls_back_before_its_first_piece(stub):
    stub.fail_next(404)
    events = []
    llm = OllamaChat("llama3.2", host=stub.host, fallbacks=["qwen2.5:0.5b"], on_event=events.append)
    stream = llm.stream("x y")
    assert "".join(stream) == "echo: x y"
    assert stream.result.model == "qwen2.5:0.5b" and "LLMModelNotFoundError" in stream.result.fallback_reason
    assert events[-1]["stream"] is True and events[-1]["fallback"] == stream.result.fallback_reason
