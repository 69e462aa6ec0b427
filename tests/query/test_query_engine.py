"""The query graph end to end on a real (hashing) index with scripted model replies.

The scripted replies copy what a real 1.5B model wrote in the failure cases of issue 9: a right answer citing
the wrong block, an answer copied from an unrelated passage, a runaway JSON reply cut off by its bound.
"""

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
PARLIAMENT_Q = "Where is most of the work of the Scottish Parliament done?"
YES, NO = json.dumps({"answers": True}), json.dumps({"answers": False})


def block(messages: list[Message], source: str) -> int:
    """The number of the context block from ``source`` in the prompt."""
    prompt = next(m.content for m in messages if m.role == "user" and "Context:" in m.content)
    match = re.search(r"\[(\d+)\] \(" + re.escape(source), prompt)
    assert match, f"{source} not in the prompt:\n{prompt}"
    return int(match.group(1))


def _numbers(template: str, messages: list[Message]) -> str:
    return re.sub(r"\{([^{}]+)\}", lambda m: str(block(messages, m.group(1))), template)


def reply(template: str) -> Callable[[list[Message]], str]:
    """A plain-text reply; ``{source}`` becomes that source's block number in the prompt."""
    return lambda messages: _numbers(template, messages)


def wrong_block(template: str, source: str) -> Callable[[list[Message]], str]:
    """A reply citing a block that is NOT ``source``'s (the model's most common mistake)."""
    def make(messages: list[Message]) -> str:
        right = block(messages, source)
        return template.format(n=1 if right != 1 else 2)
    return make


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


FAST_PATH = ["route", "retrieve", "join", "rerank", "synthesise", "check", "attempt", "finish"]


def test_a_short_answer_gets_the_supporting_sentence_as_a_verified_quote(index) -> None:
    llm = ScriptedChatModel([reply("In committee [{parliament.txt}].")])
    answer = QueryEngine(index, llm=llm).query(PARLIAMENT_Q)
    assert not answer.refused and re.fullmatch(r"In committee \[\d\]\.", answer.text)
    (cite,) = answer.citations
    assert cite.source == "parliament.txt" and cite.verified
    assert cite.quote == "Much of the work of the Scottish Parliament is done in committee."
    chunk = answer.hits[cite.number - 1].chunk
    assert chunk.text[cite.start - chunk.start:cite.end - chunk.start] == cite.quote  # source coordinates
    assert path(answer) == FAST_PATH and len(llm.calls) == 1  # one LLM call for a well-supported answer
    assert llm.calls[0].options["num_predict"] == 128 and llm.calls[0].format is None


def test_a_wrong_block_number_is_repaired_not_refused(index) -> None:
    llm = ScriptedChatModel([wrong_block("In committee [{n}].", "parliament.txt")])
    answer = QueryEngine(index, llm=llm).query(PARLIAMENT_Q)
    assert not answer.refused and answer.citations[0].source == "parliament.txt"
    (repair,) = answer.repairs
    assert repair["to"] == answer.citations[0].number and repair["from"] != [repair["to"]]
    assert events(answer, "finish")[0]["repairs"] == answer.repairs  # the trace shows the decision
    assert f"[{repair['to']}]" in answer.text and len(llm.calls) == 1


def test_a_pdf_page_is_cited_in_document_offsets(index) -> None:
    llm = ScriptedChatModel([reply("4,210 million dollars [{report.pdf, p. 2}].")])
    answer = QueryEngine(index, llm=llm).query("What was net revenue in fiscal 2023?")
    (cite,) = answer.citations
    assert (cite.source, cite.page, cite.verified) == ("report.pdf", 2, True)
    assert cite.start >= len("Annual report 2023. Revenue grew strongly.")


def test_unknown_numbers_are_dropped_and_each_clause_is_attributed(index) -> None:
    llm = ScriptedChatModel([reply("It opened in 1889 [{tower.md}, 42]; it is 330 metres tall [17].")])
    answer = QueryEngine(index, llm=llm).query(Q)
    assert answer.dropped_citations == [17, 42] and "42" not in answer.text and "[17]" not in answer.text
    assert [c.source for c in answer.citations] == ["tower.md", "tower.md"]
    assert answer.text.count("[") == 2 and answer.text.startswith("It opened in 1889 [")


