"""Routing between retrieval and user tools, in parallel with a join, and the LLM reranker."""

from __future__ import annotations

import json
import re

from ragforge.errors import LLMConnectionError
from ragforge.llm import ChatResult, Message
from ragforge.query import REFUSAL, LLMReranker, QueryConfig, QueryEngine
from ragforge.testing.chat import ScriptedChatModel

QUESTION = "How tall is the Eiffel Tower in feet?"


def metres_to_feet(metres: float) -> float:
    """Convert a length in metres to feet.

    Args:
        metres: the length in metres
    """
    return round(metres * 3.28084, 2)


def broken(x: int) -> int:
    """A tool that always fails."""
    raise RuntimeError("database is down")


def block(messages: list[Message], prefix: str) -> int:
    prompt = next(m.content for m in messages if m.role == "user" and "Context:" in m.content)
    match = re.search(r"\[(\d+)\] \(" + re.escape(prefix), prompt)
    assert match, prompt
    return int(match.group(1))


def node_steps(answer) -> dict[str, list[int]]:
    steps: dict[str, list[int]] = {}
    for line in answer.trace:
        if line["type"] == "node":
            steps.setdefault(line["node"], []).append(line["step"])
    return steps


def route_event(answer) -> dict:
    return next(e for line in answer.trace if line["type"] == "node" for e in line["events"] if e["type"] == "route")


def test_no_tool_chosen_means_retrieval_and_the_trace_says_so(index) -> None:
    router = ScriptedChatModel([ChatResult(text="I would search."), json.dumps({"tool": "none", "arguments": {}})])
    llm = ScriptedChatModel([lambda m: f"330 metres [{block(m, 'tower.md')}]."])
    answer = QueryEngine(index, llm=llm, small_llm=router, tools=[metres_to_feet]).query(QUESTION)
    event = route_event(answer)
    assert event["route"] == "retrieve" and event["reason"] == "no tool chosen"
    assert "call_tools" not in node_steps(answer)
    names = {t["function"]["name"] for t in router.calls[0].tools}
    assert names == {"search_documents", "metres_to_feet"}  # the router sees search + the user's tools
    assert router.calls[1].format["properties"]["tool"]["enum"] == ["search_documents", "metres_to_feet", "none"]
    assert not answer.refused and answer.citations[0].source == "tower.md"


def test_a_call_written_as_json_text_is_understood(index) -> None:
    """What small models do: the call as JSON in the reply's text, not as a native tool call."""
    router = ScriptedChatModel(['{"name": "metres_to_feet", "arguments": {"metres": 330}}'])
    llm = ScriptedChatModel([lambda m: f"1082.68 feet [{block(m, 'tool: metres_to_feet')}]."])
    answer = QueryEngine(index, llm=llm, small_llm=router, tools=[metres_to_feet]).query(QUESTION)
    event = route_event(answer)
    assert (event["route"], event["how"]) == ("tools", "text") and len(router.calls) == 1
    assert answer.citations[0].source.startswith("tool: metres_to_feet") and not answer.refused


def test_a_schema_constrained_choice_when_the_model_writes_no_call(index) -> None:
    router = ScriptedChatModel(["Sure! I can convert that.",
                                json.dumps({"tool": "metres_to_feet", "arguments": {"metres": 330}})])
    llm = ScriptedChatModel([lambda m: f"1082.68 feet [{block(m, 'tool: metres_to_feet')}]."])
    answer = QueryEngine(index, llm=llm, small_llm=router, tools=[metres_to_feet]).query(QUESTION)
    event = route_event(answer)
    assert (event["route"], event["how"]) == ("tools", "constrained") and not answer.refused


def test_invalid_arguments_are_dropped_with_the_reason(index) -> None:
    router = ScriptedChatModel(['{"name": "metres_to_feet", "arguments": {"metres": "tall"}}'])
    llm = ScriptedChatModel([lambda m: f"330 metres [{block(m, 'tower.md')}]."])
    answer = QueryEngine(index, llm=llm, small_llm=router, tools=[metres_to_feet]).query(QUESTION)
    event = route_event(answer)
    assert event["route"] == "retrieve" and event["reason"] == "no tool chosen"
    assert event["ignored"] == ["metres_to_feet: invalid arguments (1 error(s))"]


def test_tool_only_route_cites_the_tool_result(index) -> None:
    router = ScriptedChatModel([ScriptedChatModel.tool_call("metres_to_feet", metres=330)])
    llm = ScriptedChatModel([lambda m: f"It is 1082.68 feet [{block(m, 'tool: metres_to_feet')}]."])
    answer = QueryEngine(index, llm=llm, small_llm=router, tools=[metres_to_feet]).query(QUESTION)
    steps = node_steps(answer)
    assert "retrieve" not in steps and steps["call_tools"] == [1] and steps["join"] == [2]
    assert [h.chunk.source for h in answer.hits] == ['tool: metres_to_feet({"metres": 330})']
    (cite,) = answer.citations
    assert cite.source.startswith("tool: metres_to_feet") and cite.verified and cite.quote == "1082.68"
    assert route_event(answer)["how"] == "native"


