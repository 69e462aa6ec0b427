"""Does the answer have the kind of value the question asks for? A deterministic check of units.

A small model asked for something its passages do not hold often hands back the nearest number of another
kind: "1869" (a launch year) to "What top speed did the Cutty Sark reach, in knots?", "27.3 days" to "How far
is the Moon from the Earth?", "49" (surviving copies) to "How much is a Gutenberg Bible worth today?" (real
replies of Qwen2.5-Coder-1.5B on the sample corpus). Each number stands in a passage, so support alone
passes it. When the question names the kind of value (a unit, "in knots"; a distance, "how far"; a price,
"how much ... cost"; a temperature; a speed; a year) and neither the answer nor the sentences that hold it
carry a value of that kind, the answer is not an answer to the question.

Only these few unambiguous forms are read; any other question (most of them: "how many", "how long", "when",
"who") is not checked.
"""

from __future__ import annotations

import re

_NUMBER_BEFORE = r"\d\s*"
_UNITS = {
    "distance": r"\b(?:km|kilomet(?:re|er)s?|miles?|met(?:re|er)s?|feet|foot|ft|inch(?:es)?|cm|centimet(?:re|er)s?|"
                r"mm|millimet(?:re|er)s?|yards?|light[- ]years?|astronomical units?|leagues?)\b"
                r"|" + _NUMBER_BEFORE + r"(?:m|mi|AU)\b",
    "money": r"[$£€¥]|\b(?:dollars?|pounds?|euros?|cents?|pence|yen|francs?|marks?|guineas?|shillings?|usd|gbp|eur|"
             r"rupees?|yuan)\b|" + _NUMBER_BEFORE + r"p\b",
    "temperature": r"[°º]|\bdegrees?\b|\b(?:celsius|fahrenheit|kelvin)\b|" + _NUMBER_BEFORE + r"[CFK]\b",
    "speed": r"\b(?:knots?|mph|km/h|kph|miles per hour|kilomet(?:re|er)s per hour|m/s|met(?:re|er)s per second|"
             r"mach)\b",
    "year": r"\b\d{3,4}s?\b|\bcentur(?:y|ies)\b|\bBC\b|\bAD\b|\bBCE\b|\bCE\b",
    "weight": r"\b(?:kg|kilo(?:gram)?s?|grams?|tonnes?|tons?|pounds?|lbs?|ounces?|oz)\b|" + _NUMBER_BEFORE + r"g\b",
    "volume": r"\b(?:litres?|liters?|ml|millilit(?:re|er)s?|gallons?|pints?|cups?)\b|" + _NUMBER_BEFORE + r"l\b",
    "power": r"\b(?:watts?|kilowatts?|kw|megawatts?|mw|horsepower|hp)\b|" + _NUMBER_BEFORE + r"W\b",
    "percent": r"%|\bper ?cent\b",
}
# "in <unit>": the unit the question names, and the kind of value it is
_NAMED_UNITS = {
    "knots": "speed", "mph": "speed", "watts": "power", "kilowatts": "power", "kilometres": "distance",
    "kilometers": "distance", "miles": "distance", "metres": "distance", "meters": "distance", "feet": "distance",
    "dollars": "money", "euros": "money", "degrees": "temperature", "celsius": "temperature",
    "fahrenheit": "temperature", "kilograms": "weight", "grams": "weight", "tonnes": "weight", "litres": "volume",
    "liters": "volume", "percent": "percent",
}
_NAMED = re.compile(r"\bin (" + "|".join(_NAMED_UNITS) + r")\b", re.I)
_ASKS = [
    # "how far west did the empire extend?" / "how far did the team get?" ask for a place or a stage: only a
    # distance between two places, "how far away", or how far something travelled is a distance
    ("distance", re.compile(r"\bhow far away\b|\bhow far\b.*\b(?:from|travel\w*|flew|fly|flies|drive|drove|"
                            r"walk\w*|sail\w*|swim|swam|downrange)\b|\bwhat (?:is |was )?the distance\b", re.I)),
    ("speed", re.compile(r"\bhow fast\b|\bwhat (?:top )?speed\b", re.I)),
    ("temperature", re.compile(r"\b(?:at )?what temperature\b|\bhow (?:hot|cold)\b", re.I)),
    ("money", re.compile(r"\bhow much\b.*\b(?:cost|costs|worth|price|pay|paid|charge|charged|fee|spend|spent|"
                         r"money|earn|earned|sell|sold|fine)\b"
                         r"|\bwhat (?:is|was|are|were) the (?:price|cost|fee|fine)s?\b", re.I)),
    ("year", re.compile(r"\b(?:in )?(?:what|which) year\b", re.I)),
]
# "5 C", "60 W" and "3 m" are read in their own case ("a" and "in" are not units); words in any case
_CASED = frozenset({"temperature", "power", "distance"})
_PATTERNS = {kind: re.compile(pattern, 0 if kind in _CASED else re.I) for kind, pattern in _UNITS.items()}


def expected_kind(question: str) -> str | None:
    """The kind of value ``question`` asks for, when it says so plainly; else None."""
    named = _NAMED.search(question)
    if named:
        return _NAMED_UNITS[named.group(1).lower()]
    for kind, asks in _ASKS:
        if asks.search(question):
            return kind
    return None


def has_kind(text: str, kind: str) -> bool:
    """``text`` holds a value of ``kind`` (its unit, sign or form)."""
    pattern = _PATTERNS[kind]
    return bool(pattern.search(text) or (kind in _CASED and pattern.search(text.lower())))


def kind_missing(question: str, answer: str, window: str) -> str | None:
    """The kind of value the question asks for, when neither the answer nor its window holds one; else None."""
    kind = expected_kind(question)
    if kind is None or has_kind(answer, kind) or has_kind(window, kind):
        return None
    return kind
