"""``ReaderContract``: what any reader (``reader(path, source) -> Document``) must do.

    class TestRtfReader(ReaderContract):
        @pytest.fixture
        def reader(self):
            return read_rtf

        @pytest.fixture
        def sample(self):                # a small valid file of the format
            return Path("samples/letter.rtf")

        @pytest.fixture
        def broken_sample(self):         # optional: a broken file of the format (truncated, encrypted, ...)
            return Path("samples/truncated.rtf")

A reader returns a :class:`~ragforge.types.Document` whose sections tile its text (in order, no gaps, no
overlaps, 1-based pages) or raises :class:`~ragforge.errors.ReaderError` with a ``reason`` from
:data:`READER_ERROR_REASONS` and a one-line message. Nothing else: bad bytes never escape as another
exception, so indexing a folder skips a bad file with its reason and goes on.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path

import pytest

from ragforge.errors import ReaderError
from ragforge.types import Document

Reader = Callable[[Path, str], Document]

READER_ERROR_REASONS = frozenset({
    "binary", "corrupt", "empty", "encrypted", "not_regular", "symlink_loop", "too_large", "undecodable",
    "unreadable", "unsupported", "vanished",
})


def assert_valid_document(doc: Document, source: str) -> None:
    """The invariants every reader's Document keeps (the chunker and citations rely on them)."""
    assert isinstance(doc, Document), type(doc)
    assert doc.source == source and isinstance(doc.file_type, str) and doc.file_type
    assert doc.text.strip(), "a Document has text; a file without any is ReaderError(reason='empty')"
    sections = doc.sections
    assert sections, "readers record sections"
    assert sections[0].start == 0 and sections[-1].end == len(doc.text), (sections[0], sections[-1])
    for before, after in pairwise(sections):
        assert before.end == after.start, (before, after)
    for section in sections:
        assert section.start < section.end, section
        assert section.page is None or (isinstance(section.page, int) and section.page >= 1), section
        assert all(isinstance(part, str) for part in section.heading_path), section
    pages = [s.page for s in sections if s.page is not None]
    assert pages == sorted(pages), pages


def assert_reader_error(error: ReaderError, source: str) -> None:
    assert error.reason in READER_ERROR_REASONS, error.reason
    assert error.path in (None, source), error.path
    assert str(error).strip() and "\n" not in str(error), str(error)


def read_or_reader_error(reader: Reader, path: Path, source: str) -> Document | ReaderError:
    """What the reader made of ``path``: a valid Document or a ReaderError; anything else fails the test."""
    try:
        doc = reader(path, source)
    except ReaderError as exc:
        assert_reader_error(exc, source)
        return exc
    except Exception as exc:  # noqa: BLE001 - the contract: no other exception may escape a reader
        pytest.fail(f"{path.name}: the reader raised {type(exc).__name__}: {exc} (expected a ReaderError)")
    assert_valid_document(doc, source)
    return doc


def damaged_copies(data: bytes, seed: int = 14) -> dict[str, bytes]:
    """Bad inputs made from a good file: cut short, bytes overwritten, noise, nothing but zeros."""
    rng = random.Random(seed)
    noise = bytes(rng.randrange(256) for _ in range(2048))
    flipped = bytearray(data)
    for _ in range(max(1, len(data) // 50)):
        flipped[rng.randrange(len(flipped))] = rng.randrange(256)
    return {"half": data[: len(data) // 2], "tenth": data[: max(1, len(data) // 10)], "head": data[:16],
            "flipped": bytes(flipped), "noise": noise, "prefixed_noise": noise[:64] + data,
            "zeros": b"\0" * 4096}


class ReaderContract:
    """Subclass, provide ``reader`` and ``sample`` fixtures, and every ``test_*`` below runs on them."""

    @pytest.fixture
    def reader(self) -> Reader:
        raise NotImplementedError("a subclass of ReaderContract provides a `reader` fixture")

    @pytest.fixture
    def sample(self) -> Path:
        raise NotImplementedError("a subclass of ReaderContract provides a `sample` fixture (a valid file)")

    @pytest.fixture
    def broken_sample(self) -> Path:
        pytest.skip("no `broken_sample` fixture for this format")

    def test_reads_a_document_whose_sections_tile_its_text(self, reader: Reader, sample: Path) -> None:
        source = f"docs/{sample.name}"
        assert_valid_document(reader(sample, source), source)

    def test_reading_twice_gives_the_same_document(self, reader: Reader, sample: Path) -> None:
        assert reader(sample, sample.name) == reader(sample, sample.name)

    def test_an_empty_file_is_a_reader_error(self, reader: Reader, sample: Path, tmp_path: Path) -> None:
        empty = tmp_path / f"empty{sample.suffix}"
        empty.write_bytes(b"")
        with pytest.raises(ReaderError) as caught:
            reader(empty, empty.name)
        assert_reader_error(caught.value, empty.name)

    def test_a_missing_file_or_a_folder_is_a_reader_error(self, reader: Reader, sample: Path,
                                                          tmp_path: Path) -> None:
        gone, folder = tmp_path / f"gone{sample.suffix}", tmp_path / f"folder{sample.suffix}"
        folder.mkdir()
        for path, reasons in ((gone, ("vanished", "unreadable")), (folder, ("not_regular", "unreadable"))):
            with pytest.raises(ReaderError) as caught:
                reader(path, path.name)
            assert_reader_error(caught.value, path.name)
            assert caught.value.reason in reasons, caught.value.reason

    def test_damaged_bytes_give_a_document_or_a_reader_error(self, reader: Reader, sample: Path,
                                                             tmp_path: Path) -> None:
        for name, data in damaged_copies(sample.read_bytes()).items():
            path = tmp_path / f"{name}{sample.suffix}"
            path.write_bytes(data)
            read_or_reader_error(reader, path, path.name)

    def test_a_broken_sample_is_a_reader_error(self, reader: Reader, broken_sample: Path) -> None:
        with pytest.raises(ReaderError) as caught:
            reader(broken_sample, broken_sample.name)
        assert_reader_error(caught.value, broken_sample.name)
