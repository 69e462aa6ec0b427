"""Follow-up questions: with history, the small model rewrites the question into a standalone one first, and
that is what is searched and answered; without history nothing more is called. Chat sessions checkpoint their
turns and resume."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ragforge.errors import QueryError
from ragforge.graph import MemoryCheckpointer, SqliteCheckpointer
from ragforge.query import REFUSAL, QueryConfig, QueryEngine
from ragforge.query.chat import KEEP_TURNS, ChatSession
from ragforge.query.followup import MAX_TURNS, as_turns, clean_question, dropped_words
from ragforge.query.state import Turn
from ragforge.testing.chat import ScriptedChatModel
from ragforge.types import Answer

FIRST_Q, FIRST_A = "When did the Eiffel Tower open?", "It opened in 1889 [1]."
FOLLOW = "How tall is it?"
STANDALONE = "How tall is the Eiffel Tower?"
HISTORY = [Turn(question=FIRST_Q, answer=FIRST_A)]


def tower_reply(messages) -> str:
    prompt = next(m.content for m in messages if m.role == "user" and "Context:" in m.content)
    number = re.search(r"\[(\d+)\] \(tower\.md", prompt).group(1)
    return f"330 metres [{number}]."


def path(answer: Answer) -> list[str]:
    return [line["node"] for line in answer.trace if line["type"] == "node"]


def event(answer: Answer, kind: str) -> dict:
    found = [e for line in answer.trace if line["type"] == "node" for e in line["events"] if e["type"] == kind]
    assert found, f"no {kind} event in the trace"
    return found[0]


def test_without_history_nothing_more_is_called(index) -> None:
    llm, small = ScriptedChatModel([tower_reply]), ScriptedChatModel([])
    answer = QueryEngine(index, llm=llm, small_llm=small).query("How tall is the Eiffel Tower?")
    assert path(answer)[0] == "route" and "condense" not in path(answer)
    assert len(llm.calls) == 1 and small.calls == []
    empty = QueryEngine(index, llm=ScriptedChatModel([tower_reply]), small_llm=small).query(STANDALONE, history=[])
    assert "condense" not in path(empty) and small.calls == []


def test_a_follow_up_is_rewritten_before_retrieval_and_answered_as_the_standalone_question(index) -> None:
    llm, small = ScriptedChatModel([tower_reply]), ScriptedChatModel([f"Standalone question: {STANDALONE}"])
    answer = QueryEngine(index, llm=llm, small_llm=small).query(FOLLOW, history=HISTORY)
    assert path(answer)[:2] == ["condense", "route"]
    rewrite_prompt = small.calls[0].prompt
    assert FIRST_Q in rewrite_prompt and "It opened in 1889." in rewrite_prompt and FOLLOW in rewrite_prompt
    condense = event(answer, "condense")
    assert (condense["from"], condense["to"], condense["turns"], "kept" in condense) == (FOLLOW, STANDALONE, 1, False)
    assert event(answer, "retrieve")["query"] == STANDALONE  # never the history pasted into the search
    assert answer.hits[0].chunk.source == "tower.md"
    (answer_call,) = llm.calls  # the answer model answers once, and sees the standalone question
    assert answer_call.prompt.endswith(f"Question: {STANDALONE}") and FOLLOW not in answer_call.prompt
    assert answer.question == STANDALONE and not answer.refused and answer.citations[0].source == "tower.md"


@pytest.mark.parametrize("reply, why", [("", "empty reply"), (REFUSAL, "the model refused"),
                                        ("word " * 200, "reply too long for a question")])
def test_an_unusable_rewrite_keeps_the_question_as_asked(index, reply: str, why: str) -> None:
    small = ScriptedChatModel([reply])
    answer = QueryEngine(index, llm=ScriptedChatModel([REFUSAL]), small_llm=small).query(FOLLOW, history=HISTORY)
    condense = event(answer, "condense")
    assert (condense["to"], condense["kept"]) == (FOLLOW, why)
    assert event(answer, "retrieve")["query"] == FOLLOW and answer.question == FOLLOW


# replies of Qwen2.5-Coder-1.5B (Q4_K_M, temperature 0) to the rewrite prompt
KETTLE = [Turn(question="How often should the kettle be descaled?",
               answer="Every four weeks in hard-water areas, or every three months where the water is soft [1].")]


def test_a_rewrite_that_drops_the_follow_ups_words_is_kept_with_the_follow_up(index) -> None:
    small = ScriptedChatModel(["How often should the kettle be descaled?"])  # the real model's reply
    llm = ScriptedChatModel([REFUSAL])
    engine = QueryEngine(index, llm=llm, small_llm=small, config=QueryConfig(max_rewrites=0))
    answer = engine.query("And in soft water areas?", history=KETTLE)
    joined = "How often should the kettle be descaled? And in soft water areas?"
    condense = event(answer, "condense")
    assert (condense["to"], condense["dropped"]) == (joined, ["area", "soft", "water"])
    assert event(answer, "retrieve")["query"] == joined and answer.question == joined
    assert llm.calls[0].prompt.endswith(f"Question: {joined}")


def test_dropped_words() -> None:
    assert dropped_words("How often should the kettle be descaled?", "And in soft water areas?") == [
        "area", "soft", "water"]
    # a paraphrase of one word of two is the rewrite's business (also a real reply)
    assert dropped_words("What other works did Jane Austen write besides Pride and Prejudice?",
                         "What else did she write?") == []
    assert dropped_words("What was net revenue in 2023?", "And in 2023?") == []
    assert dropped_words(STANDALONE, FOLLOW) == []
    assert dropped_words("anything", "And then?") == []  # no words of its own to drop


def test_the_rewrite_sees_only_the_last_turns() -> None:
    from ragforge.query.followup import conversation

    turns = [Turn(question=f"question {i}?", answer=f"answer {i} [{i}]") for i in range(10)]
    text = conversation(turns)
    assert "question 3?" not in text and f"question {10 - MAX_TURNS}?" in text and "question 9?" in text
    assert "[9]" not in text and "Assistant: answer 9" in text


def test_history_shapes(index) -> None:
    answer = Answer(question=FIRST_Q, text=FIRST_A)
    shapes = [HISTORY[0], (FIRST_Q, answer), (FIRST_Q, FIRST_A), {"question": FIRST_Q, "answer": FIRST_A}]
    assert as_turns(shapes) == HISTORY * 4 and as_turns(None) == []
    with pytest.raises(QueryError, match="history item"):
        as_turns(["just a string"])
    with pytest.raises(QueryError, match="history item"):
        QueryEngine(index, llm=ScriptedChatModel([])).query(FOLLOW, history=[42])


def test_clean_question() -> None:
    assert clean_question('  "How tall is the Eiffel Tower?"\nExplanation: ...') == STANDALONE
    assert clean_question("The standalone question: Where is it?") == "Where is it?"
    assert clean_question("\n\n") == ""


def test_stream_with_history(index) -> None:
    llm, small = ScriptedChatModel([tower_reply]), ScriptedChatModel([STANDALONE])
    items = list(QueryEngine(index, llm=llm, small_llm=small).stream(FOLLOW, history=HISTORY))
    answer = items[-1]
    assert isinstance(answer, Answer) and answer.question == STANDALONE
    assert "".join(i for i in items if isinstance(i, str)).startswith("330 metres")
    assert event(answer, "condense")["to"] == STANDALONE and llm.calls[0].prompt.endswith(STANDALONE)


def test_a_chat_session_carries_the_conversation(index) -> None:
    llm = ScriptedChatModel(["It opened in 1889 [1].", tower_reply])
    small = ScriptedChatModel([STANDALONE])
    chat = ChatSession(QueryEngine(index, llm=llm, small_llm=small))
    first = chat.ask(FIRST_Q)
    assert "condense" not in path(first) and small.calls == []  # the first question has no history
    second = chat.ask(FOLLOW)
    assert second.question == STANDALONE and FIRST_Q in small.calls[0].prompt
    assert [t.question for t in chat.history] == [FIRST_Q, FOLLOW]  # as asked
    assert chat.history[1].answer == second.text


def test_a_named_session_is_checkpointed_and_resumes(index, tmp_path: Path) -> None:
    checkpointer = SqliteCheckpointer(tmp_path / "chat.sqlite")
    llm = ScriptedChatModel(["It opened in 1889 [1]."])
    chat = ChatSession(QueryEngine(index, llm=llm), "trip", checkpointer=checkpointer)
    chat.ask(FIRST_Q)
    other = ChatSession(QueryEngine(index, llm=ScriptedChatModel([])), "other", checkpointer=checkpointer)
    assert other.history == []

    small = ScriptedChatModel([STANDALONE])
    resumed = ChatSession(QueryEngine(index, llm=ScriptedChatModel([tower_reply]), small_llm=small), "trip",
                          checkpointer=SqliteCheckpointer(tmp_path / "chat.sqlite"))  # as a new process would
    assert [t.question for t in resumed.history] == [FIRST_Q]
    assert resumed.ask(FOLLOW).question == STANDALONE and FIRST_Q in small.calls[0].prompt
    resumed.reset()
    assert resumed.history == [] and ChatSession(None, "trip", checkpointer=checkpointer).history == []


def test_a_session_keeps_its_last_turns_only(index) -> None:
    checkpointer = MemoryCheckpointer()
    chat = ChatSession(QueryEngine(index, llm=ScriptedChatModel([REFUSAL], repeat_last=True),
                                   small_llm=ScriptedChatModel(["What is it?"], repeat_last=True)),
                       "long", checkpointer=checkpointer)
    chat.history = [Turn(question=f"q{i}?", answer=REFUSAL) for i in range(KEEP_TURNS)]
    chat.ask("What is it?")
    assert len(chat.history) == KEEP_TURNS and chat.history[-1].question == "What is it?"
    assert chat.history[0].question == "q1?"
    with pytest.raises(QueryError, match="needs a name"):
        ChatSession(None, " ", checkpointer=checkpointer)
