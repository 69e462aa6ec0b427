"""The nodes of the default query graph. Each is ``node(state, ctx) -> partial update``.

route -> retrieve | call_tools (in parallel when both) -> join -> rerank -> synthesise -> check
-> (weak or refused, rounds left: rewrite -> retrieve -> ...) -> finish.
Dependencies come from ``ctx.deps`` (:class:`~ragforge.query.state.QueryDeps`); each node reports what
it decided through ``ctx.emit`` so the trace tells the story of a run.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, Field

from ragforge.errors import StructuredOutputError, ToolError
from ragforge.llm import Message, Tool, structured
from ragforge.query import prompts
from ragforge.query.citations import MARKER, resolve
from ragforge.query.grounding import check_grounding
from ragforge.query.state import Attempt, QueryDeps, QueryState
from ragforge.types import Answer, Chunk, Hit

SEARCH_TOOL = "search_documents"


def search_documents(query: str) -> str:
    """Search the user's indexed documents for passages about the query.

    Args:
        query: what to look for
    """
    return query  # never run: the router only reads which tools the model called


class QuotedCitation(BaseModel):
    n: int
    quote: str = ""


class AnswerReply(BaseModel):
    answer: str
    citations: list[QuotedCitation] = Field(default_factory=list)


class GradeReply(BaseModel):
    supported: bool
    reason: str = ""


def _deps(ctx: Any) -> QueryDeps:
    return ctx.deps


def route(state: QueryState, ctx: Any) -> dict[str, Any]:
    """Retrieval, the user's tools, or both: the small model picks by calling tools. No tools: retrieval."""
    deps = _deps(ctx)
    update: dict[str, Any] = {"query": state.query or state.question}
    if not len(deps.tools):
        ctx.emit({"type": "route", "route": "retrieve", "reason": "no tools registered"})
        return {**update, "route": "retrieve", "tool_calls": []}
    tools = [Tool.from_function(search_documents), *deps.tools.tools.values()]
    messages = [Message(role="system", content=prompts.ROUTER_SYSTEM),
                Message(role="user", content=state.question)]
    reply = deps.small_llm.chat(messages, tools=tools, options=deps.options)
    search = any(c.name == SEARCH_TOOL for c in reply.tool_calls)
    calls = [c for c in reply.tool_calls if c.name in deps.tools]
    ignored = [c.name for c in reply.tool_calls if c.name != SEARCH_TOOL and c.name not in deps.tools]
    choice = "both" if search and calls else "tools" if calls else "retrieve"
    ctx.emit({"type": "route", "route": choice, "tool_calls": [c.model_dump() for c in calls],
              "ignored": ignored})
    return {**update, "route": choice, "tool_calls": calls}


def after_route(state: QueryState) -> list[str]:
    return {"retrieve": ["retrieve"], "tools": ["call_tools"], "both": ["retrieve", "call_tools"]}[state.route]


def retrieve(state: QueryState, ctx: Any) -> dict[str, Any]:
    """Hybrid (or the configured mode) search for the current query: ``candidates`` hits."""
    deps = _deps(ctx)
    query = state.query or state.question
    hits = deps.index.search(query, k=deps.config.candidates, where=deps.where, mode=deps.config.mode,
                             options=deps.config.search)
    ctx.emit({"type": "retrieve", "query": query, "hits": len(hits),
              "top": [[h.chunk.citation_label(), round(h.score, 4)] for h in hits[:5]]})
    return {"retrieved": hits}


def _tool_hit(name: str, arguments: dict[str, Any], text: str) -> Hit:
    source = f"tool: {name}({json.dumps(arguments, ensure_ascii=False, sort_keys=True)})"
    chunk = Chunk(id=Chunk.make_id(source, 0, len(text), text), source=source, text=text, start=0,
                  end=len(text), file_type="tool", title=name)
    return Hit(chunk=chunk, score=1.0, scores={"tool": 1.0})


def call_tools(state: QueryState, ctx: Any) -> dict[str, Any]:
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


def join(state: QueryState, ctx: Any) -> dict[str, Any]:
    """Merge what the branches brought back: tool results first, then the retrieval candidates."""
    retrieved = state.retrieved if state.route != "tools" else []
    context = [*state.tool_hits, *retrieved]
    ctx.emit({"type": "join", "tool_blocks": len(state.tool_hits), "retrieved": len(retrieved)})
    return {"context": context}


def rerank(state: QueryState, ctx: Any) -> dict[str, Any]:
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


