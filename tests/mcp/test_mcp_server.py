"""The MCP server in-process, through the SDK's own client: tools, results, citations followed, errors."""

from __future__ import annotations

import asyncio
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from ragforge.errors import ConfigError, LLMConnectionError
from ragforge.mcp import build_server
from ragforge.readers import read_file
from ragforge.testing.chat import ScriptedChatModel

SAMPLE = Path(__file__).resolve().parents[2] / "corpora" / "sample"
READ_TOOLS = {"search", "get_passage", "get_document", "list_sources"}


def run(server: Any, *calls: tuple[str, dict[str, Any]]) -> list[Any]:
    """Call tools on ``server`` through the SDK's in-process client; the CallToolResults, in order."""
    from mcp import Client

    async def main() -> list[Any]:
        async with Client(server, raise_exceptions=True) as client:
            return [await client.call_tool(name, args) for name, args in calls]

    return asyncio.run(main())


def tools_of(server: Any) -> dict[str, Any]:
    from mcp import Client

    async def main() -> dict[str, Any]:
        async with Client(server, raise_exceptions=True) as client:
            return {tool.name: tool for tool in (await client.list_tools()).tools}

    return asyncio.run(main())


def result(call: Any) -> Any:
    """A successful call's structured result (lists come wrapped as {"result": [...]})."""
    assert not call.is_error, call.content
    data = call.structured_content
    return data["result"] if set(data) == {"result"} else data


def error(call: Any) -> str:
    """A failed call's message: one line, no traceback."""
    assert call.is_error and len(call.content) == 1, call
    text = call.content[0].text
    assert "\n" not in text and "Traceback" not in text
    return text


def test_read_only_tools_are_listed_and_ask_needs_a_model(index):
    tools = tools_of(build_server(index))
    assert set(tools) == READ_TOOLS
    assert all(t.annotations.read_only_hint and not t.annotations.destructive_hint for t in tools.values())
    search = tools["search"].input_schema["properties"]
    assert search["k"]["maximum"] == 50 and search["mode"]["enum"] == ["hybrid", "dense", "lexical"]
    assert set(tools_of(build_server(index, llm=ScriptedChatModel([])))) == READ_TOOLS | {"ask"}


def test_search_gives_passages_with_their_place_and_the_citation_can_be_followed(index):
    server = build_server(index)
    (call,) = run(server, ("search", {"query": "What ISO should I start at for the Milky Way?", "k": 3}))
    hits = result(call)
    assert len(hits) == 3 and [h["rank"] for h in hits] == [1, 2, 3]
    top = hits[0]
    assert top["source"] == "astronomy/night_sky_workshop.pptx" and top["page"] == 3
    assert top["heading"] == ["Camera settings for the Milky Way"] and "ISO 3200" in top["text"]
    assert top["citation"] == "astronomy/night_sky_workshop.pptx, p. 3 § Camera settings for the Milky Way"
    assert json.loads(call.content[0].text)["source"] == top["source"]  # text content for clients without structure
    passage, page = run(server, ("get_passage", {"source": top["source"], "start": top["start"], "end": top["end"]}),
                        ("get_document", {"source": top["source"], "page": 3}))
    assert result(passage)["text"] == top["text"] and result(passage)["page"] == 3
    assert top["text"] in result(page)["text"] and result(page)["truncated"] is False


def test_search_filters_and_modes(index):
    server = build_server(index)
    by_path, by_type, lexical = run(
        server, ("search", {"query": "starter", "path_glob": "kitchen/*.mbox"}),
        ("search", {"query": "fee for a plot", "file_type": "docx", "k": 2}),
        ("search", {"query": "Larkspur", "mode": "lexical", "k": 1}))
    assert {h["source"] for h in result(by_path)} == {"kitchen/sourdough_club.mbox"}
    assert {h["source"] for h in result(by_type)} == {"home/garden_plot_handbook.docx"}
    (hit,) = result(lexical)
    assert hit["source"] == "outdoors/saturday_ride.eml" and "Attachment: route_notes.md" in hit["heading"]


def test_list_sources_counts_chunks_and_pages(index):
    server = build_server(index)
    everything, pdfs = run(server, ("list_sources", {}), ("list_sources", {"glob": "*.pdf"}))
    sources = {s["source"]: s for s in result(everything)}
    assert len(sources) == 38 and sum(s["chunks"] for s in sources.values()) == index.info().chunks
    assert sources["astronomy/night_sky_workshop.pptx"]["pages"] == 4
    assert sources["kitchen/bakery_production.xlsx"]["pages"] is None
    assert sources["home/garden_plot_handbook.docx"]["title"] == "Elmsworth Community Garden: Plot Holder Handbook"
    assert {s["source"] for s in result(pdfs)} == {"bikes/bicycle_repair_basics.pdf", "history/lighthouse_history.pdf",
                                                   "manuals/kettlewick_k2_manual.pdf"}


