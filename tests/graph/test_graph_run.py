"""Running: reducers under concurrency, retries, timeouts, failures, async nodes, deps, streaming."""

from __future__ import annotations

import asyncio
import random
import threading
import time
from typing import Annotated, Literal, TypedDict

import pytest
from pydantic import BaseModel

from ragforge.errors import GraphRunError, GraphStepLimitError, NodeError, NodeTimeoutError
from ragforge.graph import END, START, RetryPolicy, RunContext, Send, StateGraph, add, append, merge_dict


class Acc(TypedDict, total=False):
    items: Annotated[list[str], append]
    total: Annotated[int, add]
    seen: Annotated[dict[str, int], merge_dict]
    last: str


def _wide_graph(width: int, jitter: random.Random):
    lock = threading.Lock()

    def worker(i: int):
        def node(state: Acc) -> dict:
            with lock:
                pause = jitter.random() * 0.002
            time.sleep(pause)  # finish in a random order
            return {"items": [f"w{i}"], "total": i, "seen": {f"w{i}": i}}
        return node

    def finish(state: Acc) -> dict:
        return {"last": ",".join(state["items"])}

    graph = StateGraph(Acc).add_node("finish", finish)
    for i in range(width):
        graph.add_node(f"w{i}", worker(i)).add_edge(START, f"w{i}").add_edge(f"w{i}", "finish")
    return graph.add_edge("finish", END).compile()


def test_reducers_under_concurrency_are_deterministic() -> None:
    app = _wide_graph(8, random.Random(7))
    results = [app.invoke({"items": ["start"], "total": 100}) for _ in range(30)]
    expected = {"items": ["start"] + [f"w{i}" for i in range(8)], "total": 100 + sum(range(8)),
                "seen": {f"w{i}": i for i in range(8)}, "last": ",".join(["start"] + [f"w{i}" for i in range(8)])}
    assert all(r == expected for r in results)
    assert app.invoke({})["total"] == sum(range(8))  # a missing value counts as nothing


def test_parallel_threads_overlap_in_time() -> None:
    starts, ends = {}, {}
    meet = threading.Barrier(2, timeout=5)  # neither node can pass unless both are running at once

    def node(name: str):
        def run(state: Acc) -> dict:
            starts[name] = time.perf_counter()
            meet.wait()
            ends[name] = time.perf_counter()
            return {"items": [name]}
        return run

    graph = StateGraph(Acc).add_node("slow", node("slow")).add_node("fast", node("fast"))
    graph.add_edge(START, "slow").add_edge(START, "fast")
    result = graph.add_edge("slow", END).add_edge("fast", END).compile().run({})
    assert result.state["items"] == ["slow", "fast"]
    assert starts["fast"] < ends["slow"] and starts["slow"] < ends["fast"]
    slow, fast = result.trace.records
    assert slow.start < fast.start + fast.duration and fast.start < slow.start + slow.duration


def test_async_nodes_run_concurrently_inside_sync_invoke() -> None:
    async def fetch_a(state: Acc) -> dict:
        await asyncio.sleep(0.05)
        return {"items": ["a"]}

    async def fetch_b(state: Acc) -> dict:
        await asyncio.sleep(0.05)
        return {"items": ["b"]}

    def sync_c(state: Acc) -> dict:
        return {"items": ["c"]}

    graph = StateGraph(Acc).add_node(fetch_a).add_node(fetch_b).add_node(sync_c)
    for n in ("fetch_a", "fetch_b", "sync_c"):
        graph.add_edge(START, n).add_edge(n, END)
    app = graph.compile()
    result = app.run({})
    assert result.state["items"] == ["a", "b", "c"]
    recs = {r.node: r for r in result.trace.records}
    a, b = recs["fetch_a"], recs["fetch_b"]
    assert a.start < b.start + b.duration and b.start < a.start + a.duration
    assert asyncio.run(app.ainvoke({}))["items"] == ["a", "b", "c"]

    async def from_a_running_loop():
        return app.invoke({})

    assert asyncio.run(from_a_running_loop())["items"] == ["a", "b", "c"]