def test_the_model_refusing_is_the_answer_without_a_wasted_rewrite(index) -> None:
    llm = ScriptedChatModel([REFUSAL])
    answer = QueryEngine(index, llm=llm).query(Q)  # retrieval is strong: a rewrite would find the same
    assert answer.refused and answer.text == REFUSAL and answer.citations == [] and answer.hits
    assert "rewrite" not in path(answer) and events(answer, "finish")[0]["reason"].startswith("the model said")


def test_an_answer_no_passage_holds_is_refused(index) -> None:
    llm = ScriptedChatModel([reply("Gustave Eiffel's daughter opened it [{tower.md}].")])
    answer = QueryEngine(index, llm=llm, config=QueryConfig(max_rewrites=0)).query(Q)
    assert answer.refused and events(answer, "check")[0]["verdict"] == "unsupported"
    assert events(answer, "finish")[0]["reason"] == "no passage supports the answer"


def test_an_answer_copied_from_an_unrelated_passage_is_graded_and_refused(index) -> None:
    """ "Malaysia [4]" to a question the passages cannot answer: every word is in a passage, but that
    passage is about something else, so the deterministic check is unsure and the small model decides."""
    question = "Which country hosted the 1998 Commonwealth Games in Kuala Lumpur?"
    llm = ScriptedChatModel([reply("Malaysia [{rubber.txt}]"), NO])
    config = QueryConfig(min_alignment=0.5, max_rewrites=0)
    answer = QueryEngine(index, llm=llm, config=config).query(question)
    assert answer.refused and [e["verdict"] for e in events(answer, "check")] == ["unsure"]
    assert events(answer, "grade")[0]["supported"] is False and len(llm.calls) == 2
    (grading,) = llm.calls[1].messages  # the passage window and the question, not the model's own answer
    assert "third largest producer of natural rubber" in grading.content and question in grading.content
    assert "Malaysia is" in grading.content and "Plantations" not in grading.content
    assert llm.calls[1].format["properties"]["answers"]["type"] == "boolean"


def test_a_passage_far_from_the_question_refuses_without_a_call(index) -> None:
    """With an embedder whose similarities are calibrated (min_relevance), an answer standing only in a
    passage dissimilar to the question is unsupported outright: no grading call."""
    question = "Which country hosted the 1998 Commonwealth Games in Kuala Lumpur?"
    llm = ScriptedChatModel([reply("Malaysia [{rubber.txt}]")])
    config = QueryConfig(min_relevance=0.9, sure_relevance=0.95, max_rewrites=0)
    answer = QueryEngine(index, llm=llm, config=config).query(question)
    (check,) = events(answer, "check")
    assert answer.refused and check["verdict"] == "unsupported" and check["claims"][0]["relevance"] < 0.9
    assert len(llm.calls) == 1


def test_relevance_bounds_are_calibrated_per_embedding_model() -> None:
    config = QueryConfig()
    assert config.relevance_bounds("sentence-transformers/all-MiniLM-L6-v2") == (0.25, 0.25)
    assert config.relevance_bounds("hashing:256") is None  # not calibrated: the lexical alignment decides
    assert QueryConfig(min_relevance=0.5).relevance_bounds("hashing:256") == (0.5, 0.5)


def test_off_topic_bounds_are_calibrated_per_embedding_model() -> None:
    config = QueryConfig()
    assert config.off_topic_bounds("sentence-transformers/all-MiniLM-L6-v2") == (0.40, 0.20)
    assert config.off_topic_bounds("hashing:256") is None
    assert QueryConfig(min_relevance=0.3).off_topic_bounds("sentence-transformers/all-MiniLM-L6-v2") == (0.3, None)
    assert QueryConfig(min_relevance=0.3, off_topic_window=0.1).off_topic_bounds("hashing:256") == (0.3, 0.1)


