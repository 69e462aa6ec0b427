"""What ``llm/`` and ``embedding/ollama.py`` share about talking to Ollama.

* :func:`resolve_host` - the server URL from an argument, ``$OLLAMA_HOST`` or the default.
* :func:`make_client` - an official ``ollama.Client`` with a per-request timeout (callers build it lazily).
* :func:`ollama_errors` - the one boundary where ``ollama``/``httpx``/``json``/``pydantic`` exceptions become
  :class:`~ragforge.errors.LLMError` subclasses with messages a user can act on.
* :class:`RetryPolicy` and :func:`call_with_retry` - exponential backoff with jitter and a total deadline.
  What is retried is decided in one place: the error's ``retryable`` flag (connection, timeout, 429, 5xx).

This module imports only ``errors`` (and stdlib, pydantic, ollama, httpx), per the layering rule.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ragforge.errors import (
    ConfigError,
    LLMConnectionError,
    LLMError,
    LLMModelNotFoundError,
    LLMRateLimitError,
    LLMRequestError,
    LLMResponseError,
    LLMServerError,
    LLMTimeoutError,
)

DEFAULT_HOST = "http://127.0.0.1:11434"
T = TypeVar("T")


def resolve_host(host: str | None = None) -> str:
    """``host``, else ``$OLLAMA_HOST``, else ``http://127.0.0.1:11434``; scheme and port filled in.

    >>> resolve_host("localhost")
    'http://localhost:11434'
    >>> resolve_host("https://gpu-box:8443/")
    'https://gpu-box:8443'
    """
    raw = (host or os.environ.get("OLLAMA_HOST") or DEFAULT_HOST).strip().rstrip("/")
    if "://" not in raw:
        raw = "http://" + raw
        default_port = 11434
    else:
        default_port = None
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"invalid Ollama host {raw!r}; expected e.g. http://127.0.0.1:11434")
    port = parts.port or default_port or (443 if parts.scheme == "https" else 80)
    hostname = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{hostname}:{port}{parts.path}"


def make_client(host: str, timeout: float | None):
    """An official ``ollama.Client`` for ``host``; ``timeout`` (seconds) applies to every request."""
    import ollama

    return ollama.Client(host=host, timeout=timeout)


@contextmanager
def ollama_errors(*, model: str, host: str, timeout: float | None) -> Iterator[None]:
    """Translate anything the ollama client raises inside the block into an :class:`LLMError`."""
    try:
        yield
    except LLMError:
        raise
    except Exception as exc:  # noqa: BLE001 - translated below, re-raised untouched if foreign to us
        translated = translate_error(exc, model=model, host=host, timeout=timeout)
        if translated is None:
            raise
        raise translated from exc


def translate_error(exc: BaseException, *, model: str, host: str, timeout: float | None) -> LLMError | None:
    """The :class:`LLMError` for a foreign exception, or ``None`` when it is not a transport/server error."""
    import httpx
    import ollama

    if isinstance(exc, ollama.ResponseError):
        return _from_status(exc.status_code, str(exc.error), model=model, host=host)
    if isinstance(exc, httpx.TimeoutException):
        figure = "no timeout" if timeout is None else f"{timeout:g} s"
        return LLMTimeoutError(
            f"Ollama at {host} did not answer within {figure} (model {model!r}, {type(exc).__name__}); "
            "raise timeout= or check the server's load"
        )
    if isinstance(exc, (httpx.ConnectError, ConnectionRefusedError)) or type(exc) is ConnectionError:
        return LLMConnectionError(
            f"cannot connect to Ollama at {host}: is it running? Start it with `ollama serve` "
            "(or set OLLAMA_HOST / host= to where it listens)"
        )
    if isinstance(exc, (httpx.TransportError, ConnectionError)):
        return LLMConnectionError(f"the connection to Ollama at {host} was dropped ({_short(exc)})")
    if isinstance(exc, (json.JSONDecodeError, ValidationError, httpx.DecodingError, UnicodeDecodeError)):
        return LLMResponseError(f"malformed reply from Ollama at {host} (model {model!r}): {_short(exc)}")
    if isinstance(exc, ollama.RequestError):
        return LLMRequestError(f"invalid request for Ollama: {exc}")
    return None


def _from_status(status: int, text: str, *, model: str, host: str) -> LLMError:
    lowered = text.lower()
    if status == 404 or (status == -1 and "not found" in lowered and "model" in lowered):
        return LLMModelNotFoundError(
            f"model {model!r} is not available on the Ollama server at {host}; "
            f"run `ollama pull {model}` (server said: {text})"
        )
    if status == 429:
        return LLMRateLimitError(f"Ollama at {host} is rate limiting (HTTP 429): {text}")
    if status >= 500 or status == -1:
        where = f"HTTP {status}" if status > 0 else "error in the reply stream"
        return LLMServerError(f"Ollama at {host} failed ({where}) for model {model!r}: {text}")
    return LLMRequestError(f"Ollama at {host} rejected the request for model {model!r} (HTTP {status}): "
                           f"{text}")


def _short(exc: BaseException, limit: int = 300) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= limit else text[: limit - 3] + "..."


class RetryPolicy(BaseModel):
    """Exponential backoff with jitter, bounded by attempts and by a total deadline (seconds).

    The delay before retry ``n`` (1-based) is ``min(max_delay, base_delay * multiplier ** (n - 1))``, scaled
    by a random factor in ``[1 - jitter, 1 + jitter]``. A retry whose sleep would end past ``deadline``
    (measured from the first attempt) is not made. ``RetryPolicy(max_attempts=1)`` disables retries.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_attempts: int = Field(default=3, ge=1)
    base_delay: float = Field(default=0.5, ge=0)
    max_delay: float = Field(default=8.0, ge=0)
    multiplier: float = Field(default=2.0, ge=1)
    jitter: float = Field(default=0.1, ge=0, le=1)
    deadline: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _delays_ordered(self) -> "RetryPolicy":
        if self.max_delay < self.base_delay:
            raise ValueError("max_delay must be >= base_delay")
        return self

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
    policy: RetryPolicy, exc: LLMError, attempt: int, started: float, clock: RetryClock
) -> float | None:
    """The sleep before attempt ``attempt + 1`` after ``exc``, or ``None`` when giving up."""
    if not exc.retryable or attempt >= policy.max_attempts:
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
        except LLMError as exc:
            delay = next_delay(policy, exc, attempt, started, clock)
            if delay is None:
                raise
        clock.sleep(delay)
        attempt += 1