def test_node_raises_then_retries_then_succeeds() -> None:
    attempts = []

    def flaky(state: Acc) -> dict:
        attempts.append(1)
        if len(attempts) < 3:
            raise ConnectionError(f"try {len(attempts)}")
        return {"last": "ok"}

    graph = StateGraph(Acc).add_node(flaky, retry=RetryPolicy(max_attempts=3, base_delay=0, retry_on=ConnectionError))
    result = graph.add_edge(START, "flaky").add_edge("flaky", END).compile().run({})
    assert result.state["last"] == "ok" and len(attempts) == 3
    rec = result.trace.records[0]
    assert rec.retries == 2 and rec.failures == ["ConnectionError('try 1')", "ConnectionError('try 2')"]


def test_a_failing_node_is_named_and_the_state_before_it_kept() -> None:
    def first(state: Acc) -> dict:
        return {"items": ["first"]}

    def broken(state: Acc) -> dict:
        raise ValueError("bad input")

    graph = StateGraph(Acc).add_node(first).add_node(broken, retry=RetryPolicy(max_attempts=2, retry_on=KeyError))
    app = graph.add_edge(START, "first").add_edge("first", "broken").add_edge("broken", END).compile()
    with pytest.raises(NodeError, match=r"node 'broken' failed at step 1: ValueError: bad input") as info:
        app.invoke({})
    assert info.value.node == "broken" and info.value.state == {"items": ["first"]}
    assert isinstance(info.value.__cause__, ValueError)
    result = app.run({})
    assert result.status == "failed" and result.state == {"items": ["first"]}
    assert result.trace.records[-1].error == "ValueError: bad input" and result.trace.records[-1].retries == 0


def test_node_timeout() -> None:
    release = threading.Event()

    def stuck(state: Acc) -> dict:
        release.wait(5)
        return {}

    graph = StateGraph(Acc).add_node(stuck, timeout=0.05)
    app = graph.add_edge(START, "stuck").add_edge("stuck", END).compile()
    try:
        with pytest.raises(NodeTimeoutError, match="exceeded its timeout") as info:
            app.invoke({"last": "before"})
        assert info.value.node == "stuck" and info.value.state == {"last": "before"}
    finally:
        release.set()

    async def sleepy(state: Acc) -> dict:
        await asyncio.sleep(5)
        return {}

    app2 = StateGraph(Acc).add_node(sleepy, timeout=0.05).add_edge(START, "sleepy").add_edge("sleepy", END).compile()
    with pytest.raises(NodeTimeoutError):
        app2.invoke({})


class Typed(BaseModel):
    n: int = 0
    word: str = ""


def test_updates_are_validated_against_the_schema() -> None:
    def bad_type(state: Typed) -> dict:
        return {"n": "not a number"}

    def bad_field(state: Typed) -> dict:
        return {"nope": 1}

    def coerces(state: Typed) -> dict:
        return {"n": "41"}

    for fn, pattern in ((bad_type, "invalid value for field 'n'"), (bad_field, "unknown state field 'nope'")):
        app = StateGraph(Typed).add_node("x", fn).add_edge(START, "x").add_edge("x", END).compile()
        with pytest.raises(NodeError, match=pattern) as info:
            app.invoke({"n": 1})
        assert info.value.node == "x" and info.value.state == Typed(n=1)
    app = StateGraph(Typed).add_node(coerces).add_edge(START, "coerces").add_edge("coerces", END).compile()
    out = app.invoke(Typed(word="w"))
    assert out == Typed(n=41, word="w") and isinstance(out, Typed)
    with pytest.raises(GraphRunError, match="input does not fit"):
        app.invoke({"n": "x"})


def test_context_deps_and_nested_events() -> None:
    seen: list[dict] = []

    def answer(state: Typed, ctx: RunContext) -> dict:
        ctx.emit({"type": "llm.call", "model": ctx.deps["model"], "tokens": 12})
        return {"word": ctx.deps["model"] + f"@{ctx.node}:{ctx.step}"}

    def shout(state: Typed, *, context: RunContext) -> dict:
        return {"word": state.word.upper() + context.deps["suffix"]}

    graph = StateGraph(Typed).add_sequence(answer, shout).add_edge(START, "answer").add_edge("shout", END)
    result = graph.compile().run({}, deps={"model": "m", "suffix": "!"}, on_event=seen.append)
    assert result.state.word == "M@ANSWER:0!"
    events = result.trace.records[0].events
    assert events[0]["type"] == "llm.call" and events[0]["tokens"] == 12 and events[0]["t"] >= 0
    assert [e["type"] for e in seen] == ["llm.call", "node", "node", "end"]
    assert seen[0]["node"] == "answer" and seen[0]["model"] == "m"


