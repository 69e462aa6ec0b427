"""Answer metrics as pure functions, checked against hand-computed cases in the tests.

* **Exact match / token F1**: the official SQuAD v1.1 evaluation: both strings are normalised (lower
  case, punctuation removed, the articles a/an/the removed, whitespace collapsed); F1 is over the bag of
  normalised tokens; the score of a prediction is its best over the gold answers. Citation markers such
  as ``[1]`` are removed from a prediction before scoring (:func:`strip_citations`).
* **hit@k**: 1 when one of the first ``k`` retrieved keys is gold.
* **Citation precision**: the share of an answer's citations whose chunk holds the evidence; a key is
  ``(source, page)`` and a gold key with page ``None`` matches any page of that source. Answers without
  citations have no precision (``None``) and are left out of the mean.
* **Refusal rate** on unanswerable questions (higher is better) and **false refusals** on answerable
  ones (lower is better).
* **Faithfulness**: the share of an answer's claims that a judge found supported by the cited text.
"""

from __future__ import annotations

import collections
import re
import string
from collections.abc import Callable, Iterable, Mapping, Sequence

Key = tuple[str, "int | None"]

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_MARKERS = re.compile(r"\[\s*\d+(?:\s*[,\-–]\s*\d+)*\s*\]")
_PUNCT = set(string.punctuation)


def normalize_answer(text: str) -> str:
    """SQuAD v1.1's ``normalize_answer``: lower, drop punctuation, drop articles, collapse whitespace."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _PUNCT)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def strip_citations(text: str) -> str:
    """The answer text without ``[n]`` / ``[n, m]`` markers."""
    return " ".join(_MARKERS.sub(" ", text).split())


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def token_f1(prediction: str, gold: str) -> float:
    """SQuAD token F1 of one prediction against one gold answer."""
    pred = normalize_answer(prediction).split()
    ref = normalize_answer(gold).split()
    common = collections.Counter(pred) & collections.Counter(ref)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(ref)
    return 2 * precision * recall / (precision + recall)


def max_over_gold(metric: Callable[[str, str], float], prediction: str, golds: Sequence[str]) -> float:
    """The best score of ``prediction`` over ``golds`` (0.0 when there are no gold answers)."""
    return max((metric(prediction, gold) for gold in golds), default=0.0)


def answer_em(prediction: str, golds: Sequence[str]) -> float:
    return max_over_gold(exact_match, strip_citations(prediction), golds)


def answer_f1(prediction: str, golds: Sequence[str]) -> float:
    return max_over_gold(token_f1, strip_citations(prediction), golds)


def hit_at_k(retrieved: Sequence[Key], gold: Iterable[Key], k: int) -> float:
    """1.0 when one of the first ``k`` retrieved ``(source, page)`` keys matches a gold key."""
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    gold = set(gold)
    return float(any(key_matches(key, gold) for key in retrieved[:k]))


def key_matches(key: Key, gold: set[Key]) -> bool:
    """``(source, page)`` is gold, or its source is gold with no page named."""
    return key in gold or (key[0], None) in gold


def citation_precision(cited: Sequence[Key], gold: Iterable[Key]) -> float | None:
    """Share of citations whose ``(source, page)`` holds the evidence; None when nothing is cited."""
    if not cited:
        return None
    gold = set(gold)
    return sum(key_matches(key, gold) for key in cited) / len(cited)


def refusal_rates(refused: Mapping[str, bool], answerable: Mapping[str, bool]) -> dict[str, float | None]:
    """``refusal_rate`` over unanswerable questions and ``false_refusal_rate`` over answerable ones.

    A rate is None when there are no questions of its kind.
    """
    unanswerable = [refused[q] for q in refused if not answerable[q]]
    answerable_q = [refused[q] for q in refused if answerable[q]]
    return {
        "refusal_rate": sum(unanswerable) / len(unanswerable) if unanswerable else None,
        "false_refusal_rate": sum(answerable_q) / len(answerable_q) if answerable_q else None,
    }


def faithfulness(verdicts: Sequence[bool]) -> float | None:
    """Share of claims judged supported; None when the answer made no claim."""
    return sum(verdicts) / len(verdicts) if verdicts else None


def mean_of(values: Iterable[float | None]) -> float | None:
    """Mean of the values that are not None; None when there are none."""
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None