def test_both_routes_run_in_parallel_and_join_merges(index) -> None:
    router = ScriptedChatModel([ScriptedChatModel.tool_calls(("search_documents", {"query": "Eiffel height"}),
                                                              ("metres_to_feet", {"metres": 330}))])

    def answer_text(m: list[Message]) -> str:
        tool, doc = block(m, "tool: metres_to_feet"), block(m, "tower.md")
        return f"The tower is 330 metres tall [{doc}], which is 1082.68 feet [{tool}]."

    llm = ScriptedChatModel([answer_text])
    answer = QueryEngine(index, llm=llm, small_llm=router, tools=[metres_to_feet]).query(QUESTION)
    steps = node_steps(answer)
    assert steps["retrieve"] == steps["call_tools"] == [1]  # one superstep: run in parallel
    assert steps["join"] == [2]  # joined once
    assert route_event(answer)["route"] == "both"
    assert answer.hits[0].chunk.file_type == "tool"  # tool blocks first, then passages
    assert {c.source.split("(")[0] for c in answer.citations} == {"tower.md", "tool: metres_to_feet"}
    assert all(c.verified for c in answer.citations)


def test_unknown_and_failing_tools_do_not_reach_the_prompt(index) -> None:
    router = ScriptedChatModel([ScriptedChatModel.tool_calls(("rm_rf", {}), ("broken", {"x": 1}))])
    llm = ScriptedChatModel([REFUSAL])
    engine = QueryEngine(index, llm=llm, small_llm=router, tools=[broken], config=QueryConfig(max_rewrites=0))
    answer = engine.query("What is x?")
    event = route_event(answer)
    assert event["route"] == "tools" and event["ignored"] == ["unknown tool 'rm_rf'"]
    tool_events = [e for line in answer.trace if line["type"] == "node" for e in line["events"] if e["type"] == "tool"]
    assert tool_events[0]["ok"] is False and "database is down" in tool_events[0]["error"]
    assert answer.refused and answer.hits == [] and llm.calls == []  # no context: refused without asking


def test_llm_reranker_scores_in_one_structured_call(index) -> None:
    hits = index.search("Eiffel Tower", k=4)

    def scores(messages: list[Message]) -> str:
        prompt = messages[-1].content
        tower = int(re.search(r"\[(\d+)\] \(tower\.md", prompt).group(1))
        return json.dumps({"scores": [{"n": tower, "score": 9}, {"n": 99, "score": 10}]})

    llm = ScriptedChatModel([scores])
    reranked = LLMReranker(llm).rerank("Eiffel Tower", hits, top_n=3)
    assert len(llm.calls) == 1 and reranked[0].chunk.source == "tower.md"
    assert reranked[0].scores["rerank"] == 9.0 and reranked[0].rank == 1
    assert [h.scores["rerank"] for h in reranked[1:3]] == [0.0, 0.0]  # left out -> 0
    assert reranked[3].chunk.id == hits[3].chunk.id and "rerank" not in reranked[3].scores  # beyond top_n

    events: list[dict] = []
    same = LLMReranker(ScriptedChatModel(["nope", "still nope"]), on_event=events.append).rerank("x", hits, 4)
    assert [h.chunk.id for h in same] == [h.chunk.id for h in hits] and events[0]["type"] == "rerank_failed"


def test_engine_uses_the_llm_reranker_from_config(index) -> None:
    small = ScriptedChatModel([lambda m: json.dumps({"scores": [
        {"n": int(re.search(r"\[(\d+)\] \(bridge\.txt", m[-1].content).group(1)), "score": 10}]}),
        json.dumps({"answers": True})])  # the bridge passage is about something else: graded
    llm = ScriptedChatModel([lambda m: f"It opened in 1937 [{block(m, 'bridge.txt')}]."])
    engine = QueryEngine(index, llm=llm, small_llm=small, config=QueryConfig(rerank="llm", k=2))
    answer = engine.query("When did the Eiffel Tower open?")
    assert answer.hits[0].chunk.source == "bridge.txt" and len(answer.hits) == 2
    assert answer.hits[0].scores["rerank"] == 10.0


def test_connection_errors_surface_unwrapped(index) -> None:
    down = ScriptedChatModel([LLMConnectionError("cannot connect to Ollama: start it with `ollama serve`")])
    try:
        QueryEngine(index, llm=down).query(QUESTION)
    except LLMConnectionError as exc:
        assert "ollama serve" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("expected LLMConnectionError")
