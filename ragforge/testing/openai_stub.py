"""``OpenAIStub``: a real HTTP server on 127.0.0.1 speaking the OpenAI API; scripted replies, faults.

Endpoints, in the shapes llama-server gives: ``POST /v1/chat/completions`` (server-sent events when
``"stream": true``), ``POST /v1/embeddings``, ``GET /v1/models`` (with ``meta.n_ctx``), ``GET /health``,
``GET /`` (an HTML page, like llama-server's web UI).

>>> import httpx
>>> from ragforge.testing.openai_stub import OpenAIStub
>>> with OpenAIStub() as stub:
...     stub.script_chat("Hello!")
...     reply = httpx.post(stub.base_url + "/chat/completions",
...                        json={"model": "any", "messages": [{"role": "user", "content": "hi"}]}).json()
>>> reply["choices"][0]["message"]["content"]
'Hello!'

Replies: ``script_chat(*replies)`` queues replies: a string, a dict ``{"content": str, "tool_calls":
[{"name": ..., "arguments": {...}}], "finish_reason": ...}``, or a callable ``f(request_body) -> str | dict``.
With nothing queued the stub echoes the last user message. A reply is cut to the request's ``max_tokens``
words (``finish_reason`` "length"). A reply's ``"logprobs"`` (``[{"token", "logprob", "top_logprobs":
[{"token", "logprob"}]}]``) are sent only when the request asks (``logprobs``), with at most its
``top_logprobs`` alternatives.

Server settings: ``models`` (names served; ``None``: any name, as llama-server), ``n_ctx`` (reported and
enforced: a longer prompt, at 4 characters a token, gets llama-server's ``exceed_context_size_error``),
``response_format=False`` (a 400 naming response_format, as a server without structured output),
``embeddings=False`` (llama-server's 501 when started without ``--embeddings``), ``streaming=False``
(one JSON reply even when ``"stream": true`` is asked, as some proxies do).

Faults: ``fail_next(kind, times=1, delay=..., path=None)`` makes the next POST(s) (or the GETs of
``path``, when named) fail: ``"slow"`` (answer
after ``delay`` seconds), ``"trickle"`` (stream each piece ``delay`` seconds apart), ``"drop"`` (close the
connection without answering), ``401``, ``429``, ``500``, ``503``, ``"malformed"`` (truncated JSON), ``"html"`` (an
HTML page with status 200).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FAULTS = ("slow", "trickle", "drop", 401, 429, 500, 503, "malformed", "html")
_HTML = b"<!doctype html><html><head><title>Web UI</title></head><body><div id=app></div></body></html>"
_ERRORS: dict[int, dict[str, Any]] = {
    401: {"code": 401, "message": "Invalid API key", "type": "authentication_error"},
    429: {"code": 429, "message": "Rate limit reached, retry later", "type": "rate_limit_error"},
    500: {"code": 500, "message": "internal server error", "type": "server_error"},
    503: {"code": 503, "message": "Loading model", "type": "unavailable_error"},
}


class OpenAIStub:
    """Use ``with OpenAIStub() as stub:`` (or ``start()``/``stop()``); point clients at ``stub.base_url``."""

    def __init__(self, *, models: list[str] | None = None, n_ctx: int = 4096, response_format: bool = True,
                 embeddings: bool = True, streaming: bool = True, embed_dim: int = 8) -> None:
        self.models = models
        self.n_ctx = n_ctx
        self.response_format = response_format
        self.embeddings = embeddings
        self.streaming = streaming
        self.embed_dim = embed_dim
        self.paths: list[str] = []  # every path requested, GETs included
        self.posted: list[tuple[str, dict[str, Any]]] = []  # (path, body) of every POST
        self.headers: list[dict[str, str]] = []  # the headers of every request
        self._replies: deque[Any] = deque()
        self._faults: deque[tuple[Any, float, str | None]] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> OpenAIStub:
        handler = type("_Handler", (_Handler,), {"stub": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        name="openai-stub", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> OpenAIStub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The server's root, ``http://127.0.0.1:PORT``."""
        assert self._server is not None, "start the stub first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def base_url(self) -> str:
        """The API's base URL, ``http://127.0.0.1:PORT/v1``."""
        return self.url + "/v1"

    def script_chat(self, *replies: str | dict | Callable[[dict], str | dict]) -> None:
        with self._lock:
            self._replies.extend(replies)

    def fail_next(self, kind: str | int, times: int = 1, *, delay: float = 1.0, path: str | None = None) -> None:
        """Make the next ``times`` POSTs (to ``path``, else to any path) fail with ``kind``."""
        if kind not in FAULTS:
            raise ValueError(f"unknown fault {kind!r}; one of {FAULTS}")
        with self._lock:
            self._faults.extend([(kind, delay, path)] * times)

    def bodies(self, path: str = "/v1/chat/completions") -> list[dict[str, Any]]:
        """The JSON bodies POSTed to ``path``."""
        return [body for p, body in self.posted if p == path]

    def embedding(self, text: str) -> list[float]:
        """The stub's deterministic, L2-normalised embedding of ``text``."""
        values = [int.from_bytes(hashlib.sha256(f"{i}:{text}".encode()).digest()[:4], "big") / 2**31 - 1.0
                  for i in range(self.embed_dim)]
        norm = math.sqrt(sum(v * v for v in values)) or 1.0
        return [v / norm for v in values]

    # -- used by the handler -----------------------------------------------------------------------------
    def _record(self, path: str, headers: dict[str, str], body: dict[str, Any] | None) -> None:
        with self._lock:
            self.paths.append(path)
            self.headers.append(headers)
            if body is not None:
                self.posted.append((path, body))

    def _take_fault(self, path: str, *, exact: bool = False) -> tuple[Any, float] | None:
        with self._lock:
            if self._faults and self._faults[0][2] in ((path,) if exact else (None, path)):
                kind, delay, _ = self._faults.popleft()
                return kind, delay
        return None

    def _next_reply(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            reply = self._replies.popleft() if self._replies else None
        if reply is None:
            users = [m.get("content") or "" for m in body.get("messages", []) if m.get("role") == "user"]
            reply = "echo: " + (users[-1] if users else "")
        if callable(reply):
            reply = reply(body)
        return {"content": reply} if isinstance(reply, str) else dict(reply)


def _words(text: str) -> list[str]:
    words = text.split(" ")
    return [w + (" " if i < len(words) - 1 else "") for i, w in enumerate(words)]


def _prompt_tokens(body: dict[str, Any]) -> int:
    return max(1, sum(len(m.get("content") or "") for m in body.get("messages", [])) // 4)


class _Handler(BaseHTTPRequestHandler):
    stub: OpenAIStub
    protocol_version = "HTTP/1.0"

    def log_message(self, *args: Any) -> None:  # keep test output quiet
        pass

    def _send(self, status: int, payload: Any, content_type: str = "application/json; charset=utf-8") -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str, kind: str = "invalid_request_error", **extra: Any) -> None:
        self._send(status, {"error": {"code": status, "message": message, "type": kind, **extra}})

    def do_GET(self) -> None:
        self.stub._record(self.path, dict(self.headers), None)
        fault = self.stub._take_fault(self.path, exact=True)  # a GET fails only when its path is named
        if fault is not None:
            kind, delay = fault
            if kind == "slow" and self.stub._stopping.wait(delay):
                return self._drop()
            if kind not in ("slow", "trickle"):
                return self._fault(kind)
        if self.path == "/v1/models":
            names = self.stub.models or ["stub-model"]
            return self._send(200, {"object": "list", "data": [
                {"id": name, "object": "model", "owned_by": "stub", "meta": {"n_ctx": self.stub.n_ctx}}
                for name in names]})
        if self.path == "/health":
            return self._send(200, {"status": "ok"})
        if self.path == "/":
            return self._send(200, _HTML, "text/html; charset=utf-8")
        self._error(404, "File Not Found", "not_found_error")

    def do_POST(self) -> None:
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        except json.JSONDecodeError as exc:
            return self._error(400, f"invalid JSON: {exc}")
        self.stub._record(self.path, dict(self.headers), body)
        fault = self.stub._take_fault(self.path)
        trickle = 0.0
        if fault is not None:
            kind, delay = fault
            if kind == "trickle":
                trickle = delay
            elif kind == "slow" and self.stub._stopping.wait(delay):
                return self._drop()
            elif kind != "slow":
                return self._fault(kind)
        route = {"/v1/chat/completions": self._chat, "/v1/embeddings": self._embed}.get(self.path)
        if route is None:
            return self._error(404, "File Not Found", "not_found_error")
        model = body.get("model") or ""
        if self.stub.models is not None and model not in self.stub.models:
            return self._error(404, f"The model `{model}` does not exist.", "not_found_error")
        # the client may give up (its timeout) or stop reading
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            route(body, trickle)

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _fault(self, kind: Any) -> None:
        if kind == "drop":
            return self._drop()
        if kind == "malformed":
            return self._send(200, b'{"choices": [{"message": {"role": "assist', "application/json")
        if kind == "html":
            return self._send(200, _HTML, "text/html; charset=utf-8")
        error = _ERRORS[kind]
        self._error(kind, error["message"], error["type"])

    def _embed(self, body: dict[str, Any], trickle: float) -> None:
        if not self.stub.embeddings:
            return self._error(501, "This server does not support embeddings. Start it with `--embeddings`",
                               "not_supported_error")
        inputs = body.get("input", "")
        texts = [inputs] if isinstance(inputs, str) else list(inputs)
        data = [{"object": "embedding", "index": i, "embedding": self.stub.embedding(t)} for i, t in enumerate(texts)]
        tokens = sum(max(1, len(t) // 4) for t in texts)
        self._send(200, {"object": "list", "model": body.get("model"), "data": data[::-1],  # any order is allowed
                         "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})

    def _chat(self, body: dict[str, Any], trickle: float) -> None:
        if "response_format" in body and not self.stub.response_format:
            return self._error(400, "Unrecognized request argument supplied: response_format")
        prompt = _prompt_tokens(body)
        if prompt > self.stub.n_ctx:
            return self._error(400, f"request ({prompt} tokens) exceeds the available context size "
                               f"({self.stub.n_ctx} tokens), try increasing it", "exceed_context_size_error",
                               n_prompt_tokens=prompt, n_ctx=self.stub.n_ctx)
        reply = self.stub._next_reply(body)
        pieces = _words(reply.get("content", ""))
        finish = reply.get("finish_reason") or ("tool_calls" if reply.get("tool_calls") else "stop")
        limit = body.get("max_tokens")
        if isinstance(limit, int) and len(pieces) > limit:
            pieces, finish = pieces[:limit], "length"
        usage = {"prompt_tokens": prompt, "completion_tokens": len(pieces), "total_tokens": prompt + len(pieces)}
        head = {"id": "chatcmpl-stub", "created": int(time.time()), "model": body.get("model")}
        calls = [{"id": f"call_{i}", "type": "function",
                  "function": {"name": c["name"], "arguments": json.dumps(c.get("arguments", {}))}}
                 for i, c in enumerate(reply.get("tool_calls", []))]
        logprobs = None
        if body.get("logprobs") and reply.get("logprobs"):
            top = int(body.get("top_logprobs") or 0)
            logprobs = {"content": [{"token": t["token"], "logprob": t["logprob"],
                                     "top_logprobs": list(t.get("top_logprobs") or ())[:top]}
                                    for t in reply["logprobs"]]}
        if not body.get("stream") or not self.stub.streaming:
            message: dict[str, Any] = {"role": "assistant", "content": "".join(pieces)}
            if calls:
                message["tool_calls"] = calls
            return self._send(200, {**head, "object": "chat.completion", "usage": usage, "choices": [
                {"index": 0, "message": message, "finish_reason": finish, "logprobs": logprobs}]})
        self._stream(head, pieces, calls, finish, usage if (body.get("stream_options") or {}).get(
            "include_usage") else None, trickle, logprobs)

    def _stream(self, head: dict[str, Any], pieces: list[str], calls: list[dict[str, Any]], finish: str,
                usage: dict[str, int] | None, trickle: float, logprobs: dict[str, Any] | None = None) -> None:
        def chunk(delta: dict[str, Any], reason: str | None = None) -> dict[str, Any]:
            choice = {"index": 0, "delta": delta, "finish_reason": reason}
            if reason is not None and logprobs is not None:
                choice["logprobs"] = logprobs  # all the tokens' at the end (servers send them piece by piece)
            return {**head, "object": "chat.completion.chunk", "choices": [choice]}

        events = [chunk({"role": "assistant", "content": None})] + [chunk({"content": p}) for p in pieces]
        for i, call in enumerate(calls):  # each call's arguments in two halves, as servers stream them
            args = call["function"]["arguments"]
            half = len(args) // 2
            events.append(chunk({"tool_calls": [{"index": i, "id": call["id"], "type": "function",
                                                 "function": {"name": call["function"]["name"],
                                                              "arguments": args[:half]}}]}))
            events.append(chunk({"tool_calls": [{"index": i, "function": {"arguments": args[half:]}}]}))
        events.append(chunk({}, finish))
        if usage is not None:
            events.append({**head, "object": "chat.completion.chunk", "choices": [], "usage": usage})
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for event in events:
            if trickle and self.stub._stopping.wait(trickle):
                return
            self.wfile.write(b"data: " + json.dumps(event).encode() + b"\n\n")
            self.wfile.flush()
        self.wfile.write(b"data: [DONE]\n\n")
