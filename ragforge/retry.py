"""The one retry policy: exponential backoff with jitter, a total deadline, and a ``retry_on`` rule.

Used alike by the LLM layer (:class:`~ragforge.llm.RetryingChat`, the Ollama embedder) and the graph
(per-node ``retry=``, ``Runnable.with_retry``). What is retried is decided in one place: by default an
error's own ``retryable`` flag (``LLMConnectionError``, ``LLMTimeoutError``, 429, 5xx say yes; other
ragforge errors say no); exceptions without the flag are retried when they are ``ConnectionError`` or
``TimeoutError`` (which includes ``socket.timeout``).

    policy = RetryPolicy(max_attempts=4, base_delay=0.5, deadline=30)
    value, retries = call_with_retry(fetch, policy)

This module imports nothing of ragforge's but ``errors``, so every layer may use it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["RetryClock", "RetryPolicy", "call_with_retry", "default_retryable", "next_delay"]

T = TypeVar("T")
RetryOn = type[BaseException] | tuple[type[BaseException], ...] | Callable[[BaseException], bool]


def default_retryable(exc: BaseException) -> bool:
    """The error's own ``retryable`` flag; without one, True for connection errors and timeouts."""
    flag = getattr(exc, "retryable", None)
    if flag is not None:
        return bool(flag)
    return isinstance(exc, (ConnectionError, TimeoutError))


class RetryPolicy(BaseModel):
    """Retry a failing call up to ``max_attempts`` times in all, with backoff, within a deadline.

    The delay before retry ``n`` (1 = the first retry) is ``min(max_delay, base_delay * multiplier **
    (n - 1))``, scaled by a random factor in ``[1 - jitter, 1 + jitter]``. A retry whose sleep would end
    past ``deadline`` seconds (measured from the first attempt) is not made. ``retry_on`` is an exception
    class, a tuple of them or a predicate ``(exc) -> bool``; ``None`` means :func:`default_retryable`.
    ``RetryPolicy(max_attempts=1)`` disables retries. Interrupts in the graph are never retried.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    max_attempts: int = Field(default=3, ge=1)
    base_delay: float = Field(default=0.5, ge=0)
    max_delay: float = Field(default=8.0, ge=0)
    multiplier: float = Field(default=2.0, ge=1)
    jitter: float = Field(default=0.1, ge=0, le=1)
    deadline: float | None = Field(default=None, gt=0)
    retry_on: Any = None  # RetryOn | None; typed loosely so pydantic accepts classes, tuples and callables

    @model_validator(mode="after")
    def _check(self) -> RetryPolicy:
        if self.max_delay < self.base_delay:
            raise ValueError("max_delay must be >= base_delay")
        rule = self.retry_on
        if rule is not None and not (isinstance(rule, tuple) or callable(rule)):
            raise ValueError("retry_on must be an exception class, a tuple of them, or a predicate")
        return self

    def retries(self, exc: BaseException) -> bool:
        """Does ``exc`` deserve another attempt, attempts left aside?"""
        rule = self.retry_on
        if rule is None:
            return default_retryable(exc)
        if isinstance(rule, tuple) or (isinstance(rule, type) and issubclass(rule, BaseException)):
            return isinstance(exc, rule)
        return bool(rule(exc))

    def should_retry(self, exc: BaseException, attempt: int) -> bool:
        """True when ``exc`` raised by attempt number ``attempt`` (1-based) deserves another attempt."""
        return attempt < self.max_attempts and self.retries(exc)

    def delay(self, retry: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry number ``retry`` (1 = the first retry)."""
        raw = min(self.max_delay, self.base_delay * self.multiplier ** (retry - 1))
        if self.jitter and raw:
            raw *= 1 + (rng or random).uniform(-self.jitter, self.jitter)
        return max(0.0, raw)


class RetryClock:
    """Where retries read the time and sleep; tests pass a fake one so no real time passes."""

    def __init__(
        self,
        now: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.now = now
        self.sleep = sleep
        self.rng = rng or random.Random()


def next_delay(
    policy: RetryPolicy, exc: BaseException, attempt: int, started: float, clock: RetryClock
) -> float | None:
    """The sleep before attempt ``attempt + 1`` after ``exc``, or ``None`` when giving up."""
    if not policy.should_retry(exc, attempt):
        return None
    delay = policy.delay(attempt, clock.rng)
    if policy.deadline is not None and clock.now() - started + delay > policy.deadline:
        return None
    return delay


def call_with_retry(
    fn: Callable[[], T], policy: RetryPolicy, clock: RetryClock | None = None
) -> tuple[T, int]:
    """Run ``fn`` under ``policy``; return its value and the number of retries it took."""
    clock = clock or RetryClock()
    started = clock.now()
    attempt = 1
    while True:
        try:
            return fn(), attempt - 1
        except Exception as exc:
            delay = next_delay(policy, exc, attempt, started, clock)
            if delay is None:
                raise
        clock.sleep(delay)
        attempt += 1
