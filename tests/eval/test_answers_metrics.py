"""Answer metrics against hand-computed cases."""

from __future__ import annotations

import pytest

from ragforge.eval.answer_metrics import (
    answer_em,
    answer_f1,
    citation_precision,
    exact_match,
    faithfulness,
    hit_at_k,
    mean_of,
    normalize_answer,
    refusal_rates,
    strip_citations,
    token_f1,
)


def test_official_squad_normalisation() -> None:
    assert normalize_answer("The  Denver Broncos!") == "denver broncos"
    assert normalize_answer("an apple, a pear and THE plum.") == "apple pear and plum"
    assert normalize_answer("theatre") == "theatre"  # articles only as whole words


def test_exact_match_and_f1_by_hand() -> None:
    assert exact_match("the Denver Broncos.", "Denver Broncos") == 1.0
    assert exact_match("Broncos", "Denver Broncos") == 0.0
    # pred: [denver, broncos, won]; gold: [denver, broncos] -> P=2/3, R=1, F1=0.8
    assert token_f1("Denver Broncos won", "Denver Broncos") == pytest.approx(0.8)
    # bag of tokens: pred [a1, a1] vs gold [a1]: common 1 -> P=1/2, R=1 -> 2/3
    assert token_f1("a1 a1", "a1") == pytest.approx(2 / 3)
    assert token_f1("", "x") == 0.0


def test_max_over_gold_answers_and_markers_removed() -> None:
    golds = ["Santa Clara, California", "Levi's Stadium"]
    assert answer_em("Levi's Stadium [1].", golds) == 1.0
    # "stadium in santa clara" vs "santa clara california": common 2 -> P=2/4? tokens:
    # pred [stadium, in, santa, clara] vs gold1 [santa, clara, california]: P=2/4 R=2/3 F1=4/7
    # vs gold2 [levis, stadium]: common 1: P=1/4 R=1/2 F1=1/3 -> max 4/7
    assert answer_f1("Stadium in Santa Clara [2]", golds) == pytest.approx(4 / 7)
    assert answer_em("anything", []) == 0.0
    assert strip_citations("A [1, 2] b [3-4].") == "A b ."


def test_hit_at_k_with_pages() -> None:
    retrieved = [("a.pdf", 3), ("b.pdf", 12), ("c", None)]
    assert hit_at_k(retrieved, {("b.pdf", 12)}, 1) == 0.0
    assert hit_at_k(retrieved, {("b.pdf", 12)}, 2) == 1.0
    assert hit_at_k(retrieved, {("b.pdf", 11)}, 3) == 0.0
    assert hit_at_k(retrieved, {("a.pdf", None)}, 1) == 1.0  # no page named: any page of the source
    with pytest.raises(ValueError):
        hit_at_k(retrieved, set(), 0)


def test_citation_precision_refusals_and_faithfulness() -> None:
    assert citation_precision([("a", 1), ("a", 2), ("b", None)], {("a", 2), ("b", None)}) == pytest.approx(2 / 3)
    assert citation_precision([], {("a", 1)}) is None
    refused = {"q1": True, "q2": False, "q3": True, "q4": False, "q5": False}
    answerable = {"q1": False, "q2": False, "q3": True, "q4": True, "q5": True}
    rates = refusal_rates(refused, answerable)
    assert rates == {"refusal_rate": 0.5, "false_refusal_rate": pytest.approx(1 / 3)}
    assert refusal_rates({"q": False}, {"q": True})["refusal_rate"] is None
    assert faithfulness([True, False, True, True]) == 0.75 and faithfulness([]) is None
    assert mean_of([1.0, None, 0.0]) == 0.5 and mean_of([None]) is None
