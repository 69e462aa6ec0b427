"""Office readers on good inputs: Word headings and tables, PowerPoint slides and notes, Excel sheets, CSV."""

from __future__ import annotations

import datetime as dt
from itertools import pairwise

import pytest

from ragforge.chunking import chunk_document, whitespace_tokens
from ragforge.readers import read_file, reader_for, sheets, supported_suffixes


def assert_sections_cover(doc):
    assert doc.sections and doc.sections[0].start == 0 and doc.sections[-1].end == len(doc.text)
    for a, b in pairwise(doc.sections):
        assert a.end == b.start
    for chunk in chunk_document(doc, max_tokens=40, overlap_tokens=4, count_tokens=whitespace_tokens):
        assert doc.text[chunk.start:chunk.end] == chunk.text


def section_of(doc, needle):
    at = doc.text.index(needle)
    return next(s for s in doc.sections if s.start <= at < s.end)


def test_new_suffixes_are_registered():
    assert {".docx", ".pptx", ".xlsx", ".xlsm", ".csv", ".tsv", ".epub", ".eml", ".mbox", ".ipynb"} \
        <= supported_suffixes()
    assert reader_for("Report.DOCX") is reader_for("report.docx") is not None


# --- Word ----------------------------------------------------------------------------------------------

def _word(tmp_path, build, name="notes.docx"):
    import docx

    document = docx.Document()
    build(document)
    path = tmp_path / name
    document.save(path)
    return read_file(path, name)


def test_docx_headings_paragraphs_and_tables(tmp_path):
    def build(d):
        d.add_paragraph("Before any heading.")
        d.add_heading("Setup", 1)
        d.add_paragraph("Unpack the kettle.")
        d.add_heading("Cleaning", 2)
        d.add_paragraph("Descale monthly.")
        table = d.add_table(rows=3, cols=3)
        for r, row in enumerate([["Part", "Wash", "Dry"], ["Lid", "hand", "air"], ["Filter", "rinse", ""]]):
            for c, value in enumerate(row):
                table.cell(r, c).text = value
        table.cell(0, 1).merge(table.cell(0, 2)).text = "Care"
        d.add_heading("Warranty", 1)
        d.add_paragraph("Two years.")

    doc = _word(tmp_path, build)
    assert doc.file_type == "docx" and doc.title == "Setup"  # no title property: the first heading
    assert "Part | Care\nLid | hand | air\nFilter | rinse\n" in doc.text  # merged cell written once
    assert section_of(doc, "Before any heading").heading_path == ()
    assert section_of(doc, "Unpack the kettle").heading_path == ("Setup",)
    assert section_of(doc, "Lid | hand").heading_path == ("Setup", "Cleaning")
    assert section_of(doc, "Two years").heading_path == ("Warranty",)
    assert_sections_cover(doc)


def test_docx_title_property_and_outline_level_headings(tmp_path):
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    def build(d):
        d.core_properties.title = "Field Guide"
        d.add_heading("Guide", 0)  # the Title style
        custom = d.add_paragraph("Custom styled chapter")
        level = OxmlElement("w:outlineLvl")
        level.set(qn("w:val"), "0")
        custom._p.get_or_add_pPr().append(level)
        d.add_paragraph("Body under the custom heading.")

    doc = _word(tmp_path, build)
    assert doc.title == "Field Guide"
    assert section_of(doc, "Body under").heading_path == ("Guide", "Custom styled chapter")


# --- PowerPoint ---------------------------------------------------------------------------------------

