"""Running the tasks of one superstep: inline, on threads, or on an event loop; with retries and timeouts.

``StepRunner.run`` (sync callers: threads, a private event loop for async nodes) and ``StepRunner.arun`` (the
caller's event loop: async nodes awaited, sync nodes on the worker threads) are the only difference between
the sync and the async front ends of a graph.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import threading
import time
from collections.abc import Awaitable, Coroutine
from concurrent.futures import Future, ThreadPoolExecutor
from time import perf_counter
from typing import Any, Final, TypeVar

from pydantic import BaseModel

from ragforge.errors import NodeTimeoutError
from ragforge.retry import RetryClock, next_delay

from .context import CURRENT, GraphInterrupt, RunContext
from .nodes import NodeSpec

__all__ = ["STATE", "Job", "Outcome", "StepRunner", "Task", "WorkerPool", "normalise", "run_coro"]

T = TypeVar("T")
STATE: Final = object()  # Task.arg when the node receives the state
_CLOCK = RetryClock(now=perf_counter)  # node retries measure their deadline from the task's start


class Task:
    """One node to run in a step; ``arg`` is the Send argument, or STATE."""

    __slots__ = ("node", "arg")

    def __init__(self, node: str, arg: Any = STATE) -> None:
        self.node = node
        self.arg = arg

    def __repr__(self) -> str:
        return f"Task({self.node!r})" if self.arg is STATE else f"Task({self.node!r}, {self.arg!r})"


class Outcome:
    """What running one task produced."""

    __slots__ = ("update", "error", "interrupt", "retries", "failures", "start", "duration", "ctx")

    def __init__(self, start: float, ctx: RunContext) -> None:
        self.update: dict[str, Any] | None = None
        self.error: BaseException | None = None
        self.interrupt: GraphInterrupt | None = None
        self.retries = 0
        self.failures: list[str] = []
        self.start = start
        self.duration = 0.0
        self.ctx = ctx


Job = tuple[NodeSpec, Any, RunContext]  # a node, its input (the state view or a Send's arg), its context


def normalise(node: str, result: Any) -> dict[str, Any]:
    """A node's return value as an update dict."""
    if result is None:
        return {}
    if isinstance(result, dict):
        return result
    if isinstance(result, BaseModel):
        return {k: getattr(result, k) for k in result.model_fields_set}
    raise TypeError(f"node {node!r} returned {type(result).__name__}; return a dict (a partial update) or None")


def run_coro(awaitable: Awaitable[T]) -> T:
    """Run an awaitable to completion from sync code, even when this thread already runs an event loop."""
    coro: Coroutine[Any, Any, T] = awaitable if isinstance(awaitable, Coroutine) else _await(awaitable)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    values: list[T] = []
    errors: list[BaseException] = []
    ctx = contextvars.copy_context()

    def target() -> None:
        try:
            values.append(ctx.run(asyncio.run, coro))
        except BaseException as exc:  # noqa: BLE001 - handed back to the caller below
            errors.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return values[0]


async def _await(awaitable: Awaitable[T]) -> T:
    return await awaitable


def _call_with_timeout(spec: NodeSpec, arg: Any, ctx: RunContext) -> Any:
    box: dict[str, Any] = {}
    context = contextvars.copy_context()

    def target() -> None:
        try:
            box["value"] = context.run(spec.call, arg, ctx)
        except BaseException as exc:  # noqa: BLE001 - handed back below
            box["error"] = exc

    thread = threading.Thread(target=target, name=f"node-{spec.name}", daemon=True)
    thread.start()
    thread.join(spec.timeout)
    if thread.is_alive():  # the thread cannot be killed; it is left to finish on its own
        raise NodeTimeoutError(f"node {spec.name!r} exceeded its timeout of {spec.timeout} s", node=spec.name)
    if "error" in box:
        raise box["error"]
    return box["value"]


def _finish(spec: NodeSpec, out: Outcome, attempts: int, t0: float) -> Outcome:
    if out.update and spec.writes is not None and not spec.writes.issuperset(out.update):
        extra = sorted(set(out.update) - spec.writes)
        out.error = ValueError(f"wrote {extra}, outside its declared writes {sorted(spec.writes)}")
        out.update = None
    out.retries = attempts - 1
    out.duration = perf_counter() - t0 - out.start
    return out


def _retry_delay(spec: NodeSpec, exc: Exception, attempt: int, t0: float) -> float | None:
    """Seconds to wait before the node's next attempt, or None when its policy gives up."""
    return None if spec.retry is None else next_delay(spec.retry, exc, attempt, t0, _CLOCK)


