"""The nodes of the default query graph. Each is ``node(state, ctx) -> partial update``.

route -> retrieve | call_tools (in parallel when both) -> join -> rerank -> synthesise -> check
-> (unsure: grade) -> (refused or unsupported, retrieval weak, rounds left: rewrite -> retrieve -> ...)
-> finish. Dependencies come from ``ctx.deps`` (:class:`~ragforge.query.state.QueryDeps`); each node reports
what it decided through ``ctx.emit`` so the trace tells the story of a run. ``route`` lives in
:mod:`~ragforge.query.routing`; ``check``, ``grade`` and ``finish`` in :mod:`~ragforge.query.verdict`.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, Field

from ragforge.errors import LLMError, StructuredOutputError, ToolError
from ragforge.llm import ChatResult, Message, structured
from ragforge.llm.output import salvage_string
from ragforge.query import prompts
from ragforge.query.citations import MARKER
from ragforge.query.refusal_odds import continuation_share, pending_by_prefix, refusal_odds
from ragforge.query.state import QueryContext, QueryDeps, QueryState
from ragforge.query.support import words
from ragforge.types import Chunk, Hit


def _deps(ctx: QueryContext) -> QueryDeps:
    return ctx.deps


def retrieve(state: QueryState, ctx: QueryContext) -> dict[str, Any]:
    """Hybrid (or the configured mode) search for the current query: ``candidates`` hits."""
    deps = _deps(ctx)
    query = state.query or state.question
    hits = deps.index.search(query, k=deps.config.candidates, where=deps.where, mode=deps.config.mode,
                             options=deps.config.search)
    queries = [*state.queries, query]
    ctx.emit({"type": "retrieve", "query": query, "hits": len(hits),
              "top": [[h.chunk.citation_label(), round(h.score, 4)] for h in hits[:5]]})
    return {"retrieved": hits, "queries": queries}


def _tool_hit(name: str, arguments: dict[str, Any], text: str) -> Hit:
    source = f"tool: {name}({json.dumps(arguments, ensure_ascii=False, sort_keys=True)})"
    chunk = Chunk(id=Chunk.make_id(source, 0, len(text), text), source=source, text=text, start=0,
                  end=len(text), file_type="tool", title=name)
    return Hit(chunk=chunk, score=1.0, scores={"tool": 1.0})


def call_tools(state: QueryState, ctx: QueryContext) -> dict[str, Any]:
    """Run the tool calls the router chose; each result becomes a citable context block."""
    deps = _deps(ctx)
    hits = []
    for call in state.tool_calls:
        try:
            message, _, ok = deps.tools.run(call)
        except ToolError as exc:
            ctx.emit({"type": "tool", "name": call.name, "ok": False, "error": str(exc)})
            continue
        ctx.emit({"type": "tool", "name": call.name, "ok": ok, "result": message.content[:500]})
        if ok:
            hits.append(_tool_hit(call.name, call.arguments, message.content))
    return {"tool_hits": hits}


def join(state: QueryState, ctx: QueryContext) -> dict[str, Any]:
    """Merge what the branches brought back: tool results first, then the retrieval candidates."""
    retrieved = state.retrieved if state.route != "tools" else []
    context = [*state.tool_hits, *retrieved]
    ctx.emit({"type": "join", "tool_blocks": len(state.tool_hits), "retrieved": len(retrieved)})
    return {"context": context}


def rerank(state: QueryState, ctx: QueryContext) -> dict[str, Any]:
    """Rerank the retrieval candidates (LLM or cross-encoder, if configured) and keep the top ``k``."""
    deps = _deps(ctx)
    tools = [h for h in state.context if h.chunk.file_type == "tool"]
    found = [h for h in state.context if h.chunk.file_type != "tool"]
    k = deps.config.k
    if deps.reranker is not None and found:
        found = deps.reranker.rerank(state.query or state.question, found, top_n=len(found))
    ctx.emit({"type": "rerank", "by": repr(deps.reranker) if deps.reranker is not None else None, "kept": k,
              "top": [[h.chunk.citation_label(), h.scores.get("rerank")] for h in found[:k]]})
    return {"context": [*tools, *found[:k]]}


def _below_min_score(state: QueryState, deps: QueryDeps) -> bool:
    if deps.config.min_score is None or any(h.chunk.file_type == "tool" for h in state.context):
        return False
    return max((h.score for h in state.context), default=float("-inf")) < deps.config.min_score


def answer_schema(deps: QueryDeps) -> dict[str, Any]:
    """The structured reply's JSON schema, bounded so a small model cannot run away inside it."""
    config = deps.config
    cite: dict[str, Any] = {"type": "object", "properties": {"n": {"type": "integer", "minimum": 1}},
                            "required": ["n"]}
    if config.quotes:
        cite["properties"]["quote"] = {"type": "string", "maxLength": config.max_quote_chars}
    return {"type": "object",
            "properties": {"answer": {"type": "string", "maxLength": 600},
                           "citations": {"type": "array", "items": cite, "maxItems": config.max_citations}},
            "required": ["answer"]}