@pytest.mark.parametrize("source", ["home/garden_plot_handbook.docx", "kitchen/sourdough_club.mbox",
                                    "history/lighthouse_history.pdf", "gardening/tomatoes.md"])
def test_get_document_gives_back_the_read_text(index, source):
    original = read_file(SAMPLE / source, source).text.rstrip()
    (call,) = run(build_server(index), ("get_document", {"source": source}))
    text = result(call)["text"]
    assert len(text) == len(original)
    differ = [i for i, (a, b) in enumerate(zip(text, original, strict=True)) if a != b]
    assert all(text[i] == " " and original[i].isspace() for i in differ)  # unindexed blank space only
    assert len(differ) <= original.count("\n")


def test_errors_are_one_line_tool_errors_never_empty_results(index):
    server = build_server(index)
    calls = run(server,
                ("search", {"query": "  "}),
                ("search", {"query": "x", "path_glob": "nothing/**"}),
                ("search", {"query": "x", "file_type": "spreadsheet"}),
                ("get_document", {"source": "nope.md"}),
                ("get_document", {"source": "manuals/kettlewick_k2_manual.pdf", "page": 99}),
                ("get_passage", {"source": "gardening/tomatoes.md", "start": 10, "end": 5}),
                ("get_passage", {"source": "gardening/tomatoes.md", "start": 10**7, "end": 10**7 + 5}))
    messages = [error(call) for call in calls]
    assert "the query is empty" in messages[0]
    assert "no indexed file matches" in messages[1] and "list_sources" in messages[1]
    assert "no indexed file matches" in messages[2]
    assert "'nope.md' is not in the index" in messages[3]
    assert re.search(r"has no page 99; its pages are 1-\d", messages[4])
    assert "need 0 <= start < end" in messages[5] and "past its end" in messages[6]


def test_arguments_outside_the_schema_are_rejected_by_the_sdk(index):
    too_many, bad_mode = run(build_server(index), ("search", {"query": "x", "k": 500}),
                             ("search", {"query": "x", "mode": "fuzzy"}))
    assert too_many.is_error and "less than or equal to 50" in too_many.content[0].text
    assert bad_mode.is_error and "hybrid" in bad_mode.content[0].text


def cite_reply(source: str, answer: str):
    """A short plain-text answer citing the prompt's context block from ``source`` (what small models write)."""
    def make(messages):
        prompt = next(m.content for m in messages if m.role == "user" and "Context:" in m.content)
        number = int(re.search(r"\[(\d+)\] \(" + re.escape(source), prompt).group(1))
        return f"{answer} [{number}]."
    return make


def test_ask_gives_a_grounded_answer_with_verified_citations(index):
    llm = ScriptedChatModel([cite_reply("kitchen/sourdough_club.mbox", "On 12 April at the village hall")])
    (call,) = run(build_server(index, llm=llm), ("ask", {"question": "When is the sourdough club's spring bake-off?"}))
    answer = result(call)
    assert answer["refused"] is False and answer["answer"].startswith("On 12 April at the village hall [")
    (cite,) = answer["citations"]
    assert cite["source"] == "kitchen/sourdough_club.mbox" and cite["verified"] is True
    assert "12 April at the village hall" in cite["quote"]
    passage = result(run(build_server(index), ("get_passage", {"source": cite["source"], "start": cite["start"],
                                                                "end": cite["end"]}))[0])
    assert passage["text"] == cite["quote"]  # the citation's span, followed, is its quote


def test_ask_reports_a_model_that_is_down_as_a_tool_error(index):
    llm = ScriptedChatModel([LLMConnectionError("cannot reach Ollama at http://127.0.0.1:11434: run `ollama serve`")],
                            repeat_last=True)
    (call,) = run(build_server(index, llm=llm), ("ask", {"question": "When is the bake-off?"}))
    assert "ollama serve" in error(call)


def test_missing_mcp_package_names_the_extra(index, monkeypatch):
    monkeypatch.setitem(sys.modules, "mcp.server.mcpserver", None)  # import fails as if not installed
    with pytest.raises(ConfigError, match=r"pip install 'ragforge\[mcp\]'"):
        build_server(index)
