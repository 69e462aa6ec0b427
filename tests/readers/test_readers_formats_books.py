"""EPUB books, e-mail (.eml, .mbox, attachments through the other readers) and Jupyter notebooks."""

from __future__ import annotations

import importlib.util
import io
import json
import zipfile
from email.message import EmailMessage
from itertools import pairwise
from pathlib import Path

import pytest

from ragforge.errors import ReaderError
from ragforge.readers import mail, read_file, register_reader, unregister_reader

ROOT = Path(__file__).resolve().parents[2]


def assert_sections_cover(doc):
    assert doc.sections and doc.sections[0].start == 0 and doc.sections[-1].end == len(doc.text)
    for a, b in pairwise(doc.sections):
        assert a.end == b.start


def section_of(doc, needle):
    at = doc.text.index(needle)
    return next(s for s in doc.sections if s.start <= at < s.end)


# --- EPUB ------------------------------------------------------------------------------------------------

def make_epub(path: Path, chapters: dict[str, str], spine: list[str], extra: dict[str, str] | None = None,
              container: bool = True) -> Path:
    files = {"mimetype": "application/epub+zip"}
    if container:
        files["META-INF/container.xml"] = (
            '<container xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles>'
            '<rootfile full-path="OPS/book.opf"/></rootfiles></container>')
    items = "".join(f'<item id="{n}" href="{n}.xhtml" media-type="application/xhtml+xml"/>' for n in chapters)
    refs = "".join(f'<itemref idref="{n}"/>' for n in spine)
    files["OPS/book.opf"] = (
        '<package xmlns="http://www.idpf.org/2007/opf"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f'<dc:title>Sea Stories</dc:title></metadata><manifest>{items}'
        '<item id="cover" href="cover.jpg" media-type="image/jpeg"/></manifest>'
        f'<spine>{refs}<itemref idref="cover"/></spine></package>')
    for name, body in chapters.items():
        files[f"OPS/{name}.xhtml"] = f"<html><head><title>{name}</title></head><body>{body}</body></html>"
    files.update(extra or {})
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return path


def test_epub_chapters_follow_the_spine_with_heading_paths(tmp_path):
    chapters = {"storm": "<h1>The Storm</h1><p>Waves broke over the deck.</p><h2>Aftermath</h2><p>Calm.</p>",
                "harbour": "<p>An untitled opening in the harbour.</p>"}
    doc = read_file(make_epub(tmp_path / "sea.epub", chapters, ["harbour", "storm"]), "sea.epub")
    assert doc.file_type == "epub" and doc.title == "Sea Stories" and doc.metadata["chapters"] == 2
    assert doc.text.index("harbour") < doc.text.index("Waves")  # spine order, not manifest order
    assert section_of(doc, "untitled opening").heading_path == ("harbour",)  # the chapter's <title>
    assert section_of(doc, "Waves broke").heading_path == ("The Storm",)
    assert section_of(doc, "Calm.").heading_path == ("The Storm", "Aftermath")
    assert_sections_cover(doc)


def test_epub_without_container_uses_its_only_package_document(tmp_path):
    path = make_epub(tmp_path / "bare.epub", {"one": "<p>Only chapter.</p>"}, ["one"], container=False)
    assert read_file(path, "bare.epub").text == "Only chapter."


def test_epub_with_drm_is_encrypted_but_obfuscated_fonts_are_fine(tmp_path):
    def encryption(algorithm: str) -> dict[str, str]:
        return {"META-INF/encryption.xml": (
            '<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container" '
            'xmlns:enc="http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData>'
            f'<enc:EncryptionMethod Algorithm="{algorithm}"/></enc:EncryptedData></encryption>')}

    chapters = {"c1": "<p>Text.</p>"}
    drm = make_epub(tmp_path / "drm.epub", chapters, ["c1"], encryption("http://www.w3.org/2001/04/xmlenc#aes128-cbc"))
    with pytest.raises(ReaderError) as info:
        read_file(drm, "drm.epub")
    assert info.value.reason == "encrypted"
    fonts = make_epub(tmp_path / "fonts.epub", chapters, ["c1"], encryption("http://www.idpf.org/2008/embedding"))
    assert read_file(fonts, "fonts.epub").text == "Text."


