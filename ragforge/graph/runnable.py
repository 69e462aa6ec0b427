"""Runnables: small composable steps with ``invoke``/``batch``/``stream``, piped with ``|``.

``a | b`` feeds a's output to b. Plain functions become :class:`RunnableLambda`, dicts of steps become
:class:`RunnableParallel` (each gets the same input; the output is a dict). A compiled graph is a Runnable,
and any Runnable can be a graph node. ``invoke(input, config=RunConfig(...))`` hands run options to a graph;
other Runnables ignore them (``bind``, ``batch``, ``with_retry`` and ``with_fallbacks`` pass them on).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ragforge.errors import GraphBuildError
from ragforge.retry import RetryPolicy, call_with_retry

from .config import RunConfig, RunOptions
from .executor import run_coro

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["Runnable", "RunnableLambda", "RunnableParallel", "RunnableSequence", "SupportsInvoke", "as_runnable"]


@runtime_checkable
class SupportsInvoke(Protocol):
    """Anything with ``invoke(input)``: the Runnable protocol."""

    def invoke(self, input: Any) -> Any: ...


def _call(step: Runnable, input: Any, config: RunConfig | None) -> Any:
    """``step.invoke(input)``, handing on ``config`` only when there is one (so ``invoke(self, input)`` works)."""
    return step.invoke(input) if config is None else step.invoke(input, config=config)


def _config(config: RunConfig | None, options: Mapping[str, Any]) -> RunConfig | None:
    return RunConfig.of(config, options) if options else config


class Runnable:
    """Base class: subclasses implement ``invoke(input, *, config=None)``; the rest is built on it."""

    name: str = "runnable"

    def invoke(self, input: Any, *, config: RunConfig | None = None) -> Any:
        raise NotImplementedError

    def __call__(self, input: Any) -> Any:
        return self.invoke(input)

    def batch(self, inputs: Iterable[Any], *, max_workers: int = 4, config: RunConfig | None = None,
              **options: Unpack[RunOptions]) -> list[Any]:
        """``invoke`` over many inputs on threads; results keep the input order; the first error is raised."""
        items, cfg = list(inputs), _config(config, options)
        if len(items) <= 1 or max_workers <= 1:
            return [_call(self, x, cfg) for x in items]
        with ThreadPoolExecutor(min(max_workers, len(items))) as pool:
            return list(pool.map(lambda x: _call(self, x, cfg), items))

    def stream(self, input: Any, *, config: RunConfig | None = None) -> Iterator[Any]:
        """Yield the output in pieces; by default one piece, the whole output."""
        yield _call(self, input, config)

    async def ainvoke(self, input: Any, *, config: RunConfig | None = None) -> Any:
        return await asyncio.to_thread(_call, self, input, config)

    def __or__(self, other: Any) -> RunnableSequence:
        return RunnableSequence(self, as_runnable(other))

    def __ror__(self, other: Any) -> RunnableSequence:
        return RunnableSequence(as_runnable(other), self)

    def bind(self, config: RunConfig | None = None, **options: Unpack[RunOptions]) -> Runnable:
        """A Runnable that always runs with this config (e.g. ``graph.bind(deps=...)``)."""
        cfg = RunConfig.of(config, options)
        return RunnableLambda(lambda x: self.invoke(x, config=cfg), name=f"{self.name}.bind")

    def with_fallbacks(self, fallbacks: Iterable[Any], *,
                       exceptions_to_handle: tuple[type[BaseException], ...] = (Exception,)) -> Runnable:
        """Try this, then each fallback in turn, on the listed errors; if all fail, raise the first error."""
        return RunnableWithFallbacks(self, [as_runnable(f) for f in fallbacks], exceptions_to_handle)

    def with_retry(self, policy: RetryPolicy | None = None, **kwargs: Any) -> RunnableRetry:
        """Retry on failure; give a RetryPolicy or its fields (``max_attempts=3, retry_on=...``)."""
        return RunnableRetry(self, policy or RetryPolicy(**kwargs))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


def as_runnable(obj: Any) -> Runnable:
    """Make a Runnable of a Runnable, a dict of steps, an object with ``invoke``, or a function."""
    if isinstance(obj, Runnable):
        return obj
    if isinstance(obj, Mapping):
        return RunnableParallel(obj)
    if isinstance(obj, SupportsInvoke):
        return RunnableLambda(obj.invoke, name=type(obj).__name__)
    if callable(obj):
        return RunnableLambda(obj)
    raise GraphBuildError(f"cannot make a Runnable of {type(obj).__name__}: give a function, dict or Runnable")


class RunnableLambda(Runnable):
    """A function ``f(input) -> output`` (sync or async) as a Runnable."""

    def __init__(self, fn: Callable[[Any], Any], *, name: str | None = None) -> None:
        self.fn = fn
        self.name: str = name or getattr(fn, "__name__", None) or "lambda"
        self.__name__ = self.name

    def invoke(self, input: Any, *, config: RunConfig | None = None) -> Any:
        result = self.fn(input)
        if inspect.isawaitable(result):
            result = run_coro(result)
        return result


class RunnableSequence(Runnable):
    """Steps run one after the other; each output is the next input. Built by ``|``."""

    def __init__(self, *steps: Runnable) -> None:
        flat: list[Runnable] = []
        for step in steps:
            flat.extend(step.steps if isinstance(step, RunnableSequence) else [step])
        if len(flat) < 2:
            raise GraphBuildError("a sequence needs at least two steps")
        self.steps: tuple[Runnable, ...] = tuple(flat)
        self.name = " | ".join(s.name for s in flat)
        self.__name__ = "sequence"

    def invoke(self, input: Any, *, config: RunConfig | None = None) -> Any:
        value = input
        for step in self.steps:
            value = step.invoke(value)
        return value

    def stream(self, input: Any, *, config: RunConfig | None = None) -> Iterator[Any]:
        """Run all but the last step, then stream the last one."""
        value = input
        for step in self.steps[:-1]:
            value = step.invoke(value)
        yield from self.steps[-1].stream(value)


class RunnableParallel(Runnable):
    """Run several steps on the same input (on threads); the output is ``{key: step output}``."""

    def __init__(self, steps: Mapping[str, Any]) -> None:
        if not steps:
            raise GraphBuildError("a parallel step needs at least one branch")
        self.steps = {k: as_runnable(v) for k, v in steps.items()}
        self.name = "{" + ", ".join(self.steps) + "}"
        self.__name__ = "parallel"

    def invoke(self, input: Any, *, config: RunConfig | None = None) -> Any:
        if len(self.steps) == 1:
            return {k: s.invoke(input) for k, s in self.steps.items()}
        with ThreadPoolExecutor(len(self.steps)) as pool:
            futures = {k: pool.submit(s.invoke, input) for k, s in self.steps.items()}
            return {k: f.result() for k, f in futures.items()}


class RunnableWithFallbacks(Runnable):
    def __init__(self, primary: Runnable, fallbacks: list[Runnable],
                 handle: tuple[type[BaseException], ...]) -> None:
        self.primary, self.fallbacks, self.handle = primary, fallbacks, handle
        self.name = f"{primary.name}.with_fallbacks"

    def invoke(self, input: Any, *, config: RunConfig | None = None) -> Any:
        first: BaseException | None = None
        for step in (self.primary, *self.fallbacks):
            try:
                return _call(step, input, config if step is self.primary else None)
            except self.handle as exc:
                first = first or exc
        assert first is not None
        raise first


class RunnableRetry(Runnable):
    def __init__(self, inner: Runnable, policy: RetryPolicy) -> None:
        self.inner, self.policy = inner, policy
        self.name = f"{inner.name}.with_retry"
        self.attempts = 0  # attempts made by the last call (for tests and logs)

    def invoke(self, input: Any, *, config: RunConfig | None = None) -> Any:
        self.attempts = 0

        def once() -> Any:
            self.attempts += 1
            return _call(self.inner, input, config)

        return call_with_retry(once, self.policy)[0]
