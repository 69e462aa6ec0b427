"""`ragforge index` and `ragforge info`."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click

from ragforge.cli._common import Progress, friendly_errors, index_option, lock_timeout_option, resolve_index


@click.command("index")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@index_option
@click.option("--model", default=None, help="Embedding model: a sentence-transformers name or path, "
              "'hashing:DIM' or 'ollama:NAME' (default: the index's own model, else all-MiniLM-L6-v2).")
@click.option("--precision", type=click.Choice(["auto", "fp32", "bf16", "int8"]), default=None,
              help="How a sentence-transformers model computes: auto (bf16 on a CPU with AMX or AVX512-BF16, "
              "else fp32), fp32, bf16, or int8 (ONNX Runtime; a model of its own: needs --rebuild to switch). "
              "Default: the index's own, else auto.")
@click.option("--include", multiple=True, metavar="GLOB", help="Only index paths matching GLOB (repeatable).")
@click.option("--exclude", multiple=True, metavar="GLOB", help="Skip paths matching GLOB (repeatable).")
@click.option("--hidden", is_flag=True, help="Also index hidden files and folders.")
@click.option("--follow-links", is_flag=True, help="Also follow symlinks whose target is outside FOLDER.")
@click.option("--max-file-mb", type=click.FloatRange(min=0, min_open=True), default=50.0, show_default=True,
              help="Skip files larger than this.")
@click.option("--rebuild", is_flag=True, help="Empty the index and build it again; keeps its model (unless "
              "--model), its chunking and its embedding cache.")
@click.option("--retarget", is_flag=True,
              help="Let the index follow FOLDER when it mirrored another folder (moved, or replaced).")
@lock_timeout_option
@click.option("--vectors", type=click.Choice(["flat", "ivf-pq", "hnsw"]), default=None,
              help="Vector index of a new (or --rebuild) index: flat (exact), ivf-pq (compressed, for indexes "
              "past RAM) or hnsw (fastest queries, most RAM). Default: flat, or the index's own.")
@click.option("--vector-option", "vector_options", multiple=True, metavar="KEY=VALUE",
              help="With --vectors: nlist, m, nprobe, train_size, min_train, retrain_factor, rerank, hnsw_m or "
              "ef_search (repeatable; default: chosen from the corpus size).")
@click.option("--ray", "ray_address", is_flag=False, flag_value="", default=None, metavar="[ADDRESS]",
              help="Read, chunk and embed on a Ray cluster (pip install 'ragforge[ray]'): ADDRESS is HOST:PORT, "
              "ray://HOST:PORT or auto (the cluster `ray start` runs here); alone, a local cluster for this run. "
              "Put it after FOLDER.")
@click.option("--actors", type=click.IntRange(min=1), default=None,
              help="With --ray: embedding actors (default: one per whole CPU).")
@click.option("--cpus-per-actor", type=click.FloatRange(min=0, min_open=True), default=None,
              help="With --ray: CPUs each actor reserves, fractions allowed (default: the largest node's CPUs "
              "less 0.5, shared by one actor per whole CPU).")
@click.option("--ray-batch-size", type=click.IntRange(min=1), default=32, show_default=True,
              help="With --ray: files per embedding call of an actor.")
@click.option("--show-skipped", is_flag=True, help="List every skipped file (the summary lists the first 20).")
@click.option("--json", "as_json", is_flag=True, help="Print the sync report as JSON (every skipped file); "
              "with --watch, one report per line.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.option("--watch", is_flag=True, help="After the sync, keep watching FOLDER and sync each batch of "
              "changes until Ctrl-C (which stops between commits).")
@click.option("--debounce", type=click.FloatRange(min=0.05), default=0.3, show_default=True, metavar="SECONDS",
              help="With --watch: sync once FOLDER has been quiet this long.")
@friendly_errors
def index_cmd(folder: Path, index_path: Path | None, model: str | None, precision: str | None,
              include: tuple[str, ...], exclude: tuple[str, ...], hidden: bool, follow_links: bool,
              max_file_mb: float, rebuild: bool, retarget: bool, lock_timeout: float, vectors: str | None,
              vector_options: tuple[str, ...], ray_address: str | None, actors: int | None,
              cpus_per_actor: float | None, ray_batch_size: int, show_skipped: bool, as_json: bool, quiet: bool,
              watch: bool, debounce: float) -> None:
    """Index FOLDER: add new files, re-embed changed ones, drop deleted ones.

    A file that can no longer be indexed (emptied, binary, unreadable, too large) loses its chunks, and the
    summary says so. FIFOs, sockets and devices are skipped, and so are symlinks leaving FOLDER unless
    --follow-links. With --watch the index follows FOLDER as it changes; searches keep working meanwhile.
    """
    from ragforge import WalkConfig
    from ragforge.retrieval import build_index

    walk = WalkConfig(include=include, exclude=exclude, include_hidden=hidden, follow_links_outside=follow_links,
                      max_file_bytes=max(1, int(max_file_mb * 1024 * 1024)))
    executor = _ray_executor(ray_address, actors, cpus_per_actor, ray_batch_size)
    if watch and executor is not None:
        raise click.UsageError("--watch syncs in this process: leave out --ray")
    vector_config = _vector_config(vectors, vector_options)
    progress = Progress("indexing", enabled=not (quiet or as_json))
    if watch:
        _watch(folder, resolve_index(index_path), model=model, walk=walk, rebuild=rebuild, retarget=retarget,
               progress=progress, lock_timeout=lock_timeout, debounce=debounce, as_json=as_json,
               show_skipped=show_skipped, precision=precision, vectors=vector_config)
        return
    try:
        report = build_index(folder, resolve_index(index_path), model=model, walk=walk, rebuild=rebuild,
                             retarget=retarget, progress=progress, lock_timeout=lock_timeout,
                             precision=precision, executor=executor, vectors=vector_config)
    finally:
        progress.close()
    if as_json:
        click.echo(json.dumps(report.model_dump(mode="json"), indent=2, ensure_ascii=False))
        return
    click.echo(report.summary(show_skipped=show_skipped))


def _watch(folder: Path, index_path: Path, *, progress: Progress, as_json: bool, show_skipped: bool,
           **options: Any) -> None:
    from ragforge.retrieval import watch_index

    syncs = 0

    def on_sync(report: Any) -> None:
        nonlocal syncs
        progress.close()
        if as_json:
            click.echo(json.dumps(report.model_dump(mode="json"), ensure_ascii=False))
        elif syncs == 0 or show_skipped:
            click.echo(report.summary(show_skipped=show_skipped))
        else:
            click.echo(f"{time.strftime('%H:%M:%S')} {report.summary().splitlines()[0]}")
        if syncs == 0:
            click.echo(f"watching {folder} for changes (Ctrl-C stops)", err=True)
        syncs += 1

    try:
        watch_index(folder, index_path, on_sync=on_sync, progress=progress, **options)
    finally:
        progress.close()
    click.echo("stopped watching", err=True)


def _vector_config(kind: str | None, options: tuple[str, ...]) -> Any:
    if kind is None:
        if options:
            raise click.UsageError("--vector-option goes with --vectors")
        return None
    from ragforge.config import VectorConfig

    fields: dict[str, str] = {"kind": kind}
    for option in options:
        key, sep, value = option.partition("=")
        if not sep or key.strip() not in VectorConfig.model_fields or key.strip() == "kind":
            raise click.UsageError(f"--vector-option {option!r}: use KEY=VALUE with KEY one of "
                                   f"{', '.join(k for k in VectorConfig.model_fields if k != 'kind')}")
        fields[key.strip()] = value.strip()
    return VectorConfig(**fields)


def _ray_executor(address: str | None, actors: int | None, cpus_per_actor: float | None,
                  batch_size: int) -> Any:
    if address is None:
        if actors is not None or cpus_per_actor is not None:
            raise click.UsageError("--actors and --cpus-per-actor go with --ray")
        return None
    try:
        from ragforge.ingest import RayExecutor, check_reachable
    except ImportError as exc:
        raise click.ClickException(f"--ray needs Ray: pip install 'ragforge[ray]' ({exc})") from exc
    if address not in ("", "auto"):
        check_reachable(address)  # before anything is created or printed
    return RayExecutor(address or None, actors=actors, cpus_per_actor=cpus_per_actor, batch_size=batch_size)


@click.command("info")
@index_option
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@friendly_errors
def info_cmd(index_path: Path | None, as_json: bool) -> None:
    """Describe an index: the folder it mirrors, model, files, chunks, size."""
    from ragforge import open_index

    with open_index(resolve_index(index_path)) as index:
        info = index.info()
    if as_json:
        click.echo(json.dumps(info.model_dump(mode="json"), indent=2, ensure_ascii=False))
        return
    for label, value in info_lines(info.model_dump(mode="json")):
        click.echo(f"{label:<9} {value}")


def info_lines(data: dict[str, Any]) -> list[tuple[str, str]]:
    chunking = data.get("chunking") or {}
    size = chunking.get("max_tokens") or "the model's maximum"
    return [
        ("index", data["path"]),
        ("mirrors", data.get("root") or "no folder (documents given from Python)"),
        ("model", f"{data['model']} ({data['model_id']}, dimension {data['dimension']}, metric {data['metric']})"),
        ("files", str(data["files"])),
        ("chunks", str(data["chunks"])),
        ("chunking", f"{size} tokens, overlap {chunking.get('overlap_tokens', 0)}"),
        *_precision_line(data.get("embedder") or {}),
        ("vectors", _vectors_line(data.get("vectors") or {})),
        ("size", _size(data["size_bytes"])),
        ("created", f"{data['created_at']} by ragforge {data['ragforge_version']} "
                    f"(index format {data['format_version']})"),
    ]


def _precision_line(embedder: dict[str, Any]) -> list[tuple[str, str]]:
    if not embedder.get("precision"):
        return []
    flags = " ".join(embedder.get("cpu_flags") or []) or "none of note"
    return [("precision", f"{embedder['precision']} (asked: {embedder.get('requested_precision')}; "
                          f"CPU flags when built: {flags})")]


def _vectors_line(vectors: dict[str, Any]) -> str:
    kind = vectors.get("kind", "flat")
    if vectors.get("form") == "ivf-pq":
        return (f"ivf-pq: {vectors['nlist']} cells, {vectors['m']} bytes a vector, nprobe {vectors['nprobe']}, "
                f"trained for {vectors['trained_for']} vectors")
    if kind == "ivf-pq":
        return "ivf-pq (exact until it holds enough vectors to train on)"
    return kind


def _size(n: int) -> str:
    size = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return str(size)  # pragma: no cover
