"""The refusal odds: how close the model came to "The documents do not say.", read from its top log-probs.

The token alternatives below are copied from Qwen2.5-Coder-1.5B's replies to real evaluation questions
(eval/results/answers.md): "2730 [2]" to an unanswerable ClapNQ question (the first token "The" at 0.13,
and after "The", " documents" at 0.76), "The New York Times ..." to another (" documents" at 0.37 right after
the "The" it wrote), "1985 [1]", right, to a SQuAD question ("The" at 0.13, then " San" / " last": no
refusal) and "The Union [1]", right, to an answerable ClapNQ one.
"""

from __future__ import annotations

import math

import pytest

from ragforge.llm import ChatResult
from ragforge.query import REFUSAL, QueryConfig, QueryEngine
from ragforge.query.refusal_odds import continuation_share, pending_by_prefix, refusal_odds
from ragforge.testing.chat import ScriptedChatModel
from ragforge.types import Answer
from tests.query.test_query_engine import PARLIAMENT_Q, events

NYT = (["The", " New", " York"],
       [[("The", -0.88), ("lag", -1.53), ("4", -3.29)], [(" New", -0.73), (" documents", -0.99), (" Manhattan", -3.76)],
        [(" York", -0.01)]],
       [-0.88, -0.73, -0.01])
UNION = (["The", " Union"], [[("The", -0.71), ("Union", -0.89)], [(" Union", -0.10), (" Confeder", -3.34)]],
         [-0.71, -0.10])
GUESS_2730 = (["2", "7"], [[("2", -0.66), ("The", -2.04), ("1", -2.33)], [("7", -0.03), ("3", -5.21)]], [-0.66, -0.03])
AFTER_THE_2730 = [(" documents", -0.28), (" document", -2.47), (" number", -3.32)]
AFTER_THE_1985 = [(" San", -0.68), (" last", -1.11), (" most", -4.10)]


def test_an_answer_that_starts_like_the_refusal_is_measured_from_its_own_tokens() -> None:
    odds = refusal_odds(*NYT)
    assert odds.known == pytest.approx(math.exp(-0.88) * math.exp(-0.99))  # "The" then " documents": 0.155
    assert odds.pending == []
    union = refusal_odds(*UNION)
    assert union.known == 0.0 and union.pending == [] and union.bound == 0.0


def test_a_shared_first_word_is_pending_until_a_continuation_says_how_much_was_the_refusal() -> None:
    odds = refusal_odds(*GUESS_2730)
    assert odds.known == 0.0
    assert pending_by_prefix(odds) == [("The", pytest.approx(math.exp(-2.04)))]
    assert continuation_share("The", AFTER_THE_2730) == pytest.approx(math.exp(-0.28))  # " document" is not it
    assert continuation_share("The", AFTER_THE_1985) == 0.0


def test_the_refusal_itself_and_other_spellings_of_a_prefix() -> None:
    odds = refusal_odds(["Malaysia"], [[("Malaysia", -0.5), ("The", -1.5), (" The", -3.0), ("the", -4.0)]], [-0.5])
    (prefix, mass), = pending_by_prefix(odds)  # "The", " The" and "the" are one beginning
    assert mass == pytest.approx(math.exp(-1.5) + math.exp(-3.0) + math.exp(-4.0))
    assert refusal_odds(["In"], [[("In", -0.1), ("Inter", -3.0)]], [-0.1]).bound == 0.0


def result(text: str, tokens: tuple) -> ChatResult:
    return ChatResult(text=text, tokens=tokens[0], top_logprobs=tokens[1], logprobs=tokens[2])


def continuation(top: list[tuple[str, float]]) -> ChatResult:
    return ChatResult(text=top[0][0], tokens=[top[0][0]], top_logprobs=[top], logprobs=[top[0][1]])


IN_COMMITTEE = (["In", " committee"], [GUESS_2730[1][0], [(" committee", -0.03)]], [-0.66, -0.03])


