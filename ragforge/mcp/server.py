"""The MCP server: read-only tools over one open index, on the official ``mcp`` SDK's ``MCPServer``.

Tools: ``search``, ``get_passage``, ``get_document``, ``list_sources``, and ``ask`` when a chat model is
given. A RagforgeError becomes a tool error whose text is the error's one-line message (the model reads it
and can correct its call); results are pydantic models, so clients get structured content and JSON text.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, Field

from ragforge.errors import ConfigError, RagforgeError
from ragforge.mcp.catalog import Catalog, SourceInfo, TextSpan
from ragforge.types import Hit

INSTRUCTIONS = (
    "Search the user's local documents indexed by ragforge. Use `search` to find passages, then cite each "
    "passage by its source (and page, when it has one). Follow a citation with `get_passage` (character "
    "offsets) or `get_document` (a whole file, or one page of it). `list_sources` names the indexed files."
)
MAX_K = 50
log = logging.getLogger("ragforge.mcp")
F = TypeVar("F", bound=Callable[..., Any])


class Passage(BaseModel):
    """One search hit: where it is (source, page, heading path, character span) and its text."""

    rank: int
    score: float
    source: str
    page: int | None
    heading: list[str]
    start: int
    end: int
    citation: str  # e.g. "manual.pdf, p. 3" or "notes.md § Setup > Install"
    text: str


class CitedSource(BaseModel):
    number: int
    source: str
    page: int | None
    start: int
    end: int
    quote: str
    verified: bool  # the quote was found in the cited passage


class GroundedAnswer(BaseModel):
    answer: str
    refused: bool  # the documents did not support an answer
    citations: list[CitedSource]


def passage(hit: Hit) -> Passage:
    chunk = hit.chunk
    return Passage(rank=hit.rank, score=round(hit.score, 6), source=chunk.source, page=chunk.page,
                   heading=list(chunk.heading_path), start=chunk.start, end=chunk.end,
                   citation=chunk.citation_label(), text=chunk.text)


def _errors(fn: F) -> F:
    """Run a tool; a RagforgeError becomes the SDK's ToolError carrying the one-line message."""
    from mcp.server.mcpserver.exceptions import ToolError

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except RagforgeError as exc:
            raise ToolError(str(exc)) from exc

    return wrapper  # type: ignore[return-value]


class RagforgeTools:
    """The tool functions, bound to an index (and a chat model for ``ask``)."""

    def __init__(self, index: Any, llm: Any = None) -> None:
        self.index = index
        self.llm = llm
        self.catalog = Catalog(index.path)

    def search(self, query: str, k: Annotated[int, Field(ge=1, le=MAX_K)] = 5,
               mode: Literal["hybrid", "dense", "lexical"] = "hybrid", path_glob: str | None = None,
               file_type: str | None = None) -> list[Passage]:
        """Search the indexed documents. Returns up to k passages, best first, each with its source file,
        page (PDF page or slide), heading path, character span and score. `mode`: hybrid (default),
        dense (meaning) or lexical (exact words). `path_glob` keeps files whose path matches (e.g.
        "manuals/**" or "*.pdf"); `file_type` keeps one type (pdf, markdown, text, html, docx, pptx, xlsx,
        csv, epub, email, notebook)."""
        if not query.strip():
            raise ConfigError("the query is empty")
        where = {key: value for key, value in (("path", path_glob), ("file_type", file_type)) if value}
        if where and not any(not file_type or s.file_type == file_type for s in self.catalog.sources(path_glob)):
            raise ConfigError(f"no indexed file matches {where}; list_sources names the indexed files")
        return [passage(hit) for hit in self.index.search(query, k=k, mode=mode, where=where or None)]

    def get_passage(self, source: str, start: Annotated[int, Field(ge=0)],
                    end: Annotated[int, Field(ge=1)]) -> TextSpan:
        """The text of `source` between character offsets `start` and `end` (as given by search results
        and citations), at most 20,000 characters."""
        return self.catalog.passage(source, start, end)

    def get_document(self, source: str, page: Annotated[int, Field(ge=1)] | None = None) -> TextSpan:
        """The indexed text of one file, or of one page (PDF page or slide number) of it; long texts are cut
        at 50,000 characters (`truncated` is then true: read on with get_passage)."""
        return self.catalog.document(source, page)

    def list_sources(self, glob: str | None = None) -> list[SourceInfo]:
        """The indexed files (optionally only those whose path matches `glob`, e.g. "reports/*.pdf"), each
        with its title, type, number of chunks and number of pages."""
        return self.catalog.sources(glob)

    def ask(self, question: str) -> GroundedAnswer:
        """Answer a question from the indexed documents with the configured local model. The answer cites
        passages as [n]; each citation names its source, page and span, and whether its quote was found
        in that passage. `refused` is true when the documents do not support an answer."""
        from ragforge.query import QueryEngine

        with QueryEngine(self.index, llm=self.llm) as engine:
            answer = engine.query(question)
        cites = [CitedSource(number=c.number, source=c.source, page=c.page, start=c.start, end=c.end,
                             quote=c.quote, verified=c.verified) for c in answer.citations]
        return GroundedAnswer(answer=answer.text, refused=answer.refused, citations=cites)


def build_server(index: Any, llm: Any = None, *, name: str = "ragforge") -> Any:
    """An ``mcp.server.mcpserver.MCPServer`` with ragforge's read-only tools over ``index`` (an open
    :class:`~ragforge.Index`). ``ask`` is offered only when ``llm`` (a ChatModel) is given. Serve it with
    ``server.run()`` (stdio) or ``server.run("streamable-http", host=..., port=...)``."""
    try:
        from mcp.server.mcpserver import MCPServer
        from mcp.types import ToolAnnotations
    except ImportError as exc:
        raise ConfigError("the MCP server needs the mcp package: pip install 'ragforge[mcp]'") from exc

    tools = RagforgeTools(index, llm)
    server = MCPServer(name, instructions=INSTRUCTIONS, log_level="WARNING")
    read_only = ToolAnnotations(read_only_hint=True, destructive_hint=False, open_world_hint=False)
    names = ["search", "get_passage", "get_document", "list_sources"] + (["ask"] if llm is not None else [])
    for tool in names:
        server.add_tool(_errors(getattr(tools, tool)), name=tool, annotations=read_only)
    return server


def serve(index_path: str | Path, *, port: int | None = None, host: str = "127.0.0.1", llm: str | None = None,
          timeout: float | None = None) -> None:
    """What ``ragforge mcp`` does: open the index and serve it over stdio, or over streamable HTTP at
    ``http://HOST:PORT/mcp`` when ``port`` is given, until the client hangs up (or Ctrl-C). ``llm`` is a
    model spec for the ``ask`` tool (``qwen2.5-coder:1.5b``, ``gguf:PATH``, ``openai:NAME@URL``)."""
    from ragforge.llm import make_chat_model
    from ragforge.retrieval.index import open_index

    chat = make_chat_model(llm, timeout=timeout) if llm else None
    check = getattr(chat, "check", None)
    if callable(check):
        try:
            check()
        except RagforgeError as exc:  # the server still starts; `ask` reports the same error when called
            log.warning("the ask tool's model is not ready: %s", exc)
    with open_index(index_path) as index:
        server = build_server(index, chat)
        if port is None:
            server.run()
        else:
            server.run("streamable-http", host=host, port=port)
