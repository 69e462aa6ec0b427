"""The query graph end to end on a real (hashing) index with scripted model replies."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
from pydantic import ValidationError

from ragforge.errors import QueryError
from ragforge.llm import Message
from ragforge.query import REFUSAL, QueryConfig, QueryEngine, build_default_graph
from ragforge.testing.chat import ScriptedChatModel
from ragforge.types import Answer, Citation

Q = "When did the Eiffel Tower open?"


def block(messages: list[Message], source: str) -> int:
    """The number of the context block from ``source`` in the prompt."""
    prompt = next(m.content for m in messages if m.role == "user" and "Context:" in m.content)
    match = re.search(r"\[(\d+)\] \(" + re.escape(source), prompt)
    assert match, f"{source} not in the prompt:\n{prompt}"
    return int(match.group(1))


def _numbers(template: str, messages: list[Message]) -> str:
    return re.sub(r"\{([^{}]+)\}", lambda m: str(block(messages, m.group(1))), template)


def text_reply(template: str) -> Callable[[list[Message]], str]:
    """A plain-text reply; ``{source}`` becomes that source's block number in the prompt."""
    return lambda messages: _numbers(template, messages)


def json_reply(template: str, *quotes: tuple[str, str]) -> Callable[[list[Message]], str]:
    """A structured reply: the answer text and (source, quote) citations."""
    def make(messages: list[Message]) -> str:
        cites = [{"n": block(messages, src), "quote": quote} for src, quote in quotes]
        return json.dumps({"answer": _numbers(template, messages), "citations": cites})
    return make


def path(answer: Answer) -> list[str]:
    return [line["node"] for line in answer.trace if line["type"] == "node"]


def events(answer: Answer, kind: str) -> list[dict]:
    return [e for line in answer.trace if line["type"] == "node" for e in line["events"] if e["type"] == kind]


def test_grounded_answer_with_verified_quote_in_source_coordinates(index) -> None:
    llm = ScriptedChatModel([json_reply("It opened in 1889 [{tower.md}].", ("tower.md", "opened in 1889"))])
    answer = QueryEngine(index, llm=llm).query(Q)
    assert not answer.refused and re.fullmatch(r"It opened in 1889 \[\d\]\.", answer.text)
    (cite,) = answer.citations
    chunk = answer.hits[cite.number - 1].chunk
    assert cite.source == "tower.md" and cite.verified and cite.quote == "opened in 1889"
    assert chunk.source == "tower.md"
    assert chunk.text[cite.start - chunk.start:cite.end - chunk.start] == "opened in 1889"
    assert path(answer) == ["route", "retrieve", "join", "rerank", "synthesise", "check", "finish"]
    assert len(llm.calls) == 1 and "[1] (" in llm.calls[0].prompt  # no routing call without tools


def test_page_of_a_pdf_is_cited(index) -> None:
    llm = ScriptedChatModel([json_reply("Net revenue was 4,210 million dollars [{report.pdf, p. 2}].",
                                        ("report.pdf, p. 2", "4,210 million dollars"))])
    answer = QueryEngine(index, llm=llm).query("What was net revenue in fiscal 2023?")
    (cite,) = answer.citations
    assert (cite.source, cite.page, cite.verified) == ("report.pdf", 2, True)
    assert cite.start >= len("Annual report 2023. Revenue grew strongly.")  # offsets in the whole document


def test_unknown_citation_numbers_are_dropped_and_bad_quotes_unverified(index) -> None:
    llm = ScriptedChatModel([json_reply("It opened in 1889 [{tower.md}, 42]. It is tall [17].",
                                        ("tower.md", "opened in 1850"))])
    answer = QueryEngine(index, llm=llm).query(Q)
    assert answer.dropped_citations == [17, 42]
    assert "[42" not in answer.text and "[17]" not in answer.text
    (cite,) = answer.citations
    assert cite.source == "tower.md" and not cite.verified  # the quote is not in the chunk
    chunk = answer.hits[cite.number - 1].chunk
    assert (cite.start, cite.end) == (chunk.start, chunk.end)


def test_model_refusal_becomes_a_refused_answer(index) -> None:
    llm = ScriptedChatModel([json.dumps({"answer": REFUSAL, "citations": []})])
    config = QueryConfig(max_rewrites=0)
    answer = QueryEngine(index, llm=llm, config=config).query("Who painted the Mona Lisa?")
    assert answer.refused and answer.text == REFUSAL and answer.citations == []
    assert answer.hits  # the passages that were read are still shown


