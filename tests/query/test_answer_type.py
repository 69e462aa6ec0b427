"""The kind-of-value check: an answer without the kind of value its question names (a unit, a price, a year)
is refused. The refused replies are Qwen2.5-Coder-1.5B's on the sample corpus; the kept ones are right
answers of the same model to SQuAD and sample questions of the same forms."""

from __future__ import annotations

import pytest

from ragforge.query import REFUSAL, QueryConfig, QueryEngine
from ragforge.query.answer_type import expected_kind, kind_missing
from ragforge.testing.chat import ScriptedChatModel


@pytest.mark.parametrize("question, kind", [
    ("What top speed did the Cutty Sark reach, in knots?", "speed"),
    ("What is the power rating of the Kettlewick K2 kettle in watts?", "power"),
    ("How far is the Moon from the Earth?", "distance"),
    ("How much is a Gutenberg Bible worth today?", "money"),
    ("What was the cost of the new stadium?", "money"),
    ("At what temperature should tomato seeds be germinated?", "temperature"),
    ("In what year did the Great Tea Race take place?", "year"),
    ("How fast can a peregrine falcon dive?", "speed"),
    ("How far is Warsaw from the Baltic Sea?", "distance"),
    ("How far away is the Andromeda Galaxy?", "distance"),
    ("How far did the second block travel downrange in km?", "distance"),
    # not read: no kind named plainly ("how far west" asks for a place: real right answer "Lake Balkhash")
    ("How far west did the Mongol Empire extend after Kuchlug's demise?", None),
    ("How far did the team get in the tournament?", None),
    ("How many moons does Jupiter have in total?", None),
    ("How long does the battery last?", None),
    ("How much of the land is forest?", None),
    ("When did the tower open?", None),
    ("Who is the current world chess champion?", None),
])
def test_the_kind_a_question_names(question: str, kind: str | None) -> None:
    assert expected_kind(question) == kind


@pytest.mark.parametrize("question, answer, window, missing", [
    # real 1.5B replies to unanswerable sample questions, with the sentence each number came from
    ("What top speed did the Cutty Sark reach, in knots?", "1869 [1]",
     "The Cutty Sark, launched in 1869, the same year the canal opened, is the last surviving tea clipper.", "speed"),
    ("How far is the Moon from the Earth?", "27.3 days [1]",
     "The Moon takes about 27.3 days to orbit the Earth.", "distance"),
    ("How much is a Gutenberg Bible worth today?", "49 [1]",
     "The Gutenberg Bible, finished around 1455, was printed in about 180 copies. Roughly 49 survive today.",
     "money"),
    # kept: the value is of the kind asked, in the answer or in its sentence
    ("How far away is the Andromeda Galaxy?", "2.5 million light years [1]",
     "The Andromeda Galaxy, about 2.5 million light years away.", None),
    ("How much did the ad cost?", "5 million [2]", "A 30-second ad cost $5 million.", None),
    ("What temperature should the water be?", "92 to 96 °C [1]", "Water temperature: 92 to 96 °C.", None),
    ("In what year did the Great Tea Race take place?", "1866 [1]", "The Great Tea Race of 1866 became famous.",
     None),
    ("How tall is it, in feet?", "1,063 [1]", "It stands 1,063 ft high.", None),
    ("What is the kettle's power in watts?", "3 kW [1]", "The element draws 3 kW.", None),
    ("How many moons does Jupiter have?", "4 [1]", "Jupiter and its four largest moons.", None),  # not read
])
def test_kind_missing(question: str, answer: str, window: str, missing: str | None) -> None:
    assert kind_missing(question, answer, window) == missing


def _check(answer) -> dict:
    return next(e for line in answer.trace if line["type"] == "node" for e in line["events"] if e["type"] == "check")


def test_the_engine_refuses_a_number_of_another_kind(index) -> None:
    question = "What did the Eiffel Tower cost, in dollars?"
    answer = QueryEngine(index, llm=ScriptedChatModel(["1889 [1]"]), config=QueryConfig(max_rewrites=0)).query(question)
    check = _check(answer)
    assert answer.refused and answer.text == REFUSAL
    assert (check["verdict"], check["kind_missing"]) == ("unsupported", "money")
    off = QueryConfig(max_rewrites=0, check_kind=False)
    kept = QueryEngine(index, llm=ScriptedChatModel(["1889 [1]"]), config=off).query(question)
    assert not kept.refused and "kind_missing" not in _check(kept)


def test_the_engine_keeps_a_value_of_the_kind_asked(index) -> None:
    question = "What was net revenue in fiscal 2023, in dollars?"
    answer = QueryEngine(index, llm=ScriptedChatModel(["4,210 million [1]"]),
                         config=QueryConfig(max_rewrites=0)).query(question)
    assert not answer.refused and answer.citations[0].source == "report.pdf"  # "million dollars" in its sentence
    assert "kind_missing" not in _check(answer)