def test_an_answer_is_off_topic_only_when_neither_its_passage_nor_its_window_is_about_the_question(index) -> None:
    """ "UK" to "Where was the 2000 study conducted?" stood in a passage at 0.197 of cosine to the question
    (below the passage bound) but in a sentence about the question: returned. Both low: refused."""
    def ask(window_bound: float) -> Answer:
        llm = ScriptedChatModel([reply("In committee [{parliament.txt}].")])
        config = QueryConfig(min_relevance=-1.0, sure_relevance=-1.0, off_topic_passage=1.0,
                             off_topic_window=window_bound, max_rewrites=0)
        return QueryEngine(index, llm=llm, config=config).query(PARLIAMENT_Q)

    claim = events(ask(-1.0), "check")[0]["claims"][0]
    assert claim["relevance"] < 1.0  # below the passage bound: the window was scored
    window = claim["window_relevance"]
    emb = index.embedder
    sentence = "Much of the work of the Scottish Parliament is done in committee."
    assert window == pytest.approx(float(emb.embed_query(PARLIAMENT_Q) @ emb.embed_query(sentence)), abs=2e-3)
    assert not ask(window - 0.01).refused
    refused = ask(window + 0.01)
    assert refused.refused and events(refused, "check")[0]["verdict"] == "unsupported"


def test_an_unsure_answer_the_grader_confirms_is_returned(index) -> None:
    question = "Which country is the third largest producer of rubber, and which Games?"
    llm = ScriptedChatModel([reply("Malaysia [{rubber.txt}]"), YES])
    answer = QueryEngine(index, llm=llm, config=QueryConfig(min_alignment=0.9)).query(question)
    assert not answer.refused and answer.citations[0].source == "rubber.txt"
    assert [e["verdict"] for e in events(answer, "grade")] == ["supported"]


@pytest.mark.parametrize(("grade", "calls", "refused"), [("auto", 1, False), ("unsure", 2, True)])
def test_with_calibrated_relevance_an_unsure_answer_is_returned_ungraded(index, grade: str, calls: int,
                                                                          refused: bool) -> None:
    """Partly supported, on a passage about the question (relevance above the calibrated bound, below the
    sure one): returned without a grading call by default; graded (here: refused) with grade="unsure"."""
    question = "Which country is the third largest producer of rubber, and which Games?"
    llm = ScriptedChatModel([reply("Malaysia [{rubber.txt}]"), NO])
    config = QueryConfig(grade=grade, min_relevance=-1.0, sure_relevance=1.0, max_rewrites=0)
    answer = QueryEngine(index, llm=llm, config=config).query(question)
    assert answer.refused is refused and len(llm.calls) == calls
    assert events(answer, "check")[0]["verdict"] == ("supported" if grade == "auto" else "unsure")


@pytest.mark.parametrize(("grade", "calls"), [("never", 1), ("always", 2)])
def test_grading_can_be_turned_off_or_forced(index, grade: str, calls: int) -> None:
    llm = ScriptedChatModel([reply("In committee [{parliament.txt}]."), YES])
    answer = QueryEngine(index, llm=llm, config=QueryConfig(grade=grade)).query(PARLIAMENT_Q)
    assert not answer.refused and len(llm.calls) == calls


def test_weak_retrieval_is_rewritten_and_a_repeated_query_is_skipped(index) -> None:
    question = "What is the melting point of tungsten in kelvin?"  # no passage holds its words
    llm = ScriptedChatModel([REFUSAL, "What is the melting point of tungsten in kelvin?"])
    answer = QueryEngine(index, llm=llm).query(question)
    assert answer.refused and path(answer).count("retrieve") == 1  # the rewrite equalled the question
    (event,) = events(answer, "rewrite")
    assert event["skipped"] == "same as an earlier query" and llm.remaining == 0


def test_a_rewrite_that_finds_the_passage_recovers(index) -> None:
    question = "Sparkling tower Paris inauguration?"
    llm = ScriptedChatModel([REFUSAL, "Eiffel Tower opened", reply("1889 [{tower.md}].")])
    answer = QueryEngine(index, llm=llm, config=QueryConfig(rewrite_below=0.9)).query(question)
    assert not answer.refused and answer.citations[0].source == "tower.md"
    assert [e["verdict"] for e in events(answer, "check")] == ["refused", "supported"]
    assert events(answer, "rewrite")[0]["to"] == "Eiffel Tower opened"