class QuotedCitation(BaseModel):
    n: int
    quote: str = ""


class AnswerReply(BaseModel):
    answer: str
    citations: list[QuotedCitation] = Field(default_factory=list)


def synthesise(state: QueryState, ctx: QueryContext) -> dict[str, Any]:
    """Ask the answer model, with the numbered context; stream pieces when ``deps.on_token`` is set."""
    deps = _deps(ctx)
    if not state.context or _below_min_score(state, deps):
        ctx.emit({"type": "synthesise", "skipped": "no context" if not state.context else "below min_score"})
        return {"draft": prompts.REFUSAL, "quotes": {}, "refusal_odds": None}
    config = deps.config
    as_json = config.answer_format == "json" and deps.on_token is None
    messages = prompts.answer_messages(state.question, state.context, as_json=as_json,
                                       max_chars=config.max_context_chars, style=config.answer_style,
                                       quotes=config.quotes)
    if deps.on_token is not None:
        stream = deps.llm.stream(messages, options=deps.answer_options)
        for piece in stream:
            deps.on_token(piece)
        odds = measure_refusal_odds(deps, messages, stream.result, ctx)
        return {"draft": stream.result.text.strip(), "quotes": {}, "confidence": stream.result.confidence,
                "refusal_odds": odds}
    if not as_json:
        result = deps.llm.chat(messages, options=deps.answer_options)
        ctx.emit({"type": "synthesise", "draft": result.text[:300], "confidence": result.confidence})
        odds = measure_refusal_odds(deps, messages, result, ctx)
        return {"draft": result.text.strip(), "quotes": {}, "confidence": result.confidence, "refusal_odds": odds}
    try:
        reply = structured(deps.llm, messages, AnswerReply, retries=config.json_retries,
                           options=deps.answer_options, instruct=False, schema=answer_schema(deps))
    except StructuredOutputError as exc:  # cut off or invalid: keep the answer if it is there
        salvaged = salvage_string(exc.last_reply, "answer")
        ctx.emit({"type": "synthesise", "structured_failed": str(exc)[:200], "salvaged": salvaged is not None})
        return {"draft": (salvaged if salvaged is not None else exc.last_reply).strip(), "quotes": {},
                "refusal_odds": None}
    quotes: dict[int, list[str]] = {}
    for cite in reply.citations:
        quotes.setdefault(cite.n, []).append(cite.quote)
    draft = reply.answer.strip()
    if quotes and not MARKER.search(draft) and not prompts.is_refusal(draft):
        # cited only in the structured list: put the markers after the text so they are checked like any other
        draft = f"{draft} [{', '.join(str(n) for n in sorted(quotes))}]"
        ctx.emit({"type": "synthesise", "markers_added": sorted(quotes)})
    return {"draft": draft, "quotes": quotes, "refusal_odds": None}


