"""compile() rejects every invalid graph before any node runs; build and run errors are separate classes."""

from __future__ import annotations

from typing import Annotated, Literal, TypedDict

import pytest

from ragforge.errors import GraphBuildError, GraphRunError
from ragforge.graph import END, START, Send, StateGraph, append


class S(TypedDict, total=False):
    x: int
    log: Annotated[list[str], append]


class XOnly(TypedDict, total=False):
    x: int


calls: list[str] = []


def a(state: S) -> dict:
    calls.append("a")
    return {"x": 1}


def b(state: S) -> dict:
    calls.append("b")
    return {"x": 2}


def writes_x(state: S) -> XOnly:
    calls.append("writes_x")
    return {"x": 3}


def build_error(graph: StateGraph, match: str) -> GraphBuildError:
    calls.clear()
    with pytest.raises(GraphBuildError, match=match) as info:
        graph.compile()
    assert calls == []  # nothing ran
    assert not isinstance(info.value, GraphRunError)
    return info.value


def test_unknown_node_in_an_edge() -> None:
    build_error(StateGraph(S).add_node(a).add_edge(START, "a").add_edge("a", "ghost"), r"unknown node 'ghost'")
    build_error(StateGraph(S).add_node(a).add_edge(START, "a").add_edge("ghost", "a").add_edge("a", END),
                r"unknown node 'ghost'")


def test_unknown_node_in_a_mapping() -> None:
    graph = StateGraph(S).add_node(a).add_edge(START, "a")
    graph.add_conditional_edges("a", lambda s: "go", {"go": "nowhere", "stop": END})
    build_error(graph, r"key 'go'.*unknown node 'nowhere'")


def test_unreachable_node() -> None:
    graph = StateGraph(S).add_node(a).add_node(b).add_edge(START, "a").add_edge("a", END).add_edge("b", END)
    build_error(graph, r"unreachable nodes .*\['b'\]")


def test_no_path_to_end() -> None:
    graph = StateGraph(S).add_node(a).add_node(b).add_edge(START, "a").add_edge("a", "b").add_edge("b", "a")
    build_error(graph, r"no path to END from nodes \['a', 'b'\]")


def test_node_without_outgoing_edge() -> None:
    graph = StateGraph(S).add_node(a).add_node(b).add_edge(START, "a").add_edge("a", "b").add_edge("a", END)
    build_error(graph, r"node 'b' has no outgoing edge")


def test_no_entry_point() -> None:
    build_error(StateGraph(S).add_node(a).add_edge("a", END), r"no entry point")


def test_router_literal_outside_its_mapping() -> None:
    def route(state: S) -> Literal["yes", "no", "maybe"]:
        return "yes"

    graph = StateGraph(S).add_node(a).add_node(b).add_edge(START, "a").add_edge("b", END)
    graph.add_conditional_edges("a", route, {"yes": "b", "no": END})
    build_error(graph, r"can return \['maybe'\], which is not in its mapping")


def test_router_without_mapping_or_literal_is_refused() -> None:
    with pytest.raises(GraphBuildError, match="give a mapping"):
        StateGraph(S).add_node(a).add_conditional_edges("a", lambda s: "b")


def test_router_literal_doubles_as_the_mapping() -> None:
    def route(state: S) -> Literal["b", "__end__"]:
        return "b" if state.get("x") == 1 else END

    graph = StateGraph(S).add_node(a).add_node(b).add_edge(START, "a").add_edge("b", END)
    assert graph.add_conditional_edges("a", route).compile().invoke({})["x"] == 2


def test_conflicting_concurrent_writes_without_reducer() -> None:
    graph = StateGraph(S).add_node(a, writes=["x"]).add_node(writes_x)
    graph.add_edge(START, "a").add_edge(START, "writes_x").add_edge("a", END).add_edge("writes_x", END)
    build_error(graph, r"nodes 'a' and 'writes_x' can run in the same step and both write \['x'\]")


