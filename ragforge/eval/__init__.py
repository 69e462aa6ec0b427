"""Evaluation: gold-set loaders, pure metric functions, statistics, reports and harnesses.

    from ragforge.eval import run_retrieval_eval
    result = run_retrieval_eval("../shared/data/scifact", index_dir="/tmp/scifact-index")
    print(result.table()); result.write("eval/results/scifact")

Metrics take BEIR's shapes: qrels ``{qid: {doc: grade}}`` and runs ``{qid: {doc: score}}``.
Modules: the harnesses ``retrieval`` and ``answers``, each with its ``*_loaders``, ``*_metrics`` and
``*_report``; ``stats`` (bootstrap intervals, paired comparisons) and ``common`` (the eval index, output files).
Names load lazily so ``import ragforge.eval`` stays light (the harness pulls in the index).
"""

from __future__ import annotations

from ragforge._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "AnswerEvalResult": "ragforge.eval.answer_report",
    "compare_results": "ragforge.eval.answer_report",
    "load_answer_dataset": "ragforge.eval.answer_loaders",
    "run_answer_eval": "ragforge.eval.answers",
    "Comparison": "ragforge.eval.stats",
    "GoldQuery": "ragforge.eval.retrieval_loaders",
    "ModeResult": "ragforge.eval.retrieval_report",
    "RetrievalDataset": "ragforge.eval.retrieval_loaders",
    "RetrievalEvalResult": "ragforge.eval.retrieval_report",
    "bootstrap_ci": "ragforge.eval.stats",
    "compare": "ragforge.eval.stats",
    "evaluate": "ragforge.eval.retrieval_metrics",
    "load_beir": "ragforge.eval.retrieval_loaders",
    "load_dataset": "ragforge.eval.retrieval_loaders",
    "load_jsonl_gold": "ragforge.eval.retrieval_loaders",
    "map_at_k": "ragforge.eval.retrieval_metrics",
    "mrr_at_k": "ragforge.eval.retrieval_metrics",
    "ndcg_at_k": "ragforge.eval.retrieval_metrics",
    "paired_bootstrap_ci": "ragforge.eval.stats",
    "plots_available": "ragforge.eval.common",
    "precision_at_k": "ragforge.eval.retrieval_metrics",
    "randomization_test": "ragforge.eval.stats",
    "recall_at_k": "ragforge.eval.retrieval_metrics",
    "run_retrieval_eval": "ragforge.eval.retrieval",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