def test_stream_yields_events_as_steps_finish() -> None:
    def one(state: Typed) -> dict:
        return {"n": 1}

    def two(state: Typed) -> dict:
        return {"n": state.n + 1}

    app = StateGraph(Typed).add_sequence(one, two).add_edge(START, "one").add_edge("two", END).compile()
    events = list(app.stream({}))
    assert [(e.kind, e.step, e.node) for e in events] == [
        ("node", 0, "one"), ("update", 0, None), ("node", 1, "two"), ("update", 1, None), ("end", 2, None)]
    assert events[2].data == {"n": 2} and events[-1].data == Typed(n=2)


class Frozen(BaseModel, frozen=True):
    n: int = 0
    tags: Annotated[list[str], append] = []


def test_router_from_start_and_frozen_pydantic_state() -> None:
    def small(state: Frozen) -> dict:
        return {"n": state.n + 1, "tags": "small"}

    def big(state: Frozen) -> dict:
        return {"n": state.n * 10, "tags": ["big"]}

    def size(state: Frozen) -> Literal["small", "big"]:
        return "big" if state.n > 5 else "small"

    graph = StateGraph(Frozen).add_node(small).add_node(big).add_edge("small", END).add_edge("big", END)
    app = graph.add_conditional_edges(START, size).compile()
    assert app.invoke({"n": 1}) == Frozen(n=2, tags=["small"])
    assert app.invoke(Frozen(n=7)) == Frozen(n=70, tags=["big"])


def test_declared_writes_are_enforced() -> None:
    def sneaky(state: Acc) -> dict:
        return {"items": ["x"], "last": "oops"}

    app = (StateGraph(Acc).add_node(sneaky, writes=["items"]).add_edge(START, "sneaky").add_edge("sneaky", END)
           .compile())
    with pytest.raises(NodeError, match=r"wrote \['last'\], outside its declared writes \['items'\]"):
        app.invoke({})


def test_arun_uses_the_callers_event_loop() -> None:
    async def main() -> tuple:
        ready = asyncio.Event()
        outer = asyncio.get_running_loop()

        async def waiter(state: Acc) -> dict:
            assert asyncio.get_running_loop() is outer
            await asyncio.wait_for(ready.wait(), 5)
            return {"items": ["waiter"]}

        async def setter(state: Acc) -> dict:
            ready.set()
            return {"items": ["setter"]}

        def plain(state: Acc) -> dict:
            return {"items": ["plain"]}

        graph = StateGraph(Acc).add_node(waiter).add_node(setter).add_node(plain)
        for n in ("waiter", "setter", "plain"):
            graph.add_edge(START, n).add_edge(n, END)
        app = graph.compile()
        state = await app.ainvoke({})
        kinds = [e.kind async for e in app.astream({})]
        return state, kinds

    state, kinds = asyncio.run(main())
    assert state["items"] == ["waiter", "setter", "plain"]
    assert kinds == ["node", "node", "node", "update", "end"]


def test_step_limit_names_the_cycle_of_an_infinite_loop() -> None:
    def ping(state: Acc) -> dict:
        return {"total": 1}

    def pong(state: Acc) -> dict:
        return {"total": 1}

    def forever(state: Acc) -> Literal["again", "stop"]:
        return "again"

    graph = StateGraph(Acc).add_sequence(ping, pong).add_edge(START, "ping")
    app = graph.add_conditional_edges("pong", forever, {"again": "ping", "stop": END}).compile()
    result = app.run({}, step_limit=7)
    assert result.status == "failed" and isinstance(result.error, GraphStepLimitError)
    assert "step limit of 7 reached" in str(result.error) and "ping -> pong -> ping" in str(result.error)
    assert result.state["total"] == 7 and len(result.trace.steps) == 7


def test_send_to_a_node_outside_the_targets_fails_clearly() -> None:
    def one(state: Acc) -> dict:
        return {}

    graph = StateGraph(Acc).add_node(one).add_node("two", one).add_edge(START, "one").add_edge("two", END)
    app = graph.add_conditional_edges("one", lambda s: [Send("one", {})], ["two"]).compile()
    with pytest.raises(GraphRunError, match=r"sent to 'one', which is not among its targets \['two'\]"):
        app.invoke({})
