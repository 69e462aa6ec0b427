"""How close the model came to refusing: the probability of the refusal sentence, read from the answer's
token log-probabilities (no extra model call when the answer starts like the refusal).

A small model asked what its passages do not say often writes a plausible answer with the refusal close
behind: at the first token "The" (of "The documents do not say.") it may put 0.4, and after "The" another
0.37 on " documents". The probability that the model would have refused is the sum, over the points of the
answer where the refusal was still possible, of the probability of the answer so far times the
probability of leaving it for the refusal.

The refusal is taken as written once its reply reaches :data:`STEM` ("the documents"): nothing else a
model writes starts that way. An alternative that stops short of the stem (the first token "The" beside an
answer "Malaysia") is *pending*: "The" begins many answers, so only a continuation of the reply from that
prefix (one more token, the prompt already cached) can say how much of it is the refusal.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from ragforge.query.prompts import REFUSAL

STEM = "the documents"


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.lower()).lstrip()


def _begins_refusal(text: str) -> bool:
    """``text`` is a beginning of the refusal (not yet past its stem, or the stem and more of it)."""
    flat = _norm(text)
    return bool(flat) and (_norm(REFUSAL).startswith(flat) or flat.startswith(STEM))


@dataclass
class RefusalOdds:
    """``known``: the refusal's probability where the reply reached the stem; ``pending``: prefixes short of
    it (such as "The") and the probability of reaching each."""

    known: float = 0.0
    pending: list[tuple[str, float]] = field(default_factory=list)

    @property
    def bound(self) -> float:
        """At most this probability of refusing (every pending prefix counted as the refusal)."""
        return self.known + sum(p for _, p in self.pending)


def refusal_odds(tokens: Sequence[str], top_logprobs: Sequence[Sequence[tuple[str, float]]],
                 logprobs: Sequence[float], *, prefix: str = "") -> RefusalOdds:
    """The refusal's odds along a generated reply (``prefix``: text before the first token, for a
    continuation). Walks the reply while it is still a beginning of the refusal; at each step, adds the
    alternatives that begin it too."""
    odds = RefusalOdds()
    path, text = 1.0, prefix
    for token, top, logprob in zip(tokens, top_logprobs, logprobs, strict=False):
        for alt, alt_logprob in top:
            if alt == token or not _begins_refusal(text + alt):
                continue
            mass = path * math.exp(alt_logprob)
            if _norm(text + alt).startswith(STEM):
                odds.known += mass
            else:
                odds.pending.append((text + alt, mass))
        text += token
        path *= math.exp(logprob)
        if not _begins_refusal(text):
            break
    return odds


def continuation_share(prefix: str, top: Sequence[tuple[str, float]]) -> float:
    """Of a continuation's first-token alternatives after ``prefix``, the probability of those that reach the
    refusal's stem (a beginning still short of it counts 0: the share is a lower bound)."""
    return sum(math.exp(logprob) for alt, logprob in top if _norm(prefix + alt).startswith(STEM)
               and _begins_refusal(prefix + alt))


def pending_by_prefix(odds: RefusalOdds) -> list[tuple[str, float]]:
    """The pending prefixes grouped by their normalised text ("The" and " The" are one), largest first."""
    groups: dict[str, tuple[str, float]] = {}
    for text, mass in odds.pending:
        key = _norm(text)
        first, total = groups.get(key, (text, 0.0))
        groups[key] = (first, total + mass)
    return sorted(groups.values(), key=lambda item: -item[1])
