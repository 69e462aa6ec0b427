"""Which passage really holds an answer: deterministic support, citation repair and engine-found quotes.

Small models cite the wrong block about as often as the right one (the words stand in [3], the answer says
[1]); a check that only looks at the cited block then refuses a correct answer. Here every claim of the
answer is matched against every passage of the prompt:

* a claim's **coverage** in a passage is the share of its content words (stemmed; numbers and number
  words normalised; a number weighs twice a word) found in the best window of one or two of the passage's
  sentences;
* the claim's **support** is its best coverage over all passages, and that window is its quote: a span of
  the passage's own text, so a citation always points at real words even when the model quoted nothing;
* the window's **alignment** is the share of the question's content words found in it and the sentences
  next to it: an answer copied from a passage about something else (``Malaysia [4]`` to a question the
  passages cannot answer) has full coverage but low alignment (a tool result the router chose for the
  question counts as aligned);
* when the cited block does not hold the claim and another does, the citation is **repaired** to that
  block, and the repair is recorded.

Yes/no answers and answers made only of question words have no words of their own to look for; they are
attributed by the question's words instead. A claim of two or more words written with other spacing or
punctuation than the passage's (``CBS Sports.com`` for ``CBSSports.com``) is found by its letters and digits
alone, when those are long enough (eight or more) not to turn up inside unrelated words.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from ragforge.query.citations import MARKER, marker_numbers
from ragforge.query.grounding import STOP_WORDS
from ragforge.types import Hit

_WORD = re.compile(r"[^\W_]+(?:[.,'’][^\W_]+)*", re.UNICODE)
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])|\n\s*\n|\n(?=\s*[-*•\d])")
_NUMBER_WORDS = {w: str(i) for i, w in enumerate(
    ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
     "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"])}
_ANSWER_STOP = STOP_WORDS | {"yes", "no", "answer", "answers", "question", "says", "said", "states", "stated"}


def stem(word: str) -> str:
    """A light stem: lower case, possessives and plural endings off, digits without thousands commas."""
    word = word.lower().strip(".,'’")
    word = re.sub(r"['’]s$", "", word)
    if re.fullmatch(r"[\d,]+(?:\.\d+)?", word):
        return word.replace(",", "")
    word = _NUMBER_WORDS.get(word, word)
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def words(text: str, stop: frozenset[str] = STOP_WORDS) -> set[str]:
    """Stemmed content words of ``text`` (citation markers and stop words removed)."""
    text = MARKER.sub(" ", text)
    return {stem(w) for w in _WORD.findall(text) if w.lower().strip(".,'’") not in stop} - {""}


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each sentence of ``text`` (whitespace trimmed), in order."""
    spans, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(text)))
    out = []
    for a, b in spans:
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if b > a:
            out.append((a, b))
    return out


@dataclass
class Window:
    """The best place for a claim in one passage."""

    passage: int  # 1-based block number
    start: int  # character offsets in the chunk's text
    end: int
    coverage: float
    alignment: float

    @property
    def score(self) -> float:
        return self.coverage + 0.25 * self.alignment


@dataclass
class ClaimSupport:
    """One claim (a sentence of the answer) and where it stands."""

    claim: str
    cited: list[int]
    best: Window | None
    by_passage: dict[int, float] = field(default_factory=dict)  # block -> coverage
    own_words: bool = True  # False: a bare "Yes"/"No", attributed by the question's words

    @property
    def support(self) -> float:
        return self.best.coverage if self.best is not None else 0.0

    @property
    def alignment(self) -> float:
        return self.best.alignment if self.best is not None else 0.0


def _weight(word: str) -> float:
    return 2.0 if any(ch.isdigit() for ch in word) else 1.0  # figures decide an answer more than words


def _share(part: set[str], whole: set[str]) -> float:
    """The (weighted) share of ``part`` found in ``whole``; a number counts twice."""
    total = sum(_weight(w) for w in part)
    return sum(_weight(w) for w in part & whole) / total if total else 0.0


_COMPACT_MIN = 8  # letters and digits a claim needs before it is matched without its spacing


def compact(text: str) -> str:
    """Only the letters and digits of ``text``, lower case: ``CBS Sports.com`` -> ``cbssportscom``."""
    return "".join(ch for ch in text.lower() if ch.isalnum())


