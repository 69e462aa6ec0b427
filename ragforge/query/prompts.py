"""Prompt templates of the query engine: numbered context blocks, the answer rules, the refusal sentence.

Context blocks look like ``[1] (guide.pdf, p. 3) text ...``; the model cites them as ``[1]`` after each
claim. When the context does not hold the answer the model must reply with :data:`REFUSAL` exactly, which
the engine recognises (:func:`is_refusal`) and turns into ``Answer(refused=True)``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ragforge.types import Hit

REFUSAL = "The documents do not say."

ANSWER_RULES = f"""You answer questions using ONLY the numbered context passages below.
Rules:
- Use only facts stated in the passages; never use outside knowledge.
- After every sentence that states a fact, cite the passage(s) it comes from as [n], e.g. [1] or [1, 3].
- Cite only numbers that appear in the context.
- Be concise: answer in one to four sentences.
- If the passages do not contain the answer, reply with exactly this sentence and nothing else:
{REFUSAL}"""

JSON_RULES = """Reply with a JSON object:
{"answer": "<the answer, with [n] after each claim, or the refusal sentence>",
 "citations": [{"n": <passage number>, "quote": "<an exact, short span copied from that passage>"}]}"""

REWRITE_PROMPT = """A search over a document collection for the question below found passages that do not
answer it well. Write ONE better search query for the same question: use the likely words of a document
that would answer it, expand abbreviations, drop filler words. Reply with the query only.

Question: {question}
Previous query: {query}"""

GRADE_PROMPT = """Does the context support the answer? Every claim of the answer must be stated in the
context. Reply with a JSON object {{"supported": true|false, "reason": "<one short sentence>"}}.

Context:
{context}

Answer:
{answer}"""

RERANK_PROMPT = """Score how well each passage answers the question, from 0 (irrelevant) to 10 (answers it
fully). Reply with a JSON object {{"scores": [{{"n": <passage number>, "score": <0-10>}}, ...]}} with one
entry per passage.

Question: {question}

Passages:
{passages}"""

ROUTER_SYSTEM = """You decide how to answer a question. Call `search_documents` to look the question up in
the user's documents. Call one of the other tools when it can compute or look up the answer directly.
Call both kinds when the question needs both. Do not answer the question yourself; only call tools."""


def block_label(hit: Hit) -> str:
    """``guide.pdf, p. 3`` / ``notes.md § Setup`` / ``tool: calculator``."""
    if hit.chunk.file_type == "tool":
        return hit.chunk.source
    return hit.chunk.citation_label()


def _clean(text: str) -> str:
    return re.sub(r"[ \t]+", " ", re.sub(r"\n\s*\n+", "\n", text)).strip()


def context_blocks(hits: Sequence[Hit], *, max_chars: int | None = None) -> str:
    """The numbered context: ``[n] (label) text`` per hit, numbered from 1 in order."""
    blocks = []
    for number, hit in enumerate(hits, start=1):
        text = _clean(hit.chunk.text)
        if max_chars is not None and len(text) > max_chars:
            text = text[:max_chars].rstrip() + " ..."
        blocks.append(f"[{number}] ({block_label(hit)}) {text}")
    return "\n\n".join(blocks)


def answer_messages(question: str, hits: Sequence[Hit], *, as_json: bool,
                    max_chars: int | None = None) -> list[dict[str, str]]:
    """System + user messages for the synthesis step (role/content dicts)."""
    system = ANSWER_RULES + ("\n\n" + JSON_RULES if as_json else "")
    user = f"Context:\n{context_blocks(hits, max_chars=max_chars)}\n\nQuestion: {question}"
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def is_refusal(text: str) -> bool:
    """The model's reply is (or starts with) the refusal sentence, give or take case and punctuation."""
    flat = re.sub(r"[^a-z ]", "", " ".join(text.lower().split()))
    return flat.startswith("the documents do not say") or flat.startswith("the documents dont say")
