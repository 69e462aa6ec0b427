"""Traces (every step, durations that add up, JSON Lines, tree) and the Mermaid snapshot."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Literal, TypedDict

from ragforge.graph import END, START, RunContext, StateGraph, append


class S(TypedDict, total=False):
    q: str
    hits: Annotated[list[str], append]
    tries: int
    answer: str


def plan(state: S) -> dict:
    return {"tries": state.get("tries", 0) + 1}


def web(state: S) -> dict:
    return {"hits": ["w"]}


def docs(state: S, ctx: RunContext) -> dict:
    ctx.emit({"type": "llm.call", "model": "tiny", "latency_s": 0.001})
    return {"hits": ["d"]}


def merge(state: S) -> dict:
    return {"answer": "+".join(state["hits"])}


def enough(state: S) -> Literal["done", "again"]:
    return "done" if state["tries"] >= 2 else "again"


def build():
    graph = StateGraph(S, name="search").add_node(plan).add_node(web).add_node(docs).add_node(merge, join=True)
    graph.add_edge(START, "plan").add_edge("plan", "web").add_edge("plan", "docs")
    graph.add_edge("web", "merge").add_edge("docs", "merge")
    return graph.add_conditional_edges("merge", enough, {"done": END, "again": "plan"}).compile()


MERMAID = """\
flowchart TD
    __start__([START])
    plan["plan"]
    web["web"]
    docs["docs"]
    merge{{"merge"}}
    __end__([END])
    __start__ --> plan
    plan --> web
    plan --> docs
    merge -.->|"done"| __end__
    merge -.->|"again"| plan
    web & docs --> merge
"""


def test_mermaid_snapshot() -> None:
    assert build().to_mermaid() == MERMAID


def test_mermaid_of_a_run_path() -> None:
    result = build().run({"q": "x"})
    highlighted = build().to_mermaid(result.trace)
    assert highlighted.startswith(MERMAID) and "class plan,web,docs,merge visited" in highlighted
    assert result.trace.to_mermaid() == (
        'flowchart LR\n    s0["0: plan"]\n    s1["1: web, docs"]\n    s2["2: merge"]\n    s3["3: plan"]\n'
        '    s4["4: web, docs"]\n    s5["5: merge"]\n    s0 --> s1\n    s1 --> s2\n    s2 --> s3\n'
        '    s3 --> s4\n    s4 --> s5\n')


def test_trace_has_every_step_and_durations_add_up(tmp_path: Path) -> None:
    result = build().run({"q": "x"})
    trace = result.trace
    assert trace.status == "done" and len(trace.steps) == 6
    assert trace.path == [["plan"], ["web", "docs"], ["merge"]] * 2
    assert [s.step for s in trace.steps] == list(range(6))
    eps = 1e-6
    for step in trace.steps:
        for rec in step.nodes:
            assert rec.step == step.step and rec.duration >= 0
            assert step.start - eps <= rec.start and rec.start + rec.duration <= step.start + step.duration + eps
    for a, b in pairwise(trace.steps):
        assert a.start + a.duration <= b.start + eps
    total_steps = sum(s.duration for s in trace.steps)
    assert 0 < total_steps <= trace.duration
    assert trace.steps[0].input_diff == {"q": "x"} and trace.steps[1].input_diff == {"tries": 1}
    assert trace.steps[2].update == {"answer": "w+d"}
    docs_rec = trace.steps[1].nodes[1]
    assert docs_rec.node == "docs" and docs_rec.events[0]["model"] == "tiny"

    path = trace.write_jsonl(tmp_path / "runs.jsonl")
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["type"] for line in lines[:4]] == ["run", "step", "node", "step"]
    assert len(lines) == 1 + 6 + 8 + 1 and lines[-1]["status"] == "done"
    assert lines[2]["update"] == {"tries": 1}


def test_tree_view() -> None:
    tree = build().run({"q": "x"}).trace.tree()
    lines = tree.splitlines()
    assert lines[0].startswith("run ") and "'search' done: 6 steps" in lines[0]
    assert lines[1].startswith("├─ step 0") and lines[2].startswith("│  └─ plan")
    assert any("llm.call model='tiny'" in line for line in lines)
    assert lines[-2].startswith("└─ step 5")


def test_a_failed_run_is_traced() -> None:
    def boom(state: S) -> dict:
        raise KeyError("missing")

    app = StateGraph(S).add_node(plan).add_node(boom).add_edge(START, "plan").add_edge("plan", "boom")
    result = app.add_edge("boom", END).compile().run({})
    trace = result.trace
    assert trace.status == "failed" and "NodeError" in trace.error and len(trace.steps) == 2
    assert trace.records[-1].error == "KeyError: 'missing'"
    assert json.loads(trace.to_jsonl().splitlines()[-1])["status"] == "failed"
    assert "ERROR KeyError" in trace.tree() and "✗" in trace.to_mermaid()
    assert "class boom failed" in app.compile().to_mermaid(trace)