def run_sync(spec: NodeSpec, arg: Any, ctx: RunContext, t0: float) -> Outcome:
    out = Outcome(perf_counter() - t0, ctx)
    token = CURRENT.set(ctx)
    attempt = 0
    try:
        while True:
            attempt += 1
            ctx.start_attempt()
            try:
                result = spec.call(arg, ctx) if spec.timeout is None else _call_with_timeout(spec, arg, ctx)
                if result.__class__ is dict:  # the common case, checked first (the fast path)
                    out.update = result
                    break
                if inspect.isawaitable(result):
                    result = run_coro(result)
                out.update = normalise(spec.name, result)
                break
            except GraphInterrupt as exc:
                out.interrupt = exc
                break
            except Exception as exc:  # noqa: BLE001 - recorded, retried or reported as NodeError
                delay = _retry_delay(spec, exc, attempt, t0)
                if delay is not None:
                    out.failures.append(repr(exc))
                    time.sleep(delay)
                    continue
                out.error = exc
                break
    finally:
        CURRENT.reset(token)
    return _finish(spec, out, attempt, t0)


async def run_async(spec: NodeSpec, arg: Any, ctx: RunContext, t0: float) -> Outcome:
    out = Outcome(perf_counter() - t0, ctx)
    CURRENT.set(ctx)  # this coroutine runs in its own asyncio task, so its own context copy
    attempt = 0
    while True:
        attempt += 1
        ctx.start_attempt()
        try:
            result = spec.call(arg, ctx)
            if inspect.isawaitable(result):
                if spec.timeout is None:
                    result = await result
                else:
                    try:
                        result = await asyncio.wait_for(result, spec.timeout)
                    except asyncio.TimeoutError:
                        raise NodeTimeoutError(f"node {spec.name!r} exceeded its timeout of {spec.timeout} s",
                                               node=spec.name) from None
            out.update = normalise(spec.name, result)
            break
        except GraphInterrupt as exc:
            out.interrupt = exc
            break
        except Exception as exc:  # noqa: BLE001 - recorded, retried or reported as NodeError (async twin)
            delay = _retry_delay(spec, exc, attempt, t0)
            if delay is not None:
                out.failures.append(repr(exc))
                await asyncio.sleep(delay)
                continue
            out.error = exc
            break
    return _finish(spec, out, attempt, t0)


class WorkerPool:
    """The worker threads of one compiled graph, shared by its runs; made on first use, closed by ``close()``."""

    def __init__(self, max_workers: int, name: str) -> None:
        self.max_workers = max_workers
        self.name = name
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def get(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.max_workers, thread_name_prefix=f"graph-{self.name}")
            return self._pool

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=False)
                self._pool = None


class StepRunner:
    """Runs one step's jobs. One per run: owns the run's private event loop (made on first use)."""

    def __init__(self, pool: WorkerPool) -> None:
        self._pool = pool
        self._loop: asyncio.AbstractEventLoop | None = None

    def run(self, jobs: list[Job], t0: float) -> list[Outcome]:
        """From sync code: one sync job inline; else sync jobs on threads and async ones on an event loop."""
        if len(jobs) == 1 and not jobs[0][0].is_async:
            spec, arg, ctx = jobs[0]
            return [run_sync(spec, arg, ctx, t0)]
        results: list[Outcome | None] = [None] * len(jobs)
        sync_ix = [i for i, job in enumerate(jobs) if not job[0].is_async]
        async_ix = [i for i, job in enumerate(jobs) if job[0].is_async]
        inline = sync_ix[0] if sync_ix and not async_ix else None
        futures: list[tuple[int, Future[Outcome]]] = []
        if len(sync_ix) > (inline is not None):
            pool = self._pool.get()
            for i in sync_ix:
                if i != inline:
                    spec, arg, ctx = jobs[i]
                    futures.append((i, pool.submit(contextvars.copy_context().run, run_sync, spec, arg, ctx, t0)))
        if inline is not None:
            spec, arg, ctx = jobs[inline]
            results[inline] = run_sync(spec, arg, ctx, t0)
        if async_ix:
            for i, out in zip(async_ix, self._gather([run_async(*jobs[i], t0) for i in async_ix]), strict=True):
                results[i] = out
        for i, fut in futures:
            results[i] = fut.result()
        return results  # type: ignore[return-value]  # every slot is filled above

    async def arun(self, jobs: list[Job], t0: float) -> list[Outcome]:
        """Inside the caller's event loop: async jobs awaited, sync jobs on the worker threads."""
        loop = asyncio.get_running_loop()
        waits: list[Awaitable[Outcome]] = []
        for spec, arg, ctx in jobs:
            if spec.is_async:
                waits.append(run_async(spec, arg, ctx, t0))
            else:
                waits.append(loop.run_in_executor(self._pool.get(), contextvars.copy_context().run, run_sync, spec,
                                                  arg, ctx, t0))
        return list(await asyncio.gather(*waits))

    def _gather(self, coros: list[Coroutine[Any, Any, Outcome]]) -> list[Outcome]:
        async def together() -> list[Outcome]:
            return list(await asyncio.gather(*coros))

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
            return self._loop.run_until_complete(together())
        return run_coro(together())  # called from inside a running loop: use a helper thread

    def close(self) -> None:
        if self._loop is not None:
            self._loop.close()
            self._loop = None
