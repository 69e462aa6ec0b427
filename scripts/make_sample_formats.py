#!/usr/bin/env python3
"""Write the sample corpus's zip-based files: a Word handbook, a PowerPoint deck, an Excel workbook and an
EPUB book (the prose lives here). The text formats (.csv, .eml, .mbox, .ipynb) are committed as written.

python-docx, python-pptx and openpyxl write the Office files; the EPUB is assembled with zipfile. Every
archive is re-packed with fixed timestamps and fixed document properties, so a rerun with the same library
versions reproduces the same bytes; tests/readers/test_readers_corpus.py checks that a fresh run gives the
same text as the committed files.

    python scripts/make_sample_formats.py            # writes corpora/sample/... and reads each back
    python scripts/make_sample_formats.py --out DIR  # somewhere else

Prose written for ragforge; CC0. Names (Elmsworth, Harrowmere, Millbrook) are fictional.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from xml.sax.saxutils import escape

FIXED_TIME = dt.datetime(2026, 1, 1)
ZIP_TIME = (2026, 1, 1, 0, 0, 0)
AUTHOR = "ragforge sample corpus"
_MODIFIED = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)")

HANDBOOK = ("Elmsworth Community Garden: Plot Holder Handbook", [
    ("Welcome", ["The Elmsworth Community Garden on Orchard Lane has 48 plots, a tool shed, two water troughs "
                 "and a shared compost bay. This handbook covers what every plot holder agrees to."]),
    ("Plots and fees", ["Fees are due by 1 March each year and cover water, insurance and the skip hire.",
                        [["Plot size", "Area", "Yearly fee"], ["Half plot", "60 m²", "£35"],
                         ["Full plot", "125 m²", "£60"], ["Raised bed", "6 m²", "£12"]]]),
    ("Watering", ["The standpipes are switched on from 1 April to 31 October. Hoses are not allowed; fill "
                  "watering cans at the troughs and water in the evening when less evaporates."]),
    ("Shared tools", ["Wheelbarrows and the rotavator are booked on the sign-up sheet inside the shed door. "
                      "Clean tools before returning them; the padlock code changes each season."]),
    ("Bonfires", ["Bonfires are banned. Woody prunings go to the chipping day on the first Saturday of "
                  "November; the chips are shared out as path mulch."]),
])

DECK = ("Night Sky Photography Workshop", [
    ("Night Sky Photography Workshop", ["Harrowmere Astronomy Club, spring session"], ""),
    ("What to bring", ["A sturdy tripod", "A camera with a manual mode", "A wide lens, f/2.8 or faster",
                       "A red-light head torch", "Spare batteries: cold drains them fast"],
     "Remind everyone that a bright phone screen ruins night vision for twenty minutes."),
    ("Camera settings for the Milky Way", ["Focus manually on a bright star, zoomed in on the screen",
                                           "Open the aperture fully", "Shoot raw, with long-exposure noise "
                                           "reduction off"],
     "Start at ISO 3200 and lower it if the histogram is pressed against the right edge."),
    ("The 500 rule", ["Divide 500 by the focal length to get the longest exposure before stars trail.",
                      "With a 20 mm lens that is 25 seconds; with a 50 mm lens only 10 seconds."],
     "On crop-sensor cameras, multiply the focal length by the crop factor first."),
])

WORKBOOK = ("Millbrook Bakery production sheet", [
    ("Loaves", [["Loaf", "Flour (g)", "Water (g)", "Hydration", "Oven (°C)", "Bake (min)"],
                ["Country white", 1000, 700, "70%", 240, 40],
                ["Dark rye", 1000, 820, "82%", 230, 60],
                ["Seeded spelt", 1000, 750, "75%", 235, 45]]),
    ("Schedule", [["Day", "Task", "Start"],
                  ["Friday", "Feed the rye sour", "21:00"],
                  ["Saturday", "Mix and bulk ferment", "02:00"],
                  ["Saturday", "Shape loaves", "04:30"],
                  ["Saturday", "Open the shop", "07:00"]]),
])

BOOK = ("Knitting: First Steps", [
    ("Chapter 1: Choosing Yarn", [
        ("", ["For a first project choose a smooth worsted-weight wool in a light colour, so every stitch "
              "is easy to see. Avoid fluffy mohair and very dark yarns until your hands know the movements."]),
        ("Needles", ["Pair worsted yarn with 4.5 mm to 5 mm needles; bamboo needles grip the stitches and "
                     "stop them sliding off."]),
    ]),
    ("Chapter 2: Casting On", [
        ("", ["The long-tail cast-on gives a firm, stretchy edge. Leave a tail about three times the width "
              "of the piece, then make a slip knot and place it on the right needle."]),
        ("Counting stitches", ["Count your stitches after casting on and again after every few rows."]),
    ]),
    ("Chapter 3: Fixing Mistakes", [
        ("", ["A dropped stitch unravels downwards into a ladder. Catch it with a crochet hook and pull each "
              "rung through the loop, one row at a time, until it is back on the needle."]),
    ]),
])


def repack(data: bytes, stored: frozenset[str] = frozenset()) -> bytes:
    """The same archive with fixed timestamps and permissions (``stored`` members left uncompressed), and
    the modification time in docProps/core.xml fixed (openpyxl always writes the time of saving)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_STORED if info.filename in stored else zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = _MODIFIED.sub(rb"\g<1>2026-01-01T00:00:00Z\g<2>", content)
            target.writestr(fixed, content)
    return out.getvalue()


