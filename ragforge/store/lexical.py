"""Building FTS5 MATCH expressions from user text, safely.

User text never reaches FTS5's query syntax: word tokens are extracted with a Unicode regex, lower-cased,
stop words dropped (unless that would leave nothing), and each token is quoted as an FTS5 string and joined
with OR. So ``NOT``, ``NEAR``, ``*``, ``^``, ``col:``, quotes and parentheses are plain words or nothing.
"""

from __future__ import annotations

import re

MAX_TERMS = 64  # a very long query keeps its first 64 distinct terms

_TOKEN = re.compile(r"\w+", re.UNICODE)

STOPWORDS = frozenset(["a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "from", "has", "have", "he",
                       "her", "his", "i", "if", "in", "into", "is", "it", "its", "of", "on", "or", "our", "she", "so",
                       "than", "that", "the", "their", "them", "then", "there", "these", "they", "this", "to", "was",
                       "we", "were", "what", "when", "where", "which", "who", "whom", "why", "will", "with", "you",
                       "your", "do", "does", "did", "not", "no", "can", "could", "would", "should", "how", "about",
                       "all", "any", "been", "being", "both", "each", "few", "more", "most", "other", "some", "such",
                       "only", "own", "same", "too", "very", "just", "over", "under", "again", "further", "once",
                       "here", "out", "up", "down", "off", "nor", "near", "my", "me", "him", "us"])


def query_terms(text: str) -> list[str]:
    """The distinct lower-cased word tokens of ``text`` that a lexical search looks for."""
    tokens = [token.lower() for token in _TOKEN.findall(text or "")]
    kept = [token for token in tokens if token not in STOPWORDS] or tokens
    seen: dict[str, None] = {}
    for token in kept:
        seen.setdefault(token, None)
    return list(seen)[:MAX_TERMS]


def match_expression(text: str) -> str | None:
    """An FTS5 MATCH expression (``"a" OR "b"``) for ``text``, or None when it has no words."""
    terms = query_terms(text)
    if not terms:
        return None
    return " OR ".join('"' + term.replace('"', '""') + '"' for term in terms)