def synthesise(state: QueryState, ctx: Any) -> dict[str, Any]:
    """Ask the answer model, with the numbered context; stream pieces when ``deps.on_token`` is set."""
    deps = _deps(ctx)
    if not state.context or _below_min_score(state, deps):
        ctx.emit({"type": "synthesise", "skipped": "no context" if not state.context else "below min_score"})
        return {"draft": prompts.REFUSAL, "quotes": {}}
    as_json = deps.config.answer_format == "json" and deps.on_token is None
    messages = prompts.answer_messages(state.question, state.context, as_json=as_json,
                                       max_chars=deps.config.max_context_chars)
    if deps.on_token is not None:
        stream = deps.llm.stream(messages, options=deps.options)
        for piece in stream:
            deps.on_token(piece)
        return {"draft": stream.result.text.strip(), "quotes": {}}
    if not as_json:
        return {"draft": deps.llm.chat(messages, options=deps.options).text.strip(), "quotes": {}}
    try:
        reply = structured(deps.llm, messages, AnswerReply, retries=deps.config.json_retries,
                           options=deps.options)
    except StructuredOutputError as exc:  # keep the text: its [n] markers are checked like any answer
        ctx.emit({"type": "synthesise", "structured_failed": str(exc)[:300]})
        return {"draft": exc.last_reply.strip(), "quotes": {}}
    quotes: dict[int, list[str]] = {}
    for cite in reply.citations:
        quotes.setdefault(cite.n, []).append(cite.quote)
    draft = reply.answer.strip()
    if quotes and not MARKER.search(draft) and not prompts.is_refusal(draft):
        # cited only in the structured list: put the markers after the text so they are checked like any other
        draft = f"{draft} [{', '.join(str(n) for n in sorted(quotes))}]"
        ctx.emit({"type": "synthesise", "markers_added": sorted(quotes)})
    return {"draft": draft, "quotes": quotes}


def _grade(state: QueryState, deps: QueryDeps, draft: str) -> bool | None:
    prompt = prompts.GRADE_PROMPT.format(context=prompts.context_blocks(state.context,
                                                                         max_chars=deps.config.max_context_chars),
                                         answer=draft)
    try:
        return structured(deps.small_llm, prompt, GradeReply, retries=1, options=deps.options).supported
    except StructuredOutputError:
        return None


def check(state: QueryState, ctx: Any) -> dict[str, Any]:
    """Is the draft grounded? Refusal, or the share of its sentences backed by the chunks they cite."""
    deps = _deps(ctx)
    query = state.query or state.question
    if prompts.is_refusal(state.draft):
        verdict, score = "refused", 0.0
    else:
        resolved = resolve(state.draft, state.context, state.quotes)
        score = check_grounding(resolved.text, state.context, min_overlap=deps.config.min_overlap).score
        if not resolved.citations:
            score = 0.0
        verdict = "ok" if score >= deps.config.weak_below else "weak"
        if deps.config.llm_grader and resolved.citations:
            graded = _grade(state, deps, resolved.text)
            ctx.emit({"type": "grade", "supported": graded})
            if graded is False:  # the grader overrules the lexical check: this attempt counts as unsupported
                verdict, score = "weak", 0.0
    ctx.emit({"type": "check", "verdict": verdict, "grounding": score})
    attempt = Attempt(query=query, context=state.context, draft=state.draft, quotes=state.quotes,
                      grounding=score, verdict=verdict)
    return {"grounding": score, "verdict": verdict, "attempts": [attempt]}


def after_check(state: QueryState, ctx: Any) -> str:
    deps = _deps(ctx)
    retry = state.verdict in ("weak", "refused") and state.route != "tools"
    return "rewrite" if retry and state.rewrites < deps.max_rewrites else "finish"


def clean_query(text: str) -> str:
    """The first line of a model's reply, without quotes or a leading "Query:" label."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    first = re.sub(r"^(?:search |better |new )?query\s*:\s*", "", lines[0], flags=re.I) if lines else ""
    return first.strip().strip("\"'`").strip()


def rewrite(state: QueryState, ctx: Any) -> dict[str, Any]:
    """Ask the small model for a better search query; the next round retrieves with it."""
    deps = _deps(ctx)
    prompt = prompts.REWRITE_PROMPT.format(question=state.question, query=state.query or state.question)
    text = deps.small_llm.chat([Message(role="user", content=prompt)], options=deps.options).text
    query = clean_query(text) or state.question
    ctx.emit({"type": "rewrite", "from": state.query or state.question, "to": query})
    return {"query": query, "rewrites": state.rewrites + 1}


def _best(attempts: list[Attempt]) -> Attempt | None:
    best = None
    for attempt in attempts:  # the latest wins ties
        if attempt.verdict != "refused" and (best is None or attempt.grounding >= best.grounding):
            best = attempt
    return best


def finish(state: QueryState, ctx: Any) -> dict[str, Any]:
    """The Answer: the best-grounded attempt with validated citations, or the refusal."""
    deps = _deps(ctx)
    best = _best(state.attempts)
    last_context = state.attempts[-1].context if state.attempts else state.context
    if best is None or best.grounding <= deps.config.refuse_below:
        reason = "the model said the passages do not answer" if best is None else "no cited passage supports it"
        ctx.emit({"type": "finish", "refused": True, "reason": reason})
        return {"answer": Answer(question=state.question, text=prompts.REFUSAL, hits=last_context, refused=True)}
    resolved = resolve(best.draft, best.context, best.quotes)
    ctx.emit({"type": "finish", "refused": False, "grounding": best.grounding, "dropped": resolved.dropped})
    return {"answer": Answer(question=state.question, text=resolved.text, citations=resolved.citations,
                             hits=best.context, dropped_citations=resolved.dropped)}
