"""Typed output with repair, the agent's tool loop, its step limit and model roles, the scripted model."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel

from ragforge.errors import AgentStepLimitError, StructuredOutputError
from ragforge.llm import Agent, OllamaChat, structured
from ragforge.testing.chat import OutOfRepliesError, ScriptedChatModel


class City(BaseModel):
    name: str
    population: int


class Total(BaseModel):
    value: int
    explanation: str


def test_structured_sends_the_schema_and_validates():
    llm = ScriptedChatModel(['{"name": "Oslo", "population": 709000}'])
    city = structured(llm, "Largest city in Norway?", City)
    assert city == City(name="Oslo", population=709000)
    call = llm.calls[0]
    assert call.format == City.model_json_schema()
    assert call.prompt.startswith("Largest city in Norway?") and '"population"' in call.prompt


def test_structured_repairs_after_one_invalid_reply():
    llm = ScriptedChatModel(['{"name": "Oslo", "population": "lots"}',
                             '{"name": "Oslo", "population": 709000}'])
    assert structured(llm, "Largest city?", City, retries=2).population == 709000
    repair = llm.calls[1].messages
    assert repair[-2].role == "assistant" and repair[-2].content == '{"name": "Oslo", "population": "lots"}'
    assert repair[-1].role == "user" and "- population:" in repair[-1].content


def test_structured_gives_up_with_the_last_reply():
    llm = ScriptedChatModel(["not json", "still not", "nope"])
    with pytest.raises(StructuredOutputError) as info:
        structured(llm, "?", City, retries=2)
    assert info.value.last_reply == "nope" and len(llm.calls) == 3


def test_structured_accepts_non_model_types_and_code_fences():
    llm = ScriptedChatModel(['```json\n["a", "b"]\n```'])
    assert structured(llm, "letters", list[str]) == ["a", "b"]


def test_structured_over_ollama_uses_format(stub):
    stub.script_chat('{"name": "Oslo"}', '{"name": "Oslo", "population": 1}')
    city = structured(OllamaChat("llama3.2", host=stub.host), "city?", City)
    assert city.population == 1
    assert stub.bodies()[0]["format"]["required"] == ["name", "population"]


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


def test_agent_runs_a_multi_step_tool_loop_to_a_typed_answer():
    llm = ScriptedChatModel([
        ScriptedChatModel.tool_call("add", a=2, b=3),
        ScriptedChatModel.tool_call("multiply", a=5, b=4),
        ScriptedChatModel.tool_call("final_result", value=20, explanation="(2+3)*4"),
    ])
    agent = Agent(llm, system_prompt="Use tools for arithmetic.", tools=[add, multiply], output_type=Total)
    result = agent.run("What is (2+3)*4?")
    assert result.output == Total(value=20, explanation="(2+3)*4")
    assert result.steps == 3 and [c.name for c in result.tool_calls] == ["add", "multiply", "final_result"]
    second = llm.calls[1].messages
    assert second[0].role == "system" and second[-1].role == "tool" and second[-1].content == "5"
    assert llm.calls[2].messages[-1].content == "20"
    assert [t["function"]["name"] for t in llm.calls[0].tools] == ["add", "multiply", "final_result"]


def test_agent_sends_tool_validation_errors_back_and_recovers():
    llm = ScriptedChatModel([
        ScriptedChatModel.tool_call("add", a="two", b=3),
        ScriptedChatModel.tool_call("add", a=2, b=3),
        "The answer is 5.",
    ])
    events = []
    result = Agent(llm, tools=[add], on_event=events.append).run("2+3?")
    assert result.output == "The answer is 5."
    assert events == [{"type": "tool_call", "name": "add", "ok": False, "step": 1},
                      {"type": "tool_call", "name": "add", "ok": True, "step": 2}]
    error = llm.calls[1].messages[-1]
    assert error.role == "tool" and "invalid arguments" in error.content and "- a:" in error.content


def test_agent_final_result_can_come_as_json_text():
    llm = ScriptedChatModel(["I think so.", '{"value": 1, "explanation": "one"}'])
    result = Agent(llm, output_type=Total).run("one?")
    assert result.output.value == 1 and result.steps == 2
    assert "final_result" in llm.calls[1].messages[-1].content


def test_agent_wraps_non_model_output_types():
    llm = ScriptedChatModel([ScriptedChatModel.tool_call("final_result", result=[1, 2])])
    assert Agent(llm, output_type=list[int]).run("numbers").output == [1, 2]


def test_agent_step_limit():
    llm = ScriptedChatModel([ScriptedChatModel.tool_call("add", a=1, b=1)], repeat_last=True)
    with pytest.raises(AgentStepLimitError, match=r"step limit \(3 model calls\)"):
        Agent(llm, tools=[add], max_steps=3).run("loop forever")
    assert len(llm.calls) == 3


def test_agent_unknown_tool_is_refused_not_run():
    llm = ScriptedChatModel([ScriptedChatModel.tool_call("rm_rf", path="/"), "ok"])
    result = Agent(llm, tools=[add]).run("go")
    assert "no tool named 'rm_rf'" in llm.calls[1].messages[-1].content and result.output == "ok"


def test_planner_plans_and_executor_executes():
    planner = ScriptedChatModel(["1. add 2 and 3\n2. answer"], model="big")
    executor = ScriptedChatModel([ScriptedChatModel.tool_call("add", a=2, b=3), "5"], model="small")
    result = Agent(executor, tools=[add], planner=planner, system_prompt="Be exact.").run("2+3?")
    assert result.plan == "1. add 2 and 3\n2. answer" and result.output == "5" and result.steps == 3
    assert "add (Add two integers.)" in planner.calls[0].prompt and planner.calls[0].tools == []
    system = executor.calls[0].messages[0]
    assert system.role == "system" and system.content.startswith("Be exact.")
    assert "1. add 2 and 3" in system.content


def test_agent_over_ollama_stub(stub):
    stub.script_chat({"tool_calls": [{"name": "add", "arguments": {"a": 20, "b": 22}}]},
                     {"tool_calls": [{"name": "final_result",
                                      "arguments": {"value": 42, "explanation": "sum"}}]})
    result = Agent(OllamaChat("llama3.2", host=stub.host), tools=[add], output_type=Total).run("20+22?")
    assert result.output.value == 42
    second = stub.bodies()[1]["messages"]
    assert second[-1] == {"role": "tool", "content": "42", "tool_name": "add"}
    assert json.dumps(second[-2]["tool_calls"]) == json.dumps(
        [{"function": {"name": "add", "arguments": {"a": 20, "b": 22}}}])


def test_scripted_model_records_calls_and_runs_out_clearly():
    llm = ScriptedChatModel(["a", lambda messages: f"saw {len(messages)}"])
    assert llm.chat("x").text == "a"
    assert llm.chat([{"role": "user", "content": "1"}, {"role": "user", "content": "2"}]).text == "saw 2"
    with pytest.raises(OutOfRepliesError, match="ran out of replies"):
        llm.chat("again")
    stream = ScriptedChatModel(["one two three"]).stream("s")
    assert list(stream) == ["one ", "two ", "three"] and stream.result.text == "one two three"


def test_invalid_final_result_is_sent_back_for_correction():
    llm = ScriptedChatModel([
        ScriptedChatModel.tool_call("final_result", value="many"),
        ScriptedChatModel.tool_call("final_result", value=3, explanation="counted"),
    ])
    result = Agent(llm, output_type=Total).run("count")
    assert result.output == Total(value=3, explanation="counted") and result.steps == 2
    error = llm.calls[1].messages[-1]
    assert error.tool_name == "final_result"
    assert "- value:" in error.content and "- explanation:" in error.content
