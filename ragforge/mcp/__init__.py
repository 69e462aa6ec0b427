"""ragforge as an MCP server: an index's passages as read-only tools for agents (Claude Desktop, Claude
Code, Cursor, VS Code, ...), on the official ``mcp`` SDK (``pip install 'ragforge[mcp]'``).

    from ragforge import open_index
    from ragforge.mcp import build_server

    with open_index("my-index") as index:
        build_server(index).run()                        # stdio; or run("streamable-http", port=8765)

Tools: ``search(query, k, mode, path_glob, file_type)``, ``get_passage(source, start, end)``,
``get_document(source, page)``, ``list_sources(glob)``, and ``ask(question)`` when a chat model is given
(``build_server(index, llm=...)``). ``serve(index_path, port=None, llm=None)`` is what ``ragforge mcp``
runs. The ``mcp`` package is imported only by ``build_server``.
"""

from __future__ import annotations

from ragforge.mcp.server import build_server, serve

__all__ = ["build_server", "serve"]