@pytest.mark.parametrize("max_rewrites", [0, 1, 3])
def test_the_rewrite_loop_is_bounded(index, max_rewrites: int) -> None:
    llm = ScriptedChatModel([REFUSAL])
    for i in range(max_rewrites):
        llm.add(f"tungsten query {i}", REFUSAL)
    config = QueryConfig(max_rewrites=max_rewrites, rewrite_below=1.0)
    answer = QueryEngine(index, llm=llm, config=config).query("tungsten melting point?")
    assert answer.refused
    assert path(answer).count("rewrite") == max_rewrites and path(answer).count("synthesise") == max_rewrites + 1
    assert llm.remaining == 0


def test_explained_style_keeps_supported_support_and_cuts_the_rest(index) -> None:
    llm = ScriptedChatModel([reply("In committee [{parliament.txt}]. Committees have a stronger role "
                                   "[{parliament.txt}]. The committees meet on Mars every Tuesday [{tower.md}].")])
    answer = QueryEngine(index, llm=llm, config=QueryConfig(answer_style="explained")).query(PARLIAMENT_Q)
    assert not answer.refused and "Mars" not in answer.text and len(answer.citations) == 2
    assert "at most two short sentences" in llm.calls[0].messages[0].content
    assert events(answer, "finish")[0]["claims_left_out"] == 1


def test_json_format_is_bounded_and_quotes_are_optional(index) -> None:
    llm = ScriptedChatModel([json_reply("In committee [{parliament.txt}].")])
    answer = QueryEngine(index, llm=llm, config=QueryConfig(answer_format="json")).query(PARLIAMENT_Q)
    schema = llm.calls[0].format
    assert schema["properties"]["citations"]["maxItems"] == 3
    assert "quote" not in schema["properties"]["citations"]["items"]["properties"]  # the engine finds spans
    assert not answer.refused and answer.citations[0].verified

    llm = ScriptedChatModel([json_reply("In committee [{parliament.txt}].", ("parliament.txt", "done in committee"))])
    config = QueryConfig(answer_format="json", quotes=True, max_quote_chars=80)
    answer = QueryEngine(index, llm=llm, config=config).query(PARLIAMENT_Q)
    assert llm.calls[0].format["properties"]["citations"]["items"]["properties"]["quote"]["maxLength"] == 80
    assert answer.citations[0].quote == "done in committee"  # the model's quote, found in its block


def test_a_runaway_json_reply_cut_off_keeps_its_answer(index) -> None:
    def runaway(messages: list[Message]) -> str:
        n = block(messages, "parliament.txt")
        return f'{{"answer": "In committee [{n}]", "citations": [{{"n": {n}, "quote": "Much of the work of the Sc'

    llm = ScriptedChatModel([runaway])
    answer = QueryEngine(index, llm=llm, config=QueryConfig(answer_format="json")).query(PARLIAMENT_Q)
    assert not answer.refused and answer.text.startswith("In committee [")
    assert events(answer, "synthesise")[0]["salvaged"] is True and len(llm.calls) == 1  # no doubled re-ask


def test_min_score_refuses_without_calling_the_model(index) -> None:
    llm = ScriptedChatModel([])
    answer = QueryEngine(index, llm=llm, config=QueryConfig(min_score=1e9, max_rewrites=0)).query(Q)
    assert answer.refused and llm.calls == []


def test_streaming_yields_pieces_then_citations_then_the_answer_under_the_same_policy(index) -> None:
    llm = ScriptedChatModel([wrong_block("It opened in 1889 [{n}].", "tower.md")])
    parts = list(QueryEngine(index, llm=llm).stream(Q))
    pieces = [p for p in parts if isinstance(p, str)]
    assert len(pieces) > 3 and "".join(pieces).startswith("It opened in 1889 [")
    assert isinstance(parts[-1], Answer) and isinstance(parts[-2], Citation)
    assert parts[-1].citations[0].source == "tower.md" and parts[-1].repairs and llm.calls[0].stream

    unrelated = ScriptedChatModel([reply("It was painted by Leonardo [{tower.md}].")])
    refused = list(QueryEngine(index, llm=unrelated).stream(Q))[-1]
    assert refused.refused  # the text was streamed, then the same refusal as query() gives


