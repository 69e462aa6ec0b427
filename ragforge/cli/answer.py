"""`ragforge ask`: a grounded answer from a local model."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ragforge.cli._common import (
    engine_settings_option,
    friendly_errors,
    index_option,
    llm_options,
    query_config,
    resolve_index,
    shorten,
)


@click.command("ask")
@click.argument("question")
@index_option
@llm_options
@click.option("-k", "k", type=click.IntRange(1, 100), default=5, show_default=True, help="Passages to read.")
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
@engine_settings_option
@friendly_errors
def ask_cmd(question: str, index_path: Path | None, llm_model: str, host: str | None, small_llm: str | None,
            timeout: float, k: int, as_json: bool, settings: tuple[str, ...]) -> None:
    """Answer QUESTION from the index with a local model (Ollama, a GGUF file, or an OpenAI-compatible
    server), citing pages."""
    from ragforge.query import ask

    config = query_config(settings, k=k, candidates=max(20, k))
    answer = ask(resolve_index(index_path), question, llm_model=llm_model, host=host, k=k,
                 small_model=small_llm, timeout=timeout, config=config)
    if as_json:
        click.echo(json.dumps(answer.model_dump(mode="json", exclude={"trace"}), indent=2, ensure_ascii=False))
        return
    click.echo(answer.text)
    if answer.citations:
        click.echo()
        for cite in answer.citations:
            page = f", p. {cite.page}" if cite.page is not None else ""
            quote = f': "{shorten(cite.quote, 200)}"' if cite.quote and cite.verified else ""
            click.echo(f"[{cite.number}] {cite.source}{page}{quote}")
