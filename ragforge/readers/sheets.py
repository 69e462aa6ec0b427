"""Spreadsheets: .xlsx via openpyxl (one section per sheet, the sheet name as heading path) and .csv/.tsv via
the standard library (one section).

Each sheet's text starts with ``Sheet: NAME``. The first non-empty row is the header; every later row
becomes a paragraph of ``header: value`` lines (empty cells left out), so a chunk of rows still says what
each number means. Excel formulas give their last computed value. Large sheets are capped: at most
``MAX_ROWS`` rows per sheet and ``MAX_COLUMNS`` columns are read, and ``metadata["truncated_sheets"]``
names the sheets that were cut.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ragforge.errors import ReaderError
from ragforge.readers._builder import TextBuilder
from ragforge.readers._io import decode_text, logger, read_bytes, require_text
from ragforge.readers._zip import DAMAGE, damaged, open_zip
from ragforge.types import Document

KIND = "Excel workbook"
MAX_ROWS = 20_000  # per sheet
MAX_COLUMNS = 256
SNIFF_CHARS = 4096


def cell_text(value: Any) -> str:
    """A cell value as text: whole floats without ``.0``, dates in ISO form, whitespace collapsed."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return " ".join(str(value).split())


def _column_name(index: int) -> str:
    name, index = "", index + 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(ord("A") + rest) + name
    return f"Column {name}"


def row_blocks(rows: Iterable[Iterable[Any]], max_rows: int | None = None) -> Iterator[str]:
    """Paragraphs of ``header: value`` lines, one per row after the header row; raises ``_Truncated`` (after
    yielding everything it kept) when ``max_rows`` rows were read and more remain."""
    header: list[str] | None = None
    single: str | None = None  # the header row, written as is if no data row follows
    max_rows = MAX_ROWS if max_rows is None else max_rows
    for count, row in enumerate(rows, start=1):
        if count > max_rows:
            if single is not None:
                yield single
            raise _Truncated
        values = [cell_text(v) for v in list(row)[:MAX_COLUMNS]]
        if not any(values):
            continue
        if header is None:
            header = [v or _column_name(i) for i, v in enumerate(values)]
            single = " | ".join(v for v in values if v)
            continue
        single = None
        yield "\n".join(f"{header[i] if i < len(header) else _column_name(i)}: {v}"
                        for i, v in enumerate(values) if v)
    if single is not None:
        yield single


class _Truncated(Exception):
    """A sheet had more rows than the reader reads."""


def _add_rows(builder: TextBuilder, rows: Iterable[Iterable[Any]], intro: str = "") -> bool:
    """Add a sheet's row paragraphs, after ``intro`` if the sheet has any; False when it was cut at MAX_ROWS."""
    try:
        for block in row_blocks(rows):
            if intro:
                builder.add(intro)
                intro = ""
            builder.add(block)
            if builder.truncated:
                break  # the text is full: recorded as "truncated", not as a cut sheet
    except _Truncated:
        return False
    return True


def read_xlsx(path: Path, source: str) -> Document:
    """Read an .xlsx workbook. The title is the document property, else the file stem."""
    from openpyxl.utils.exceptions import InvalidFileException

    data = read_bytes(path, source)
    open_zip(data, source, KIND).close()
    builder = TextBuilder(source)
    cut: list[str] = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # openpyxl warns of each feature it does not read
            title = _read_sheets(data, builder, cut)
    except (InvalidFileException, *DAMAGE) as exc:
        raise damaged(source, KIND, exc) from exc
    return _document(builder, source, "xlsx", title or Path(path).stem, cut)


def _read_sheets(data: bytes, builder: TextBuilder, cut: list[str]) -> str:
    """Add every sheet's rows to ``builder`` (naming cut sheets in ``cut``); the workbook's title."""
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        for sheet in workbook.worksheets:
            builder.mark(heading_path=(sheet.title,))
            rows = sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS)
            if not _add_rows(builder, rows, intro=f"Sheet: {sheet.title}"):
                cut.append(sheet.title)
            if builder.truncated:
                break
        return (workbook.properties.title or "").strip() if workbook.properties else ""
    finally:
        workbook.close()


def read_csv(path: Path, source: str) -> Document:
    """Read a .csv (delimiter sniffed: comma, semicolon, tab or bar) or .tsv file. The title is the stem."""
    text, meta = decode_text(read_bytes(path, source), source)
    require_text(text, source)
    builder = TextBuilder(source)
    reader = csv.reader(io.StringIO(text, newline=""), _dialect(text, Path(path).suffix.lower()))
    try:
        complete = _add_rows(builder, reader)
    except csv.Error as exc:
        raise ReaderError(f"{source}: malformed CSV at line {reader.line_num} ({exc})", path=source,
                          reason="corrupt") from exc
    doc = _document(builder, source, "csv", Path(path).stem, [] if complete else [Path(path).stem])
    return doc.model_copy(update={"metadata": {**meta, **doc.metadata}})


def _dialect(text: str, suffix: str) -> Any:
    if suffix == ".tsv":
        return csv.excel_tab
    try:
        return csv.Sniffer().sniff(text[:SNIFF_CHARS], delimiters=",;\t|")
    except csv.Error:
        return csv.excel


def _document(builder: TextBuilder, source: str, file_type: str, title: str, cut: list[str]) -> Document:
    text = builder.text
    require_text(text, source)
    metadata: dict[str, Any] = builder.metadata()
    if cut:
        metadata["truncated_sheets"] = cut
        logger.warning("%s: only the first %d rows of %s are indexed", source, MAX_ROWS, ", ".join(cut))
    return Document(source=source, text=text, file_type=file_type, title=title,
                    sections=builder.marked_sections(), metadata=metadata)