def test_the_graph_is_inspectable_and_nodes_replaceable(index) -> None:
    def keep_one(state, ctx):
        return {"context": [h for h in state.context if h.chunk.source == "tower.md"]}

    llm = ScriptedChatModel([reply("It opened in 1889 [1].")])
    engine = QueryEngine(index, llm=llm, graph=build_default_graph(rerank=keep_one))
    assert "rerank" in engine.graph.to_mermaid()
    answer = engine.query(Q)
    assert [h.chunk.source for h in answer.hits] == ["tower.md"] and answer.citations[0].number == 1
    with pytest.raises(QueryError, match="unknown query-graph nodes"):
        build_default_graph(rerankk=keep_one)


def test_config_is_validated() -> None:
    with pytest.raises(ValidationError):
        QueryConfig(max_rewritez=2)
    with pytest.raises(ValidationError, match="cross_encoder"):
        QueryConfig(rerank="cross_encoder")
    with pytest.raises(ValidationError, match="candidates"):
        QueryConfig(k=10, candidates=5)
    with pytest.raises(ValidationError, match="reject_support"):
        QueryConfig(accept_support=0.3, reject_support=0.5)


def test_an_empty_question_is_an_error(index) -> None:
    with pytest.raises(QueryError, match="empty"):
        QueryEngine(index, llm=ScriptedChatModel([])).query("  ")


def test_the_where_filter_reaches_retrieval(index) -> None:
    llm = ScriptedChatModel([reply("Yellow [{fruit.txt}].")])
    answer = QueryEngine(index, llm=llm).query("What colour are bananas?", where={"path": "fruit*"})
    assert {h.chunk.source for h in answer.hits} == {"fruit.txt"} and not answer.refused


def test_the_cross_encoder_reranker_is_configured_lazily(index) -> None:
    engine = QueryEngine(index, llm=ScriptedChatModel([]),
                         config=QueryConfig(rerank="cross_encoder", cross_encoder="some/cross-encoder"))
    assert type(engine.reranker).__name__ == "CrossEncoderReranker"
    assert engine.reranker.model == "some/cross-encoder"  # nothing loaded until the first query


def test_the_default_graph_mermaid_snapshot() -> None:
    mermaid = build_default_graph().compile().to_mermaid()
    edges = [line.strip() for line in mermaid.splitlines() if "-->" in line or "-.->" in line]
    assert edges == [
        "__start__ -.-> condense", "__start__ -.-> route",  # condense only when there is history
        "condense --> route",
        "route -.-> retrieve", "route -.-> call_tools",
        "retrieve --> join", "call_tools --> join",
        "join --> rerank", "rerank --> synthesise", "synthesise --> check",
        "check -.-> grade", "check -.-> attempt",
        "grade --> attempt",
        "attempt -.-> rewrite", "attempt -.-> finish",
        "rewrite -.-> retrieve", "rewrite -.-> finish",
        "finish --> __end__",
    ]


def test_search_options_reach_the_index(index) -> None:
    def hits_with(config: QueryConfig) -> list:
        llm = ScriptedChatModel([reply("It opened in 1889 [{tower.md}].")])
        return QueryEngine(index, llm=llm, config=config).query(Q).hits

    rrf = hits_with(QueryConfig(search={"fusion": "rrf"}))
    assert all(h.score <= 2 / 61 for h in rrf)  # reciprocal-rank scores
    assert hits_with(QueryConfig(mode="lexical"))[0].scores.keys() == {"lexical"}


@pytest.mark.parametrize("draft", ["Yes.", "No", "No. [2]"])
def test_a_bare_yes_or_no_is_attributed_by_the_question_and_not_refused(index, draft: str) -> None:
    """ "No" to "is call of duty and black ops the same thing" (ClapNQ, right) was refused: "no" is a stop
    word, so the answer had no claim at all."""
    llm = ScriptedChatModel([draft])
    answer = QueryEngine(index, llm=llm).query("Did the Eiffel Tower open for the World's Fair?")
    assert not answer.refused and answer.text.startswith(draft[:2]) and answer.citations[0].source == "tower.md"
    assert len(llm.calls) == 1
