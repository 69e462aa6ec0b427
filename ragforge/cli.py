"""The ``ragforge`` command: a thin shell over the Python API.

Each command parses its options, calls one API function and prints. Imports of the API happen inside the
commands so ``ragforge --help`` never loads torch or FAISS. A :class:`RagforgeError` becomes a one-line
message and exit status 1; never a traceback.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any, Callable

import click

from ragforge.config import default_index_path
from ragforge.errors import RagforgeError

MODES = ("dense", "lexical", "hybrid")


def _friendly_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn RagforgeError into ``Error: ...`` and exit 1."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except RagforgeError as exc:
            raise click.ClickException(str(exc)) from exc

    return wrapper


def _index_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--index",
        "index_path",
        type=click.Path(path_type=Path),
        envvar="RAGFORGE_INDEX",
        default=None,
        help="Index directory (default: $RAGFORGE_INDEX, else $RAGFORGE_HOME/index, else ~/.ragforge/index).",
    )(fn)


def _resolve_index(path: Path | None) -> Path:
    return path if path is not None else default_index_path()


class _Progress:
    """A click progress bar fed by the API's ``progress(done, total, label)`` callback."""

    def __init__(self, label: str, enabled: bool) -> None:
        self.label = label
        self.enabled = enabled
        self._bar: Any = None
        self._done = 0
        self._total = 0

    def __call__(self, done: int, total: int, item: str = "") -> None:
        if not self.enabled or total <= 0:
            return
        if self._bar is not None and (total != self._total or done < self._done):
            self.close()  # a new phase (e.g. indexing, then each retrieval mode) starts a new bar
        if self._bar is None:
            self._bar = click.progressbar(length=total, label=self.label, file=sys.stderr)
            self._bar.__enter__()
            self._done, self._total = 0, total
        self._bar.update(max(0, done - self._done))
        self._done = done

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ragforge")
def main() -> None:
    """ragforge: index your documents locally, search them, and ask questions with local models.

    \b
    ragforge index ./docs           build or update the index (only changes cost time)
    ragforge query "..."            ranked passages with citations, no LLM needed
    ragforge ask "..."              a grounded answer from an Ollama model
    ragforge eval retrieval ...     nDCG@10 / Recall@k / MRR on a gold set
    """
    # Our own progress bars speak for the CLI; the model loader's weight-loading bar would only be noise.
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    # A damaged PDF is reported once, in the sync summary with its reason; pypdf's own log lines would repeat it.
    logging.getLogger("pypdf").setLevel(logging.ERROR)


@main.command("index")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@_index_option
@click.option("--model", default=None, help="Embedding model: a sentence-transformers name or path, "
              "'hashing:DIM' or 'ollama:NAME' (default: the index's own model, else all-MiniLM-L6-v2).")