# --- e-mail ------------------------------------------------------------------------------------------------

def pdf_bytes() -> bytes:
    spec = importlib.util.spec_from_file_location("make_sample_pdfs", ROOT / "scripts" / "make_sample_pdfs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    streams = [module.page_stream(f"Page {n}", [f"The invoice total on page {n} is {n * 100} pounds."])
               for n in (1, 2)]
    return module.build_pdf("Invoice", streams)


def message(subject: str, body: str, html: str | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "Ann <ann@example.org>", "Bo <bo@example.org>", subject
    msg["Date"] = "Tue, 03 Mar 2026 10:00:00 +0000"
    msg.set_content(body)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    return msg


def test_eml_headers_body_and_attachments_through_other_readers(tmp_path):
    msg = message("Quarterly invoice", "Please find the invoice attached.")
    msg.add_attachment(pdf_bytes(), maintype="application", subtype="pdf", filename="invoice.pdf")
    msg.add_attachment(b"\x00\x01 not text", maintype="application", subtype="octet-stream", filename="blob.txt")
    msg.add_attachment(b"PK zip?", maintype="application", subtype="zip", filename="photos.zip")
    path = tmp_path / "invoice.eml"
    path.write_bytes(bytes(msg))

    doc = read_file(path, "invoice.eml")
    assert doc.file_type == "email" and doc.title == "Quarterly invoice"
    assert doc.text.startswith("From: Ann <ann@example.org>\nTo: Bo <bo@example.org>\n"
                               "Date: Tue, 03 Mar 2026 10:00:00 +0000\nSubject: Quarterly invoice\n\n"
                               "Please find the invoice attached.")
    page2 = section_of(doc, "page 2 is 200 pounds")
    assert page2.page == 2 and page2.heading_path == ("Quarterly invoice", "Attachment: invoice.pdf", )
    assert section_of(doc, "Attachment: invoice.pdf").page == 1
    assert doc.metadata["skipped_attachments"] == [{"name": "blob.txt", "reason": "binary"},
                                                   {"name": "photos.zip", "reason": "unsupported"}]
    assert_sections_cover(doc)


def test_eml_html_only_body_and_forwarded_message(tmp_path):
    msg = EmailMessage()
    msg["Subject"] = "Fwd: minutes"
    msg.set_content("<html><body><p>See <b>below</b>.</p><script>x()</script></body></html>", subtype="html")
    msg.add_attachment(message("Minutes", "The committee approved the new bike racks."))
    path = tmp_path / "fwd.eml"
    path.write_bytes(bytes(msg))
    doc = read_file(path, "fwd.eml")
    assert "See below." in doc.text and "x()" not in doc.text
    forwarded = section_of(doc, "new bike racks")
    assert forwarded.heading_path == ("Fwd: minutes", "Forwarded: message.eml", "Minutes")


def test_attached_eml_files_nest_only_so_deep(tmp_path, monkeypatch):
    monkeypatch.setattr(mail, "MAX_DEPTH", 1)
    inner = bytes(message("level 2", "deepest text"))
    for level in (1, 0):
        outer = message(f"level {level}", f"text at level {level}")
        outer.add_attachment(inner, maintype="application", subtype="octet-stream", filename=f"l{level + 1}.eml")
        inner = bytes(outer)
    path = tmp_path / "nested.eml"
    path.write_bytes(inner)
    doc = read_file(path, "nested.eml")
    assert "text at level 1" in doc.text and "deepest text" not in doc.text
    assert doc.metadata["skipped_attachments"] == [{"name": "l1.eml/l2.eml", "reason": "nested_too_deep"}]


def test_mbox_one_section_per_message(tmp_path):
    first, second = message("Hello", "First body; an escaped line follows."), message("Re: Hello", "")
    raw = (b"From ann@example.org Tue Mar  3 10:00:00 2026\n" + bytes(first).replace(b"\r\n", b"\n")
           + b"\n>From here on it is quoted.\n\nFrom bo@example.org Tue Mar  3 11:00:00 2026\n"
           + bytes(second).replace(b"\r\n", b"\n"))
    path = tmp_path / "list.mbox"
    path.write_bytes(raw)
    doc = read_file(path, "list.mbox")
    assert doc.file_type == "email" and doc.metadata["messages"] == 2
    assert [s.heading_path for s in doc.sections] == [("Hello",), ("Re: Hello",)]
    assert "\nFrom here on it is quoted." in doc.text and ">From" not in doc.text
    assert_sections_cover(doc)


def test_mbox_message_cap(tmp_path, monkeypatch):
    monkeypatch.setattr(mail, "MAX_MESSAGES", 2)
    raw = b"".join(b"From x@example.org Tue Mar  3 10:00:00 2026\nSubject: m%d\n\nbody %d\n\n" % (n, n)
                   for n in range(5))
    path = tmp_path / "big.mbox"
    path.write_bytes(raw)
    doc = read_file(path, "big.mbox")
    assert "body 1" in doc.text and "body 2" not in doc.text and doc.metadata["truncated_messages"] == 3


def test_attachment_readers_come_from_the_registry(tmp_path):
    def read_upper(path, source):
        from ragforge.types import Document
        return Document(source=source, text=path.read_text().upper(), file_type="shout")

    register_reader(".shout", read_upper)
    try:
        msg = message("Loud", "body")
        msg.add_attachment(b"quiet words", maintype="application", subtype="octet-stream", filename="a.shout")
        path = tmp_path / "loud.eml"
        path.write_bytes(bytes(msg))
        assert "QUIET WORDS" in read_file(path, "loud.eml").text
    finally:
        unregister_reader(".shout")


# --- notebooks ---------------------------------------------------------------------------------------------

def test_notebook_cells_as_markdown_with_fenced_code(tmp_path):
    cells = [
        {"cell_type": "markdown", "source": ["# Analysis\n", "\n", "Intro text."]},
        {"cell_type": "code", "source": "# not a heading\nx = 1\n```\n", "outputs": [{"text": "secret output"}]},
        {"cell_type": "markdown", "source": "## Results\n\nIt worked."},
        {"cell_type": "raw", "source": "raw cell text"},
        {"cell_type": "code", "source": ""},
    ]
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps({"cells": cells, "metadata": {"language_info": {"name": "python"}}}))
    doc = read_file(path, "nb.ipynb")
    assert doc.file_type == "notebook" and doc.title == "Analysis" and doc.metadata["cells"] == 4
    assert "````python\n# not a heading\nx = 1\n```\n````" in doc.text and "secret output" not in doc.text
    assert section_of(doc, "x = 1").heading_path == ("Analysis",)
    assert section_of(doc, "raw cell text").heading_path == ("Analysis", "Results")
    assert_sections_cover(doc)


