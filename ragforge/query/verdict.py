"""Is the answer supported, and by which passage? The ``check``, ``grade`` and ``finish`` nodes.

``check`` is deterministic and costs no model call: every claim of the draft is attributed to the passage
window that holds its words (:mod:`~ragforge.query.support`), which repairs wrong ``[n]`` numbers and finds
the quote. The direct answer (the first claim) decides the verdict:

* ``supported``: support >= ``accept_support`` and alignment with the question >= ``min_alignment``;
* ``unsupported``: support < ``reject_support``, or off-topic: neither the passage nor the window that
  holds it is about the question (dense similarity, with a calibrated embedder), or the question names a
  kind of value (a unit, a price, a year) that neither the answer nor its window holds;
* ``unsure``: anything in between, or supported words in a passage about something else.

``grade`` runs only for ``unsure`` answers, and by default (``grade="auto"``) only when the embedder has no
calibrated relevance bounds: with them, an unsure answer (part of its words in a passage about the
question) is returned ungraded. Measured with Qwen2.5-Coder-1.5B (``eval/results/answers.md``), grading
those refused mostly partly right answers (ClapNQ: 7 of the 8 unsure answers to answerable questions).
``"unsure"`` grades every unsure answer, ``"always"`` every answer, ``"never"`` none (unsure is accepted).
The grader sees the passage window that holds the answer and the question, not the answer the model wrote.

``finish`` applies the one refusal policy: the answer of the last supported attempt, its citations
repaired and quoted, else "The documents do not say.".
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from pydantic import BaseModel

from ragforge.errors import StructuredOutputError
from ragforge.llm import structured
from ragforge.query import prompts
from ragforge.query.answer_type import kind_missing
from ragforge.query.citations import MARKER, clean_markers, locate_quote
from ragforge.query.config import QueryConfig
from ragforge.query.state import Attempt, Claim, QueryContext, QueryDeps, QueryState
from ragforge.query.support import claim_spans, claim_support
from ragforge.types import Answer, Citation, Hit

REPAIR_MARGIN = 0.2  # the cited passage keeps the citation unless another holds this much more of the claim


class GradeReply(BaseModel):
    answers: bool


def attribute(draft: str, question: str, hits: list[Hit], quotes: dict[int, list[str]]) -> list[Claim]:
    """Each claim of ``draft`` with the passage window that holds it (the cited one unless another holds
    clearly more; a quote the model gave is looked for first)."""
    cleaned = clean_markers(draft, range(1, len(hits) + 1))[0]
    claims = []
    for start, end, cited in claim_spans(cleaned):
        plain = re.sub(r"\s+([.,;:!?])", r"\1", MARKER.sub("", cleaned[start:end])).strip()
        found = claim_support(plain, cited, question, hits)
        claim = Claim(text=plain, at=(start, end), cited=cited, own_words=found.own_words)
        quoted = _quoted(cited, quotes, hits)
        if quoted is not None:
            claim.passage, claim.start, claim.end = quoted
            claim.support, claim.alignment = found.by_passage.get(quoted[0], 0.0), found.alignment
        elif found.best is not None and found.support > 0:
            keep = max(cited, key=lambda n: found.by_passage.get(n, 0.0), default=None)
            best = found.best
            if keep is not None and found.by_passage.get(keep, 0.0) >= best.coverage - REPAIR_MARGIN:
                window = claim_support(plain, [keep], question, [hits[keep - 1]]).best
                if window is not None:
                    best = replace(window, passage=keep)
            claim.passage, claim.start, claim.end = best.passage, best.start, best.end
            claim.support, claim.alignment = best.coverage, best.alignment
        claims.append(claim)
    return claims


def _quoted(cited: list[int], quotes: dict[int, list[str]], hits: list[Hit]) -> tuple[int, int, int] | None:
    """Where a quote the model gave for one of ``cited`` stands: its own block first, then any block."""
    for n in cited:
        for quote in quotes.get(n, []):
            if not quote.strip():
                continue
            for block in [n, *(b for b in range(1, len(hits) + 1) if b != n)]:
                span = locate_quote(quote, hits[block - 1].chunk.text)
                if span is not None:
                    return block, span[0], span[1]
    return None


def relevance(hit: Hit) -> float | None:
    """How much the passage is about the question: its dense score (1.0 for a tool the router chose)."""
    if hit.chunk.file_type == "tool":
        return 1.0
    return hit.scores.get("dense")


def window_relevance(question: str, claim: Claim, hits: list[Hit], embedder: Any) -> float | None:
    """The cosine of the question with the window (one or two sentences) that holds ``claim``, by the
    index's own embedder (its query path: no torch when the ONNX export serves queries); None without one."""
    if embedder is None or claim.passage is None:
        return None
    window = " ".join(hits[claim.passage - 1].chunk.text[claim.start:claim.end].split())
    if not window:
        return None
    return float(embedder.embed_query(question) @ embedder.embed_query(window))


