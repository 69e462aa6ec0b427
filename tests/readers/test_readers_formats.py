"""Readers on good inputs: text decoding, Markdown sections, HTML extraction, PDF pages, the registry."""

from __future__ import annotations

import codecs
import importlib.util
from itertools import pairwise
from pathlib import Path

import pytest

from ragforge.errors import ReaderError, UnsupportedFormatError
from ragforge.readers import decode_text, read_file, reader_for, supported_suffixes
from ragforge.readers.markdown import parse_headings

ROOT = Path(__file__).resolve().parents[2]


def pdf_writer():
    script = ROOT / "scripts" / "make_sample_pdfs.py"
    spec = importlib.util.spec_from_file_location("make_sample_pdfs", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def assert_sections_cover(doc):
    assert doc.sections, "readers always record sections"
    assert doc.sections[0].start == 0 and doc.sections[-1].end == len(doc.text)
    for a, b in pairwise(doc.sections):
        assert a.end == b.start


# --- text and decoding -------------------------------------------------------------------------------

@pytest.mark.parametrize("encoding,prefix", [
    ("utf-8", b""), ("utf-8", codecs.BOM_UTF8), ("utf-16-le", codecs.BOM_UTF16_LE),
    ("utf-16-be", codecs.BOM_UTF16_BE), ("utf-32-le", codecs.BOM_UTF32_LE),
])
def test_text_decodings(tmp_path, encoding, prefix):
    text = "Grüße aus Köln — 東京 ✓\nsecond line\n"
    path = tmp_path / "note.txt"
    path.write_bytes(prefix + text.encode(encoding))
    doc = read_file(path, "note.txt")
    assert doc.text == text
    assert doc.file_type == "text" and doc.title == "note" and doc.source == "note.txt"
    assert "encoding_note" not in doc.metadata
    assert_sections_cover(doc)


def test_cp1252_fallback_is_recorded(tmp_path):
    path = tmp_path / "quotes.txt"
    path.write_bytes("\u201csmart quotes\u201d cost \u20ac5".encode("cp1252"))
    doc = read_file(path, "quotes.txt")
    assert doc.text == "\u201csmart quotes\u201d cost \u20ac5"
    assert doc.metadata["encoding"] == "cp1252" and "not valid UTF-8" in doc.metadata["encoding_note"]


def test_latin1_fallback_when_cp1252_cannot_decode():
    text, meta = decode_text(b"undefined in cp1252: \x81\x8d and caf\xe9", "x.txt")
    assert meta["encoding"] == "latin-1"
    assert text.endswith("café")


def test_newlines_are_normalised(tmp_path):
    path = tmp_path / "dos.txt"
    path.write_bytes(b"one\r\ntwo\rthree\n")
    assert read_file(path, "dos.txt").text == "one\ntwo\nthree\n"


def test_rst_is_read_as_plain_text(tmp_path):
    path = tmp_path / "guide.rst"
    path.write_text("Title\n=====\n\nBody text.\n")
    doc = read_file(path, "guide.rst")
    assert doc.file_type == "text" and "Body text." in doc.text


def test_registry():
    assert {".txt", ".text", ".md", ".markdown", ".pdf", ".html", ".htm"} <= supported_suffixes()
    assert reader_for("A.PDF") is reader_for("a.pdf") is not None
    assert reader_for("archive.zip") is None


def test_unsupported_suffix_raises(tmp_path):
    path = tmp_path / "data.dat"
    path.write_text("a,b\n")
    with pytest.raises(UnsupportedFormatError) as info:
        read_file(path, "data.dat")
    assert info.value.reason == "unsupported" and isinstance(info.value, ReaderError)


# --- Markdown ----------------------------------------------------------------------------------------

GUIDE = """Intro before any heading.

# Guide

Welcome.

## Install

Run the installer.

```bash
# not a heading, a shell comment
pip install thing
```

### From source ###

Clone it.

## Use

~~~
## still code
~~~

    # indented four spaces: code, not a heading

#NoSpace is not a heading either.

# Appendix
"""


def test_markdown_heading_paths(tmp_path):
    path = tmp_path / "guide.md"
    path.write_text(GUIDE)
    doc = read_file(path, "docs/guide.md")
    assert doc.file_type == "markdown" and doc.title == "Guide"
    assert_sections_cover(doc)
    paths = [s.heading_path for s in doc.sections]
    assert paths == [(), ("Guide",), ("Guide", "Install"), ("Guide", "Install", "From source"),
                     ("Guide", "Use"), ("Appendix",)]
    install = doc.sections[2]
    body = doc.text[install.start:install.end]
    assert body.startswith("## Install") and "# not a heading" in body and "pip install" in body
    use = doc.text[doc.sections[4].start:doc.sections[4].end]
    assert "## still code" in use and "#NoSpace" in use


def test_markdown_title_falls_back_to_stem(tmp_path):
    path = tmp_path / "plain-notes.md"
    path.write_text("no headings here\n")
    doc = read_file(path, "plain-notes.md")
    assert doc.title == "plain-notes" and len(doc.sections) == 1


def test_parse_headings_offsets():
    text = "# A\ntext\n## B\n"
    assert parse_headings(text) == [(0, 1, "A"), (9, 2, "B")]


# --- HTML --------------------------------------------------------------------------------------------

PAGE = """<!DOCTYPE html>
<html><head><title>  Brewing &amp; Steeping </title>
<style>.x { color: red }</style><script>var hidden = "SCRIPT";</script></head>
<body>
<noscript>NOSCRIPT</noscript><template><p>TEMPLATE</p></template>
<h1>Tea</h1><p>Green tea likes   <b>80&nbsp;°C</b> water.</p>
<div>Line one</div><div>Line two<br>Line three</div>
<h2>Black tea</h2><ul><li>Boiling water</li><li>Four minutes</li></ul>
<pre>  keep   this
  spacing</pre>
<table><tr><td>cell a</td><td>cell b</td></tr></table>
</body></html>
"""


def test_html_visible_text_and_sections(tmp_path):
    path = tmp_path / "tea.html"
    path.write_text(PAGE)
    doc = read_file(path, "tea.html")
    assert doc.title == "Brewing & Steeping" and doc.file_type == "html"
    for hidden in ("SCRIPT", "NOSCRIPT", "TEMPLATE", "color: red", "Brewing"):
        assert hidden not in doc.text
    assert "Green tea likes 80 °C water." in doc.text  # &nbsp; collapses like other whitespace
    assert "Line one\nLine two\nLine three" in doc.text
    assert "Boiling water\nFour minutes" in doc.text
    assert "  keep   this\n  spacing" in doc.text
    assert "cell a cell b" in doc.text
    assert_sections_cover(doc)
    assert [s.heading_path for s in doc.sections] == [("Tea",), ("Tea", "Black tea")]
    assert doc.text[doc.sections[1].start:].startswith("Black tea")


def test_html_title_falls_back_to_heading(tmp_path):
    path = tmp_path / "x.htm"
    path.write_text("<p>preamble</p><h2>Only heading</h2><p>body</p>")
    doc = read_file(path, "x.htm")
    assert doc.title == "Only heading"
    assert doc.sections[0].heading_path == () and doc.sections[1].heading_path == ("Only heading",)


BOILERPLATE_PAGE = """<html><head><title>Recipes</title></head><body>
<header><a href="/">Home</a> | Site search</header>
<nav><a href="/a">All recipes</a> <a href="/b">About</a></nav>
<main><article><header><h1>Soda bread</h1><p>By Ada</p></header>
<p>Mix flour, soda and buttermilk.</p>
<aside>Related: scones</aside>
<section><header><h2>Baking</h2></header><p>Bake for 40 minutes.</p></section>
<footer>Filed under bread</footer></article></main>
<footer><p>Copyright 2025 Example Recipes</p></footer>
</body></html>"""


def test_html_boilerplate_is_left_out(tmp_path):
    path = tmp_path / "bread.html"
    path.write_text(BOILERPLATE_PAGE)
    doc = read_file(path, "bread.html")
    assert doc.text == "Soda bread\n\nBy Ada\n\nMix flour, soda and buttermilk.\n\nBaking\n\nBake for 40 minutes."
    assert [s.heading_path for s in doc.sections] == [("Soda bread",), ("Soda bread", "Baking")]
    assert doc.title == "Recipes"


def test_a_page_of_nothing_but_navigation_is_read_whole(tmp_path):
    path = tmp_path / "sitemap.html"
    path.write_text("<html><body><nav><ul><li>Bread</li><li>Cakes</li></ul></nav><footer>(c) me</footer></body>"
                    "</html>")
    assert read_file(path, "sitemap.html").text == "Bread\nCakes\n\n(c) me"  # </ul> ends a paragraph


# --- PDF ---------------------------------------------------------------------------------------------

def test_pdf_pages_and_title(tmp_path):
    writer = pdf_writer()
    path = writer.write_pdf(tmp_path / "three.pdf", "Three Pages", [
        ("First page", ["Alpha paragraph about apples."]),
        ("Second page", ["Beta paragraph about bananas."]),
        ("Third page", ["Gamma paragraph about cherries."]),
    ])
    doc = read_file(path, "three.pdf")
    assert doc.file_type == "pdf" and doc.title == "Three Pages"
    assert [s.page for s in doc.sections] == [1, 2, 3]
    assert_sections_cover(doc)
    for section, word in zip(doc.sections, ("apples", "bananas", "cherries"), strict=True):
        assert word in doc.text[section.start:section.end]
    assert doc.text.count("\n\n") >= 2  # pages joined with a blank line
    assert doc.metadata["pages"] == 3


def test_pdf_without_title_uses_stem(tmp_path):
    writer = pdf_writer()
    path = tmp_path / "untitled-report.pdf"
    path.write_bytes(writer.build_pdf("", [writer.page_stream("Heading", ["Body."])]))
    assert read_file(path, "untitled-report.pdf").title == "untitled-report"


def test_pdf_with_blank_page_keeps_numbering(tmp_path):
    writer = pdf_writer()
    path = tmp_path / "gap.pdf"
    path.write_bytes(writer.build_pdf("Gap", [writer.page_stream("One", ["x"]), b"",
                                              writer.page_stream("Three", ["z"])]))
    doc = read_file(path, "gap.pdf")
    assert [s.page for s in doc.sections] == [1, 2, 3]
    page3 = doc.sections[2]
    assert doc.text[page3.start:page3.end].startswith("Three")


def test_markdown_setext_headings_and_front_matter(tmp_path):
    text = ("---\ntitle: ignored\nauthor: x\n---\n\nProject Name\n============\n\nIntro.\n\nUsage\n-----\n\n"
            "Run it.\n\n---\n\nA paragraph of\ntwo lines\n---\n\n- a list item\n---\n")
    path = tmp_path / "README.md"
    path.write_text(text)
    doc = read_file(path, "README.md")
    assert doc.title == "Project Name"
    assert [s.heading_path for s in doc.sections] == [(), ("Project Name",), ("Project Name", "Usage")]
    assert doc.text[doc.sections[1].start:].startswith("Project Name\n===")


def test_bare_headings_open_the_next_deeper_section(tmp_path):
    path = tmp_path / "nest.md"
    path.write_text("# Top\n\n## Mid\n### Leaf\ntext\n## Empty\n## Other\nmore\n")
    doc = read_file(path, "nest.md")
    assert_sections_cover(doc)
    assert [(s.heading_path, doc.text[s.start:s.end]) for s in doc.sections] == [
        (("Top", "Mid", "Leaf"), "# Top\n\n## Mid\n### Leaf\ntext\n"),
        (("Top", "Empty"), "## Empty\n"),  # not followed by a deeper heading: kept as it is
        (("Top", "Other"), "## Other\nmore\n"),
    ]


def test_html_unclosed_head_and_svg_title(tmp_path):
    path = tmp_path / "odd.html"
    path.write_text("<html><head><title>Real title</title><meta charset=utf-8>"
                    "<body><svg><title>icon</title><text>SVG TEXT</text></svg><p>Body text &amp; more</p>")
    doc = read_file(path, "odd.html")
    assert doc.title == "Real title"
    assert doc.text == "Body text & more"


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom(tmp_path, codec):
    path = tmp_path / "wide.txt"
    path.write_bytes("Plain ASCII mostly, with ümlauts.\n".encode(codec))
    doc = read_file(path, "wide.txt")
    assert doc.text == "Plain ASCII mostly, with ümlauts.\n" and doc.metadata["encoding"] == codec


def test_mostly_utf8_with_one_bad_byte_stays_utf8():
    good = ("Grüße aus Köln. " * 100).encode("utf-8")
    text, meta = decode_text(good + b"\xff" + good, "mixed.txt")
    assert text.count("Grüße") == 200 and "\ufffd" in text
    assert meta["encoding"] == "utf-8" and "1 bad bytes replaced" in meta["encoding_note"]


def test_html_meta_charset_is_honoured_when_not_utf8(tmp_path):
    path = tmp_path / "ru.html"
    html = ('<html><head><meta charset="koi8-r"><title>Привет</title></head>'
            '<body><p>Мир</p></body></html>')
    path.write_bytes(html.encode("koi8-r"))
    doc = read_file(path, "ru.html")
    assert doc.title == "Привет" and doc.text == "Мир" and doc.metadata["encoding"] == "koi8-r"
