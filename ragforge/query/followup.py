"""Follow-up questions: a question that leans on the conversation ("And in 2023?") is rewritten into a
standalone question before anything is searched.

    first = engine.query("What was net revenue in 2022?")
    answer = engine.query("And in 2023?", history=[("What was net revenue in 2022?", first)])
    answer.question                      # the standalone question, e.g. "What was net revenue in 2023?"

History is a list of :class:`~ragforge.query.state.Turn` (question as asked, answer text), oldest first;
``(question, answer)`` pairs (the answer a string or an :class:`~ragforge.types.Answer`) and
``{"question", "answer"}`` dicts are taken too.

The ``condense`` node is the query graph's first node, and only when there is history: START routes straight
to ``route`` otherwise, so a first question costs exactly what it did (one LLM call on the fast path). With
history it asks the small model once for a standalone question from the last :data:`MAX_TURNS` turns. That
question replaces ``state.question``, so retrieval, the answer prompt, the checks and any rewrite round all
see it, never the conversation itself. The trace's ``condense`` event records ``from`` and ``to``. A reply
that is empty, far longer than a question, or a refusal keeps the question as asked (the event says why).
A rewrite that drops most of the follow-up's own words (with Qwen2.5-Coder-1.5B, "And in soft water areas?"
after a question on descaling came back as the first question, word for word) is kept with the follow-up
after it ("How often should the kettle be descaled? And in soft water areas?"), and the event lists the
``dropped`` words: the search and the answer see what the user asked.

A conversation that remembers its turns (and a terminal chat resumed by name) is
:class:`ragforge.query.chat.ChatSession`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from ragforge.errors import QueryError
from ragforge.llm import Message
from ragforge.query.citations import MARKER
from ragforge.query.prompts import is_refusal
from ragforge.query.state import QueryContext, QueryState, Turn
from ragforge.query.support import words
from ragforge.types import Answer

MAX_TURNS = 6  # the turns the rewrite sees (older ones rarely decide what "it" means)
MAX_ANSWER_CHARS = 400  # of each earlier answer, in the rewrite's prompt
HistoryLike = Iterable[Turn | tuple[str, Any] | Mapping[str, Any]]

CONDENSE_PROMPT = """Rewrite the follow-up question as one standalone question that can be understood without
the conversation: replace pronouns and missing words with what they refer to in the conversation. If it already
stands alone, repeat it unchanged. Reply with the question only.

Conversation:
{conversation}

Follow-up question: {question}
Standalone question:"""

_MARKERS = re.compile(r"\s*" + MARKER.pattern)
_LABEL = re.compile(r"^(?:the )?(?:standalone |rewritten |new )?question\s*:\s*", re.I)


def as_turns(history: HistoryLike | None) -> list[Turn]:
    """History in any accepted shape as a list of Turns (QueryError for anything else)."""
    turns = []
    for item in history or ():
        if isinstance(item, Turn):
            turns.append(item)
        elif isinstance(item, tuple) and len(item) == 2:
            question, answer = item
            text = answer.text if isinstance(answer, Answer) else str(answer)
            turns.append(Turn(question=str(question), answer=text))
        elif isinstance(item, Mapping):
            turns.append(Turn.model_validate(item))
        else:
            raise QueryError(f"a history item is a Turn, a (question, answer) pair or a dict with question and "
                             f"answer, not {type(item).__name__}")
    return turns


def conversation(turns: list[Turn]) -> str:
    """The last MAX_TURNS turns as ``User:`` / ``Assistant:`` lines, citation markers removed."""
    lines = []
    for turn in turns[-MAX_TURNS:]:
        answer = " ".join(_MARKERS.sub("", turn.answer).split())
        if len(answer) > MAX_ANSWER_CHARS:
            answer = answer[:MAX_ANSWER_CHARS].rstrip() + " ..."
        lines += [f"User: {' '.join(turn.question.split())}", f"Assistant: {answer}"]
    return "\n".join(lines)


def clean_question(text: str) -> str:
    """The first line of the model's reply, without a "Standalone question:" label or quotes."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    first = _LABEL.sub("", lines[0]) if lines else ""
    return first.strip().strip("\"'`").strip()


def _unusable(standalone: str, question: str) -> str | None:
    if not standalone:
        return "empty reply"
    if len(standalone) > max(300, 3 * len(question)):
        return "reply too long for a question"
    if is_refusal(standalone):
        return "the model refused"
    return None


def dropped_words(standalone: str, question: str) -> list[str]:
    """The follow-up's content words (stemmed) missing from its rewrite, when they are more than half of them;
    else [] (a paraphrase of a word or two, "else" -> "other", is the rewrite's business)."""
    own = words(question)
    missing = own - words(standalone)
    return sorted(missing) if 2 * len(missing) > len(own) else []


def after_start(state: QueryState) -> str:
    """START's router: the rewrite only when there is history."""
    return "condense" if state.history else "route"


def condense(state: QueryState, ctx: QueryContext) -> dict[str, Any]:
    """Rewrite a follow-up into a standalone question (one small-model call) from the conversation."""
    deps = ctx.deps
    if not state.history:
        return {}
    prompt = CONDENSE_PROMPT.format(conversation=conversation(state.history), question=state.question)
    reply = deps.small_llm.chat([Message(role="user", content=prompt)], options={**deps.options, "num_predict": 64})
    standalone = clean_question(reply.text)
    event: dict[str, Any] = {"type": "condense", "from": state.question, "to": standalone,
                             "turns": min(len(state.history), MAX_TURNS)}
    problem = _unusable(standalone, state.question)
    if problem is not None:
        event.update(to=state.question, kept=problem, reply=reply.text[:200])
        ctx.emit(event)
        return {}
    dropped = dropped_words(standalone, state.question)
    if dropped:  # the rewrite lost what the follow-up asks: keep both
        standalone = f"{standalone.rstrip()} {state.question.strip()}"
        event.update(to=standalone, dropped=dropped)
    ctx.emit(event)
    return {"question": standalone}


def condensed(answer: Answer) -> dict[str, Any] | None:
    """The ``condense`` event of an answer's trace (``from``, ``to``, ``turns``, and ``kept`` when the question
    stayed as asked), or None when there was no history."""
    for line in answer.trace:
        for event in line.get("events", ()) if line.get("type") == "node" else ():
            if event.get("type") == "condense":
                return {key: value for key, value in event.items() if key not in ("type", "t")}
    return None
