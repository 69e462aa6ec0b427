"""Chunking: Document -> [Chunk], token windows that respect sections, paragraphs and sentences.

    chunk_document(doc, *, max_tokens, overlap_tokens, count_tokens) -> list[Chunk]

Also model-free splitters (character spans): split_paragraphs, split_sentences, split_words, and
``whitespace_tokens``, a token counter for tests and for callers without a model.
"""

from __future__ import annotations

from ragforge.chunking.chunker import chunk_document
from ragforge.chunking.split import split_paragraphs, split_sentences, split_words


def whitespace_tokens(text: str) -> int:
    """Number of whitespace-separated words: a model-free token counter."""
    return len(text.split())


__all__ = ["chunk_document", "split_paragraphs", "split_sentences", "split_words", "whitespace_tokens"]