def test_conflicts_two_steps_deep_in_parallel_branches() -> None:
    graph = StateGraph(S).add_node(a).add_node(b, writes=["x"]).add_node(writes_x)
    graph.add_edge(START, "a").add_edge(START, "writes_x").add_edge("a", "b").add_edge("writes_x", "b")
    graph.add_edge("b", END)
    graph.compile()  # different depths: no conflict (a writes nothing declared)
    g2 = StateGraph(S).add_node(a).add_node(b, writes=["x"]).add_node("c", writes_x).add_node("d", writes_x)
    g2.add_edge(START, "a").add_edge(START, "c").add_edge("a", "b").add_edge("c", "d")
    g2.add_edge("b", END).add_edge("d", END)
    build_error(g2, r"nodes 'b' and 'd' can run in the same step")


def test_fan_out_target_writing_without_reducer() -> None:
    def fan(state: S) -> list[Send]:
        return [Send("writes_x", i) for i in range(3)]

    graph = StateGraph(S).add_node(a).add_node(writes_x).add_edge(START, "a").add_edge("writes_x", END)
    graph.add_conditional_edges("a", fan, ["writes_x"])
    build_error(graph, r"'writes_x' may run several times in one step")


def test_reducer_fields_may_be_written_concurrently() -> None:
    def left(state: S) -> dict:
        return {"log": "left"}

    def right(state: S) -> dict:
        return {"log": ["right"]}

    graph = StateGraph(S).add_node(left, writes=["log"]).add_node(right, writes=["log"])
    graph.add_edge(START, "left").add_edge(START, "right").add_edge("left", END).add_edge("right", END)
    assert graph.compile().invoke({})["log"] == ["left", "right"]


def test_misc_build_errors() -> None:
    with pytest.raises(GraphBuildError, match="already in the graph"):
        StateGraph(S).add_node(a).add_node(a)
    with pytest.raises(GraphBuildError, match="reserved"):
        StateGraph(S).add_node(END, a)
    with pytest.raises(GraphBuildError, match="pydantic model or a TypedDict"):
        StateGraph(dict)
    build_error(StateGraph(S).add_node(a, writes=["nope"]).add_edge(START, "a").add_edge("a", END),
                r"unknown state fields \['nope'\]")
    graph = StateGraph(S).add_node(a).add_edge(START, "a").add_edge("a", END)
    with pytest.raises(GraphBuildError, match="unknown node 'zzz'"):
        graph.compile(interrupt_before=["zzz"])
    join = StateGraph(S).add_node(a).add_node(b, join=True).add_edge(START, "a").add_edge("b", END)
    join.add_conditional_edges("a", lambda s: "b", ["b"])
    build_error(join, r"join node 'b'")


def test_run_errors_are_not_build_errors() -> None:
    graph = StateGraph(S).add_node(a).add_edge(START, "a")
    graph.add_conditional_edges("a", lambda s: "elsewhere", {"stay": END})
    app = graph.compile()
    with pytest.raises(GraphRunError, match=r"returned 'elsewhere', which is not in its mapping") as info:
        app.invoke({})
    assert not isinstance(info.value, GraphBuildError)


def test_undeclared_conflicting_writes_fail_at_run_time() -> None:
    def c(state: S):  # no annotation: compile cannot know what it writes
        return {"x": 5}

    graph = StateGraph(S).add_node(a).add_node(c).add_edge(START, "a").add_edge(START, "c")
    app = graph.add_edge("a", END).add_edge("c", END).compile()
    with pytest.raises(GraphRunError, match=r"conflicting concurrent writes to field 'x' by nodes 'a' and 'c'"):
        app.invoke({"x": 0})


def test_plain_edge_and_branch_from_one_node_run_together() -> None:
    def pick(state: S) -> Literal["writes_x", "__end__"]:
        return "writes_x"

    graph = StateGraph(S).add_node("start", a).add_node(b, writes=["x"]).add_node(writes_x)
    graph.add_edge(START, "start").add_edge("start", "b").add_edge("b", END).add_edge("writes_x", END)
    build_error(graph.add_conditional_edges("start", pick), r"nodes 'b' and 'writes_x' can run in the same step")
    # targets of one single-choice router never run together: no error
    ok = StateGraph(S).add_node("start", a).add_node(b, writes=["x"]).add_node(writes_x)
    ok.add_edge(START, "start").add_edge("b", END).add_edge("writes_x", END)
    ok.add_conditional_edges("start", lambda s: "b", {"one": "b", "two": "writes_x"}).compile()
