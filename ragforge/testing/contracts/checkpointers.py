"""``CheckpointerContract``: what any :class:`~ragforge.graph.Checkpointer` must do.

    class TestRedisCheckpointer(CheckpointerContract):
        @pytest.fixture
        def checkpointer(self):
            return RedisCheckpointer(...)

The latest checkpoint of a thread wins; each thread's history is kept in order; only JSON goes in (anything
else is a :class:`~ragforge.errors.CheckpointError`); what comes out is a copy; ``delete`` forgets one thread;
and a graph paused on it resumes where it stopped.
"""

from __future__ import annotations

import threading
from typing import Annotated, Any, TypedDict

import pytest

from ragforge.errors import CheckpointError
from ragforge.graph import END, START, Checkpointer, StateGraph, append, interrupt

FIRST: dict[str, Any] = {"v": 1, "step": 0, "state": {"log": ["é", "東京"], "n": 1.5, "none": None}}


class _Asked(TypedDict, total=False):
    log: Annotated[list[str], append]


class CheckpointerContract:
    """Subclass, provide a ``checkpointer`` fixture, and every ``test_*`` below runs on it."""

    @pytest.fixture
    def checkpointer(self) -> Checkpointer:
        raise NotImplementedError("a subclass of CheckpointerContract provides a `checkpointer` fixture")

    def test_is_a_checkpointer(self, checkpointer: Checkpointer) -> None:
        assert isinstance(checkpointer, Checkpointer)

    def test_an_unknown_thread_has_nothing(self, checkpointer: Checkpointer) -> None:
        assert checkpointer.get("t") is None and checkpointer.history("t") == []

    def test_the_latest_wins_and_history_keeps_the_order(self, checkpointer: Checkpointer) -> None:
        for step in range(3):
            checkpointer.put("t", {**FIRST, "step": step})
        checkpointer.put("other", {**FIRST, "step": 9})
        latest = checkpointer.get("t")
        assert latest is not None and latest["step"] == 2 and latest["state"] == FIRST["state"]
        assert [c["step"] for c in checkpointer.history("t")] == [0, 1, 2]
        assert [c["step"] for c in checkpointer.history("other")] == [9]

    def test_only_json_goes_in(self, checkpointer: Checkpointer) -> None:
        checkpointer.put("t", FIRST)
        for bad in ({"v": 1, "state": object()}, {"v": 1, "state": float("nan")}, {"v": 1, "state": {1j: 2}}):
            with pytest.raises(CheckpointError, match="not JSON-serialisable"):
                checkpointer.put("t", bad)
        assert checkpointer.get("t") == FIRST and len(checkpointer.history("t")) == 1  # nothing half-written

    def test_what_comes_out_is_a_copy(self, checkpointer: Checkpointer) -> None:
        checkpointer.put("t", FIRST)
        got = checkpointer.get("t")
        assert got is not None
        got["state"]["log"].append("changed")
        checkpointer.history("t")[-1]["state"]["log"].append("changed")
        assert checkpointer.get("t") == FIRST and checkpointer.history("t") == [FIRST]

    def test_delete_forgets_one_thread(self, checkpointer: Checkpointer) -> None:
        checkpointer.put("t", FIRST)
        checkpointer.put("other", {**FIRST, "step": 9})
        checkpointer.delete("t")
        assert checkpointer.get("t") is None and checkpointer.history("t") == []
        kept = checkpointer.get("other")
        assert kept is not None and kept["step"] == 9
        checkpointer.delete("never-saved")  # deleting an unknown thread is not an error

    def test_threads_may_write_at_once(self, checkpointer: Checkpointer) -> None:
        def write(thread: str) -> None:
            for step in range(20):
                checkpointer.put(thread, {**FIRST, "step": step})

        workers = [threading.Thread(target=write, args=(f"t{i}",)) for i in range(4)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        for i in range(4):
            assert [c["step"] for c in checkpointer.history(f"t{i}")] == list(range(20))

    def test_a_paused_graph_resumes_from_it(self, checkpointer: Checkpointer) -> None:
        def ask(state: _Asked) -> dict[str, Any]:
            return {"log": [f"name={interrupt('name?')}"]}

        app = (StateGraph(_Asked).add_node(ask).add_edge(START, "ask").add_edge("ask", END)
               .compile(checkpointer=checkpointer))
        paused = app.run({"log": ["start"]}, thread_id="g")
        assert paused.status == "interrupted" and paused.interrupted is not None
        assert paused.interrupted.value == "name?"
        assert app.resume("g", "Ada") == {"log": ["start", "name=Ada"]}
        saved = checkpointer.get("g")
        assert saved is not None and saved["status"] == "done"
