"""`ragforge mcp`: serve an index to MCP clients (Claude Desktop, Claude Code, Cursor, VS Code) over stdio,
or over streamable HTTP with --http PORT."""

from __future__ import annotations

from pathlib import Path

import click

from ragforge.cli._common import LLM_SPEC_HELP, friendly_errors, index_option, resolve_index


@click.command("mcp")
@index_option
@click.option("--http", "port", type=click.IntRange(1, 65535), default=None, metavar="PORT",
              help="Serve streamable HTTP on PORT (at /mcp) instead of stdio.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on with --http; only loopback unless you say otherwise.")
@click.option("--llm", "llm_spec", default=None, metavar="SPEC",
              help=f"Model for the `ask` tool: {LLM_SPEC_HELP}. Without it, `ask` is not offered.")
@click.option("--timeout", type=click.FloatRange(min=1), default=300.0, show_default=True,
              help="Seconds allowed for each model call of `ask`.")
@friendly_errors
def mcp_cmd(index_path: Path | None, port: int | None, host: str, llm_spec: str | None, timeout: float) -> None:
    """Serve the index to MCP clients: search, get_passage, get_document, list_sources (and ask with --llm).

    Nothing is printed on stdout in stdio mode: that is the protocol's channel.
    """
    from ragforge.mcp import serve

    serve(resolve_index(index_path), port=port, host=host, llm=llm_spec, timeout=timeout)
