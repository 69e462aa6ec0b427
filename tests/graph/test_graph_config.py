"""RunConfig: one value for the run options, taken by every run method; keywords stay as shortcuts.
The sync and async front ends drive the same loop, so they give the same events, states and checkpoints."""

from __future__ import annotations

import asyncio
from typing import Annotated, TypedDict

import pytest

from ragforge.errors import GraphStepLimitError, NodeError
from ragforge.graph import (
    END,
    START,
    MemoryCheckpointer,
    RunConfig,
    RunContext,
    RunnableLambda,
    StateGraph,
    append,
    interrupt,
)


class S(TypedDict, total=False):
    log: Annotated[list[str], append]


def greet(state: S, ctx: RunContext) -> dict:
    return {"log": [f"{ctx.deps['greeting']} from {ctx.node}"]}


def ask(state: S) -> dict:
    return {"log": [f"answer:{interrupt('ok?')}"]}


def _app(checkpointer: MemoryCheckpointer | None = None):
    graph = StateGraph(S).add_sequence(greet, ask).add_edge(START, "greet").add_edge("ask", END)
    return graph.compile(checkpointer=checkpointer or MemoryCheckpointer())


def test_a_config_and_the_keywords_are_the_same_run() -> None:
    app = _app()
    seen: list[dict] = []
    config = RunConfig(deps={"greeting": "hi"}, thread_id="a", on_event=seen.append)
    by_config = app.run({}, config)
    by_keywords = app.run({}, deps={"greeting": "hi"}, thread_id="b", on_event=seen.append)
    assert by_config.state == by_keywords.state == {"log": ["hi from greet"]}
    assert by_config.status == by_keywords.status == "interrupted"
    assert [e["type"] for e in seen] == ["node", "node", "end"] * 2
    assert app.resume("a", "yes", config) == {"log": ["hi from greet", "answer:yes"]}
    assert app.invoke(None, config, thread_id="b", resume="no") == {"log": ["hi from greet", "answer:no"]}


def test_keywords_override_the_config_and_unknown_ones_are_refused() -> None:
    def loop(state: S) -> dict:
        return {"log": ["x"]}

    app = (StateGraph(S).add_node(loop).add_edge(START, "loop")
           .add_conditional_edges("loop", lambda s: "loop", ["loop", END]).compile())
    config = RunConfig(step_limit=100)
    with pytest.raises(GraphStepLimitError, match="step limit of 3"):
        app.invoke({}, config, step_limit=3)
    assert config.step_limit == 100  # the config itself is unchanged (frozen)
    with pytest.raises(TypeError, match=r"unknown run option\(s\) \['steps'\]"):
        app.invoke({}, steps=3)  # type: ignore[call-arg]


def test_bind_and_batch_hand_the_config_on() -> None:
    app = StateGraph(S).add_node(greet).add_edge(START, "greet").add_edge("greet", END).compile()
    assert app.bind(deps={"greeting": "yo"}).invoke({}) == {"log": ["yo from greet"]}
    assert app.bind(RunConfig(deps={"greeting": "hey"})).invoke({}) == {"log": ["hey from greet"]}
    assert app.batch([{}, {"log": ["0"]}], deps={"greeting": "b"}) == [
        {"log": ["b from greet"]}, {"log": ["0", "b from greet"]}]
    retried = app.with_retry(max_attempts=2, base_delay=0)
    assert retried.invoke({}, config=RunConfig(deps={"greeting": "r"})) == {"log": ["r from greet"]}
    assert RunnableLambda(str.upper).invoke("a", config=RunConfig(deps=1)) == "A"  # other Runnables ignore it
    with pytest.raises(NodeError):
        app.invoke({})  # no deps: greet fails on None["greeting"]


def _summary(events: list) -> list:
    return [(e.kind, e.step, e.node, e.data if e.kind != "interrupt" else e.data.value) for e in events]


def test_sync_and_async_front_ends_give_the_same_run() -> None:
    sync_saver, async_saver = MemoryCheckpointer(), MemoryCheckpointer()
    config = RunConfig(deps={"greeting": "hi"}, thread_id="t")
    sync_events = list(_app(sync_saver).stream({"log": ["start"]}, config))

    async def collect() -> list:
        return [e async for e in _app(async_saver).astream({"log": ["start"]}, config)]

    async_events = asyncio.run(collect())
    assert _summary(sync_events) == _summary(async_events)
    assert [k for k, *_ in _summary(sync_events)] == ["node", "update", "interrupt"]
    strip = {"run_id", "saved_at"}
    assert ([{k: v for k, v in c.items() if k not in strip} for c in sync_saver.history("t")]
            == [{k: v for k, v in c.items() if k not in strip} for c in async_saver.history("t")])
    sync_done = _app(sync_saver).resume("t", "yes", config)
    async_done = asyncio.run(_app(async_saver).aresume("t", "yes", config))
    assert sync_done == async_done == {"log": ["start", "hi from greet", "answer:yes"]}


def test_a_failing_run_is_reported_alike_by_run_and_arun() -> None:
    app = _app()
    sync = app.run({})
    other = asyncio.run(app.arun({}))
    assert sync.status == other.status == "failed"
    assert type(sync.error) is type(other.error) is NodeError and sync.trace.status == other.trace.status == "failed"