def off_topic(claim: Claim, low: float, bounds: tuple[float, float | None]) -> bool:
    """Neither the passage nor the window that holds the claim is about the question (see QueryConfig)."""
    assert claim.relevance is not None
    passage, window = bounds
    if window is None:
        return claim.relevance < passage
    if claim.window_relevance is None:  # the window could not be scored: the passage bound alone
        return claim.relevance < low
    return claim.relevance < passage and claim.window_relevance < window


def verdict_of(claims: list[Claim], config: QueryConfig, bounds: tuple[float, float] | None,
               topic: tuple[float, float | None] | None = None) -> str:
    """The verdict on the direct answer (see :class:`~ragforge.query.QueryConfig` for the policy);
    ``topic`` holds the off-topic bounds (default: the passage's lower relevance bound alone)."""
    if not claims:
        return "unsupported"
    direct = claims[0]
    if not direct.own_words:  # a bare yes/no: nothing lexical to check; the passage it rests on decides
        if bounds is not None and direct.relevance is not None:
            return "supported" if direct.relevance >= bounds[0] else "unsupported"
        return "supported" if direct.passage is not None and direct.alignment >= config.min_alignment else "unsure"
    if direct.support < config.reject_support:
        return "unsupported"
    if bounds is not None and direct.relevance is not None:
        low, high = bounds
        if off_topic(direct, low, topic or (low, None)):
            return "unsupported"
        return "supported" if direct.support >= config.accept_support and direct.relevance >= high else "unsure"
    if direct.support >= config.accept_support and direct.alignment >= config.min_alignment:
        return "supported"
    return "unsure"


def nearly_refused(odds: float | None, config: QueryConfig) -> bool:
    """The model gave the refusal sentence at least ``max_refusal_odds`` of probability (when measured)."""
    return odds is not None and config.max_refusal_odds is not None and odds >= config.max_refusal_odds


def _model_id(deps: QueryDeps) -> str | None:
    return getattr(getattr(getattr(deps.index, "store", None), "manifest", None), "model_id", None)


def _bounds(deps: QueryDeps) -> tuple[float, float] | None:
    return deps.config.relevance_bounds(_model_id(deps))


def check(state: QueryState, ctx: QueryContext) -> dict[str, Any]:
    """Refused, supported, unsure or unsupported: decided without a model call."""
    deps: QueryDeps = ctx.deps
    missing = None
    if prompts.is_refusal(state.draft) or not state.draft.strip():
        verdict, claims = "refused", []
    else:
        claims = attribute(state.draft, state.question, state.context, state.quotes)
        for claim in claims:
            if claim.passage is not None:
                claim.relevance = relevance(state.context[claim.passage - 1])
        bounds = _bounds(deps)
        topic = deps.config.off_topic_bounds(_model_id(deps))
        direct = claims[0] if claims else None
        if (topic is not None and topic[1] is not None and direct is not None and direct.own_words
                and direct.relevance is not None and direct.relevance < topic[0]):
            direct.window_relevance = window_relevance(state.question, direct, state.context,
                                                       getattr(deps.index, "embedder", None))
        verdict = verdict_of(claims, deps.config, bounds, topic)
        if verdict == "unsure" and (deps.config.grade == "never" or (deps.config.grade == "auto" and bounds)):
            verdict = "supported"  # partly supported, on a passage about the question: returned, not graded
        if deps.config.check_kind and verdict in ("supported", "unsure"):
            missing = _kind_missing(state, direct)
        if missing is not None:
            verdict = "unsupported"  # "1869" to "what top speed, in knots?": a number of another kind
        if verdict in ("supported", "unsure") and nearly_refused(state.refusal_odds, deps.config):
            verdict = "unsupported"  # the model itself nearly refused: its answer is a guess
    ctx.emit({"type": "check", "verdict": verdict, "confidence": state.confidence,
              **({} if missing is None else {"kind_missing": missing}),
              **({} if state.refusal_odds is None else {"refusal_odds": round(state.refusal_odds, 4)}),
              "claims": [{"text": c.text[:120], "cited": c.cited, "passage": c.passage,
                          "support": round(c.support, 3), "alignment": round(c.alignment, 3),
                          "relevance": None if c.relevance is None else round(c.relevance, 3),
                          **({} if c.window_relevance is None else {"window_relevance": round(c.window_relevance, 3)})}
                         for c in claims]})
    return {"claims": claims, "verdict": verdict, "graded": None}


def _kind_missing(state: QueryState, direct: Claim | None) -> str | None:
    """The kind of value the question names, when neither the answer nor its window holds one (a tool the
    router chose is not checked)."""
    if direct is None or direct.passage is None:
        return None
    hit = state.context[direct.passage - 1]
    if hit.chunk.file_type == "tool":
        return None
    return kind_missing(state.question, state.draft, hit.chunk.text[direct.start:direct.end])


def after_check(state: QueryState, ctx: QueryContext) -> str:
    deps: QueryDeps = ctx.deps
    wants = state.verdict == "unsure" or (deps.config.grade == "always" and state.verdict == "supported")
    if wants and deps.config.grade != "never":
        return "grade"
    return "attempt"


