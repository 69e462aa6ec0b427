"""`ragforge ask`: a grounded answer from a local model."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ragforge.cli._common import friendly_errors, index_option, resolve_index


@click.command("ask")
@click.argument("question")
@index_option
@click.option("--llm", "llm_model", default="llama3.2", show_default=True, help="Ollama model for the answer.")
@click.option("--host", default=None, help="Ollama server (default: $OLLAMA_HOST or http://127.0.0.1:11434).")
@click.option("--small-llm", default=None, help="Smaller Ollama model for routing, rewriting and grading.")
@click.option("-k", "k", type=click.IntRange(1, 100), default=5, show_default=True, help="Passages to read.")
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
@friendly_errors
def ask_cmd(question: str, index_path: Path | None, llm_model: str, host: str | None, small_llm: str | None,
            k: int, as_json: bool) -> None:
    """Answer QUESTION from the index with a local Ollama model, citing pages."""
    from ragforge.query import ask

    answer = ask(resolve_index(index_path), question, llm_model=llm_model, host=host, k=k,
                 small_model=small_llm)
    if as_json:
        click.echo(json.dumps(answer.model_dump(mode="json", exclude={"trace"}), indent=2, ensure_ascii=False))
        return
    click.echo(answer.text)
    if answer.citations:
        click.echo()
        for cite in answer.citations:
            page = f", p. {cite.page}" if cite.page is not None else ""
            click.echo(f"[{cite.number}] {cite.source}{page}")
