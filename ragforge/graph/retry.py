"""RetryPolicy: how often and when a node (or a Runnable) is tried again."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["RetryPolicy"]


@dataclass(frozen=True)
class RetryPolicy:
    """Retry a failing call up to ``max_attempts`` times in all.

    ``retry_on`` is an exception class, a tuple of them, or a predicate ``(exc) -> bool``. The wait before
    attempt ``n + 1`` is ``initial_interval * backoff ** (n - 1)``, capped at ``max_interval`` seconds.
    Interrupts (``interrupt()``) are never retried.
    """

    max_attempts: int = 3
    initial_interval: float = 0.0
    backoff: float = 2.0
    max_interval: float = 30.0
    retry_on: type[BaseException] | tuple[type[BaseException], ...] | Callable[[BaseException], bool] = Exception

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("RetryPolicy.max_attempts must be >= 1")

    def should_retry(self, exc: BaseException, attempt: int) -> bool:
        """True when ``exc`` raised by attempt number ``attempt`` (1-based) deserves another attempt."""
        if attempt >= self.max_attempts:
            return False
        rule = self.retry_on
        if isinstance(rule, type) or isinstance(rule, tuple):
            return isinstance(exc, rule)
        return bool(rule(exc))

    def wait(self, attempt: int) -> None:
        """Sleep before the attempt that follows attempt number ``attempt``."""
        delay = min(self.initial_interval * self.backoff ** (attempt - 1), self.max_interval)
        if delay > 0:
            time.sleep(delay)