def grade(state: QueryState, ctx: QueryContext) -> dict[str, Any]:
    """Ask the small model whether the passage window that holds the answer answers the question.

    The model sees that window and the question only, not the answer it wrote (a model asked to check its own
    answer nearly always approves it); one schema-constrained call of a hundred-odd tokens.
    """
    deps: QueryDeps = ctx.deps
    claim = state.claims[0] if state.claims else None
    if claim is None or claim.passage is None:
        ctx.emit({"type": "grade", "supported": None, "verdict": "unsupported", "reason": "no passage holds it"})
        return {"verdict": "unsupported", "graded": None}
    text = state.context[claim.passage - 1].chunk.text
    window = " ".join(text[claim.start:claim.end].split())
    prompt = prompts.GRADE_PROMPT.format(window=window, question=state.question)
    try:
        answers: bool | None = structured(deps.small_llm, prompt, GradeReply, retries=0, instruct=False,
                                          options={**deps.options, "num_predict": 16}).answers
    except StructuredOutputError:
        answers = None
    verdict = "supported" if answers or (answers is None and state.verdict == "supported") else "unsupported"
    ctx.emit({"type": "grade", "supported": answers, "verdict": verdict, "passage": claim.passage})
    return {"verdict": verdict, "graded": answers}


def attempt(state: QueryState, ctx: QueryContext) -> dict[str, Any]:
    """Record this round (query, passages, draft, verdict) among the attempts."""
    query = state.query or state.question
    record = Attempt(query=query, context=state.context, draft=state.draft, quotes=state.quotes,
                     claims=state.claims, verdict=state.verdict, graded=state.graded, confidence=state.confidence,
                     refusal_odds=state.refusal_odds)
    return {"attempts": [record]}


def _citations(draft: str, claims: list[Claim], kept: list[Claim],
               hits: list[Hit]) -> tuple[str, list[Citation], list[dict[str, Any]]]:
    """The answer text with each kept claim's marker set to its passage (claims not kept are cut), one
    quoted citation per attributed claim, and the repairs made."""
    cleaned = clean_markers(draft, range(1, len(hits) + 1))[0]
    parts, citations, repairs, pos = [], [], [], 0
    for claim in claims:
        start, end = claim.at
        parts.append(MARKER.sub("", cleaned[pos:start]))
        pos = end
        if claim not in kept:
            continue
        body = MARKER.sub("", cleaned[start:end]).rstrip()
        punct = re.search(r"[.!?;,:]*$", body).group(0)  # type: ignore[union-attr]
        body = re.sub(r"\s+([.,;:!?])", r"\1", body[: len(body) - len(punct)]).rstrip()
        if claim.passage is None:
            parts.append(body + punct)
            continue
        if claim.passage not in claim.cited:
            repairs.append({"claim": claim.text[:200], "from": claim.cited, "to": claim.passage,
                            "reason": f"the words stand in passage {claim.passage}" if claim.cited
                            else "uncited; attributed to the passage that holds it"})
        chunk = hits[claim.passage - 1].chunk
        citations.append(Citation(number=claim.passage, chunk_id=chunk.id, source=chunk.source, page=chunk.page,
                                  start=chunk.start + claim.start, end=chunk.start + claim.end,
                                  quote=chunk.text[claim.start:claim.end], verified=True))
        parts.append(f"{body} [{claim.passage}]{punct}")
    parts.append(MARKER.sub("", cleaned[pos:]))
    return re.sub(r"[ \t]+", " ", "".join(parts)).strip(), citations, repairs


def finish(state: QueryState, ctx: QueryContext) -> dict[str, Any]:
    """The Answer from the last supported attempt, with repaired, quoted citations; else the refusal."""
    deps: QueryDeps = ctx.deps
    attempts = state.attempts
    best = next((a for a in reversed(attempts) if a.verdict == "supported"), None)
    last_context = attempts[-1].context if attempts else state.context
    if best is None:
        model_refused = bool(attempts) and all(a.verdict == "refused" for a in attempts)
        reason = "the model said the passages do not answer" if model_refused else "no passage supports the answer"
        ctx.emit({"type": "finish", "refused": True, "reason": reason})
        return {"answer": Answer(question=state.question, text=prompts.REFUSAL, hits=last_context, refused=True)}
    # the direct answer decided the verdict; a supporting sentence no passage clearly holds is left out
    kept = best.claims[:1] + [c for c in best.claims[1:]
                              if c.passage is not None and c.support >= deps.config.accept_support]
    text, citations, repairs = _citations(best.draft, best.claims, kept, best.context)
    dropped = sorted(clean_markers(best.draft, range(1, len(best.context) + 1))[1])
    ctx.emit({"type": "finish", "refused": False, "repairs": repairs, "dropped": dropped,
              "claims_left_out": len(best.claims) - len(kept)})
    return {"answer": Answer(question=state.question, text=text, citations=citations, hits=best.context,
                             dropped_citations=dropped, repairs=repairs, confidence=best.confidence,
                             refusal_odds=best.refusal_odds)}
