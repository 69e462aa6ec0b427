"""Fixtures for the LLM tests: a running Ollama stub and a fake clock for retry timing (no real sleeps)."""

from __future__ import annotations

import random

import pytest

from ragforge.llm import RetryClock
from ragforge.testing.ollama_stub import OllamaStub


class FakeClock(RetryClock):
    """Time that only moves when something sleeps; records every sleep."""

    def __init__(self, seed: int = 0) -> None:
        self.t = 1000.0
        self.sleeps: list[float] = []
        super().__init__(now=lambda: self.t, sleep=self._sleep, rng=random.Random(seed))

    def _sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def stub():
    with OllamaStub(models=["llama3.2", "qwen2.5:0.5b", "nomic-embed-text"]) as server:
        yield server


@pytest.fixture(autouse=True)
def _no_ollama_host(monkeypatch):
    monkeypatch.delenv("OLLAMA_HOST", raising=False)