def test_pptx_one_section_per_slide_with_notes_tables_and_groups(tmp_path):
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    first = deck.slides.add_slide(deck.slide_layouts[1])
    first.shapes.title.text = "Agenda"
    first.placeholders[1].text = "Welcome\nSafety briefing"
    first.notes_slide.notes_text_frame.text = "Mention the fire exits."
    deck.slides.add_slide(deck.slide_layouts[6])  # a blank slide: no text, no section
    third = deck.slides.add_slide(deck.slide_layouts[5])
    third.shapes.title.text = "Budget"
    table = third.shapes.add_table(2, 2, Inches(1), Inches(2), Inches(4), Inches(1)).table
    for (r, c), value in {(0, 0): "Item", (0, 1): "Cost", (1, 0): "Venue", (1, 1): "£400"}.items():
        table.cell(r, c).text = value
    group = third.shapes.add_group_shape()
    box = group.shapes.add_textbox(Inches(1), Inches(4), Inches(3), Inches(1))
    box.text_frame.text = "Grouped caption"
    path = tmp_path / "talk.pptx"
    deck.save(path)

    doc = read_file(path, "talk.pptx")
    assert doc.file_type == "pptx" and doc.title == "Agenda" and doc.metadata["pages"] == 3
    assert [(s.page, s.heading_path) for s in doc.sections] == [(1, ("Agenda",)), (3, ("Budget",))]
    assert "Notes: Mention the fire exits." in doc.text[: doc.sections[0].end]
    third_text = doc.text[doc.sections[1].start:]
    assert third_text.startswith("Budget") and "Venue | £400" in third_text and "Grouped caption" in third_text
    assert_sections_cover(doc)


# --- Excel and CSV ---------------------------------------------------------------------------------------

def test_xlsx_sheets_rows_and_values(tmp_path):
    from openpyxl import Workbook

    workbook = Workbook()
    prices = workbook.active
    prices.title = "Prices"
    prices.append(["Item", "Price", "Since", None])
    prices.append(["Kettle", 45.0, dt.datetime(2024, 3, 1), "extra"])
    prices.append([None, None, None, None])
    prices.append(["Mug", 7.5, dt.datetime(2024, 3, 1, 9, 30), None])
    prices.append(["Total", "=SUM(B2:B4)", None, None])  # never computed: no cached value to show
    workbook.create_sheet("Empty")
    notes = workbook.create_sheet("Notes")
    notes.append(["only a header row"])
    path = tmp_path / "shop.xlsx"
    workbook.save(path)

    doc = read_file(path, "shop.xlsx")
    assert doc.file_type == "xlsx" and doc.title == "shop"
    assert [s.heading_path for s in doc.sections] == [("Prices",), ("Notes",)]
    prices_text = doc.text[: doc.sections[0].end]
    assert prices_text.startswith("Sheet: Prices\n\nItem: Kettle\nPrice: 45\nSince: 2024-03-01\nColumn D: extra")
    assert "Item: Mug\nPrice: 7.5\nSince: 2024-03-01 09:30:00" in prices_text
    assert "Item: Total" in prices_text and "SUM" not in prices_text
    assert doc.text[doc.sections[1].start:] == "Sheet: Notes\n\nonly a header row"
    assert_sections_cover(doc)


def test_xlsx_sheet_is_cut_at_max_rows(tmp_path, monkeypatch):
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.title = "Log"
    workbook.active.append(["n", "square"])
    for n in range(1, 51):
        workbook.active.append([n, n * n])
    path = tmp_path / "log.xlsx"
    workbook.save(path)
    monkeypatch.setattr(sheets, "MAX_ROWS", 11)
    doc = read_file(path, "log.xlsx")
    assert doc.metadata["truncated_sheets"] == ["Log"]
    assert "n: 10\nsquare: 100" in doc.text and "n: 11\n" not in doc.text


@pytest.mark.parametrize("name,content,expected", [
    ("birds.csv", "species;site;count\ngoldfinch;mill;14\nrobin;\"the; park\";3\n",
     "species: goldfinch\nsite: mill\ncount: 14\n\nspecies: robin\nsite: the; park\ncount: 3"),
    ("birds.tsv", "species\tcount\nwren\t2\n", "species: wren\ncount: 2"),
    ("plain.csv", "a,b\n1,\n,2\n", "a: 1\n\nb: 2"),
    ("header.csv", "just,a,header\n", "just | a | header"),
    ("ragged.csv", "a,b\n1,2,3\n", "a: 1\nb: 2\nColumn C: 3"),
])
def test_csv_rows(tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_text(content)
    doc = read_file(path, name)
    assert doc.text == expected and doc.file_type == "csv" and doc.title == path.stem
    assert_sections_cover(doc)


def test_cell_text():
    assert sheets.cell_text(3.0) == "3" and sheets.cell_text(2.5) == "2.5" and sheets.cell_text(None) == ""
    assert sheets.cell_text(dt.date(2026, 1, 2)) == "2026-01-02" and sheets.cell_text(" a\n b ") == "a b"
    assert sheets.cell_text(1e20) == "1e+20" and sheets.cell_text(True) == "True"
