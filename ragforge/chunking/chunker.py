"""Document -> chunks: token-bounded windows that break at paragraphs, then sentences, with overlap.

Each section (a PDF page, a Markdown section) is chunked on its own, so a chunk never crosses one.
A section that fits in ``max_tokens`` becomes one chunk after a single ``count_tokens`` call. A longer
section is split into sentences, each counted once; a sentence longer than ``max_tokens`` is split at
word boundaries, and a word that is still too long at character boundaries. Windows are packed greedily,
preferring to end at a paragraph break when that keeps the window at least half full, and each window
starts with about ``overlap_tokens`` of whole sentences from the end of the previous one. Every window
is checked with one ``count_tokens`` call on its exact text and shrunk if the summed estimate was low.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from ragforge.chunking.split import _trimmed, split_paragraphs, split_sentences, split_words
from ragforge.errors import ChunkingError
from ragforge.types import Chunk, Document, Section

CountTokens = Callable[[str], int]
MAX_CHARS_PER_TOKEN = 32  # a section longer than this many characters per token is never one chunk


class _Unit(NamedTuple):
    start: int
    end: int
    cost: int  # tokens, less the counter's fixed overhead (special tokens)
    paragraph_start: bool


def chunk_document(
    doc: Document, *, max_tokens: int, overlap_tokens: int, count_tokens: CountTokens
) -> list[Chunk]:
    """Cut ``doc`` into chunks of at most ``max_tokens`` tokens (as measured by ``count_tokens``).

    ``doc.text[c.start:c.end] == c.text`` holds for every chunk; chunks never cross a section and never
    start or end with whitespace; whitespace-only sections give no chunks.
    """
    if max_tokens < 1:
        raise ChunkingError(f"max_tokens must be positive, got {max_tokens}")
    if not 0 <= overlap_tokens < max_tokens:
        raise ChunkingError(f"overlap_tokens must be in [0, max_tokens), got {overlap_tokens}")
    text = doc.text
    chunker = _SectionChunker(text, max_tokens, overlap_tokens, count_tokens)
    chunks: list[Chunk] = []
    for section in doc.section_spans():
        if not 0 <= section.start <= section.end <= len(text):
            raise ChunkingError(f"{doc.source}: section {section.start}:{section.end} outside the text")
        for start, end in chunker.windows(section):
            piece = text[start:end]
            chunks.append(Chunk(
                id=Chunk.make_id(doc.source, start, end, piece), source=doc.source, text=piece,
                start=start, end=end, ordinal=len(chunks), page=section.page,
                heading_path=section.heading_path, file_type=doc.file_type, title=doc.title,
            ))
    return chunks


class _SectionChunker:
    def __init__(self, text: str, max_tokens: int, overlap_tokens: int, count_tokens: CountTokens) -> None:
        self.text = text
        self.max_tokens = max_tokens
        self.overlap = overlap_tokens
        self.count = count_tokens
        self._overhead: int | None = None

    @property
    def overhead(self) -> int:
        """Tokens the counter adds to any text (e.g. [CLS]/[SEP]); measured once, on ""."""
        if self._overhead is None:
            self._overhead = max(0, int(self.count("")))
            if self._overhead >= self.max_tokens:
                raise ChunkingError(f"max_tokens={self.max_tokens} leaves no room: the token counter adds "
                                    f"{self._overhead} tokens to any text")
        return self._overhead

    def cost(self, start: int, end: int) -> int:
        return max(0, self.count(self.text[start:end]) - self.overhead)

    def windows(self, section: Section) -> list[tuple[int, int]]:
        span = _trimmed(self.text, section.start, section.end)
        if span is None:
            return []
        # The shortcut is skipped for sections far too long to fit, so a counter that truncates its
        # input (and so never reports more than the model's maximum) cannot yield one giant chunk.
        if span[1] - span[0] <= self.max_tokens * MAX_CHARS_PER_TOKEN \
                and self.count(self.text[span[0]:span[1]]) <= self.max_tokens:
            return [span]
        return self._pack(self._units(*span))

    def _units(self, start: int, end: int) -> list[_Unit]:
        units: list[_Unit] = []
        budget = self.max_tokens - self.overhead
        for p_start, p_end in split_paragraphs(self.text, start, end):
            first = True
            for s_start, s_end in split_sentences(self.text, p_start, p_end):
                cost = self.cost(s_start, s_end)
                if cost <= budget:
                    units.append(_Unit(s_start, s_end, cost, first))
                else:
                    for w_start, w_end, w_cost in self._long_sentence(s_start, s_end, budget):
                        units.append(_Unit(w_start, w_end, w_cost, first))
                        first = False
                first = False
        return units

    def _long_sentence(self, start: int, end: int, budget: int) -> list[tuple[int, int, int]]:
        pieces: list[tuple[int, int, int]] = []
        for w_start, w_end in split_words(self.text, start, end):
            cost = self.cost(w_start, w_end)
            if cost <= budget:
                pieces.append((w_start, w_end, cost))
            else:
                pieces.extend(self._hard_split(w_start, w_end, cost, budget))
        return pieces

    def _hard_split(self, start: int, end: int, cost: int, budget: int) -> list[tuple[int, int, int]]:
        """Cut one over-long word at character boundaries (the last resort)."""
        pieces: list[tuple[int, int, int]] = []
        while start < end:
            stop = min(end, start + max(1, (end - start) * budget // max(cost, 1)))
            piece_cost = self.cost(start, stop)
            while piece_cost > budget and stop - start > 1:
                stop = start + max(1, (stop - start) * 3 // 4)
                piece_cost = self.cost(start, stop)
            pieces.append((start, stop, piece_cost))
            start = stop
        return pieces

    def _pack(self, units: list[_Unit]) -> list[tuple[int, int]]:
        budget = self.max_tokens - self.overhead
        windows: list[tuple[int, int]] = []
        i, fresh, n = 0, 0, len(units)  # units[i:fresh] is the overlap carried from the previous window
        while fresh < n:
            j = self._fill(units, i, fresh, budget)
            too_long = self._too_long(units, i, j)
            while too_long and j - 1 > fresh:
                j -= 1  # the summed sentence counts were an underestimate
                too_long = self._too_long(units, i, j)
            if too_long and i < fresh:
                i = fresh  # the overlap does not fit after all: drop it
                continue
            windows.append((units[i].start, units[j - 1].end))
            i, fresh = self._overlap_start(units, i, j, budget), j
        return windows

    def _too_long(self, units: list[_Unit], i: int, j: int) -> bool:
        return self.count(self.text[units[i].start:units[j - 1].end]) > self.max_tokens

    def _fill(self, units: list[_Unit], i: int, fresh: int, budget: int) -> int:
        """End (exclusive) of the window starting at unit i with new units from ``fresh``: greedy,
        preferring to end at a paragraph break when that keeps the window at least half full."""
        total, j, n = 0, i, len(units)
        best_break, total_at_break = None, 0
        while j < n and total + units[j].cost <= budget:
            if j > fresh and units[j].paragraph_start:
                best_break, total_at_break = j, total
            total += units[j].cost
            j += 1
        if j <= fresh:
            return fresh + 1  # a unit that cannot be made to fit (e.g. one character over budget)
        if j < n and not units[j].paragraph_start and best_break is not None and total_at_break * 2 >= budget:
            return best_break
        return j

    def _overlap_start(self, units: list[_Unit], i: int, j: int, budget: int) -> int:
        """First unit of the next window: whole units from the end of [i, j) worth <= overlap tokens."""
        k, carried = j, 0
        while j < len(units) and k - 1 > i:
            cost = units[k - 1].cost
            if carried + cost > self.overlap or carried + cost + units[j].cost > budget:
                break
            carried += cost
            k -= 1
        return k
