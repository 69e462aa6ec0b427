"""Interrupts and checkpoints: memory and SQLite, JSON only, resume semantics."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Annotated, TypedDict

import pytest

from ragforge.errors import CheckpointError, NodeError
from ragforge.graph import (
    END,
    START,
    Checkpointer,
    MemoryCheckpointer,
    SqliteCheckpointer,
    StateGraph,
    append,
    interrupt,
)


class S(TypedDict, total=False):
    log: Annotated[list[str], append]
    name: str
    color: str


@pytest.fixture(params=["memory", "sqlite"])
def saver(request, tmp_path: Path) -> Checkpointer:
    return MemoryCheckpointer() if request.param == "memory" else SqliteCheckpointer(tmp_path / "ck.sqlite")


def test_two_questions_in_one_node_are_answered_in_turn(saver: Checkpointer) -> None:
    runs = []

    def ask(state: S) -> dict:
        runs.append(1)
        name = interrupt("name?")
        color = interrupt(f"color for {name}?")
        return {"name": name, "color": color}

    app = StateGraph(S).add_node(ask).add_edge(START, "ask").add_edge("ask", END).compile(checkpointer=saver)
    first = app.run({}, thread_id="t")
    assert first.status == "interrupted" and first.interrupted.value == "name?"
    second = app.run(thread_id="t", resume="Ada")
    assert second.interrupted.value == "color for Ada?"
    assert app.resume("t", "blue") == {"name": "Ada", "color": "blue"}
    assert len(runs) == 3  # the node re-runs from its start on each resume
    assert isinstance(saver, Checkpointer)


def test_parallel_siblings_of_an_interrupted_node_do_not_run_again(saver: Checkpointer) -> None:
    counts = {"quick": 0, "ask": 0}

    def quick(state: S) -> dict:
        counts["quick"] += 1
        return {"log": ["quick"]}

    def ask(state: S) -> dict:
        counts["ask"] += 1
        return {"log": [f"ask:{interrupt('ok?')}"]}

    graph = StateGraph(S).add_node(quick).add_node(ask).add_edge(START, "quick").add_edge(START, "ask")
    app = graph.add_edge("quick", END).add_edge("ask", END).compile(checkpointer=saver)
    assert app.run({}, thread_id="p").status == "interrupted"
    snapshot = app.get_state("p")
    assert snapshot.next == ("quick", "ask") and snapshot.checkpoint["pending_writes"] == {"0": {"log": ["quick"]}}
    assert app.resume("p", "yes") == {"log": ["quick", "ask:yes"]}
    assert counts == {"quick": 1, "ask": 2}


def test_interrupt_after_and_history(saver: Checkpointer) -> None:
    def one(state: S) -> dict:
        return {"log": ["one"]}

    def two(state: S) -> dict:
        return {"log": ["two"]}

    app = (StateGraph(S).add_sequence(one, two).add_edge(START, "one").add_edge("two", END)
           .compile(checkpointer=saver, interrupt_after=["one"]))
    paused = app.run({}, thread_id="h")
    assert paused.interrupted.kind == "after" and paused.state == {"log": ["one"]}
    assert app.resume("h") == {"log": ["one", "two"]}
    statuses = [c["status"] for c in saver.history("h")]
    assert statuses[-1] == "done" and "interrupted" in statuses
    for checkpoint in saver.history("h"):
        assert json.loads(json.dumps(checkpoint)) == checkpoint


def test_a_failed_step_can_be_retried_by_resuming(saver: Checkpointer) -> None:
    broken = {"on": True}

    def first(state: S) -> dict:
        return {"log": ["first"]}

    def flaky(state: S) -> dict:
        if broken["on"]:
            raise RuntimeError("service down")
        return {"log": ["flaky"]}

    app = (StateGraph(S).add_sequence(first, flaky).add_edge(START, "first").add_edge("flaky", END)
           .compile(checkpointer=saver))
    with pytest.raises(NodeError):
        app.invoke({}, thread_id="f")
    assert app.get_state("f").status == "failed" and app.get_state("f").next == ("flaky",)
    broken["on"] = False
    assert app.resume("f") == {"log": ["first", "flaky"]}


def test_checkpoint_errors(tmp_path: Path) -> None:
    def one(state: S) -> dict:
        return {}

    saver = SqliteCheckpointer(tmp_path / "ck.sqlite")
    app = StateGraph(S).add_node(one).add_edge(START, "one").add_edge("one", END).compile(checkpointer=saver)
    with pytest.raises(CheckpointError, match="no checkpoint for thread 'nope'"):
        app.resume("nope")
    app.invoke({}, thread_id="done")
    with pytest.raises(CheckpointError, match="has finished"):
        app.resume("done")
    with sqlite3.connect(tmp_path / "ck.sqlite") as db:
        db.execute("INSERT INTO checkpoints (thread_id, saved_at, data) VALUES ('bad', 0, 'not json')")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        app.resume("bad")
    plain = StateGraph(S).add_node(one).add_edge(START, "one").add_edge("one", END).compile()
    with pytest.raises(CheckpointError, match="no checkpointer"):
        plain.resume("x")
    saver.delete("done")
    assert saver.get("done") is None


def test_interrupt_before_the_first_node(saver: Checkpointer) -> None:
    def only(state: S) -> dict:
        return {"log": [f"ran with {state.get('name')}"]}

    app = (StateGraph(S).add_node(only).add_edge(START, "only").add_edge("only", END)
           .compile(checkpointer=saver, interrupt_before=["only"]))
    paused = app.run({"name": "a"}, thread_id="b")
    assert paused.status == "interrupted" and paused.interrupted.kind == "before" and paused.trace.steps == []
    assert app.resume("b", update={"name": "b"}) == {"name": "b", "log": ["ran with b"]}


def test_sqlite_rows_are_plain_json(tmp_path: Path) -> None:
    def ask(state: S) -> dict:
        return {"name": interrupt({"why": "check"})}

    db = tmp_path / "ck.sqlite"
    app = StateGraph(S).add_node(ask).add_edge(START, "ask").add_edge("ask", END).compile(
        checkpointer=SqliteCheckpointer(db))
    app.invoke({"log": ["x"]}, thread_id="j")
    with sqlite3.connect(db) as conn:
        (text,) = conn.execute("SELECT data FROM checkpoints WHERE thread_id = 'j' ORDER BY seq DESC").fetchone()
    data = json.loads(text)
    assert data["state"] == {"log": ["x"]} and data["interrupt"]["value"] == {"why": "check"}
    assert data["tasks"] == [{"node": "ask"}] and data["status"] == "interrupted"