def measure_refusal_odds(deps: QueryDeps, messages: list[dict[str, str]], result: ChatResult,
                         ctx: QueryContext) -> float | None:
    """The probability the model gave the refusal sentence instead of its answer (None: not measured).

    Read from the answer's own top log-probabilities; when that leaves it undecided around
    ``max_refusal_odds`` (a first token "The" beside the answer "Malaysia"), one continuation of the reply
    from that prefix, one token long, says how much of it was the refusal (see
    :mod:`~ragforge.query.refusal_odds`)."""
    limit = deps.config.max_refusal_odds
    if limit is None or not result.tokens or not result.top_logprobs or not result.logprobs \
            or prompts.is_refusal(result.text):
        return None
    odds = refusal_odds(result.tokens, result.top_logprobs, result.logprobs)
    value = odds.known
    event: dict[str, Any] = {"type": "refusal_odds", "known": round(odds.known, 4), "bound": round(odds.bound, 4)}
    pending = pending_by_prefix(odds)
    if pending and value < limit <= odds.bound and deps.config.refusal_continuation:
        prefix, mass = pending[0]
        options = {**deps.options, "num_predict": 1, "logprobs": True, "top_logprobs": deps.config.top_logprobs}
        try:
            after = deps.llm.chat([*messages, {"role": "assistant", "content": prefix}], options=options)
        except LLMError as exc:  # the answer stands on what its own tokens showed
            event.update({"continued": prefix, "error": str(exc)[:200]})
        else:
            share = continuation_share(prefix, after.top_logprobs[0]) if after.top_logprobs else 0.0
            value += mass * share
            event.update({"continued": prefix, "mass": round(mass, 4), "share": round(share, 4)})
    event["odds"] = round(value, 4)
    ctx.emit(event)
    return value


def retrieval_alignment(question: str, hits: list[Hit]) -> float:
    """The largest share of the question's words that one passage holds (low: retrieval missed)."""
    wanted = words(question)
    if not wanted:
        return 1.0
    return max((len(wanted & words(h.chunk.text)) / len(wanted) for h in hits), default=0.0)


def retrieval_missed(state: QueryState, deps: QueryDeps) -> bool:
    """No passage holds ``rewrite_below`` of the question's words and, with a calibrated embedder, none is
    even loosely similar to it (dense score below ``min_relevance``): a rewritten query may find better."""
    found = [h for h in state.context if h.chunk.file_type != "tool"]
    if retrieval_alignment(state.question, found) >= deps.config.rewrite_below:
        return False
    model_id = getattr(getattr(getattr(deps.index, "store", None), "manifest", None), "model_id", None)
    bounds = deps.config.relevance_bounds(model_id)
    best = max((h.scores.get("dense", -1.0) for h in found), default=-1.0)
    return bounds is None or best < bounds[0]


def after_verdict(state: QueryState, ctx: QueryContext) -> str:
    """Rewrite when the attempt failed and retrieval missed, rounds and tools permitting; else finish."""
    deps = _deps(ctx)
    failed = state.verdict in ("refused", "unsupported")
    if not failed or state.route == "tools" or state.rewrites >= deps.max_rewrites:
        return "finish"
    return "rewrite" if retrieval_missed(state, deps) else "finish"


def clean_query(text: str) -> str:
    """The first line of a model's reply, without quotes or a leading "Query:" label."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    first = re.sub(r"^(?:search |better |new )?query\s*:\s*", "", lines[0], flags=re.I) if lines else ""
    return first.strip().strip("\"'`").strip()


def _same_query(a: str, b: str) -> bool:
    return " ".join(re.findall(r"\w+", a.lower())) == " ".join(re.findall(r"\w+", b.lower()))


def rewrite(state: QueryState, ctx: QueryContext) -> dict[str, Any]:
    """Ask the small model for a better search query; a query already tried is not run again."""
    deps = _deps(ctx)
    current = state.query or state.question
    prompt = prompts.REWRITE_PROMPT.format(question=state.question, query=current)
    text = deps.small_llm.chat([Message(role="user", content=prompt)], options=deps.options).text
    query = clean_query(text) or state.question
    tried = [state.question, *state.queries]
    if any(_same_query(query, earlier) for earlier in tried):
        ctx.emit({"type": "rewrite", "from": current, "to": query, "skipped": "same as an earlier query"})
        return {"rewrites": state.rewrites + 1, "verdict": state.verdict, "query": ""}
    ctx.emit({"type": "rewrite", "from": current, "to": query})
    return {"query": query, "rewrites": state.rewrites + 1}


def after_rewrite(state: QueryState) -> str:
    return "retrieve" if state.query else "finish"
