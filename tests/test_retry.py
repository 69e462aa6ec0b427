"""The one retry policy, shared by the LLM layer and the graph."""

from __future__ import annotations

import pytest

from ragforge import retry as retry_module
from ragforge.errors import LLMRequestError, LLMServerError, LLMTimeoutError
from ragforge.graph import RetryPolicy as GraphRetryPolicy
from ragforge.llm import RetryPolicy as LLMRetryPolicy
from ragforge.retry import RetryClock, RetryPolicy, call_with_retry, default_retryable


class FakeClock(RetryClock):
    def __init__(self) -> None:
        super().__init__(now=lambda: self.t, sleep=self._sleep)
        self.t = 0.0
        self.slept: list[float] = []

    def _sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += seconds


def test_one_class_serves_every_layer() -> None:
    assert GraphRetryPolicy is RetryPolicy is LLMRetryPolicy


@pytest.mark.parametrize(("exc", "expected"), [
    (LLMTimeoutError("slow"), True), (LLMServerError("500"), True), (LLMRequestError("400"), False),
    (ConnectionResetError(), True), (TimeoutError(), True), (ValueError("bad"), False), (KeyError("k"), False),
])
def test_default_rule_is_the_errors_own_flag(exc: BaseException, expected: bool) -> None:
    assert default_retryable(exc) is expected
    assert RetryPolicy().should_retry(exc, 1) is expected


def test_retry_on_class_tuple_or_predicate() -> None:
    assert RetryPolicy(retry_on=KeyError).should_retry(KeyError(), 1)
    assert not RetryPolicy(retry_on=(KeyError, IndexError)).should_retry(ValueError(), 1)
    assert RetryPolicy(retry_on=lambda e: "again" in str(e)).should_retry(ValueError("again"), 2)
    assert not RetryPolicy(max_attempts=2, retry_on=KeyError).should_retry(KeyError(), 2)
    with pytest.raises(ValueError):
        RetryPolicy(retry_on=3)


def test_backoff_then_give_up_at_the_deadline() -> None:
    clock = FakeClock()
    calls = []

    def failing() -> None:
        calls.append(clock.t)
        raise LLMTimeoutError("slow")

    policy = RetryPolicy(max_attempts=10, base_delay=1.0, max_delay=60, jitter=0, deadline=5.0)
    with pytest.raises(LLMTimeoutError):
        call_with_retry(failing, policy, clock)
    assert clock.slept == [1.0, 2.0] and len(calls) == 3  # the next sleep (4 s) would end past 5 s


def test_counts_retries_and_passes_non_retryable_errors_through() -> None:
    clock = FakeClock()
    tries = iter([LLMServerError("503"), LLMServerError("503"), "ok"])

    def flaky() -> str:
        item = next(tries)
        if isinstance(item, Exception):
            raise item
        return item

    assert call_with_retry(flaky, RetryPolicy(jitter=0), clock) == ("ok", 2)
    with pytest.raises(ValueError):
        call_with_retry(lambda: int("x"), RetryPolicy(), clock)


def test_the_module_exports() -> None:
    assert sorted(retry_module.__all__) == retry_module.__all__