def _fix_properties(props, title: str) -> None:
    props.title, props.author, props.last_modified_by = title, AUTHOR, AUTHOR
    props.created = props.modified = FIXED_TIME
    props.revision = 1


def make_docx() -> bytes:
    import docx

    title, chapters = HANDBOOK
    document = docx.Document()
    document.add_heading(title, 0)
    for heading, blocks in chapters:
        document.add_heading(heading, 1)
        for block in blocks:
            if isinstance(block, str):
                document.add_paragraph(block)
                continue
            table = document.add_table(rows=len(block), cols=len(block[0]))
            for row, values in zip(table.rows, block, strict=True):
                for cell, value in zip(row.cells, values, strict=True):
                    cell.text = value
    _fix_properties(document.core_properties, title)
    return _save(document.save)


def make_pptx() -> bytes:
    from pptx import Presentation

    title, slides = DECK
    deck = Presentation()
    for number, (heading, points, notes) in enumerate(slides):
        slide = deck.slides.add_slide(deck.slide_layouts[0 if number == 0 else 1])
        slide.shapes.title.text = heading
        slide.placeholders[1].text = "\n".join(points)
        if notes:
            slide.notes_slide.notes_text_frame.text = notes
    _fix_properties(deck.core_properties, title)
    return _save(deck.save)


def make_xlsx() -> bytes:
    from openpyxl import Workbook

    title, sheets = WORKBOOK
    workbook = Workbook()
    workbook.remove(workbook.active)
    for name, rows in sheets:
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append(row)
    props = workbook.properties
    props.title, props.creator, props.lastModifiedBy = title, AUTHOR, AUTHOR
    props.created = props.modified = FIXED_TIME
    return _save(workbook.save)


def _save(save: Callable[[io.BytesIO], None]) -> bytes:
    buffer = io.BytesIO()
    save(buffer)
    return repack(buffer.getvalue())


def _xhtml(title: str, body: str) -> str:
    return ('<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html>\n'
            '<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops">\n'
            f"<head><title>{escape(title)}</title></head>\n<body>\n{body}\n</body>\n</html>\n")


def make_epub() -> bytes:
    title, chapters = BOOK
    files = {"mimetype": "application/epub+zip", "META-INF/container.xml": (
        '<?xml version="1.0"?>\n<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">'
        '<rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>'
        "</rootfiles></container>\n")}
    items, spine, toc = [], [], []
    for number, (heading, parts) in enumerate(chapters, start=1):
        body = [f"<h1>{escape(heading)}</h1>"]
        for subheading, paragraphs in parts:
            body += [f"<h2>{escape(subheading)}</h2>"] if subheading else []
            body += [f"<p>{escape(p)}</p>" for p in paragraphs]
        files[f"OEBPS/chapter{number}.xhtml"] = _xhtml(heading, "\n".join(body))
        items.append(f'<item id="c{number}" href="chapter{number}.xhtml" media-type="application/xhtml+xml"/>')
        spine.append(f'<itemref idref="c{number}"/>')
        toc.append(f'<li><a href="chapter{number}.xhtml">{escape(heading)}</a></li>')
    files["OEBPS/nav.xhtml"] = _xhtml("Contents", f'<nav epub:type="toc"><ol>{"".join(toc)}</ol></nav>')
    files["OEBPS/content.opf"] = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="id">\n'
        '<metadata xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f'<dc:identifier id="id">urn:ragforge:sample:knitting</dc:identifier><dc:title>{escape(title)}</dc:title>'
        '<dc:language>en</dc:language><meta property="dcterms:modified">2026-01-01T00:00:00Z</meta></metadata>\n'
        '<manifest><item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>'
        f'{"".join(items)}</manifest>\n<spine>{"".join(spine)}</spine>\n</package>\n')
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text.encode("utf-8"))
    return repack(buffer.getvalue(), stored=frozenset({"mimetype"}))


FILES: dict[str, Callable[[], bytes]] = {
    "home/garden_plot_handbook.docx": make_docx,
    "astronomy/night_sky_workshop.pptx": make_pptx,
    "kitchen/bakery_production.xlsx": make_xlsx,
    "hobbies/knitting_first_steps.epub": make_epub,
}


def write_all(out: Path) -> list[Path]:
    written = []
    for relative, make in FILES.items():
        path = out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(make())
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "corpora" / "sample")
    args = parser.parse_args(argv)
    from ragforge.readers import read_file

    for path in write_all(args.out):
        doc = read_file(path, path.name)
        print(f"{path}: {len(doc.text)} characters in {len(doc.sections)} sections, title {doc.title!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
