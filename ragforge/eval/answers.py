"""The answer evaluation harness: index a gold set's corpus, ask every question through the QueryEngine,
score the answers (EM, F1, hit@k, citation precision, refusals, optional judged faithfulness), report.

SQuAD and ClapNQ passages go through ``Index.sync_documents``; FinanceBench PDFs through ``Index.sync``.
An existing ``index_dir`` is reused (unchanged documents cost a hash each).

hit@1 / hit@k look at the passages of the prompt the answer came from (after reranking and any rewrite),
so they measure what the model was shown; EM/F1 are scored on the answer text without its [n] markers,
and a refusal scores 0 on an answerable question.

Connection problems (Ollama not running, model not pulled) stop the run with the LLM layer's message;
any other model failure on one question is recorded on that question (scored as a refusal) and the run
goes on.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from ..config import DEFAULT_MODEL
from ..errors import ConfigError, LLMConnectionError, LLMError, LLMModelNotFoundError, StructuredOutputError
from ..llm import ChatModel, OllamaChat, structured
from ..query import QueryConfig, QueryEngine
from ..types import Answer
from . import answer_metrics as M
from .answer_loaders import AnswerDataset, AnswerExample, load_answer_dataset
from .answer_report import AnswerEvalResult, QuestionResult, compare_results, load_result
from .common import EvalIndex, command_line, versions
from .stats import bootstrap_ci

Progress = Callable[[int, int, str], None]

JUDGE_PROMPT = """Split the answer into its factual claims and decide for each whether the cited passages
state it. Ignore the [n] markers themselves.

Passages:
{passages}

Answer:
{answer}"""


class JudgedClaim(BaseModel):
    claim: str
    supported: bool


class JudgeReply(BaseModel):
    claims: list[JudgedClaim] = Field(default_factory=list)


def _chat(model: str | ChatModel | None, host: str | None) -> ChatModel | None:
    if model is None or not isinstance(model, str):
        return model
    return OllamaChat(model, host=host)


def _name(model: str | ChatModel | None) -> str | None:
    return model if isinstance(model, str) or model is None else getattr(model, "model", type(model).__name__)


def judge_faithfulness(judge: ChatModel, answer: Answer) -> list[JudgedClaim]:
    """The judge's per-claim verdicts on an answer, against the text of the chunks it cites."""
    cited = sorted({c.number for c in answer.citations})
    passages = "\n\n".join(f"[{n}] {answer.hits[n - 1].chunk.text}" for n in cited)
    reply = structured(judge, JUDGE_PROMPT.format(passages=passages, answer=answer.text), JudgeReply, retries=1)
    return reply.claims


def score_answer(example: AnswerExample, answer: Answer, k: int) -> dict[str, float | None]:
    """Every metric of one answer (None where a metric does not apply)."""
    cited = [(c.source, c.page) for c in answer.citations]
    retrieved = [(h.chunk.source, h.chunk.page) for h in answer.hits]
    scores: dict[str, float | None] = {name: None for name in ("EM", "F1", "hit@1", "hit@k",
                                                                "citation_precision", "quote_verified",
                                                                "refusal_rate", "false_refusal_rate")}
    if example.answerable:
        scores["EM"] = 0.0 if answer.refused else M.answer_em(answer.text, example.answers)
        scores["F1"] = 0.0 if answer.refused else M.answer_f1(answer.text, example.answers)
        scores["false_refusal_rate"] = float(answer.refused)
        if example.evidence:
            scores["hit@1"] = M.hit_at_k(retrieved, example.evidence, 1) if retrieved else 0.0
            scores["hit@k"] = M.hit_at_k(retrieved, example.evidence, k) if retrieved else 0.0
            scores["citation_precision"] = M.citation_precision(cited, example.evidence)
    else:
        scores["refusal_rate"] = float(answer.refused)
    if answer.citations:
        scores["quote_verified"] = sum(c.verified for c in answer.citations) / len(answer.citations)
    return scores


def _record(example: AnswerExample, answer: Answer, k: int, seconds: float) -> QuestionResult:
    return QuestionResult(
        id=example.id, question=example.question, answerable=example.answerable, gold=list(example.answers),
        prediction=answer.text, refused=answer.refused,
        citations=[(c.source, c.page) for c in answer.citations],
        retrieved=[(h.chunk.source, h.chunk.page) for h in answer.hits],
        dropped_citations=answer.dropped_citations, scores=score_answer(example, answer, k), seconds=seconds)


def _ask(engine: QueryEngine, judge: ChatModel | None, example: AnswerExample, k: int) -> QuestionResult:
    started = time.perf_counter()
    try:
        answer = engine.query(example.question)
    except (LLMConnectionError, LLMModelNotFoundError):
        raise
    except LLMError as exc:
        answer = Answer(question=example.question, text="", refused=True)
        record = _record(example, answer, k, time.perf_counter() - started)
        return record.model_copy(update={"error": f"{type(exc).__name__}: {exc}"})
    record = _record(example, answer, k, time.perf_counter() - started)
    if judge is not None and answer.citations and not answer.refused:
        try:
            claims = judge_faithfulness(judge, answer)
        except StructuredOutputError as exc:
            return record.model_copy(update={"error": f"judge: {exc}"})
        record.scores["faithfulness"] = M.faithfulness([c.supported for c in claims])
        record.judge_claims = [c.model_dump() for c in claims]
    return record


