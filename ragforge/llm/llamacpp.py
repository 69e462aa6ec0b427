"""``LlamaCppChat``: a GGUF file run in-process by llama.cpp (the ``xllamacpp`` wheel), no server needed.

    from ragforge.llm import LlamaCppChat
    llm = LlamaCppChat("~/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf", n_ctx=8192, threads=2)
    print(llm.chat("Say hi").text)

The model is loaded on first use and kept: every LlamaCppChat of the same file and settings in a process
shares one loaded model. Requests are llama.cpp's OpenAI-compatible chat completions (the chat template is
the model's own), so JSON-schema ``format=`` is grammar-constrained, and every call carries a bound on its
reply (``max_tokens``). Each call streams inside, so a timeout (or a consumer that stops reading) cancels the
generation between two tokens or two prompt batches, instead of leaving it running. A prompt longer than the
context raises :class:`~ragforge.errors.LLMContextError` with both sizes.

Install: ``pip install 'ragforge[llamacpp]'`` (MIT, a prebuilt CPU wheel).
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Generator, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from ragforge.errors import ConfigError, LLMError, LLMResponseError, LLMTimeoutError
from ragforge.llm.cache import ResponseCache
from ragforge.llm.chain import DEFAULT_TIMEOUT, FRESH_MEMORY_CACHE, LayeredChat, check_timeout
from ragforge.llm.openai_format import StreamAssembler, request_body
from ragforge.llm.types import ChatModel, ChatResult, EventHook, Format, MessageLike, StreamResult, ToolLike
from ragforge.retry import RetryClock, RetryPolicy

_LOADED: dict[tuple[Any, ...], Any] = {}  # (path, n_ctx, threads, batch) -> xllamacpp.Server
_LOAD_LOCK = threading.Lock()
_DONE = object()


def check_gguf(path: str | os.PathLike[str]) -> Path:
    """``path`` resolved, after checking it is a readable GGUF file; else a ConfigError saying what to do."""
    resolved = Path(path).expanduser()
    if not resolved.is_file():
        raise ConfigError(f"no GGUF model file at {resolved}: give the path of a .gguf file "
                          "(e.g. one from `ollama pull`'s blobs, Hugging Face, or a llama.cpp conversion)")
    try:
        with resolved.open("rb") as handle:
            magic = handle.read(4)
    except OSError as exc:
        raise ConfigError(f"cannot read the model file {resolved}: {exc.strerror or exc}") from exc
    if magic != b"GGUF":
        raise ConfigError(f"{resolved} is not a GGUF model file (it starts with {magic!r}, not b'GGUF'); "
                          "llama.cpp reads only GGUF: convert the model or pick the .gguf file")
    return resolved.resolve()


def _available_bytes() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _check_memory(path: Path, n_ctx: int) -> None:
    needed = path.stat().st_size * 1.1 + n_ctx * 64 * 1024 + 256 * 2**20  # weights + a generous KV cache
    free = _available_bytes()
    if free is not None and needed > free:
        raise LLMError(f"{path.name} needs about {needed / 2**30:.1f} GB of RAM to run with a {n_ctx:,}-token "
                       f"context, but only {free / 2**30:.1f} GB are free: use a smaller model (or quantisation), "
                       "a smaller n_ctx, or close other programs")


def _load(path: Path, n_ctx: int, threads: int, batch: int) -> Any:
    key = (str(path), n_ctx, threads, batch)
    with _LOAD_LOCK:
        server = _LOADED.get(key)
        if server is not None:
            return server
        try:
            import xllamacpp
        except ImportError as exc:
            raise ConfigError("running a GGUF file needs llama.cpp: pip install 'ragforge[llamacpp]'") from exc
        _check_memory(path, n_ctx)
        params = xllamacpp.CommonParams()
        params.model.path = str(path)
        params.n_ctx = n_ctx
        params.n_parallel = 1
        params.n_batch = params.n_ubatch = batch
        params.cpuparams.n_threads = params.cpuparams_batch.n_threads = threads
        params.use_jinja = True  # the model's own chat template (tool calls included)
        params.warmup = False
        params.verbosity = 0  # llama.cpp's log lines on stderr would drown the CLI's output
        params.port = 0  # llama.cpp also listens on loopback: an ephemeral port, never a fixed one
        try:
            server = xllamacpp.Server(params)
        except Exception as exc:  # llama.cpp says only "failed to init"
            raise LLMError(f"llama.cpp could not load {path.name} ({exc}); is it a complete GGUF chat model "
                           "that fits in memory?") from exc
        _LOADED[key] = server
        return server


def default_threads() -> int:
    """Physical cores are what llama.cpp scales with; use them all, at least one."""
    return max(1, os.cpu_count() or 1)


class LlamaCppBackend:
    """One in-process llama.cpp request per call (see :class:`LlamaCppChat` for the layers around it)."""

    def __init__(self, path: str | os.PathLike[str], *, n_ctx: int = 8192, threads: int | None = None,
                 batch: int = 256, timeout: float | None = DEFAULT_TIMEOUT, max_tokens: int = 1024,
                 options: Mapping[str, Any] | None = None) -> None:
        if n_ctx < 256:
            raise ConfigError("n_ctx must be at least 256 tokens")
        if threads is not None and threads < 1:
            raise ConfigError("threads must be >= 1")
        self.path = check_gguf(path)
        self.model = self.path.name
        self.n_ctx = n_ctx
        self.threads = threads or default_threads()
        self.batch = batch
        self.timeout = timeout
        self.max_tokens = max_tokens
        self.options = dict(options or {})

    def __repr__(self) -> str:
        return f"LlamaCppBackend({str(self.path)!r}, n_ctx={self.n_ctx})"

    @property
    def server(self) -> Any:
        return _load(self.path, self.n_ctx, self.threads, self.batch)

    def check(self) -> None:
        """The file was checked when this backend was made; here: llama.cpp is installed and RAM suffices."""
        import importlib.util

        if importlib.util.find_spec("xllamacpp") is None:
            raise ConfigError("running a GGUF file needs llama.cpp: pip install 'ragforge[llamacpp]'")
        if (str(self.path), self.n_ctx, self.threads, self.batch) not in _LOADED:
            _check_memory(self.path, self.n_ctx)

    def load(self) -> None:
        """Load the model now (it otherwise loads on the first call)."""
        _ = self.server

    def close(self) -> None:
        """Nothing to release per instance: the loaded model is shared and kept for the process."""

    def body(self, messages: Sequence[MessageLike], *, tools: Sequence[ToolLike] | None = None,
             format: Format = None, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
        merged = {**self.options, **dict(options or {})}
        merged.setdefault("num_predict", self.max_tokens)
        body = request_body(self.model, messages, tools=tools, format=format, options=merged, stream=True)
        body["return_progress"] = True  # chunks during a long prompt: a timeout can cancel between batches
        body["cache_prompt"] = True
        return body

    def chat(self, messages: Sequence[MessageLike], *, tools: Sequence[ToolLike] | None = None,
             format: Format = None, options: Mapping[str, Any] | None = None) -> ChatResult:
        stream = StreamResult(self._generate(self.body(messages, tools=tools, format=format, options=options)))
        return stream.result

    def stream(self, messages: Sequence[MessageLike], *, format: Format = None,
               options: Mapping[str, Any] | None = None) -> StreamResult:
        return StreamResult(self._generate(self.body(messages, format=format, options=options)))

    def _generate(self, body: dict[str, Any]) -> Generator[str, None, ChatResult]:
        server = self.server
        started = time.perf_counter()
        chunks: queue.Queue[Any] = queue.Queue()
        cancel = threading.Event()

        def on_chunk(chunk: Any) -> bool:
            chunks.put(chunk)
            return cancel.is_set()  # True stops llama.cpp, which cancels the task

        def work() -> None:
            try:
                server.handle_chat_completions(body, on_chunk)
            except BaseException as exc:  # noqa: BLE001 - handed to the reading thread
                chunks.put(exc)
            finally:
                chunks.put(_DONE)

        threading.Thread(target=work, name="ragforge-llamacpp", daemon=True).start()
        where = f"llama.cpp ({self.model})"
        assembler = StreamAssembler(self.model, where=where)
        deadline = None if self.timeout is None else started + self.timeout
        try:
            while (item := self._next(chunks, deadline)) is not _DONE:
                if isinstance(item, BaseException):
                    raise LLMResponseError(f"{where} failed: {type(item).__name__}: {item}") from item
                piece = assembler.feed(item)
                if piece:
                    yield piece
        finally:
            cancel.set()  # a timeout, an error or a consumer that stopped reading: stop generating
        result = assembler.result(time.perf_counter() - started)
        return result.model_copy(update={"model": self.model})  # llama.cpp reports the whole file path

    def _next(self, chunks: queue.Queue[Any], deadline: float | None) -> Any:
        try:
            return chunks.get(timeout=None if deadline is None else max(0.0, deadline - time.perf_counter()))
        except queue.Empty:
            raise LLMTimeoutError(
                f"llama.cpp ({self.model}) did not finish within {self.timeout:g} s; the generation was "
                "cancelled. Raise the timeout (--timeout), ask with fewer passages (-k), or use a smaller "
                "model") from None


class LlamaCppChat(LayeredChat):
    """A :class:`ChatModel` on a GGUF file run in-process by llama.cpp.

    Args:
        path: the ``.gguf`` file.
        n_ctx: the context window in tokens (prompt + reply); fixed when the model loads.
        threads: CPU threads for llama.cpp (default: every core).
        batch: prompt tokens processed per step (also how often a timeout can cancel a long prompt).
        timeout: seconds allowed for one call, retries included (default 300).
        max_tokens: the default bound on a reply's tokens (``options={"num_predict": n}`` per call).
        options: Ollama-style options sent with every call (``temperature``, ``seed``, ``top_p``, ...).
        retry, fallbacks, cache, on_event, retry_clock: as for :class:`~ragforge.llm.OllamaChat`.
    """

    def __init__(self, path: str | os.PathLike[str], *, n_ctx: int = 8192, threads: int | None = None,
                 batch: int = 256, timeout: float | None = DEFAULT_TIMEOUT, max_tokens: int = 1024,
                 options: Mapping[str, Any] | None = None, retry: RetryPolicy | None = RetryPolicy(),
                 fallbacks: Sequence[str | ChatModel] = (), cache: ResponseCache | None = FRESH_MEMORY_CACHE,
                 on_event: EventHook | None = None, retry_clock: RetryClock | None = None) -> None:
        same = partial(LlamaCppBackend, n_ctx=n_ctx, threads=threads, batch=batch, timeout=check_timeout(timeout),
                       max_tokens=max_tokens, options=options)
        super().__init__(same(path), retry=retry, fallbacks=fallbacks, cache=cache, on_event=on_event,
                         retry_clock=retry_clock, timeout=timeout, backend_for=same)

    def __repr__(self) -> str:
        return f"LlamaCppChat({str(self.backend.path)!r})"
