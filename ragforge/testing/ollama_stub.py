"""``OllamaStub``: a real HTTP server on 127.0.0.1 speaking Ollama's REST API; scripted replies, faults.

Endpoints (Ollama's documented shapes): ``POST /api/chat``, ``/api/generate`` (NDJSON streaming by default,
one object with ``"stream": false``), ``/api/embed``, ``/api/show``; ``GET /api/tags``, ``/api/version``.

>>> import ollama
>>> from ragforge.testing.ollama_stub import OllamaStub
>>> with OllamaStub(models=["llama3.2"]) as stub:
...     stub.script_chat("Hello!")
...     client = ollama.Client(host=stub.host)
...     reply = client.chat(model="llama3.2", messages=[{"role": "user", "content": "hi"}])
>>> reply.message.content
'Hello!'

Replies: ``script_chat(*replies, model=None)`` queues replies (for that model, or any model). A reply is a
string, a dict ``{"content": str, "tool_calls": [{"name": ..., "arguments": {...}}], "logprobs": [...]}``, or
a callable ``f(request_body) -> str | dict``. With nothing queued the stub echoes the last user message.
``logprobs`` (``[{"token", "logprob", "top_logprobs": [{"token", "logprob"}]}]``, one per token) are sent
only when the request asks for them, with at most its ``top_logprobs`` alternatives, as Ollama does.

Faults: ``fail_next(kind, times=1, delay=..., path=None)`` makes the next request(s) fail: ``"slow"`` (answer
after ``delay`` seconds), ``"drop"`` (close the connection without answering), ``429``, ``500``, ``404``
(model not found), ``"malformed"`` (a reply that is not JSON).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import socket
import threading
from collections import deque
from collections.abc import Callable
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FAULTS = ("slow", "drop", 429, 500, 404, "malformed")
_POST_PATHS = ("/api/chat", "/api/generate", "/api/embed")


class OllamaStub:
    """Use ``with OllamaStub() as stub:`` (or ``start()``/``stop()``); point clients at ``stub.host``."""

    def __init__(self, models: tuple[str, ...] | list[str] = ("llama3.2", "nomic-embed-text"), *,
                 embed_dim: int = 8, version: str = "0.12.6", context_length: int = 8192) -> None:
        self.models = list(models)
        self.embed_dim = embed_dim
        self.version = version
        self.context_length = context_length
        self.requests: list[dict[str, Any]] = []  # JSON bodies received, in order
        self.paths: list[str] = []  # every path requested, GETs included
        self.posted: list[tuple[str, dict[str, Any]]] = []  # (path, body) of every POST
        self._replies: dict[str | None, deque] = {}
        self._faults: deque[tuple[Any, float, str | None]] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------------------
    def start(self) -> OllamaStub:
        handler = type("_Handler", (_Handler,), {"stub": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        name="ollama-stub", daemon=True)
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

    def __enter__(self) -> OllamaStub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def host(self) -> str:
        assert self._server is not None, "start the stub first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # -- scripting ---------------------------------------------------------------------------------------
    def script_chat(self, *replies: str | dict | Callable[[dict], str | dict],
                    model: str | None = None) -> None:
        with self._lock:
            self._replies.setdefault(model, deque()).extend(replies)

    def fail_next(self, kind: str | int, times: int = 1, *, delay: float = 1.0,
                  path: str | None = None) -> None:
        if kind not in FAULTS:
            raise ValueError(f"unknown fault {kind!r}; one of {FAULTS}")
        with self._lock:
            self._faults.extend([(kind, delay, path)] * times)

    def bodies(self, path: str = "/api/chat") -> list[dict[str, Any]]:
        """The JSON bodies POSTed to ``path``."""
        return [body for p, body in self.posted if p == path]

    # -- used by the handler -----------------------------------------------------------------------------
    def _record(self, path: str, body: dict[str, Any] | None) -> None:
        with self._lock:
            self.paths.append(path)
            if body is not None:
                self.requests.append(body)
                self.posted.append((path, body))

    def _take_fault(self, path: str) -> tuple[Any, float] | None:
        with self._lock:
            wanted = self._faults[0][2] if self._faults else ""
            if self._faults and (wanted == path or (wanted is None and path in _POST_PATHS)):
                kind, delay, _ = self._faults.popleft()
                return kind, delay
        return None

    def _next_reply(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            queue = self._replies.get(body.get("model")) or self._replies.get(None)
            reply = queue.popleft() if queue else None
        if reply is None:
            users = [m.get("content", "") for m in body.get("messages", []) if m.get("role") == "user"]
            reply = "echo: " + (users[-1] if users else body.get("prompt", ""))
        if callable(reply):
            reply = reply(body)
        return {"content": reply} if isinstance(reply, str) else dict(reply)

    def embedding(self, text: str) -> list[float]:
        """The stub's deterministic, L2-normalised embedding of ``text``."""
        values = []
        for i in range(self.embed_dim):
            digest = hashlib.sha256(f"{i}:{text}".encode()).digest()
            values.append(int.from_bytes(digest[:4], "big") / 2**31 - 1.0)
        norm = math.sqrt(sum(v * v for v in values)) or 1.0
        return [v / norm for v in values]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


