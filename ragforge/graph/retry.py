"""RetryPolicy: how often and when a node (or a Runnable) is tried again."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["RetryPolicy"]


@dataclass(frozen=True)
class RetryPolicy:
    """Retry a failing call up to ``max_attempts`` times in all (field names as in LangGraph's RetryPolicy).

    ``retry_on`` is an exception class, a tuple of them, or a predicate ``(exc) -> bool``. The wait before
    attempt ``n + 1`` is ``initial_interval * backoff_factor ** (n - 1)`` seconds, capped at ``max_interval``;
    ``jitter`` scales it by a random factor in [0.5, 1.5). The default retries at once (initial_interval=0),
    since the LLM layer has its own backoff. Interrupts (``interrupt()``) are never retried.
    """

    max_attempts: int = 3
    initial_interval: float = 0.0
    backoff_factor: float = 2.0
    max_interval: float = 30.0
    jitter: bool = False
    retry_on: type[BaseException] | tuple[type[BaseException], ...] | Callable[[BaseException], bool] = Exception

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("RetryPolicy.max_attempts must be >= 1")

    def should_retry(self, exc: BaseException, attempt: int) -> bool:
        """True when ``exc`` raised by attempt number ``attempt`` (1-based) deserves another attempt."""
        if attempt >= self.max_attempts:
            return False
        rule = self.retry_on
        if isinstance(rule, (type, tuple)):
            return isinstance(exc, rule)
        return bool(rule(exc))

    def delay(self, attempt: int) -> float:
        """Seconds to wait before the attempt that follows attempt number ``attempt``."""
        seconds = min(self.initial_interval * self.backoff_factor ** (attempt - 1), self.max_interval)
        return seconds * random.uniform(0.5, 1.5) if self.jitter and seconds > 0 else seconds

    def wait(self, attempt: int) -> None:
        """Sleep ``delay(attempt)`` seconds."""
        seconds = self.delay(attempt)
        if seconds > 0:
            time.sleep(seconds)
