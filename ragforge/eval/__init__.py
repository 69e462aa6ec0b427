"""Evaluation: gold-set loaders, pure metric functions, statistics, reports and harnesses.

    from ragforge.eval import run_retrieval_eval
    result = run_retrieval_eval("../shared/data/scifact", index_dir="/tmp/scifact-index")
    print(result.table()); result.write("eval/results/scifact")

Metrics take BEIR's shapes: qrels ``{qid: {doc: grade}}`` and runs ``{qid: {doc: score}}``.
Names load lazily so ``import ragforge.eval`` stays light (the harness pulls in the index).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "AnswerEvalResult": "ragforge.eval.answer_report",
    "compare_results": "ragforge.eval.answer_report",
    "load_answer_dataset": "ragforge.eval.answer_loaders",
    "run_answer_eval": "ragforge.eval.answers",
    "Comparison": "ragforge.eval.stats",
    "GoldQuery": "ragforge.eval.loaders",
    "ModeResult": "ragforge.eval.report",
    "RetrievalDataset": "ragforge.eval.loaders",
    "RetrievalEvalResult": "ragforge.eval.report",
    "bootstrap_ci": "ragforge.eval.stats",
    "compare": "ragforge.eval.stats",
    "evaluate": "ragforge.eval.metrics",
    "load_beir": "ragforge.eval.loaders",
    "load_dataset": "ragforge.eval.loaders",
    "load_jsonl_gold": "ragforge.eval.loaders",
    "map_at_k": "ragforge.eval.metrics",
    "mrr_at_k": "ragforge.eval.metrics",
    "ndcg_at_k": "ragforge.eval.metrics",
    "paired_bootstrap_ci": "ragforge.eval.stats",
    "precision_at_k": "ragforge.eval.metrics",
    "randomization_test": "ragforge.eval.stats",
    "recall_at_k": "ragforge.eval.metrics",
    "run_retrieval_eval": "ragforge.eval.retrieval",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ragforge.eval' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
