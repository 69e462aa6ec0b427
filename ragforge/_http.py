"""What ``llm/openai_chat.py`` and ``embedding/openai.py`` share about OpenAI-compatible HTTP servers.

* :func:`parse_openai_spec` / :func:`normalize_base_url` - ``NAME@URL`` -> ``(NAME, "http://host:port/v1")``.
* :class:`OpenAIHTTP` - one lazily built ``httpx.Client`` for a base URL: JSON posts, SSE streams and the
  one boundary where ``httpx`` exceptions and replies that are not an OpenAI API's become
  :class:`~ragforge.errors.LLMError` subclasses whose message names the URL and says what to do.
* :func:`status_error` - an error status and body -> the LLMError (404 that is not about a model, 401/403,
  501, 429, 5xx, other 4xx).

httpx is imported inside the functions that use it, so importing this module costs nothing. No OpenAI SDK:
each call is one plain request, and the SDK's own retries, timeouts and exceptions would all have to be
switched off or translated again. This module imports only ``errors`` (and stdlib, httpx), per the layering
rule.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

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

DEFAULT_BASE_URL = "http://127.0.0.1:8080/v1"  # llama-server's default port
SERVERS = "llama-server, LM Studio, vLLM, LocalAI, Ollama's /v1"
_VERSION = re.compile(r"v\d+\w*")


def parse_openai_spec(rest: str) -> tuple[str, str]:
    """``"NAME@URL"`` -> ``(NAME, base URL)``; a bare ``NAME`` uses ``$OPENAI_BASE_URL`` or the default.

    >>> parse_openai_spec("qwen2.5-coder@localhost:8080")
    ('qwen2.5-coder', 'http://localhost:8080/v1')
    >>> parse_openai_spec("llama3.2@https://gpu-box:11434/v1/")
    ('llama3.2', 'https://gpu-box:11434/v1')
    """
    name, sep, url = rest.partition("@")
    name = name.strip()
    if not name:
        raise ConfigError("'openai:' needs a model name, e.g. openai:qwen2.5-coder@http://127.0.0.1:8080/v1 "
                          "(llama-server answers to any name)")
    if sep and not url.strip():
        raise ConfigError(f"'openai:{rest}' has an empty URL after '@': give the server's URL, e.g. "
                          f"openai:{name}@http://127.0.0.1:8080/v1, or leave '@' out to use $OPENAI_BASE_URL")
    return name, normalize_base_url(url if sep else None)


def normalize_base_url(url: str | None = None) -> str:
    """``url`` (else ``$OPENAI_BASE_URL``, else ``http://127.0.0.1:8080/v1``) with a scheme and an API version.

    ``http://`` is added when no scheme is given; ``/v1`` is appended when no path segment names a version
    (``/v1``, ``/v1beta``, ...); a trailing ``/`` is dropped.

    >>> normalize_base_url("127.0.0.1:1234")
    'http://127.0.0.1:1234/v1'
    >>> normalize_base_url("http://gpu-box:8000/openai/v1beta/")
    'http://gpu-box:8000/openai/v1beta'
    """
    raw = (url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).strip()
    if "://" not in raw:
        raw = "http://" + raw
    parts = urlsplit(raw)
    try:
        _ = parts.port
    except ValueError:
        parts = None  # type: ignore[assignment]
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
        raise ConfigError(f"invalid server URL {raw!r}; expected e.g. http://127.0.0.1:8080/v1")
    path = parts.path.rstrip("/")
    if not any(_VERSION.fullmatch(segment) for segment in path.split("/")):
        path += "/v1"
    return f"{parts.scheme}://{parts.netloc}{path}"


def resolve_api_key(api_key: str | None) -> str | None:
    """``api_key``, else ``$OPENAI_API_KEY`` when set; local servers need none."""
    return api_key or os.environ.get("OPENAI_API_KEY") or None


def error_message(data: Any) -> str:
    """The message of an error body in any of the shapes servers use, on one line."""
    error = data.get("error", data) if isinstance(data, Mapping) else data
    if isinstance(error, Mapping):
        error = error.get("message") or error.get("detail") or json.dumps(error)
    return " ".join(str(error).split())[:300]


def not_openai(base_url: str, detail: str) -> str:
    return (f"{base_url} does not look like an OpenAI-compatible server: {detail}; give the base URL of one "
            f"({SERVERS}), e.g. http://127.0.0.1:8080/v1")


def status_error(status: int, data: Any, *, base_url: str, endpoint: str, model: str) -> LLMError:
    """The LLMError for an error reply (any endpoint); see :func:`special_status_error` for the first cases."""
    special = special_status_error(status, data, base_url=base_url, endpoint=endpoint, model=model)
    if special is not None:
        return special
    message = error_message(data)
    if status == 404:
        return LLMModelNotFoundError(f"model {model!r} is not available at {base_url} (server said: {message})")
    if status == 429:
        return LLMRateLimitError(f"{base_url} is rate limiting (HTTP 429): {message}")
    if "too large" in message.lower():  # llama-server: an input longer than its batch, answered with a 500
        return LLMRequestError(f"{base_url} refused an input as too long for model {model!r} (HTTP {status}): "
                               f"{message}; use shorter chunks (max_tokens=) or a server with a larger batch")
    if status >= 500:
        return LLMServerError(f"{base_url} failed (HTTP {status}) for model {model!r}: {message}")
    return LLMRequestError(f"{base_url} rejected the request for model {model!r} (HTTP {status}): {message}")


def special_status_error(status: int, data: Any, *, base_url: str, endpoint: str,
                         model: str) -> LLMError | None:
    """Errors that mean the URL, the key or the server's features are wrong, rather than this request."""
    message = error_message(data)
    if status in (404, 405) and "model" not in message.lower():
        return LLMRequestError(not_openai(base_url, f"POST {endpoint} answered HTTP {status} ({message})"))
    if status in (401, 403):
        return LLMRequestError(f"{base_url} refused the API key (HTTP {status}: {message}); set OPENAI_API_KEY "
                               "or pass api_key= (local servers need none)")
    if status == 501:
        return LLMRequestError(f"{base_url} does not serve {endpoint} (HTTP 501): {message}")
    return None


class OpenAIHTTP:
    """One ``httpx.Client`` for an OpenAI-compatible base URL, built on first use.

    ``timeout`` bounds each read (and connecting, at most 10 s); callers that stream also keep a total
    deadline. Every method translates transport errors and non-JSON replies into LLMErrors.
    """

    def __init__(self, base_url: str, *, api_key: str | None = None, timeout: float | None = None,
                 what: str = "the server") -> None:
        self.base_url = base_url
        self.api_key = resolve_api_key(api_key)
        self.timeout = timeout
        self.what = what
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            import httpx

            connect = None if self.timeout is None else min(self.timeout, 10.0)
            headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
            self._client = httpx.Client(base_url=self.base_url, headers=headers,
                                        timeout=httpx.Timeout(self.timeout, connect=connect))
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def post(self, endpoint: str, body: Mapping[str, Any]) -> tuple[int, Any]:
        """One POST; ``(status, decoded JSON body)``."""
        with self.errors(endpoint):
            response = self.client.post(endpoint, json=body)
            return response.status_code, self.decode(response, endpoint)

    def get(self, endpoint: str, *, timeout: float | None = None) -> tuple[int, Any]:
        with self.errors(endpoint, timeout):
            response = self.client.get(endpoint, **({"timeout": timeout} if timeout is not None else {}))
            return response.status_code, self.decode(response, endpoint)

    @contextmanager
    def stream(self, endpoint: str, body: Mapping[str, Any]) -> Iterator[Any]:
        """A streamed POST: the open ``httpx.Response`` (read its lines inside the block)."""
        with self.errors(endpoint), self.client.stream("POST", endpoint, json=body) as response:
            yield response

    def decode(self, response: Any, endpoint: str) -> Any:
        """The reply's JSON; a reply that is not JSON raises LLMResponseError saying what answered."""
        text = response.read().decode("utf-8", errors="replace")
        try:
            return json.loads(text)
        except ValueError:
            pass
        kind = response.headers.get("content-type", "").split(";")[0].strip()
        start = text.lstrip()[:1]
        status = response.status_code
        if "html" in kind or start == "<":
            raise LLMResponseError(not_openai(self.base_url, f"{endpoint} answered an HTML page (HTTP {status})"))
        if "json" in kind or start in ("{", "["):
            raise LLMResponseError(f"malformed JSON from {self.what} at {self.base_url}{endpoint} "
                                   f"(HTTP {status}): {text[:200]!r}")
        raise LLMResponseError(not_openai(
            self.base_url, f"{endpoint} answered {kind or 'a reply'} that is not JSON (HTTP {status}): "
                           f"{text[:80]!r}"))

    @contextmanager
    def errors(self, endpoint: str, timeout: float | None = None) -> Iterator[None]:
        """Translate what httpx raises inside the block into an :class:`LLMError` naming the URL."""
        import httpx

        try:
            yield
        except httpx.TimeoutException as exc:
            seconds = timeout if timeout is not None else self.timeout
            raise LLMTimeoutError(
                f"{self.what} at {self.base_url} did not answer {endpoint} within {seconds:g} s "
                f"({type(exc).__name__}); raise the timeout (--timeout / timeout=) or check the server's load"
            ) from exc
        except httpx.ConnectError as exc:
            raise LLMConnectionError(
                f"cannot connect to {self.base_url} ({_short(exc)}): is the server running? Start it (e.g. "
                "`llama-server -m MODEL.gguf --port 8080`) or give the URL where it listens (openai:NAME@URL)"
            ) from exc
        except httpx.TransportError as exc:
            raise LLMConnectionError(f"the connection to {self.base_url} was dropped ({_short(exc)})") from exc
        except httpx.HTTPError as exc:  # an undecodable body (bad gzip, bad chunking), too many redirects
            raise LLMResponseError(f"unreadable reply from {self.base_url}{endpoint}: {_short(exc)}") from exc


def _short(exc: BaseException, limit: int = 200) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."
