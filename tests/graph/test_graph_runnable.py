"""Runnables: `|` composition, coercion, fallbacks, retry, batch, graphs as Runnables and Runnables as nodes."""

from __future__ import annotations

import asyncio
from typing import TypedDict

import pytest

from ragforge.errors import GraphBuildError
from ragforge.graph import (
    END,
    START,
    CompiledGraph,
    RetryPolicy,
    Runnable,
    RunnableLambda,
    RunnableParallel,
    StateGraph,
    SupportsInvoke,
    as_runnable,
)


class Upper(Runnable):
    name = "upper"

    def invoke(self, input, **kwargs):
        return input.upper()


def test_pipe_coerces_functions_dicts_and_objects() -> None:
    class Exclaim:  # duck-typed: has invoke, not a Runnable
        def invoke(self, text):
            return text + "!"

    pipe = Upper() | Exclaim() | {"text": lambda s: s, "n": len}
    assert pipe.invoke("hi") == {"text": "HI!", "n": 3}
    assert isinstance(as_runnable({"a": str}), RunnableParallel)
    assert isinstance(Upper(), SupportsInvoke)
    assert list((Upper() | str.split).stream("a b")) == [["A", "B"]]
    assert (str.strip | Upper()).invoke(" x ") == "X"
    with pytest.raises(GraphBuildError, match="cannot make a Runnable"):
        as_runnable(42)


def test_async_function_in_a_pipe() -> None:
    async def double(x):
        await asyncio.sleep(0)
        return x * 2

    assert (RunnableLambda(double) | (lambda x: x + 1)).invoke(4) == 9


def test_with_fallbacks_and_with_retry() -> None:
    calls = []

    def unreliable(x):
        calls.append(x)
        if len(calls) < 3:
            raise TimeoutError("slow")
        return f"ok:{x}"

    def broken(x):
        raise ValueError("primary down")

    retried = RunnableLambda(unreliable).with_retry(max_attempts=3, base_delay=0, retry_on=TimeoutError)
    assert retried.invoke("a") == "ok:a" and retried.attempts == 3
    no_more = RunnableLambda(broken).with_retry(RetryPolicy(max_attempts=2, retry_on=TimeoutError))
    with pytest.raises(ValueError):
        no_more.invoke(1)
    safe = RunnableLambda(broken).with_fallbacks([lambda x: f"fallback:{x}"])
    assert safe.invoke(1) == "fallback:1"
    all_bad = RunnableLambda(broken).with_fallbacks([broken])
    with pytest.raises(ValueError, match="primary down"):
        all_bad.invoke(1)
    only_keys = RunnableLambda(broken).with_fallbacks([lambda x: x], exceptions_to_handle=(KeyError,))
    with pytest.raises(ValueError):
        only_keys.invoke(1)


def test_batch_keeps_order() -> None:
    assert (Upper() | (lambda s: s * 2)).batch(["a", "b", "c"], max_workers=3) == ["AA", "BB", "CC"]


class S(TypedDict, total=False):
    text: str
    words: int


def test_runnables_and_graphs_as_nodes() -> None:
    inner = StateGraph(S).add_node("count", lambda s: {"words": len(s["text"].split())})
    inner_app = inner.add_edge(START, "count").add_edge("count", END).compile()
    shout = RunnableLambda(lambda s: {"text": s["text"].upper()}, name="shout")
    outer = StateGraph(S).add_node(shout).add_node("inner", inner_app)
    app = outer.add_edge(START, "shout").add_edge("shout", "inner").add_edge("inner", END).compile()
    assert isinstance(app, CompiledGraph) and isinstance(app, Runnable)
    assert app.invoke({"text": "a b c"}) == {"text": "A B C", "words": 3}
    with_deps = app.bind(deps={"unused": True}) | (lambda s: s["words"])
    assert with_deps.invoke({"text": "x y"}) == 2


def test_retry_policy_delays() -> None:
    policy = RetryPolicy(max_attempts=4, base_delay=0.5, multiplier=2.0, max_delay=1.5, jitter=0)
    assert [policy.delay(n) for n in (1, 2, 3)] == [0.5, 1.0, 1.5]
    jittery = RetryPolicy(base_delay=1.0, jitter=0.5)
    assert all(0.5 <= jittery.delay(1) <= 1.5 for _ in range(20))
    only_io = RetryPolicy(retry_on=lambda exc: isinstance(exc, OSError))
    assert only_io.should_retry(OSError(), 1) and not only_io.should_retry(ValueError(), 1)
    assert not only_io.should_retry(OSError(), 3)
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)
