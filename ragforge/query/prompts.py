"""Prompt templates of the query engine: numbered context blocks, the answer rules, the refusal sentence.

Context blocks look like ``[1] (guide.pdf, p. 3) text ...``. When the context does not hold the answer the
model must reply with :data:`REFUSAL` exactly, which the engine recognises (:func:`is_refusal`) and turns
into ``Answer(refused=True)``.

The short style asks exactly what the plain-RAG baseline asks (:data:`SHORT_SYSTEM`): on real runs of a 1.5B
model every extra instruction (cite [n], quote, JSON) cost answer quality, and the engine finds the passage
and the quote itself. The explained style and the JSON format ask the model to cite ``[n]`` too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ragforge.types import Hit

REFUSAL = "The documents do not say."

SHORT_SYSTEM = f"""Answer the question using only the numbered passages below. Reply with the answer alone, in as
few words as possible. If the passages do not contain the answer, reply exactly: {REFUSAL}"""

ANSWER_RULES = f"""You answer questions using ONLY the numbered context passages below.
Rules:
- Use only facts stated in the passages; never use outside knowledge.
- Start with the direct answer in as few words as the question needs: a name, a number, a date, a place or a
  short phrase (a short sentence only when the question asks for an explanation or a list).
- After the answer, write the number of the passage that states it in brackets, e.g. [2].
- If the passages do not state the answer, reply with exactly this sentence and nothing else:
{REFUSAL}"""

SHORT_RULE = """- Write nothing else: no restating of the question, no explanation.
Example reply: In committee [2]."""

EXPLAINED_RULE = """- Then, on the same line, at most two short sentences from the passages that support the answer,
  each ending with its passage number, e.g. "In committee [2]. Committees do most of the work [2]."."""

JSON_RULES = """Reply with a JSON object:
{"answer": "<the direct answer with [n] after it, or the refusal sentence>",
 "citations": [{"n": <passage number>, "quote": "<a short span copied exactly from that passage>"}]}"""

JSON_RULES_NO_QUOTES = """Reply with a JSON object:
{"answer": "<the direct answer with [n] after it, or the refusal sentence>", "citations": [{"n": <passage number>}]}"""

GRADE_PROMPT = """Passage: "{window}"

Question: {question}

Does the passage answer the question? Reply with JSON {{"answers": true}} or {{"answers": false}}."""

REWRITE_PROMPT = """A search over a document collection for the question below found passages that do not
answer it well. Write ONE better search query for the same question: use the likely words of a document
that would answer it, expand abbreviations, drop filler words. Reply with the query only.

Question: {question}
Previous query: {query}"""

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


def answer_messages(question: str, hits: Sequence[Hit], *, as_json: bool, max_chars: int | None = None,
                    style: str = "short", quotes: bool = False) -> list[dict[str, str]]:
    """System + user messages for the synthesis step (role/content dicts).

    ``style`` "short" (text) asks exactly what the plain baseline asks: the answer alone; "explained"
    allows two supporting sentences, each citing ``[n]``. JSON asks for the answer with ``[n]`` and, with
    ``quotes``, a copied span per citation; without quotes the engine finds the spans.
    """
    if style == "short" and not as_json:
        system = SHORT_SYSTEM
    else:
        system = ANSWER_RULES + "\n" + (EXPLAINED_RULE if style == "explained" else SHORT_RULE)
    if as_json:
        system += "\n\n" + (JSON_RULES if quotes else JSON_RULES_NO_QUOTES)
    user = f"Context:\n{context_blocks(hits, max_chars=max_chars)}\n\nQuestion: {question}"
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def is_refusal(text: str) -> bool:
    """The model's reply is (or starts with) the refusal sentence, give or take case and punctuation."""
    flat = re.sub(r"[^a-z ]", "", " ".join(text.lower().split()))
    return flat.startswith("the documents do not say") or flat.startswith("the documents dont say")
