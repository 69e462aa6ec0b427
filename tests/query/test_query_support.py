"""Deterministic support: which passage holds a claim, with the words the model wrote."""

from __future__ import annotations

from ragforge.query.support import claim_support
from ragforge.types import Chunk, Hit


def _hits(*texts: str) -> list[Hit]:
    return [Hit(chunk=Chunk(id=f"c{n}", source=f"doc{n}.txt", text=text, start=0, end=len(text)), score=1.0)
            for n, text in enumerate(texts, start=1)]


HITS = _hits("The game was shown on CBS. Fans watched a free stream on CBSSports.com and on tablets.",
             "Ukraine and Moldova signed the treaty in 2014. It entered into force later.")


def test_a_claim_written_with_other_spacing_is_found_by_its_letters() -> None:
    found = claim_support("CBS Sports.com [1]", [1], "What CBS website provided a stream?", HITS)
    assert found.support == 1.0 and found.best is not None and found.best.passage == 1
    quote = HITS[0].chunk.text[found.best.start:found.best.end]
    assert "CBSSports.com" in quote


def test_short_or_one_word_claims_are_not_found_inside_other_words() -> None:
    assert claim_support("The UK", [2], "Where was the treaty signed?", HITS).support == 0.0
    assert claim_support("Kraine", [2], "Where was the treaty signed?", HITS).support == 0.0


def test_words_still_count_one_by_one() -> None:
    found = claim_support("Moldova and Ukraine, in 2014", [1], "Who signed the treaty?", HITS)
    assert found.support == 1.0 and found.best is not None and found.best.passage == 2
    assert claim_support("Moldova in 2019", [2], "Who signed the treaty?", HITS).support < 1.0
