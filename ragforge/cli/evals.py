"""`ragforge eval retrieval` and `ragforge eval answers`."""

from __future__ import annotations

from pathlib import Path

import click

from ragforge.cli._common import (
    MODES,
    Progress,
    engine_settings_option,
    eval_index_option,
    friendly_errors,
    llm_options,
    query_config,
)


@click.group("eval")
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
@eval_index_option
@click.option("--limit", type=int, default=None, help="Only the first N queries.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None,
              help="Write results.json, report.md and a plot here.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@friendly_errors
def eval_retrieval_cmd(dataset: Path, split: str, modes: tuple[str, ...], rerank: str | None,
                       model: str | None, index_path: Path | None, limit: int | None, out_dir: Path | None,
                       quiet: bool) -> None:
    """nDCG@10, Recall@k and MRR per retrieval mode, with confidence intervals."""
    from ragforge.eval import run_retrieval_eval

    progress = Progress("evaluating", enabled=not quiet)
    try:
        result = run_retrieval_eval(dataset, index_dir=index_path, modes=modes or MODES, rerank=rerank,
                                    split=split, limit=limit, out_dir=out_dir, progress=progress,
                                    **({"model": model} if model else {}))
    finally:
        progress.close()
    click.echo(result.table())
    if out_dir is not None:
        click.echo(wrote(out_dir))


@eval_group.command("answers")
@click.option("--dataset", required=True, type=click.Path(exists=True, path_type=Path),
              help="SQuAD v1.1 JSON, a ClapNQ folder, a FinanceBench folder, or a .jsonl file of your own "
                   "gold questions (its folder holds the documents; format: ragforge.eval.answer_loaders).")
@llm_options
@click.option("--system", type=click.Choice(["engine", "plain"]), default="engine", show_default=True,
              help="What answers: the query engine, or the plain-RAG baseline (same passages, one prompt).")
@click.option("--judge", default=None, help="A model that judges faithfulness (optional; same spellings as --llm).")
@click.option("--model", default=None, help="Embedding model (default all-MiniLM-L6-v2).")
@eval_index_option
@click.option("--limit", type=int, default=None,
              help="Only N questions, spread evenly over the set (keeps answerable/unanswerable mixes).")
@click.option("--exclude-ids", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="A file of question ids (one per line) to leave out, e.g. those a setting was tuned on.")
@click.option("--ids", "ids_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="A file of question ids (one per line): ask only these (e.g. a fixed list to compare on).")
@click.option("--baseline", default=None, metavar="plain|RESULTS",
              help="'plain': also run the plain-RAG baseline on the same questions and compare; or an earlier "
                   "results.json to compare with (paired bootstrap CI and p-value).")
@engine_settings_option
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None,
              help="Write results.json, report.md and a plot here.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@friendly_errors
def eval_answers_cmd(dataset: Path, llm_model: str, small_llm: str | None, host: str | None, timeout: float,
                     system: str, judge: str | None, model: str | None, index_path: Path | None,
                     limit: int | None, exclude_ids: Path | None, ids_path: Path | None, baseline: str | None,
                     settings: tuple[str, ...], out_dir: Path | None, quiet: bool) -> None:
    """Exact match, F1, citation precision, refusals, LLM calls, tokens and seconds per question."""
    from ragforge.eval import run_answer_eval

    config = query_config(settings)

    if baseline is not None and baseline != "plain" and not Path(baseline).exists():
        raise click.BadParameter(f"{baseline!r} is neither 'plain' nor an existing results.json",
                                 param_hint="--baseline")
    progress = Progress("answering", enabled=not quiet)
    try:
        result = run_answer_eval(dataset, llm=llm_model, host=host, timeout=timeout, system=system,
                                 judge=judge, index_dir=index_path, limit=limit, small_llm=small_llm,
                                 baseline=baseline, out_dir=out_dir, progress=progress,
                                 exclude_ids=_ids(exclude_ids), exclude_file=exclude_ids and str(exclude_ids),
                                 only_ids=_ids(ids_path) if ids_path else None,
                                 ids_file=ids_path and str(ids_path), config=config,
                                 **({"model": model} if model else {}))
    finally:
        progress.close()
    click.echo(result.table())
    if out_dir is not None:
        click.echo(wrote(out_dir))


def wrote(out_dir: Path) -> str:
    from ragforge.eval import plots_available

    if plots_available():
        return f"\nwrote {out_dir}/results.json, {out_dir}/report.md and a plot"
    return (f"\nwrote {out_dir}/results.json and {out_dir}/report.md (no plot: matplotlib is not installed; "
            "pip install 'ragforge[eval]' adds it)")


def _ids(path: Path | None) -> frozenset[str]:
    if path is None:
        return frozenset()
    return frozenset(line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
