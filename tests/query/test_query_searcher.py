"""The query layer's seam: QueryEngine and PlainRAG answer from any Searcher, not only an Index."""

from __future__ import annotations

from typing import Any

from ragforge.query import PlainRAG, QueryEngine
from ragforge.retrieval import Searcher
from ragforge.testing.chat import ScriptedChatModel
from ragforge.types import Chunk, Hit

TEXT = "Much of the work of the Scottish Parliament is done in committee."


class OnePassage:
    """A searcher over one passage that records what it was asked."""

    def __init__(self) -> None:
        self.asked: list[dict[str, Any]] = []

    def search(self, query: str, k: int = 5, *, where: Any = None, mode: str = "hybrid",
               options: Any = None) -> list[Hit]:
        self.asked.append({"query": query, "k": k, "where": where, "mode": mode})
        chunk = Chunk(id=Chunk.make_id("minutes.txt", 0, len(TEXT), TEXT), source="minutes.txt", text=TEXT,
                      start=0, end=len(TEXT))
        return [Hit(chunk=chunk, score=1.0, rank=1, scores={"dense": 1.0})]


def test_the_engine_answers_from_any_searcher() -> None:
    searcher: Searcher = OnePassage()
    answer = QueryEngine(searcher, llm=ScriptedChatModel(["In committee [1]."])).query(
        "Where is most of the Scottish Parliament's work done?", where={"path": "minutes*"})
    assert not answer.refused and answer.text == "In committee [1]."
    (cite,) = answer.citations
    assert cite.source == "minutes.txt" and cite.verified and cite.quote == TEXT
    assert searcher.asked[0]["where"] == {"path": "minutes*"}  # the filter reaches the searcher as given


def test_the_plain_baseline_answers_from_any_searcher() -> None:
    answer = PlainRAG(OnePassage(), ScriptedChatModel(["In committee [1]."])).query("Where is the work done?")
    assert answer.text.startswith("In committee")
