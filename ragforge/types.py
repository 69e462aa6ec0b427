"""The vocabulary every layer speaks: Section, Document, Chunk, Hit, Citation, Answer.

Offsets are character offsets into ``Document.text``; for every chunk of a document
``document.text[chunk.start:chunk.end] == chunk.text`` holds. Pages are 1-based.
"""

from __future__ import annotations

import hashlib
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


def content_hash(data: str | bytes) -> str:
    """Hex SHA-256 of text (UTF-8) or bytes: the one hash ragforge uses for content."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    return hashlib.sha256(data).hexdigest()


class Section(BaseModel):
    """A span of a document's text that chunks never cross: a PDF page or a Markdown section."""

    model_config = ConfigDict(frozen=True)

    start: int
    end: int
    page: int | None = None
    heading_path: tuple[str, ...] = ()


class Document(BaseModel):
    """One source, read into text. ``sections`` cover ``text`` in order without overlapping."""

    model_config = ConfigDict(frozen=True)

    source: str  # path as given to the index (POSIX, relative to the synced folder) or a corpus id
    text: str
    file_type: str  # "text" | "markdown" | "pdf" | "html" | "corpus"
    title: str | None = None
    sections: tuple[Section, ...] = ()
    metadata: dict[str, Any] = Field(default_factory=dict)

    def section_spans(self) -> tuple[Section, ...]:
        """The sections, or one section covering the whole text when none were recorded."""
        return self.sections or (Section(start=0, end=len(self.text)),)


class Chunk(BaseModel):
    """A window of a document's text: the unit that is embedded, indexed and cited."""

    model_config = ConfigDict(frozen=True)

    id: str  # content_hash of (source, start, end, text)
    source: str
    text: str
    start: int
    end: int
    ordinal: int = 0  # position among its document's chunks
    page: int | None = None
    heading_path: tuple[str, ...] = ()
    file_type: str = "text"
    title: str | None = None

    @staticmethod
    def make_id(source: str, start: int, end: int, text: str) -> str:
        return content_hash(f"{source}\x00{start}\x00{end}\x00{text}")[:32]

    @property
    def heading(self) -> str:
        return " > ".join(self.heading_path)

    def citation_label(self) -> str:
        """Human label such as ``guide.pdf, p. 3`` or ``notes.md § Setup > Install``."""
        label = self.source
        if self.page is not None:
            label += f", p. {self.page}"
        if self.heading_path:
            label += f" § {self.heading}"
        return label


class Hit(BaseModel):
    """A retrieved chunk with its final score and the score of each stage that produced it."""

    chunk: Chunk
    score: float
    rank: int = 0  # 1-based rank in the final list
    scores: dict[str, float] = Field(default_factory=dict)  # "dense", "lexical", "fused", "rerank", ...

    @property
    def text(self) -> str:
        return self.chunk.text

    @property
    def source(self) -> str:
        return self.chunk.source

    @property
    def page(self) -> int | None:
        return self.chunk.page

    @property
    def heading(self) -> str:
        return self.chunk.heading


class Citation(BaseModel):
    """``[number]`` in an answer, resolved to a chunk and a quoted span of its text."""

    number: int
    chunk_id: str
    source: str
    page: int | None = None
    start: int  # character offsets into the source document's text
    end: int
    quote: str = ""
    verified: bool = False  # the quote was found in the chunk's text


class Answer(BaseModel):
    """What the query engine returns."""

    question: str
    text: str
    citations: list[Citation] = Field(default_factory=list)
    hits: list[Hit] = Field(default_factory=list)
    refused: bool = False  # the documents did not support an answer
    dropped_citations: list[int] = Field(default_factory=list)  # [n] that named no chunk in the prompt
    repairs: list[dict[str, Any]] = Field(default_factory=list)  # [n] moved to the passage that holds the words
    confidence: float | None = None  # the answer's mean token probability, when the model reported log-probs
    refusal_odds: float | None = None  # the probability the model gave the refusal instead, when measured
    trace: list[dict[str, Any]] = Field(default_factory=list)
