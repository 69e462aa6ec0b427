"""``ChatModelContract``: what any :class:`~ragforge.llm.ChatModel` must do.

    class TestMyChat(ChatModelContract):
        reports_usage = True            # token counts come back with every reply (the default)

        @pytest.fixture
        def chat_model(self):           # build it without a response cache: the suite compares calls
            return MyChat("model", cache=None)

        @pytest.fixture
        def script(self, server):       # optional: queue the next replies, where replies can be scripted
            return server.script_chat

        @pytest.fixture
        def failing_chat_model(self):   # optional: one whose every call fails (server down, a tiny timeout)
            return MyChat("model", url="http://127.0.0.1:9", retry=None, cache=None)

Without ``script`` the suite runs on a real model's own words: it asks for temperature 0 and a seed, and
compares replies only where ``deterministic`` says that repeats them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from ragforge.errors import LLMContextError, LLMError, RagforgeError
from ragforge.llm.types import ChatModel, ChatResult, Message, StreamResult, Usage

Script = Callable[..., None]

STEADY = {"temperature": 0, "seed": 7, "num_predict": 12}  # Ollama's option names; every backend maps them
QUESTION = [{"role": "system", "content": "Answer in one short sentence."},
            {"role": "user", "content": "What is the capital of France?"}]
REPLY = "Paris is the capital of France."
SCHEMA: dict[str, Any] = {"type": "object", "additionalProperties": False, "required": ["city", "country"],
          "properties": {"city": {"type": "string", "maxLength": 30},
                         "country": {"type": "string", "maxLength": 30}}}


class ChatModelContract:
    """Subclass, provide a ``chat_model`` fixture, and every ``test_*`` below runs on it."""

    reports_usage: bool = True  # prompt and completion token counts come back (a fake may report none)
    deterministic: bool = True  # temperature 0 and a seed give the same reply twice
    knows_its_context: bool = True  # a prompt that cannot fit raises LLMContextError (a fake has no window)

    @pytest.fixture
    def chat_model(self) -> ChatModel:
        raise NotImplementedError("a subclass of ChatModelContract provides a `chat_model` fixture")

    @pytest.fixture
    def script(self) -> Script | None:
        return None

    @pytest.fixture
    def failing_chat_model(self) -> ChatModel:
        pytest.skip("no `failing_chat_model` fixture: this chat model has no failure to provoke")

    def test_describes_itself(self, chat_model: ChatModel) -> None:
        assert isinstance(chat_model, ChatModel)
        assert isinstance(chat_model.model, str) and chat_model.model.strip()

    def test_chat_returns_a_result(self, chat_model: ChatModel, script: Script | None) -> None:
        if script:
            script(REPLY)
        result = chat_model.chat(QUESTION, options=STEADY)
        assert isinstance(result, ChatResult) and isinstance(result.text, str) and result.text.strip()
        assert result.tool_calls == [] and isinstance(result.model, str) and result.latency_s >= 0
        if script:
            assert result.text == REPLY

    def test_messages_in_every_spelling(self, chat_model: ChatModel, script: Script | None) -> None:
        """Message objects, dicts in Ollama's shape, and a plain string (one user message)."""
        spellings: list[Any] = [[Message(role="user", content="Say yes.")],
                                [{"role": "user", "content": "Say yes."}], "Say yes."]
        if script:
            script(*["Yes."] * len(spellings))
        for messages in spellings:
            assert chat_model.chat(messages, options=STEADY).text.strip()

    def test_chat_and_stream_agree(self, chat_model: ChatModel, script: Script | None) -> None:
        if script:
            script(REPLY, REPLY)
        elif not self.deterministic:
            pytest.skip("replies are neither scripted nor repeatable")
        text = chat_model.chat(QUESTION, options=STEADY).text
        stream = chat_model.stream(QUESTION, options=STEADY)
        assert isinstance(stream, StreamResult)
        pieces = list(stream)
        assert pieces and all(isinstance(piece, str) for piece in pieces)
        assert "".join(pieces) == stream.text == stream.result.text == text
        assert isinstance(stream.result, ChatResult)

    def test_steady_options_repeat_a_reply(self, chat_model: ChatModel, script: Script | None) -> None:
        if script or not self.deterministic:
            pytest.skip("scripted replies repeat whatever is scripted" if script else "no repeatable replies")
        assert chat_model.chat(QUESTION, options=STEADY).text == chat_model.chat(QUESTION, options=STEADY).text

    def test_options_are_accepted(self, chat_model: ChatModel, script: Script | None) -> None:
        if script:
            script("Yes.")
        options = {**STEADY, "top_p": 0.9, "top_k": 20, "num_predict": 8}
        assert isinstance(chat_model.chat([{"role": "user", "content": "Say yes."}], options=options), ChatResult)

    def test_a_json_schema_format_gives_json(self, chat_model: ChatModel, script: Script | None) -> None:
        if script:
            script(json.dumps({"city": "Paris", "country": "France"}))
        result = chat_model.chat([{"role": "user", "content": "Where is the Eiffel Tower? Reply in JSON with "
                                   "the city and the country."}], format=SCHEMA, options={**STEADY,
                                                                                          "num_predict": 120})
        data = json.loads(result.text)
        assert isinstance(data, dict) and set(SCHEMA["required"]) <= set(data), data
        assert all(isinstance(data[key], str) for key in SCHEMA["required"])

    def test_usage_is_counted(self, chat_model: ChatModel, script: Script | None) -> None:
        if script:
            script(REPLY, REPLY)
        results = [chat_model.chat(QUESTION, options=STEADY)]
        stream = chat_model.stream(QUESTION, options=STEADY)
        results.append(stream.result)
        for result in results:
            usage = result.usage
            assert isinstance(usage, Usage) and usage.prompt_tokens >= 0 and usage.completion_tokens >= 0
            assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
            if self.reports_usage:
                assert usage.prompt_tokens > 0 and usage.completion_tokens > 0, usage

    def test_a_prompt_past_the_context_is_refused(self, chat_model: ChatModel) -> None:
        if not self.knows_its_context:
            pytest.skip("this chat model has no context window")
        flood = "The quick brown fox jumps over the lazy dog. " * 5_000  # ~50,000 tokens
        with pytest.raises(LLMContextError) as caught:
            chat_model.chat([{"role": "user", "content": flood}], options=STEADY)
        assert isinstance(caught.value, LLMError) and "\n" not in str(caught.value)

    def test_failures_are_llm_errors(self, failing_chat_model: ChatModel) -> None:
        """Chat and stream fail with an :class:`LLMError` subclass (``retryable`` says whether to try again)
        whose message is one line; never a foreign exception."""
        calls = (lambda: failing_chat_model.chat(QUESTION, options=STEADY),
                 lambda: list(failing_chat_model.stream(QUESTION, options=STEADY)))
        for call in calls:
            with pytest.raises(LLMError) as caught:
                call()
            assert isinstance(caught.value.retryable, bool)
            assert str(caught.value).strip() and "\n" not in str(caught.value)

    def test_check_is_cheap_and_says_what_to_do(self, chat_model: ChatModel,
                                                request: pytest.FixtureRequest) -> None:
        """``check()`` (where a model has it) passes on a working model and, on a failing one, raises a
        :class:`RagforgeError` that says what to do; a model without ``check`` is not required to have one."""
        check = getattr(chat_model, "check", None)
        if not callable(check):
            pytest.skip("this chat model has no check()")
        assert check() is None
        try:
            failing = request.getfixturevalue("failing_chat_model")
        except pytest.skip.Exception:
            return
        try:
            failing.check()
        except RagforgeError as exc:
            assert str(exc).strip() and "\n" not in str(exc)