def best_window(claim_words: set[str], question_words: set[str], text: str, passage: int,
                claim_letters: str = "") -> Window | None:
    """The window of one or two sentences of ``text`` that holds most of ``claim_words`` (a window that holds
    ``claim_letters``, the claim's letters and digits without spacing, holds all of it)."""
    spans = sentence_spans(text)
    sentence_words = [words(text[a:b]) for a, b in spans]
    best: Window | None = None
    for i in range(len(spans)):
        for j in (i, i + 1):
            if j >= len(spans):
                continue
            inside = set().union(*sentence_words[i:j + 1])
            around = inside.union(*sentence_words[max(0, i - 1):j + 2])
            coverage = _share(claim_words, inside)
            if claim_letters and coverage < 1.0 and claim_letters in compact(text[spans[i][0]:spans[j][1]]):
                coverage = 1.0
            window = Window(passage, spans[i][0], spans[j][1], coverage, _share(question_words, around))
            if j > i:  # a second sentence must add coverage to be worth quoting
                window.coverage -= 1e-6
            if best is None or window.score > best.score + 1e-9:
                best = window
    return best


def claim_support(claim: str, cited: list[int], question: str, hits: Sequence[Hit]) -> ClaimSupport:
    """Where ``claim`` stands in each passage (tool results count as passages too)."""
    question_words = words(question)
    claim_words = words(claim, _ANSWER_STOP) - question_words or words(claim, _ANSWER_STOP)
    own = bool(claim_words)
    if not own:  # "Yes." / "No.": nothing of its own to look for; attributed by the question
        claim_words = question_words
    plain = MARKER.sub(" ", claim).strip().rstrip(".!?")
    letters = compact(plain) if own and len(_WORD.findall(plain)) >= 2 else ""
    letters = letters if len(letters) >= _COMPACT_MIN else ""
    result = ClaimSupport(claim=claim, cited=cited, best=None, own_words=own)
    for number, hit in enumerate(hits, start=1):
        window = best_window(claim_words, question_words, hit.chunk.text, number, letters)
        if window is None:
            continue
        if hit.chunk.file_type == "tool":  # a tool the router chose for this question: aligned by choice
            window.alignment = 1.0
        result.by_passage[number] = window.coverage
        if result.best is None or _better(window, result.best, cited):
            result.best = window
    return result


def _better(window: Window, best: Window, cited: list[int]) -> bool:
    """Clearly more of the claim, or of the question, wins; on a tie the cited block, then the block
    retrieval ranked higher (the earlier one) keeps it."""
    gap = round(window.score, 2) - round(best.score, 2)
    if abs(gap) >= 0.01:
        return gap > 0
    return window.passage in cited and best.passage not in cited


# a sentence ends at . ! ? before a capital or a digit, but not after an initial ("John G. Trump") or a
# common abbreviation ("Dr. Coke", "St. Louis", "U.S. Army")
_NOT_AN_END = r"(?<!\b[A-Z]\.)(?<!\bDr\.)(?<!\bMr\.)(?<!\bMs\.)(?<!\bSt\.)(?<!\bMt\.)(?<!\bJr\.)(?<!\bSr\.)(?<!\bvs\.)"
_BOUNDARY = re.compile(r"(?P<marks>(?:\s*" + MARKER.pattern + r")+[.!?;,:]?)|" + _NOT_AN_END +
                       r"(?<=[.!?])\s+(?=[\"'(\[A-Z0-9])|\n+")


_YES_NO = re.compile(r"\s*(?:yes|no)[\s.!,;:]*", re.I)  # "No." is a claim, though "no" is a stop word


def claim_spans(text: str) -> list[tuple[int, int, list[int]]]:
    """``(start, end, cited)`` of each claim of an answer: a clause that ends with citation markers, or a
    sentence. Markers standing alone after a sentence (``"It opened in 1889. [1]"``) belong to it."""
    spans: list[list] = []
    pos = 0
    matches = list(_BOUNDARY.finditer(text))
    for match in [*matches, None]:
        end = len(text) if match is None else match.end() if match.group("marks") else match.start()
        piece = text[pos:end]
        cited = [n for m in MARKER.finditer(piece) for n in marker_numbers(m.group(1))]
        if words(MARKER.sub(" ", piece)) or _YES_NO.fullmatch(MARKER.sub(" ", piece)):
            lead = len(piece) - len(piece.lstrip())
            spans.append([pos + lead, end, list(dict.fromkeys(cited))])
        elif cited and spans:
            spans[-1][1] = end
            spans[-1][2] = list(dict.fromkeys(spans[-1][2] + cited))
        if match is not None:
            pos = match.end()
    return [(a, b, c) for a, b, c in spans]


def split_claims(text: str) -> list[tuple[str, list[int]]]:
    """The answer's claims as text (markers included), each with the block numbers it cites."""
    return [(text[a:b], cited) for a, b, cited in claim_spans(text)]
