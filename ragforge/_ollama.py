"""What ``llm/`` and ``embedding/ollama.py`` share about talking to Ollama.

* :func:`resolve_host` - the server URL from an argument, ``$OLLAMA_HOST`` or the default.
* :func:`make_client` - an official ``ollama.Client`` with a per-request timeout (callers build it lazily).
* :func:`ollama_errors` - the one boundary where ``ollama``/``httpx``/``json``/``pydantic`` exceptions become
  :class:`~ragforge.errors.LLMError` subclasses with messages a user can act on.
Retries are not here: :mod:`ragforge.retry` holds the one policy every layer uses.

This module imports only ``errors`` (and stdlib, pydantic, ollama, httpx), per the layering rule.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from pydantic import ValidationError

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
    except Exception as exc:  # translated below, re-raised untouched if foreign to us
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