@click.option("--include", multiple=True, metavar="GLOB", help="Only index paths matching GLOB (repeatable).")
@click.option("--exclude", multiple=True, metavar="GLOB", help="Skip paths matching GLOB (repeatable).")
@click.option("--hidden", is_flag=True, help="Also index hidden files and folders.")
@click.option("--max-file-mb", type=float, default=50.0, show_default=True, help="Skip files larger than this.")
@click.option("--rebuild", is_flag=True, help="Delete the index and build it again (e.g. to change model).")
@click.option("--retarget", is_flag=True,
              help="Let the index follow FOLDER when it mirrored another folder (moved, or replaced).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@_friendly_errors
def index_cmd(folder: Path, index_path: Path | None, model: str | None, include: tuple[str, ...],
              exclude: tuple[str, ...], hidden: bool, max_file_mb: float, rebuild: bool, retarget: bool,
              quiet: bool) -> None:
    """Index FOLDER: add new files, re-embed changed ones, drop deleted ones."""
    from ragforge.config import WalkConfig
    from ragforge.retrieval.index import build_index

    walk = WalkConfig(include=include, exclude=exclude, include_hidden=hidden,
                      max_file_bytes=int(max_file_mb * 1024 * 1024))
    progress = _Progress("indexing", enabled=not quiet)
    try:
        report = build_index(folder, _resolve_index(index_path), model=model, walk=walk, rebuild=rebuild,
                             retarget=retarget, progress=progress)
    finally:
        progress.close()
    click.echo(report.summary())


@main.command("query")
@click.argument("text")
@_index_option
@click.option("-k", "k", type=click.IntRange(1, 1000), default=5, show_default=True, help="Number of hits.")
@click.option("--mode", type=click.Choice(MODES), default="hybrid", show_default=True, help="Retrieval mode.")
@click.option("--rerank", default=None, metavar="MODEL", help="Rerank with this cross-encoder (name or path).")
@click.option("--path", "path_glob", default=None, metavar="GLOB", help="Only chunks whose source matches GLOB.")
@click.option("--type", "file_type", default=None, help="Only chunks of this file type (pdf, markdown, text, html).")
@click.option("--json", "as_json", is_flag=True, help="Print hits as JSON.")
@_friendly_errors
def query_cmd(text: str, index_path: Path | None, k: int, mode: str, rerank: str | None,
              path_glob: str | None, file_type: str | None, as_json: bool) -> None:
    """Search the index for TEXT and print ranked passages with citations (no LLM needed)."""
    from ragforge.retrieval.index import open_index

    where = {key: value for key, value in (("path", path_glob), ("file_type", file_type)) if value}
    with open_index(_resolve_index(index_path)) as index:
        hits = index.search(text, k=k, mode=mode, rerank=rerank, where=where or None)
    if as_json:
        click.echo(json.dumps([_hit_json(hit) for hit in hits], indent=2, ensure_ascii=False))
        return
    if not hits:
        click.echo("No matching passages.")
    for hit in hits:
        click.echo(f"[{hit.rank}] {hit.chunk.citation_label()}  (score {hit.score:.4f})")
        click.echo(_indent(_shorten(hit.text, 400)))
        click.echo()


@main.command("info")
@_index_option
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@_friendly_errors
def info_cmd(index_path: Path | None, as_json: bool) -> None:
    """Describe an index: model, dimension, files, chunks, size."""
    from ragforge.retrieval.index import open_index

    with open_index(_resolve_index(index_path)) as index:
        info = index.info()
    data = info.model_dump(mode="json")
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    for key, value in data.items():
        click.echo(f"{key:>16}: {value}")


@main.command("ask")
@click.argument("question")
@_index_option
@click.option("--llm", "llm_model", default="llama3.2", show_default=True, help="Ollama model for the answer.")
@click.option("--host", default=None, help="Ollama server (default: $OLLAMA_HOST or http://127.0.0.1:11434).")
@click.option("--small-llm", default=None, help="Smaller Ollama model for routing, rewriting and grading.")
@click.option("-k", "k", type=click.IntRange(1, 100), default=5, show_default=True, help="Passages to read.")
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
@_friendly_errors
def ask_cmd(question: str, index_path: Path | None, llm_model: str, host: str | None, small_llm: str | None,
            k: int, as_json: bool) -> None:
    """Answer QUESTION from the index with a local Ollama model, citing pages."""
    from ragforge.query import ask

    answer = ask(_resolve_index(index_path), question, llm_model=llm_model, host=host, k=k,
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


@main.group("eval")
def eval_group() -> None:
    """Measure retrieval or answers on a gold set."""


@eval_group.command("retrieval")
@click.option("--dataset", required=True, type=click.Path(exists=True, path_type=Path),
              help="A BEIR folder (corpus.jsonl, queries.jsonl, qrels/) or a JSONL gold file.")
@click.option("--split", default="test", show_default=True, help="qrels split for BEIR folders.")
@click.option("--mode", "modes", multiple=True, type=click.Choice(MODES),
              help="Modes to compare (repeatable; default: all three).")
@click.option("--rerank", default=None, metavar="MODEL",
              help="Rerank every mode's top hits with this cross-encoder (name or path).")
@click.option("--model", default=None, help="Embedding model (default all-MiniLM-L6-v2).")
@_index_option
@click.option("--limit", type=int, default=None, help="Only the first N queries.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None,
              help="Write results.json, report.md and a plot here.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@_friendly_errors
def eval_retrieval_cmd(dataset: Path, split: str, modes: tuple[str, ...], rerank: str | None,
                       model: str | None, index_path: Path | None, limit: int | None, out_dir: Path | None,
                       quiet: bool) -> None:
    """nDCG@10, Recall@k and MRR per retrieval mode, with confidence intervals."""
    from ragforge.eval.retrieval import run_retrieval_eval

    progress = _Progress("evaluating", enabled=not quiet)
    try:
        result = run_retrieval_eval(dataset, index_dir=index_path, modes=modes or MODES, rerank=rerank,
                                    split=split, limit=limit, out_dir=out_dir, progress=progress,
                                    **({"model": model} if model else {}))
    finally:
        progress.close()
    click.echo(result.table())
    if out_dir is not None:
        click.echo(f"\nwrote {out_dir}/results.json and {out_dir}/report.md")


@eval_group.command("answers")
@click.option("--dataset", required=True, type=click.Path(exists=True, path_type=Path),
              help="SQuAD v1.1 JSON, a ClapNQ folder, or a FinanceBench folder.")
@click.option("--llm", "llm_model", required=True, help="Ollama model that answers.")
@click.option("--host", default=None, help="Ollama server (default: $OLLAMA_HOST or http://127.0.0.1:11434).")
@click.option("--judge", default=None, help="Ollama model that judges faithfulness (optional).")
@click.option("--model", default=None, help="Embedding model (default all-MiniLM-L6-v2).")
@_index_option
@click.option("--limit", type=int, default=None,
              help="Only N questions, spread evenly over the set (keeps answerable/unanswerable mixes).")
@click.option("--small-llm", default=None, help="Smaller Ollama model for routing, rewriting and grading.")
@click.option("--baseline", type=click.Path(exists=True, path_type=Path), default=None,
              help="An earlier results.json to compare with (paired bootstrap CI and p-value).")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None,
              help="Write results.json, report.md and a plot here.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@_friendly_errors
def eval_answers_cmd(dataset: Path, llm_model: str, host: str | None, judge: str | None, model: str | None,
                     index_path: Path | None, limit: int | None, small_llm: str | None, baseline: Path | None,
                     out_dir: Path | None, quiet: bool) -> None:
    """Exact match, F1, citation precision, refusals and faithfulness of generated answers."""
    from ragforge.eval.answers import run_answer_eval

    progress = _Progress("answering", enabled=not quiet)
    try:
        result = run_answer_eval(dataset, llm=llm_model, host=host, judge=judge, index_dir=index_path,
                                 limit=limit, small_llm=small_llm, baseline=baseline, out_dir=out_dir,
                                 progress=progress,
                                 **({"model": model} if model else {}))
    finally:
        progress.close()
    click.echo(result.table())
    if out_dir is not None:
        click.echo(f"\nwrote {out_dir}/results.json and {out_dir}/report.md")


def _hit_json(hit: Any) -> dict[str, Any]:
    chunk = hit.chunk
    return {"rank": hit.rank, "score": hit.score, "scores": hit.scores, "source": chunk.source,
            "page": chunk.page, "heading": list(chunk.heading_path), "start": chunk.start, "end": chunk.end,
            "chunk_id": chunk.id, "text": chunk.text}


def _shorten(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _indent(text: str) -> str:
    width = max(40, min(110, int(os.environ.get("COLUMNS", "100"))))
    import textwrap

    return textwrap.fill(text, width=width, initial_indent="    ", subsequent_indent="    ")


if __name__ == "__main__":  # pragma: no cover
    main()
