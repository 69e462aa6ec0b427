"""Citation markers: parsing, cleaning unknown numbers, quote verification and source spans."""

from __future__ import annotations

from ragforge.query.citations import cited_numbers, clean_markers, locate_quote, make_citation, resolve_citations
from ragforge.query.grounding import best_sentence, check_grounding, split_sentences
from ragforge.types import Chunk, Hit


def _hit(text: str, source: str = "doc.pdf", start: int = 100, page: int | None = 2) -> Hit:
    chunk = Chunk(id=Chunk.make_id(source, start, start + len(text), text), source=source, text=text,
                  start=start, end=start + len(text), page=page)
    return Hit(chunk=chunk, score=1.0)


def test_markers_single_list_and_range_in_order_of_first_use() -> None:
    assert cited_numbers("a [2]. b [1, 3]. c [2-4] d [ 5 ]") == [2, 1, 3, 4, 5]
    assert cited_numbers("no markers, [x] or [] here") == []


def test_unknown_numbers_are_removed_and_reported() -> None:
    text, dropped = clean_markers("Paris [1, 7]. Lyon [9]. Nice [2].", range(1, 3))
    assert text == "Paris [1]. Lyon. Nice [2]."
    assert dropped == [7, 9]


def test_quote_located_ignoring_whitespace_and_case() -> None:
    chunk_text = "The  bridge was\nbuilt in 1889 by Gustave Eiffel."
    assert locate_quote("built in 1889", chunk_text) == (chunk_text.index("built"), chunk_text.index(" by"))
    assert locate_quote("WAS BUILT in 1889", chunk_text) == (chunk_text.index("was"), chunk_text.index(" by"))
    assert locate_quote("\"built in 1889.\"", chunk_text) is not None  # quotes and final stop stripped
    assert locate_quote("built in 1890", chunk_text) is None


def test_citation_span_is_in_source_coordinates() -> None:
    hit = _hit("The tower is 330 metres tall. It opened in 1889.", start=1000, page=4)
    cite = make_citation(1, hit, "opened in 1889")
    offset = hit.chunk.text.index("opened")
    assert cite.verified and cite.quote == "opened in 1889"
    assert (cite.start, cite.end) == (1000 + offset, 1000 + offset + len("opened in 1889"))
    assert cite.page == 4 and cite.source == "doc.pdf" and cite.chunk_id == hit.chunk.id

    bad = make_citation(1, hit, "closed in 1999")
    assert not bad.verified and (bad.start, bad.end) == (1000, 1000 + len(hit.chunk.text))


def test_resolve_maps_numbers_to_hits_and_drops_unknown_quotes() -> None:
    hits = [_hit("Alpha is red.", "a.md", 0, None), _hit("Beta is blue.", "b.md", 0, None)]
    out = resolve_citations("Alpha is red [1]. Beta is blue [2, 3].", hits,
                  {1: ["Alpha is red"], 2: ["green"], 4: ["nothing"]})
    assert out.text == "Alpha is red [1]. Beta is blue [2]."
    assert out.dropped == [3, 4]
    assert [(c.number, c.source, c.verified) for c in out.citations] == [(1, "a.md", True), (2, "b.md", False)]


def test_grounding_supports_cited_sentences_only() -> None:
    hits = [_hit("The Eiffel Tower opened in 1889 in Paris."), _hit("Bananas are yellow fruit.")]
    good = check_grounding("The Eiffel Tower opened in 1889 [1].", hits)
    assert good.score == 1.0 and not good.weak
    wrong = check_grounding("The Eiffel Tower opened in 1889 [2].", hits)
    assert wrong.score == 0.0 and wrong.sentences[0].cited == [2]
    uncited = check_grounding("The tower opened in 1889 [1]. It is painted purple.", hits)
    assert uncited.score == 0.5 and [s.supported for s in uncited.sentences] == [True, False]


def test_sentence_split_keeps_trailing_markers_and_best_sentence() -> None:
    assert split_sentences("A is b. [1] C is d [2].") == ["A is b [1].", "C is d [2]."]
    sentence, share = best_sentence("opened 1889", "It is tall. It opened in 1889. It is iron.")
    assert sentence == "It opened in 1889." and share == 1.0


def test_rewritten_query_is_cleaned() -> None:
    from ragforge.query.nodes import clean_query

    assert clean_query('Query: "eiffel tower opening year"\nThis query uses...') == "eiffel tower opening year"
    assert clean_query("  better query: `x y`") == "x y"
    assert clean_query("") == ""