@pytest.mark.parametrize("after, refused", [(AFTER_THE_2730, True), (AFTER_THE_1985, False)])
def test_an_answer_the_model_nearly_refused_is_refused(index, after, refused: bool) -> None:
    """The draft's words stand in the passage (the deterministic check supports it); the model's own odds of
    refusing decide, with one one-token continuation from the prefix "The"."""
    llm = ScriptedChatModel([result("In committee [1].", IN_COMMITTEE), continuation(after)])
    config = QueryConfig(max_refusal_odds=0.02)
    answer = QueryEngine(index, llm=llm, config=config).query(PARLIAMENT_Q)
    assert answer.refused is refused and (answer.text == REFUSAL) is refused
    first, second = llm.calls
    assert first.options["top_logprobs"] == config.top_logprobs and first.options["logprobs"] is True
    assert second.messages[-1].role == "assistant" and second.messages[-1].content == "The"
    assert second.options["num_predict"] == 1
    (event,) = events(answer, "refusal_odds")
    assert event["continued"] == "The" and event["odds"] == pytest.approx(
        math.exp(-2.04) * continuation_share("The", after), abs=1e-4)
    (check,) = events(answer, "check")
    assert check["verdict"] == ("unsupported" if refused else "supported")
    if not refused:
        assert answer.refusal_odds == pytest.approx(0.0)


def test_known_odds_need_no_continuation_and_low_bounds_none(index) -> None:
    config = QueryConfig(max_refusal_odds=0.02)
    nearly = ScriptedChatModel([result("In committee [1].", (["In"], [[("In", -0.2), ("The", -0.9)]], [-0.2])),
                                continuation([(" documents", -0.05)])])
    assert QueryEngine(index, llm=nearly, config=config).query(PARLIAMENT_Q).refused
    sure = ScriptedChatModel([result("In committee [1].", (["In"], [[("In", -0.001), ("The", -6.0)]], [-0.001]))])
    answer = QueryEngine(index, llm=sure, config=config).query(PARLIAMENT_Q)
    assert not answer.refused and len(sure.calls) == 1  # the bound (0.0025) is below the limit: no extra call


def test_without_continuations_only_the_answers_own_tokens_count(index) -> None:
    config = QueryConfig(max_refusal_odds=0.02, refusal_continuation=False)
    llm = ScriptedChatModel([result("In committee [1].", IN_COMMITTEE)])
    answer = QueryEngine(index, llm=llm, config=config).query(PARLIAMENT_Q)
    assert not answer.refused and len(llm.calls) == 1


def test_off_by_default_and_without_log_probs_nothing_changes(index) -> None:
    llm = ScriptedChatModel([result("In committee [1].", IN_COMMITTEE)])
    answer = QueryEngine(index, llm=llm).query(PARLIAMENT_Q)  # max_refusal_odds=None
    assert not answer.refused and "top_logprobs" not in llm.calls[0].options and not events(answer, "refusal_odds")
    plain = ScriptedChatModel(["In committee [1]."])  # a backend that sends no log-probabilities
    answer = QueryEngine(index, llm=plain, config=QueryConfig(max_refusal_odds=0.02)).query(PARLIAMENT_Q)
    assert not answer.refused and len(plain.calls) == 1 and answer.refusal_odds is None


def test_streaming_applies_the_same_odds(index) -> None:
    llm = ScriptedChatModel([result("In committee [1].", IN_COMMITTEE), continuation(AFTER_THE_2730)])
    parts = list(QueryEngine(index, llm=llm, config=QueryConfig(max_refusal_odds=0.02)).stream(PARLIAMENT_Q))
    assert "".join(p for p in parts if isinstance(p, str)).startswith("In committee")  # streamed, then refused
    assert isinstance(parts[-1], Answer) and parts[-1].refused and llm.calls[0].stream


def test_a_continuation_that_fails_leaves_the_answer_to_its_own_tokens(index) -> None:
    from ragforge.errors import LLMResponseError

    llm = ScriptedChatModel([result("In committee [1].", IN_COMMITTEE), LLMResponseError("no prefill here")])
    answer = QueryEngine(index, llm=llm, config=QueryConfig(max_refusal_odds=0.02)).query(PARLIAMENT_Q)
    assert not answer.refused and answer.refusal_odds == 0.0
    (event,) = events(answer, "refusal_odds")
    assert event["continued"] == "The" and "no prefill here" in event["error"]
