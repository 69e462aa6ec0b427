"""Lexical search: user text never reaches FTS5 syntax; hostile queries match like their plain words."""

from __future__ import annotations

import re

import pytest

from ragforge.ingest import sync_documents
from ragforge.store.lexical import match_expression, query_terms
from ragforge.types import Document

TEXTS = {
    "a": "The quick brown fox jumps over the lazy dog near the river bank.",
    "b": "Café owners NEAR the station serve espresso and croissants at dawn.",
    "c": "Running and jumping are good exercise; the runner ran ten miles.",
    "d": "Column text: title author NOT included AND OR keywords in prose.",
    "e": "Naïve résumé writers use diacritics; 東京 is Tokyo in Japanese.",
}

HOSTILE = [
    'fox"', '"fox', '"fox dog"', 'fox AND dog', 'fox OR dog', 'NOT fox', 'fox NOT dog', 'NEAR(fox dog)',
    'NEAR fox', 'fox*', '*', '^fox', 'text:fox', 'title:espresso', '(fox', 'fox)', '((fox) dog', '-fox',
    'fox -dog', '', '   ', '\t\n', '!!!', '?*^()"":-', 'café', 'CAFE', 'résumé', '東京', 'running',
    'AND', 'OR NOT', '""', "fox'", "l'eau", 'fox + dog', '{fox dog}', 'fox;DROP TABLE chunks;--',
    'x' * 5000, ' '.join(['espresso'] * 3000), ' '.join(f'w{i}' for i in range(500)) + ' fox', 'fox_dog',
    '\x00fox', 'fox\u200bdog', '🦊 fox',
]


@pytest.fixture()
def store(make_store):
    store = make_store()
    sync_documents(store, [Document(source=s, text=t, file_type="text") for s, t in TEXTS.items()])
    return store


def _plain(query: str) -> str:
    return " ".join(re.findall(r"\w+", query))


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_query_never_raises_and_matches_its_plain_words(store, query) -> None:
    hits = store.lexical_search(query, 10)
    plain = store.lexical_search(_plain(query), 10)
    assert [(c.id, round(s, 9)) for c, s in hits] == [(c.id, round(s, 9)) for c, s in plain]


def test_match_expression_quotes_every_term() -> None:
    assert match_expression('fox" OR dog*') == '"fox" OR "dog"'
    assert match_expression("the and of") == '"the" OR "and" OR "of"'  # all stop words: keep them
    assert match_expression("  ?! ") is None
    assert match_expression("") is None
    assert query_terms("Fox fox FOX dog") == ["fox", "dog"]
    assert len(query_terms(" ".join(f"w{i}" for i in range(500)))) == 64


def test_stemming_diacritics_and_operators_as_words(store) -> None:
    assert {c.source for c, _ in store.lexical_search("run", 5)} == {"c"}
    assert {c.source for c, _ in store.lexical_search("cafe", 5)} == {"b"}
    assert {c.source for c, _ in store.lexical_search("resume", 5)} == {"e"}
    assert {c.source for c, _ in store.lexical_search("NEAR", 5)} == {"b", "a"}
    assert {c.source for c, _ in store.lexical_search("NOT", 5)} == {"d"}
    assert store.lexical_search("", 5) == [] and store.lexical_search("!!!", 5) == []


def test_scores_are_higher_is_better(store) -> None:
    hits = store.lexical_search("espresso croissants station", 5)
    assert hits[0][0].source == "b" and hits[0][1] > 0
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