@pytest.mark.parametrize("content", ['{"cells": 3}', "[1, 2]", '"just a string"'])
def test_json_that_is_not_a_notebook_is_corrupt(tmp_path, content):
    path = tmp_path / "x.ipynb"
    path.write_text(content)
    with pytest.raises(ReaderError) as info:
        read_file(path, "x.ipynb")
    assert info.value.reason == "corrupt"


def test_zip_member_reads_are_bounded_by_declared_sizes():
    """The reason the zip limits work: zipfile never returns more than a member's declared size."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("big.xml", b"<a>" + b"x" * 100_000 + b"</a>")
    data = bytearray(buffer.getvalue())
    central = data.rindex(b"PK\x01\x02")
    data[central + 24:central + 28] = (1000).to_bytes(4, "little")  # declare 1,000 bytes unpacked
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive, pytest.raises(zipfile.BadZipFile):
        archive.read("big.xml")  # stops at 1,000 bytes and fails the CRC check


def test_headers_the_email_package_cannot_parse_are_left_out(tmp_path):
    path = tmp_path / "odd.eml"
    path.write_bytes(b"From: foo@[bar\nTo: a@\nMessage-ID: <\nSubject: Still readable\n\nThe body survives.\n")
    doc = read_file(path, "odd.eml")  # the email package raises on these From/To headers when asked
    assert doc.text == "Subject: Still readable\n\nThe body survives." and doc.title == "Still readable"
