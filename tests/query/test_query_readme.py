"""docs/query.md's tool-routing worked example, run with scripted models instead of Ollama."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from ragforge.llm import Message
from ragforge.query import QueryEngine
from ragforge.testing.chat import ScriptedChatModel


def test_readme_tool_routing_example(index, tmp_path: Path) -> None:
    db = tmp_path / "finance.db"
    with sqlite3.connect(db) as conn:
        conn.execute("create table revenue (year int, revenue_musd real)")
        conn.execute("insert into revenue values (2023, 4210.0)")

    def revenue_by_year(year: int) -> dict:
        """Look up the company's reported revenue (million USD) for a fiscal year in the finance database.

        Args:
            year: the fiscal year, e.g. 2023
        """
        row = sqlite3.connect(db).execute("select revenue_musd from revenue where year = ?", (year,)).fetchone()
        return {"year": year, "revenue_musd": row[0] if row else None}

    def percent_change(old: float, new: float) -> float:
        """Percentage change from old to new."""
        return round(100 * (new - old) / old, 2)

    router = ScriptedChatModel([ScriptedChatModel.tool_calls(("search_documents", {"query": "revenue 2023"}),
                                                              ("revenue_by_year", {"year": 2023}))])

    def answer(messages: list[Message]) -> str:
        prompt = messages[-1].content
        tool = int(re.search(r"\[(\d+)\] \(tool: revenue_by_year", prompt).group(1))
        page = int(re.search(r"\[(\d+)\] \(report\.pdf, p\. 2", prompt).group(1))
        return (f"Revenue was 4210.0 million USD in 2023 [{tool}]; the report says net revenue was up 7 percent "
                f"[{page}].")

    # "million USD" is the model's paraphrase of the tool's JSON: unsure, so the small model grades it once
    router.add('{"answers": true}')
    engine = QueryEngine(index, llm=ScriptedChatModel([answer]), small_llm=router,
                         tools=[revenue_by_year, percent_change])
    result = engine.query("What does the database say 2023 revenue was, and what did the report say?")
    cited = [(c.source, c.page, c.verified) for c in result.citations]
    assert cited == [('tool: revenue_by_year({"year": 2023})', None, True), ("report.pdf", 2, True)]
    assert {t["function"]["name"] for t in router.calls[0].tools} == {"search_documents", "revenue_by_year",
                                                                      "percent_change"}
    assert "retrieve" in engine.graph.to_mermaid()
