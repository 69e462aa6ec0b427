"""`ragforge index` and `ragforge info`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ragforge.cli._common import Progress, friendly_errors, index_option, resolve_index


@click.command("index")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@index_option
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
@friendly_errors
def index_cmd(folder: Path, index_path: Path | None, model: str | None, include: tuple[str, ...],
              exclude: tuple[str, ...], hidden: bool, max_file_mb: float, rebuild: bool, retarget: bool,
              quiet: bool) -> None:
    """Index FOLDER: add new files, re-embed changed ones, drop deleted ones."""
    from ragforge.config import WalkConfig
    from ragforge.retrieval.index import build_index

    walk = WalkConfig(include=include, exclude=exclude, include_hidden=hidden,
                      max_file_bytes=int(max_file_mb * 1024 * 1024))
    progress = Progress("indexing", enabled=not quiet)
    try:
        report = build_index(folder, resolve_index(index_path), model=model, walk=walk, rebuild=rebuild,
                             retarget=retarget, progress=progress)
    finally:
        progress.close()
    click.echo(report.summary())


@click.command("info")
@index_option
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@friendly_errors
def info_cmd(index_path: Path | None, as_json: bool) -> None:
    """Describe an index: model, dimension, files, chunks, size."""
    from ragforge.retrieval.index import open_index

    with open_index(resolve_index(index_path)) as index:
        info = index.info()
    data = info.model_dump(mode="json")
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    for key, value in data.items():
        click.echo(f"{key:>16}: {value}")