def _sync(index: Any, data: AnswerDataset, progress: Progress | None) -> tuple[int, float, str]:
    started = time.perf_counter()
    if data.pdf_folder is not None:
        report = index.sync(data.pdf_folder, progress=progress)
    else:
        report = index.sync_documents(data.passages, progress=progress)
    info = index.info()
    documents = getattr(info, "documents", None) or getattr(info, "files", None) or 0
    return int(documents), time.perf_counter() - started, report.summary()


def summarise(records: list[QuestionResult], *, resamples: int = 2000) -> tuple[dict, dict, dict]:
    """Means, 95% bootstrap intervals and counts of every metric over the questions it applies to."""
    metrics, ci, counts = {}, {}, {}
    names = dict.fromkeys(name for r in records for name in r.scores)
    for name in names:
        values = [v for r in records if (v := r.scores.get(name)) is not None]
        metrics[name] = M.mean_of(values)
        counts[name] = len(values)
        if values:
            ci[name] = bootstrap_ci(values, resamples=resamples)
    return metrics, ci, counts


def run_answer_eval(
    dataset: AnswerDataset | Path | str,
    *,
    llm: str | ChatModel,
    index_dir: Path | str | None = None,
    model: str = DEFAULT_MODEL,
    limit: int | None = None,
    out_dir: Path | str | None = None,
    judge: str | ChatModel | None = None,
    progress: Progress | None = None,
    host: str | None = None,
    small_llm: str | ChatModel | None = None,
    config: QueryConfig | None = None,
    baseline: AnswerEvalResult | Path | str | None = None,
    resamples: int = 2000,
    note: str | None = None,
) -> AnswerEvalResult:
    """Ask every question (or ``limit`` of them, spread evenly) and score the answers.

    ``llm``/``judge``/``small_llm``: an Ollama model name (on ``host``) or any ChatModel. ``model`` is the
    embedding model of the index. ``baseline``: an earlier result (or its results.json) to compare with.
    """
    started = time.perf_counter()
    if limit is not None and limit < 1:
        raise ConfigError("limit must be >= 1")
    data = dataset if isinstance(dataset, AnswerDataset) else load_answer_dataset(dataset)
    examples = data.select(limit)
    config = config or QueryConfig(answer_model=_name(llm) or "llama3.2", host=host)
    chat, judge_chat = _chat(llm, host), _chat(judge, host)
    with EvalIndex(index_dir, model, None) as (index, where):
        documents, index_seconds, sync_summary = _sync(index, data, progress)
        asked = time.perf_counter()
        records = []
        with QueryEngine(index, llm=chat, small_llm=_chat(small_llm, host), config=config) as engine:
            for done, example in enumerate(examples, start=1):
                records.append(_ask(engine, judge_chat, example, config.k))
                if progress is not None:
                    progress(done, len(examples), example.id)
    metrics, ci, counts = summarise(records, resamples=resamples)
    result = AnswerEvalResult(
        dataset=str(data.path), name=data.name, kind=data.kind, llm=_name(llm) or "", judge=_name(judge),
        questions=len(records), answerable=sum(r.answerable for r in records),
        unanswerable=sum(not r.answerable for r in records), documents=documents, k=config.k,
        metrics=metrics, ci=ci, counts=counts, per_question=records, note=note,
        settings={"embedding_model": model, "index_dir": where, "limit": limit, "query": config.model_dump(),
                  "small_llm": _name(small_llm), "sync": sync_summary},
        versions=versions(),
        timings={"index": index_seconds, "answering": time.perf_counter() - asked,
                 "per_question": (time.perf_counter() - asked) / max(1, len(records)),
                 "total": time.perf_counter() - started},
        command=_command(data.path, llm, judge, model, index_dir, limit, out_dir))
    if baseline is not None:
        base = baseline if isinstance(baseline, AnswerEvalResult) else load_result(baseline)
        result.comparisons = compare_results(base, result, names=(f"baseline {base.llm}", result.llm),
                                             resamples=resamples)
    if out_dir is not None:
        result.write(out_dir)
    return result


def _command(dataset: Any, llm: Any, judge: Any, model: str, index_dir: Any, limit: int | None,
             out_dir: Any) -> str:
    parts = ["ragforge", "eval", "answers", "--dataset", str(dataset), "--llm", str(_name(llm))]
    if judge is not None:
        parts += ["--judge", str(_name(judge))]
    return command_line(parts, model=model, index_dir=index_dir, limit=limit, out_dir=out_dir)