def test_unsupported_answer_is_refused_after_the_bounded_rewrite(index) -> None:
    wrong = json_reply("It opened in 1889 [{fruit.txt}].")  # cites a chunk that does not say so
    llm = ScriptedChatModel([wrong, "Eiffel Tower opening year", wrong])
    answer = QueryEngine(index, llm=llm).query(Q)
    assert answer.refused and answer.text == REFUSAL
    assert path(answer) == ["route", "retrieve", "join", "rerank", "synthesise", "check", "rewrite",
                            "retrieve", "join", "rerank", "synthesise", "check", "finish"]
    assert events(answer, "rewrite")[0]["to"] == "Eiffel Tower opening year"
    assert [e["verdict"] for e in events(answer, "check")] == ["weak", "weak"]
    assert llm.remaining == 0


@pytest.mark.parametrize("max_rewrites", [0, 1, 3])
def test_rewrite_loop_is_bounded(index, max_rewrites: int) -> None:
    refusal = json.dumps({"answer": REFUSAL})
    llm = ScriptedChatModel([refusal])
    for _ in range(max_rewrites):
        llm.add("another query", refusal)
    answer = QueryEngine(index, llm=llm, config=QueryConfig(max_rewrites=max_rewrites)).query(Q)
    assert answer.refused
    assert path(answer).count("rewrite") == max_rewrites
    assert path(answer).count("synthesise") == max_rewrites + 1
    assert llm.remaining == 0


def test_rewrite_recovers_and_best_attempt_wins(index) -> None:
    llm = ScriptedChatModel([json.dumps({"answer": "It is a mystery."}), "Eiffel Tower opened 1889",
                             json_reply("It opened in 1889 [{tower.md}].", ("tower.md", "opened in 1889"))])
    answer = QueryEngine(index, llm=llm).query(Q)
    assert not answer.refused and answer.citations[0].verified
    assert [e["verdict"] for e in events(answer, "check")] == ["weak", "ok"]


def test_malformed_json_falls_back_to_the_text_and_its_markers(index) -> None:
    llm = ScriptedChatModel([text_reply("It opened in 1889 [{tower.md}]."), "still not json"])
    answer = QueryEngine(index, llm=llm, config=QueryConfig(json_retries=1, max_rewrites=0)).query(Q)
    assert answer.refused  # the final, invalid reply has no citation

    llm = ScriptedChatModel([text_reply("It opened in 1889 [{tower.md}]."),
                             text_reply("It opened in 1889 [{tower.md}].")])
    answer = QueryEngine(index, llm=llm, config=QueryConfig(json_retries=1)).query(Q)
    assert not answer.refused and answer.citations[0].source == "tower.md"
    assert not answer.citations[0].verified  # no quote was given
    assert events(answer, "synthesise")[0]["structured_failed"]


def test_text_answer_format(index) -> None:
    llm = ScriptedChatModel([text_reply("The tower opened in 1889 [{tower.md}].")])
    answer = QueryEngine(index, llm=llm, config=QueryConfig(answer_format="text")).query(Q)
    assert not answer.refused and llm.calls[0].format is None
    assert [c.source for c in answer.citations] == ["tower.md"]


def test_min_score_refuses_without_calling_the_model(index) -> None:
    llm = ScriptedChatModel([])
    config = QueryConfig(min_score=1e9, max_rewrites=0)  # no hit scores that high
    answer = QueryEngine(index, llm=llm, config=config).query(Q)
    assert answer.refused and llm.calls == []


def test_streaming_yields_pieces_then_citations_then_the_answer(index) -> None:
    llm = ScriptedChatModel([text_reply("It opened in 1889 [{tower.md}].")])
    parts = list(QueryEngine(index, llm=llm).stream(Q))
    pieces = [p for p in parts if isinstance(p, str)]
    assert len(pieces) > 3 and "".join(pieces).startswith("It opened in 1889 [")
    assert isinstance(parts[-1], Answer) and isinstance(parts[-2], Citation)
    first_non_text = next(i for i, p in enumerate(parts) if not isinstance(p, str))
    assert all(isinstance(p, str) for p in parts[:first_non_text])
    assert parts[-1].citations[0].source == "tower.md" and llm.calls[0].stream


def test_graph_is_inspectable_and_nodes_replaceable(index) -> None:
    def no_rerank_keep_one(state, ctx):
        return {"context": [h for h in state.context if h.chunk.source == "tower.md"]}

    llm = ScriptedChatModel([json_reply("It opened in 1889 [{tower.md}].", ("tower.md", "opened in 1889"))])
    engine = QueryEngine(index, llm=llm, graph=build_default_graph(rerank=no_rerank_keep_one))
    assert "rerank" in engine.graph.to_mermaid()
    answer = engine.query(Q)
    assert [h.chunk.source for h in answer.hits] == ["tower.md"] and answer.citations[0].number == 1
    with pytest.raises(QueryError, match="unknown query-graph nodes"):
        build_default_graph(rerankk=no_rerank_keep_one)


