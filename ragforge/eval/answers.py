"""The answer evaluation harness: index a gold set's corpus, ask every question through the QueryEngine
(or the plain-RAG baseline, or both for a paired comparison), score the answers (EM, F1, hit@k, citation
precision, verified quotes, refusals, LLM calls, generated tokens and seconds per question, optional judged
faithfulness), report.

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

import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field

from ..config import DEFAULT_MODEL
from ..errors import ConfigError, LLMConnectionError, LLMError, LLMModelNotFoundError, StructuredOutputError
from ..llm import ChatModel, TracedChat, make_chat_model, structured
from ..query import PlainRAG, QueryConfig, QueryEngine
from ..types import Answer
from . import answer_metrics as M
from .answer_loaders import AnswerDataset, AnswerExample, load_answer_dataset
from .answer_report import AnswerEvalResult, QuestionResult, compare_results, load_result
from .common import EvalIndex, command_line, versions
from .stats import bootstrap_ci

Progress = Callable[[int, int, str], None]


class Answerer(Protocol):
    """What the harness asks: the QueryEngine, PlainRAG, or anything with the same two methods."""

    def query(self, question: str) -> Answer: ...

    def __enter__(self) -> Any: ...

    def __exit__(self, *exc: object) -> None: ...

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


def _chat(model: str | ChatModel | None, **settings: Any) -> ChatModel | None:
    """The model a spec names, without a response cache: every question costs what it costs."""
    return None if model is None else make_chat_model(model, cache=None, **settings)


def _name(model: str | ChatModel | None) -> str | None:
    return model if isinstance(model, str) or model is None else getattr(model, "model", type(model).__name__)


class CallMeter:
    """Counts the LLM calls and tokens of the question being answered (an ``on_event`` hook)."""

    def __init__(self) -> None:
        self.calls = self.generated = self.prompt = 0

    def __call__(self, event: dict[str, Any]) -> None:
        self.calls += 1
        self.generated += int(event.get("completion_tokens") or 0)
        self.prompt += int(event.get("prompt_tokens") or 0)

    def take(self) -> dict[str, float]:
        out = {"llm_calls": float(self.calls), "generated_tokens": float(self.generated),
               "prompt_tokens": float(self.prompt)}
        self.calls = self.generated = self.prompt = 0
        return out


def _metered(model: ChatModel | None, meter: CallMeter) -> ChatModel | None:
    return None if model is None else TracedChat(model, meter)


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


def _record(example: AnswerExample, answer: Answer, k: int, seconds: float, meter: CallMeter) -> QuestionResult:
    scores = {**score_answer(example, answer, k), **meter.take(), "seconds": seconds}
    return QuestionResult(
        id=example.id, question=example.question, answerable=example.answerable, gold=list(example.answers),
        prediction=answer.text, refused=answer.refused,
        citations=[(c.source, c.page) for c in answer.citations],
        quotes=[c.quote for c in answer.citations], repairs=list(answer.repairs),
        retrieved=[(h.chunk.source, h.chunk.page) for h in answer.hits],
        dropped_citations=answer.dropped_citations, scores=scores, seconds=seconds, answer=answer,
        confidence=answer.confidence,
        trace=answer.trace)


def _ask(engine: Answerer, judge: ChatModel | None, example: AnswerExample, k: int,
         meter: CallMeter) -> QuestionResult:
    record = _answer(engine, example, k, meter)
    if judge is not None and record.answer is not None and record.answer.citations and not record.refused:
        try:
            claims = judge_faithfulness(judge, record.answer)
        except StructuredOutputError as exc:
            return record.model_copy(update={"error": f"judge: {exc}"})
        record.scores["faithfulness"] = M.faithfulness([c.supported for c in claims])
        record.judge_claims = [c.model_dump() for c in claims]
    return record


def _answer(engine: Answerer, example: AnswerExample, k: int, meter: CallMeter) -> QuestionResult:
    meter.take()
    started = time.perf_counter()
    try:
        answer = engine.query(example.question)
    except (LLMConnectionError, LLMModelNotFoundError):
        raise
    except LLMError as exc:
        answer = Answer(question=example.question, text="", refused=True)
        record = _record(example, answer, k, time.perf_counter() - started, meter)
        return record.model_copy(update={"error": f"{type(exc).__name__}: {exc}"})
    return _record(example, answer, k, time.perf_counter() - started, meter)


def _sync(index: Any, data: AnswerDataset, progress: Progress | None) -> tuple[int, float, str]:
    started = time.perf_counter()
    if data.folder is not None:
        report = index.sync(data.folder, exclude=data.exclude, progress=progress)
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
    system: Literal["engine", "plain"] = "engine",
    index_dir: Path | str | None = None,
    model: str = DEFAULT_MODEL,
    limit: int | None = None,
    out_dir: Path | str | None = None,
    judge: str | ChatModel | None = None,
    progress: Progress | None = None,
    host: str | None = None,
    timeout: float | None = None,
    small_llm: str | ChatModel | None = None,
    config: QueryConfig | None = None,
    baseline: AnswerEvalResult | Path | str | None = None,
    resamples: int = 2000,
    note: str | None = None,
    exclude_ids: frozenset[str] | set[str] = frozenset(),
    exclude_file: str | None = None,
    only_ids: frozenset[str] | set[str] | None = None,
    ids_file: str | None = None,
) -> AnswerEvalResult:
    """Ask every question (or ``limit`` of them, spread evenly) and score the answers.

    ``llm``/``judge``/``small_llm``: a model spec (``qwen2.5-coder:1.5b`` on Ollama at ``host``,
    ``gguf:PATH``, ``openai:NAME@URL``) or any ChatModel; ``timeout`` (seconds per call) applies to specs.
    ``system``: ``"engine"`` (the QueryEngine) or ``"plain"`` (:class:`~ragforge.query.PlainRAG`: the same
    passages, one plain prompt). ``model`` is the embedding model of the index. ``baseline``: ``"plain"`` runs
    PlainRAG on the same questions with the same model and compares (its own result is written to
    ``out_dir/baseline-plain``), or an earlier result (or its results.json) to compare with.
    ``exclude_ids``: questions left out before ``limit`` picks (e.g. those a setting was tuned on);
    ``exclude_file`` names where they came from, for the recorded command. ``only_ids``: ask only these
    questions (``ids_file`` names where they came from).
    """
    started = time.perf_counter()
    if limit is not None and limit < 1:
        raise ConfigError("limit must be >= 1")
    data = dataset if isinstance(dataset, AnswerDataset) else load_answer_dataset(dataset)
    examples = data.select(limit, frozenset(exclude_ids), None if only_ids is None else frozenset(only_ids))
    config = config or QueryConfig()
    settings = {"host": host, "timeout": timeout}
    chat, judge_chat, small = _chat(llm, **settings), _chat(judge, **settings), _chat(small_llm, **settings)
    assert chat is not None
    _check_server(chat, small, judge_chat)
    runs: dict[str, list[QuestionResult]] = {}
    with EvalIndex(index_dir, model, None) as (index, where):
        documents, index_seconds, sync_summary = _sync(index, data, progress)
        timing = {"index": index_seconds}
        for name in (["plain"] if baseline == "plain" and system != "plain" else []) + [system]:
            asked = time.perf_counter()
            used = config if name == "engine" else plain_settings(config)
            journal = _journal(out_dir, name, str(data.path), llm, small_llm, judge, model, used)
            runs[name] = _run_system(name, index, chat, small, judge_chat, config, examples, progress, journal)
            timing[f"answering_{name}"] = time.perf_counter() - asked
    common: dict[str, Any] = dict(
                  data=data, llm=llm, judge=judge, documents=documents, config=config, resamples=resamples,
                  settings={"embedding_model": model, "index_dir": where, "limit": limit, "timeout": timeout,
                            "excluded_ids": len(exclude_ids),
                            "only_ids": None if only_ids is None else len(only_ids),
                            "query": config.model_dump(), "small_llm": _name(small_llm), "sync": sync_summary},
                  started=started, timing=timing)
    result = _result(runs[system], system=system, note=note,
                     command=_command(data.path, llm, judge, model, index_dir, limit, out_dir, system,
                                      baseline if baseline == "plain" else None, exclude_file, ids_file,
                                      config=config),
                     **common)
    base = None
    if baseline == "plain":
        base = _result(runs["plain"], system="plain", note=note, command=result.command, **common)
        if out_dir is not None:
            base.write(Path(out_dir) / "baseline-plain")
    elif baseline is not None:
        base = baseline if isinstance(baseline, AnswerEvalResult) else load_result(baseline)
    if base is not None:
        same_model = base.llm == result.llm
        result.comparisons = compare_results(base, result, names=(_label(base, same_model), _label(result, same_model)),
                                             metrics=COMPARED, resamples=resamples)
    if out_dir is not None:
        result.write(out_dir)
    return result


COMPARED = ("F1", "EM", "false_refusal_rate", "refusal_rate", "llm_calls", "generated_tokens", "seconds")


def plain_settings(config: QueryConfig) -> dict[str, Any]:
    """The settings the plain baseline depends on (its journal survives changes to the engine's policy)."""
    return config.model_dump(include={"k", "candidates", "mode", "search", "max_context_chars", "temperature",
                                      "max_answer_tokens", "logprobs"})


def _label(result: AnswerEvalResult, short: bool = False) -> str:
    """``plain`` / ``engine``, with the model unless both runs used the same one (the report names it)."""
    system = str(result.settings.get("system", "engine"))
    return system if short else f"{system} {result.llm}"


def _check_server(*models: ChatModel | None) -> None:
    """Fail before any indexing when a model's server is down or the model is missing."""
    for chat in models:
        check = getattr(chat, "check", None)
        if callable(check):
            check()


def _journal(out_dir: Path | str | None, system: str, *settings: Any) -> Path | None:
    """Where each answered question is appended as it is done, so a long run killed halfway resumes:
    ``out_dir/.journal-<system>-<hash of the settings>.jsonl`` (other settings, another journal)."""
    if out_dir is None:
        return None
    key = json.dumps([system, *[s.model_dump() if isinstance(s, QueryConfig) else s if isinstance(s, dict)
                                else _name(s) for s in settings]], sort_keys=True, default=str)
    return Path(out_dir) / f".journal-{system}-{hashlib.sha256(key.encode()).hexdigest()[:12]}.jsonl"


def _journalled(journal: Path | None) -> dict[str, QuestionResult]:
    if journal is None or not journal.exists():
        return {}
    done = {}
    for line in journal.read_text(encoding="utf-8").splitlines():
        try:
            record = QuestionResult.model_validate_json(line)
        except ValueError:  # a line cut off by a kill: that question is asked again
            continue
        done[record.id] = record
    return done


def _run_system(name: str, index: Any, chat: ChatModel, small: ChatModel | None, judge: ChatModel | None,
                config: QueryConfig, examples: tuple[AnswerExample, ...], progress: Progress | None,
                journal: Path | None = None) -> list[QuestionResult]:
    meter = CallMeter()
    llm, small_llm = _metered(chat, meter), _metered(small, meter)
    assert llm is not None
    runner: Answerer = (PlainRAG(index, llm, config=config) if name == "plain"
                        else QueryEngine(index, llm=llm, small_llm=small_llm, config=config))
    done = _journalled(journal)
    if journal is not None:
        journal.parent.mkdir(parents=True, exist_ok=True)
    records = []
    with runner:
        for count, example in enumerate(examples, start=1):
            record = done.get(example.id)
            if record is None:
                record = _ask(runner, judge, example, config.k, meter)
                if journal is not None:
                    with journal.open("a", encoding="utf-8") as handle:
                        handle.write(record.model_dump_json() + "\n")
            records.append(record)
            if progress is not None:
                progress(count, len(examples), example.id)
    return records


def _result(records: list[QuestionResult], *, system: str, data: AnswerDataset, llm: Any, judge: Any,
            documents: int, config: QueryConfig, resamples: int, settings: dict[str, Any], started: float,
            timing: dict[str, float], note: str | None, command: str | None) -> AnswerEvalResult:
    metrics, ci, counts = summarise(records, resamples=resamples)
    answering = timing.get(f"answering_{system}", 0.0)
    return AnswerEvalResult(
        dataset=str(data.path), name=data.name, kind=data.kind, llm=_name(llm) or "", judge=_name(judge),
        questions=len(records), answerable=sum(r.answerable for r in records),
        unanswerable=sum(not r.answerable for r in records), documents=documents, k=config.k,
        metrics=metrics, ci=ci, counts=counts, per_question=records, note=note,
        settings={**settings, "system": system}, versions=versions(),
        timings={"index": timing.get("index", 0.0), "answering": answering,
                 "per_question": answering / max(1, len(records)), "total": time.perf_counter() - started},
        command=command)


def _command(dataset: Any, llm: Any, judge: Any, model: str, index_dir: Any, limit: int | None,
             out_dir: Any, system: str, baseline: str | None, exclude_file: str | None = None,
             ids_file: str | None = None, config: QueryConfig | None = None) -> str:
    parts = ["ragforge", "eval", "answers", "--dataset", str(dataset), "--llm", str(_name(llm))]
    if exclude_file:
        parts += ["--exclude-ids", exclude_file]
    if ids_file:
        parts += ["--ids", ids_file]
    if system != "engine":
        parts += ["--system", system]
    if baseline:
        parts += ["--baseline", baseline]
    if judge is not None:
        parts += ["--judge", str(_name(judge))]
    if config is not None:  # the engine settings that differ from the defaults, as --set NAME=VALUE
        default, used = QueryConfig().model_dump(mode="json"), config.model_dump(mode="json")
        for name, value in used.items():
            if value != default.get(name):
                parts += ["--set", f"{name}={value if isinstance(value, str) else json.dumps(value)}"]
    return command_line(parts, model=model, index_dir=index_dir, limit=limit, out_dir=out_dir)
