"""A cheap lexical grounding check: is each sentence of an answer backed by the chunks it cites?

A sentence is *supported* when at least ``min_overlap`` of its content words (lower-cased, stop words
and citation markers removed, numbers kept) occur in the text of the chunks it cites. The answer's
``score`` is the share of its factual sentences that are supported; sentences without any content word
(e.g. "In short:") are not counted. Uncited factual sentences count as unsupported.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pydantic import BaseModel

from ragforge.query.citations import MARKER, marker_numbers
from ragforge.types import Hit

STOP_WORDS = frozenset(
    ["a", "an", "the", "and", "or", "but", "if", "of", "to", "in", "on", "at", "by", "for", "with", "from", "as", "is",
     "are", "was", "were", "be", "been", "being", "it", "its", "this", "that", "these", "those", "there", "their",
     "they", "them", "he", "she", "his", "her", "we", "our", "you", "your", "i", "not", "no", "so", "than", "then",
     "into", "over", "under", "about", "also", "which", "who", "whom", "what", "when", "where", "why", "how", "do",
     "does", "did", "has", "have", "had", "can", "could", "would", "should", "may", "might", "will", "shall", "very",
     "more", "most", "such", "only", "same", "other", "any", "each", "all", "both", "per", "according", "passage",
     "passages", "context", "document", "documents"]
)
_WORD = re.compile(r"[^\W_]+(?:[.,'][^\W_]+)*", re.UNICODE)
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])|\n+")


def content_words(text: str) -> set[str]:
    """Lower-cased words minus stop words; numbers such as ``2,018`` or ``3.5`` stay whole."""
    text = MARKER.sub(" ", text.lower())
    return {w.strip(".,'") for w in _WORD.findall(text) if w.strip(".,'") not in STOP_WORDS}


def split_sentences(text: str) -> list[str]:
    """Sentences of an answer; a trailing citation marker stays with its sentence."""
    text = re.sub(r"([.!?])\s*(\[[^\]]*\](?:\s*\[[^\]]*\])*)", r" \2\1", text)  # "claim. [1]" -> "claim [1]. "
    return [s.strip() for s in _SENTENCE.split(text) if s and s.strip()]


class SentenceSupport(BaseModel):
    sentence: str
    cited: list[int]
    overlap: float  # share of the sentence's content words found in its cited chunks
    supported: bool


class Grounding(BaseModel):
    score: float  # supported factual sentences / factual sentences (1.0 when there are none)
    sentences: list[SentenceSupport]

    @property
    def weak(self) -> bool:
        return self.score < 1.0


def check_grounding(text: str, hits: Sequence[Hit], *, min_overlap: float = 0.5) -> Grounding:
    """Sentence-by-sentence lexical support of ``text`` by the hits its markers cite."""
    results: list[SentenceSupport] = []
    for sentence in split_sentences(text):
        words = content_words(sentence)
        if not words:
            continue
        cited = [n for m in MARKER.finditer(sentence) for n in marker_numbers(m.group(1))]
        cited = [n for n in dict.fromkeys(cited) if 1 <= n <= len(hits)]
        source_words: set[str] = set()
        for n in cited:
            source_words |= content_words(hits[n - 1].chunk.text)
        overlap = len(words & source_words) / len(words)
        results.append(SentenceSupport(sentence=sentence, cited=cited, overlap=round(overlap, 4),
                                       supported=bool(cited) and overlap >= min_overlap))
    if not results:
        return Grounding(score=1.0, sentences=[])
    score = sum(r.supported for r in results) / len(results)
    return Grounding(score=round(score, 4), sentences=results)


def best_sentence(claim: str, chunk_text: str) -> tuple[str, float]:
    """The sentence of ``chunk_text`` sharing most content words with ``claim``, and that share."""
    words = content_words(claim)
    best, best_share = "", 0.0
    for sentence in re.split(r"(?<=[.!?])\s+|\n+", chunk_text):
        if not sentence.strip():
            continue
        share = len(words & content_words(sentence)) / len(words) if words else 0.0
        if share > best_share:
            best, best_share = sentence.strip(), share
    return best, best_share