def _stats(prompt_chars: int, reply_chars: int) -> dict[str, int]:
    return {"total_duration": 1_234_567, "load_duration": 1_000,
            "prompt_eval_count": max(1, prompt_chars // 4), "prompt_eval_duration": 100_000,
            "eval_count": max(1, reply_chars // 4), "eval_duration": 1_000_000}


def _pieces(text: str) -> list[str]:
    words = text.split(" ")
    return [w + (" " if i < len(words) - 1 else "") for i, w in enumerate(words) if w or i < len(words) - 1]


class _Handler(BaseHTTPRequestHandler):
    stub: OllamaStub
    protocol_version = "HTTP/1.0"

    def log_message(self, *args: Any) -> None:  # keep test output quiet
        pass

    # -- plumbing ------------------------------------------------------------------------------------------
    def _send(self, status: int, payload: Any, content_type: str = "application/json; charset=utf-8") -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str) -> None:
        self._send(status, {"error": message})

    def _not_found(self, model: str) -> None:
        self._error(404, f'model "{model}" not found, try pulling it first')

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def do_GET(self) -> None:
        self.stub._record(self.path, None)
        if self.path == "/api/version":
            return self._send(200, {"version": self.stub.version})
        if self.path == "/api/tags":
            return self._send(200, {"models": [self._tag(m) for m in self.stub.models]})
        if self.path == "/":
            return self._send(200, b"Ollama is running", "text/plain; charset=utf-8")
        self._send(404, b"404 page not found", "text/plain")

    def do_POST(self) -> None:
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        except json.JSONDecodeError as exc:
            return self._error(400, f"invalid JSON: {exc}")
        self.stub._record(self.path, body)
        fault = self.stub._take_fault(self.path)
        if fault is not None:
            kind, delay = fault
            if kind == "slow":
                if self.stub._stopping.wait(delay):
                    return self._drop()
            elif kind == "drop":
                return self._drop()
            elif kind == 429:
                return self._error(429, "too many requests, try again later")
            elif kind == 500:
                return self._error(500, "llama runner process has terminated: exit status 2")
            elif kind == 404:
                return self._not_found(body.get("model", ""))
            elif kind == "malformed":
                return self._send(200, b'{"model": "broken", "message": {"role": "assist', "application/json")
        route = {"/api/chat": self._chat, "/api/generate": self._generate, "/api/embed": self._embed,
                 "/api/show": self._show}.get(self.path)
        if route is None:
            return self._send(404, b"404 page not found", "text/plain")
        model = body.get("model", "")
        if not model:
            return self._error(400, "model is required")
        if model not in self.stub.models and model.split(":")[0] not in self.stub.models:
            return self._not_found(model)
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up (e.g. its timeout)
            route(body)

    # -- endpoints -----------------------------------------------------------------------------------------
    def _tag(self, name: str) -> dict[str, Any]:
        full = name if ":" in name else name + ":latest"
        return {"name": full, "model": full, "modified_at": "2025-01-01T00:00:00Z", "size": 2_019_393_189,
                "digest": hashlib.sha256(full.encode()).hexdigest(),
                "details": {"parent_model": "", "format": "gguf", "family": "llama", "families": ["llama"],
                            "parameter_size": "3.2B", "quantization_level": "Q4_K_M"}}

    def _show(self, body: dict[str, Any]) -> None:
        embed = "embed" in body["model"]
        self._send(200, {
            "modelfile": f"FROM {body['model']}\n", "parameters": "", "template": "{{ .Prompt }}",
            "details": self._tag(body["model"])["details"],
            "model_info": {"general.architecture": "llama", "llama.context_length": self.stub.context_length,
                           "llama.embedding_length": self.stub.embed_dim},
            "capabilities": ["embedding"] if embed else ["completion", "tools"],
            "modified_at": "2025-01-01T00:00:00Z",
        })

    def _embed(self, body: dict[str, Any]) -> None:
        inputs = body.get("input", "")
        texts = [inputs] if isinstance(inputs, str) else list(inputs)
        self._send(200, {"model": body["model"], "embeddings": [self.stub.embedding(t) for t in texts],
                         "total_duration": 14_143_917, "load_duration": 1_019_500,
                         "prompt_eval_count": sum(max(1, len(t) // 4) for t in texts)})

    def _chat(self, body: dict[str, Any]) -> None:
        reply = self.stub._next_reply(body)
        prompt_chars = sum(len(m.get("content") or "") for m in body.get("messages", []))
        self._answer(body, reply, prompt_chars, chat=True)

    def _generate(self, body: dict[str, Any]) -> None:
        reply = self.stub._next_reply(body)
        self._answer(body, reply, len(body.get("prompt") or ""), chat=False)

    def _answer(self, body: dict[str, Any], reply: dict[str, Any], prompt_chars: int, *, chat: bool) -> None:
        content = reply.get("content", "")
        calls = [{"function": {"index": i, "name": c["name"], "arguments": c.get("arguments", {})}}
                 for i, c in enumerate(reply.get("tool_calls", []))]
        head = {"model": body["model"], "created_at": _now()}
        final = {"done": True, "done_reason": reply.get("done_reason", "stop"),
                 **_stats(prompt_chars, len(content))}
        if body.get("logprobs") and reply.get("logprobs"):
            top = int(body.get("top_logprobs") or 0)
            final["logprobs"] = [{"token": t["token"], "logprob": t["logprob"],
                                  **({"top_logprobs": list(t.get("top_logprobs") or ())[:top]} if top else {})}
                                 for t in reply["logprobs"]]

        def piece(text: str, tool_calls: list | None = None) -> dict[str, Any]:
            if not chat:
                return {**head, "response": text}
            message: dict[str, Any] = {"role": "assistant", "content": text}
            if tool_calls:
                message["tool_calls"] = tool_calls
            return {**head, "message": message}

        if body.get("stream", True) is False:
            return self._send(200, {**piece(content, calls), **final})
        lines = [{**piece(p), "done": False} for p in _pieces(content)]
        if calls:
            lines.append({**piece("", calls), "done": False})
        lines.append({**piece(""), **final})
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.end_headers()
        for line in lines:
            self.wfile.write(json.dumps(line).encode() + b"\n")
            self.wfile.flush()