def test_config_is_validated() -> None:
    with pytest.raises(ValidationError):
        QueryConfig(max_rewritez=2)
    with pytest.raises(ValidationError, match="cross_encoder"):
        QueryConfig(rerank="cross_encoder")
    with pytest.raises(ValidationError, match="candidates"):
        QueryConfig(k=10, candidates=5)


def test_empty_question_is_an_error(index) -> None:
    with pytest.raises(QueryError, match="empty"):
        QueryEngine(index, llm=ScriptedChatModel([])).query("  ")


def test_llm_grader_on_the_small_model_can_force_a_rewrite(index) -> None:
    good = json_reply("It opened in 1889 [{tower.md}].", ("tower.md", "opened in 1889"))
    llm = ScriptedChatModel([good, good])
    small = ScriptedChatModel([json.dumps({"supported": False, "reason": "no"}), "Eiffel Tower 1889",
                               json.dumps({"supported": True})])
    config = QueryConfig(llm_grader=True)
    answer = QueryEngine(index, llm=llm, small_llm=small, config=config).query(Q)
    assert [e["supported"] for e in events(answer, "grade")] == [False, True]
    assert [e["verdict"] for e in events(answer, "check")] == ["weak", "ok"]
    assert not answer.refused and llm.remaining == 0 and small.remaining == 0
    assert "Does the context support the answer?" in small.calls[0].prompt


def test_where_filter_reaches_retrieval(index) -> None:
    llm = ScriptedChatModel([json_reply("Bananas are yellow [{fruit.txt}].")])
    answer = QueryEngine(index, llm=llm).query("What colour are bananas?", where={"path": "fruit*"})
    assert {h.chunk.source for h in answer.hits} == {"fruit.txt"}


def test_cross_encoder_reranker_is_configured_lazily(index) -> None:
    engine = QueryEngine(index, llm=ScriptedChatModel([]),
                         config=QueryConfig(rerank="cross_encoder", cross_encoder="some/cross-encoder"))
    assert type(engine.reranker).__name__ == "CrossEncoderReranker"
    assert engine.reranker.model == "some/cross-encoder"  # nothing loaded until the first query


def test_citations_given_only_in_the_structured_list_get_markers(index) -> None:
    llm = ScriptedChatModel([lambda m: json.dumps({"answer": "1889", "citations": [
        {"n": block(m, "tower.md"), "quote": "opened in 1889"}]})])
    answer = QueryEngine(index, llm=llm).query(Q)
    assert re.fullmatch(r"1889 \[\d\]", answer.text) and answer.citations[0].verified
    assert events(answer, "synthesise")[0]["markers_added"]


def test_llm_grader_saying_unsupported_every_time_means_refusal(index) -> None:
    good = json_reply("It opened in 1889 [{tower.md}].", ("tower.md", "opened in 1889"))
    no = json.dumps({"supported": False})
    small = ScriptedChatModel([no, "Eiffel Tower 1889", no])
    answer = QueryEngine(index, llm=ScriptedChatModel([good, good]), small_llm=small,
                         config=QueryConfig(llm_grader=True)).query(Q)
    assert answer.refused and [e["grounding"] for e in events(answer, "check")] == [0.0, 0.0]


def test_default_graph_mermaid_snapshot() -> None:
    mermaid = build_default_graph().compile().to_mermaid()
    edges = [line.strip() for line in mermaid.splitlines() if "-->" in line or "-.->" in line]
    assert edges == [
        "__start__ --> route",
        "route -.-> retrieve", "route -.-> call_tools",
        "retrieve --> join", "call_tools --> join",
        "join --> rerank", "rerank --> synthesise", "synthesise --> check",
        "check -.-> rewrite", "check -.-> finish",
        "rewrite --> retrieve",
        "finish --> __end__",
    ]


def test_search_options_reach_the_index(index) -> None:
    def hits_with(config: QueryConfig) -> list:
        llm = ScriptedChatModel([json_reply("It opened in 1889 [{tower.md}].")])
        return QueryEngine(index, llm=llm, config=config).query(Q).hits

    rrf = hits_with(QueryConfig(search={"fusion": "rrf"}))
    assert all(h.score <= 2 / 61 for h in rrf)  # reciprocal-rank scores
    assert hits_with(QueryConfig(mode="lexical"))[0].scores.keys() == {"lexical"}
