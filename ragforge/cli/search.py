"""`ragforge query`: ranked passages with citations, no LLM."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ragforge.cli._common import MODES, friendly_errors, hit_json, indent, index_option, resolve_index, shorten


@click.command("query")
@click.argument("text")
@index_option
@click.option("-k", "k", type=click.IntRange(1, 1000), default=5, show_default=True, help="Number of hits.")
@click.option("--mode", type=click.Choice(MODES), default="hybrid", show_default=True, help="Retrieval mode.")
@click.option("--rerank", default=None, metavar="MODEL", help="Rerank with this cross-encoder (name or path).")
@click.option("--path", "path_glob", default=None, metavar="GLOB", help="Only chunks whose source matches GLOB.")
@click.option("--type", "file_type", default=None, help="Only chunks of this file type (pdf, markdown, text, html).")
@click.option("--json", "as_json", is_flag=True, help="Print hits as JSON.")
@friendly_errors
def query_cmd(text: str, index_path: Path | None, k: int, mode: str, rerank: str | None,
              path_glob: str | None, file_type: str | None, as_json: bool) -> None:
    """Search the index for TEXT and print ranked passages with citations (no LLM needed)."""
    from ragforge import open_index

    where = {key: value for key, value in (("path", path_glob), ("file_type", file_type)) if value}
    with open_index(resolve_index(index_path)) as index:
        hits = index.search(text, k=k, mode=mode, rerank=rerank, where=where or None)
    if as_json:
        click.echo(json.dumps([hit_json(hit) for hit in hits], indent=2, ensure_ascii=False))
        return
    if not hits:
        click.echo("No matching passages.")
    for hit in hits:
        click.echo(f"[{hit.rank}] {hit.chunk.citation_label()}  (score {hit.score:.4f})")
        click.echo(indent(shorten(hit.text, 400)))
        click.echo()
