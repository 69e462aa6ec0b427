"""`ragforge chat`: question after question in the terminal; follow-ups are read in the light of the conversation."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from ragforge.cli._common import friendly_errors, index_option, llm_options, resolve_index, shorten


@click.command("chat")
@index_option
@llm_options
@click.option("-k", "k", type=click.IntRange(1, 100), default=5, show_default=True, help="Passages to read.")
@click.option("--session", default=None, metavar="NAME", help="Keep the conversation as NAME (in "
              "$RAGFORGE_HOME/chat.sqlite) and resume it when NAME is given again.")
@click.option("--reset", is_flag=True, help="With --session: forget NAME's earlier turns first.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per answer (with the standalone question "
              "a follow-up was rewritten to); no prompt.")
@friendly_errors
def chat_cmd(index_path: Path | None, llm_model: str, host: str | None, small_llm: str | None, timeout: float,
             k: int, session: str | None, reset: bool, as_json: bool) -> None:
    """Ask questions one per line; a follow-up ("And in 2023?") is rewritten from the conversation into a
    standalone question before the search. Questions come from the terminal or from standard input; an empty
    line is skipped; Ctrl-D (end of input) or Ctrl-C ends the chat."""
    from ragforge.query import open_chat

    stdin = sys.stdin
    interactive = not as_json and stdin.isatty()
    with open_chat(resolve_index(index_path), llm_model, host=host, k=k, small_model=small_llm, timeout=timeout,
                   session=session) as chat:
        if reset:
            chat.reset()
        if interactive:
            resumed = f"; session {session}: {len(chat.history)} earlier turns" if chat.history else ""
            click.echo(f"one question per line, Ctrl-D ends{resumed}", err=True)
        turn = len(chat.history)
        try:
            while (question := _read(stdin, interactive)) is not None:
                if not question:
                    continue
                turn += 1
                answer = chat.ask(question)
                _print(answer, question, turn, session, as_json)
        except KeyboardInterrupt:
            click.echo("", err=True)


def _read(stdin: Any, interactive: bool) -> str | None:
    """The next question ("" for a blank line), None at the end of input."""
    if interactive:
        try:
            return input("> ").strip()
        except EOFError:
            click.echo("", err=True)
            return None
    line = stdin.readline()
    return line.strip() if line else None


def _print(answer: Any, question: str, turn: int, session: str | None, as_json: bool) -> None:
    from ragforge.query import condensed

    if as_json:
        data = {"session": session, "turn": turn, "question": question, "standalone": answer.question,
                "condense": condensed(answer), **answer.model_dump(mode="json", exclude={"trace", "question"})}
        click.echo(json.dumps(data, ensure_ascii=False))
        return
    if answer.question != question:
        click.echo(f"({answer.question})", err=True)
    click.echo(answer.text)
    for cite in answer.citations:
        page = f", p. {cite.page}" if cite.page is not None else ""
        quote = f': "{shorten(cite.quote, 200)}"' if cite.quote and cite.verified else ""
        click.echo(f"  [{cite.number}] {cite.source}{page}{quote}")
    click.echo()
