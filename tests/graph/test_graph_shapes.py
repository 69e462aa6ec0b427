"""The four shapes, end to end: a `|` pipeline, a solve/validate loop, a parallel search with a join,
and a human-in-the-loop workflow that pauses, is saved to SQLite and resumes in another process."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Annotated, Literal, TypedDict

import pytest
from pydantic import BaseModel

from ragforge.errors import GraphStepLimitError
from ragforge.graph import (
    END,
    START,
    RunnableLambda,
    RunnableSequence,
    Send,
    SqliteCheckpointer,
    StateGraph,
    append,
    merge_dict,
)

HERE = Path(__file__).parent
WORKFLOW = HERE / "graph_workflow.py"


# -- 1. a linear pipeline written with | -----------------------------------------------------------------
class Doc(BaseModel):
    text: str
    words: list[str] = []
    count: int = 0


def clean(state: Doc) -> dict:
    return {"text": " ".join(state.text.split()).lower()}


def tokenize(state: Doc) -> dict:
    return {"words": state.text.split()}


def count(state: Doc) -> dict:
    return {"count": len(state.words)}


def test_linear_pipeline_with_pipes() -> None:
    graph = StateGraph(Doc).add_sequence(clean, tokenize, count)
    app = graph.add_edge(START, "clean").add_edge("count", END).compile()
    pipe = (lambda text: {"text": text}) | app | (lambda doc: (doc.count, doc.words))
    assert isinstance(pipe, RunnableSequence)
    assert pipe.invoke("  Hello   big World ") == (3, ["hello", "big", "world"])
    assert pipe.batch(["a b", "c"]) == [(2, ["a", "b"]), (1, ["c"])]
    plain = RunnableLambda(str.strip) | str.lower | {"words": str.split, "chars": len}
    assert plain.invoke(" Ab Cd ") == {"words": ["ab", "cd"], "chars": 5}


# -- 2. a solve -> validate loop -----------------------------------------------------------------------------
class Solve(BaseModel):
    target: int
    guess: int = 0
    tried: Annotated[list[int], append] = []
    valid: bool = False


def solve(state: Solve) -> dict:
    return {"guess": state.guess + 1, "tried": state.guess + 1}


def validate(state: Solve) -> dict:
    return {"valid": state.guess * state.guess >= state.target}


def check(state: Solve) -> Literal["ok", "again"]:
    return "ok" if state.valid else "again"


def _loop_graph():
    graph = StateGraph(Solve).add_node(solve).add_node(validate)
    graph.add_edge(START, "solve").add_edge("solve", "validate")
    return graph.add_conditional_edges("validate", check, {"ok": END, "again": "solve"}).compile()


def test_solve_validate_loop_until_valid() -> None:
    result = _loop_graph().run({"target": 10})
    assert result.status == "done"
    assert result.state.guess == 4 and result.state.valid and result.state.tried == [1, 2, 3, 4]
    assert result.trace.path == [["solve"], ["validate"]] * 4


def test_solve_validate_loop_hits_the_step_limit() -> None:
    with pytest.raises(GraphStepLimitError, match=r"step limit of 9 reached") as info:
        _loop_graph().invoke({"target": 10**6}, step_limit=9)
    assert "cycling through solve -> validate -> solve" in str(info.value)


# -- 3. three searches in parallel, joined at one node ----------------------------------------------------
class Search(TypedDict, total=False):
    query: str
    hits: Annotated[list[str], append]
    sources: Annotated[dict[str, int], merge_dict]
    answer: str


def test_three_parallel_searches_join_at_one_node() -> None:
    gate = threading.Barrier(3, timeout=10)  # breaks (and fails the node) unless all three run at once

    def searcher(name: str):
        def search(state: Search) -> dict:
            gate.wait()
            return {"hits": [f"{name}:{state['query']}"], "sources": {name: 1}}
        return search

    def rerank(state: Search) -> dict:  # makes the docs branch one step longer
        return {"sources": {"rerank": 1}}

    def merge(state: Search) -> dict:
        return {"answer": " | ".join(sorted(state["hits"]))}

    graph = StateGraph(Search)
    for name in ("web", "docs", "code"):
        graph.add_node(name, searcher(name)).add_edge(START, name)
    graph.add_node(rerank).add_node(merge).add_edge("docs", "rerank")
    graph.add_edge(["web", "rerank", "code"], "merge").add_edge("merge", END)
    result = graph.compile().run({"query": "q"})
    assert result.status == "done", result.error
    assert result.state["answer"] == "code:q | docs:q | web:q"
    assert result.state["sources"] == {"web": 1, "docs": 1, "code": 1, "rerank": 1}
    assert result.trace.path == [["web", "docs", "code"], ["rerank"], ["merge"]]  # merge ran once, after all
    first = result.trace.steps[0].nodes
    assert max(r.start for r in first) < min(r.start + r.duration for r in first)  # intervals overlap


def test_fan_out_over_a_list_with_send() -> None:
    def plan(state: Search) -> dict:
        return {"query": state["query"].upper()}

    def fan(state: Search) -> list[Send]:
        return [Send("search", {"q": f"{state['query']}-{i}"}) for i in range(3)]

    def search(arg: dict) -> dict:
        return {"hits": [arg["q"]]}

    def merge(state: Search) -> dict:
        return {"answer": ",".join(state["hits"])}

    graph = StateGraph(Search).add_node(plan).add_node(search).add_node(merge)
    graph.add_edge(START, "plan").add_conditional_edges("plan", fan, ["search"])
    app = graph.add_edge("search", "merge").add_edge("merge", END).compile()
    for _ in range(5):
        out = app.invoke({"query": "x"})
        assert out["answer"] == "X-0,X-1,X-2"


# -- 4. pause before a sensitive step, save to disk, resume in another process ---------------------------
def _cli(*args: str) -> dict:
    done = subprocess.run([sys.executable, str(WORKFLOW), *args], capture_output=True, text=True, timeout=60,
                          cwd=HERE.parent.parent)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_human_in_the_loop_resumes_in_a_new_process(tmp_path: Path) -> None:
    db = str(tmp_path / "checkpoints.sqlite")
    paused = _cli("start", db, "t-1", "order 7")
    assert paused["status"] == "interrupted"
    assert paused["interrupt"]["value"]["question"] == "Send this reply?"
    assert paused["state"]["sent"] is False
    done = _cli("resume", db, "t-1", "yes")  # a fresh interpreter reads the SQLite checkpoint
    assert done["status"] == "done"
    assert done["state"]["sent"] is True and done["state"]["answer"] == "yes"
    assert done["state"]["log"] == ["draft", "human said yes", "sent"]


def test_interrupt_before_the_sensitive_step(tmp_path: Path) -> None:
    sys.path.insert(0, str(HERE))
    try:
        import graph_workflow as wf
    finally:
        sys.path.remove(str(HERE))
    app = wf.build(str(tmp_path / "c.sqlite"), pause_before_send=True)
    first = app.run({"request": "r"}, thread_id="t")
    assert first.interrupted.kind == "interrupt"
    second = app.run(None, thread_id="t", resume="yes")
    assert second.status == "interrupted" and second.interrupted.kind == "before"
    assert second.interrupted.node == "send_email" and second.state.sent is False
    snap = app.get_state("t")
    assert snap.next == ("send_email",) and snap.status == "interrupted"
    # a human edits the state, then a brand-new graph object (same file) finishes the job
    final = wf.build(str(tmp_path / "c.sqlite"), pause_before_send=True).resume(
        "t", update={"draft": "edited"})
    assert final.sent is True and final.draft == "edited"
    assert isinstance(app.checkpointer, SqliteCheckpointer)
    assert [c["status"] for c in app.checkpointer.history("t")][-1] == "done"
