"""Readers on bad inputs: every failure is a ReaderError with the right reason, never a crash."""

from __future__ import annotations

import importlib.util
import io
import logging
import os
from pathlib import Path

import pytest

from ragforge.config import WalkConfig
from ragforge.errors import ReaderError
from ragforge.readers import read_file, walk

ROOT = Path(__file__).resolve().parents[2]
BROKEN = ROOT / "tests" / "data" / "broken"
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def pdf_writer():
    script = ROOT / "scripts" / "make_sample_pdfs.py"
    spec = importlib.util.spec_from_file_location("make_sample_pdfs", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def reason_of(path: Path, source: str | None = None) -> str:
    with pytest.raises(ReaderError) as info:
        read_file(path, source or path.name)
    assert info.value.path == (source or path.name)
    assert str(info.value)
    return info.value.reason


@pytest.mark.parametrize("name,reason", [
    ("truncated.pdf", "corrupt"),
    ("random_bytes.pdf", "corrupt"),
    ("binary.txt", "binary"),
    ("empty.md", "empty"),
    ("whitespace_only.txt", "empty"),
    ("script_only.html", "empty"),
])
def test_broken_files(name, reason):
    assert reason_of(BROKEN / name) == reason


def test_corrupt_pdf_chains_the_pypdf_error():
    with pytest.raises(ReaderError) as info:
        read_file(BROKEN / "random_bytes.pdf", "random_bytes.pdf")
    assert info.value.__cause__ is not None


def test_latin1_file_is_read_with_a_note():
    doc = read_file(BROKEN / "latin1.txt", "latin1.txt")
    assert "Café crème brûlée" in doc.text and "© 1998 ± 2 °C" in doc.text
    assert doc.metadata["encoding"] in {"cp1252", "latin-1"}
    assert "encoding_note" in doc.metadata


def test_binary_by_control_characters(tmp_path):
    path = tmp_path / "controls.md"
    path.write_bytes(bytes(range(1, 9)) * 200 + b"some text")
    assert reason_of(path) == "binary"


def test_empty_pdf_file(tmp_path):
    path = tmp_path / "zero.pdf"
    path.write_bytes(b"")
    assert reason_of(path) == "empty"


def _encrypted_pdf(tmp_path: Path, user_password: str) -> Path:
    from pypdf import PdfReader, PdfWriter

    writer = pdf_writer()
    plain = writer.build_pdf("Secret", [writer.page_stream("Secret page", ["The vault code is 1234."])])
    pdf = PdfWriter(clone_from=PdfReader(io.BytesIO(plain)))
    pdf.encrypt(user_password=user_password, owner_password="owner-pass", algorithm="RC4-128")
    path = tmp_path / "secret.pdf"
    with path.open("wb") as fh:
        pdf.write(fh)
    return path


def test_encrypted_pdf_needing_a_password(tmp_path):
    assert reason_of(_encrypted_pdf(tmp_path, "hunter2")) == "encrypted"


def test_encrypted_pdf_with_empty_user_password_is_read(tmp_path):
    doc = read_file(_encrypted_pdf(tmp_path, ""), "secret.pdf")
    assert "vault code is 1234" in doc.text


def test_pdf_page_that_fails_is_skipped_with_a_warning(tmp_path, caplog):
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import NameObject, StreamObject

    writer = pdf_writer()
    streams = [writer.page_stream(f"Page {n}", [f"Text of page {n}."]) for n in (1, 2, 3)]
    plain = writer.build_pdf("Pages", streams)
    pdf = PdfWriter(clone_from=PdfReader(io.BytesIO(plain)))
    bad = StreamObject()
    bad.set_data(b"xx")
    bad[NameObject("/Filter")] = NameObject("/NoSuchDecode")  # pypdf raises NotImplementedError on it
    pdf.pages[1][NameObject("/Contents")] = pdf._add_object(bad)
    path = tmp_path / "bad-page.pdf"
    with path.open("wb") as fh:
        pdf.write(fh)
    with caplog.at_level(logging.WARNING, logger="ragforge.readers"):
        doc = read_file(path, "bad-page.pdf")
    assert [s.page for s in doc.sections] == [1, 3]
    assert "Text of page 3." in doc.text and "page 2" not in doc.text
    assert doc.metadata["skipped_pages"] == [2]
    assert any("page 2 skipped" in r.getMessage() for r in caplog.records if r.name == "ragforge.readers")


@pytest.mark.skipif(IS_ROOT, reason="root reads files whatever their permissions")
def test_permission_denied_is_unreadable(tmp_path):
    path = tmp_path / "locked.txt"
    path.write_text("secret")
    path.chmod(0)
    try:
        assert reason_of(path) == "unreadable"
    finally:
        path.chmod(0o644)


def test_directory_named_like_a_file_is_not_regular(tmp_path):
    folder = tmp_path / "x.txt"
    folder.mkdir()
    assert reason_of(folder) == "not_regular"


@pytest.mark.timeout(10)
@pytest.mark.parametrize("suffix", [".txt", ".md", ".html", ".pdf"])
def test_a_fifo_is_not_regular_and_never_blocks(tmp_path, suffix):
    fifo = tmp_path / f"x{suffix}"
    os.mkfifo(fifo)  # no writer: opening it for a plain read would block forever
    assert reason_of(fifo) == "not_regular"


def test_a_unix_socket_is_not_regular(tmp_path):
    import socket

    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(tmp_path / "s.txt"))
        assert reason_of(tmp_path / "s.txt") == "not_regular"
    finally:
        server.close()


def test_dangling_symlink_is_unreadable(tmp_path):
    link = tmp_path / "gone.md"
    link.symlink_to(tmp_path / "missing-target.md")
    assert reason_of(link) == "unreadable"


def test_file_deleted_between_walk_and_read_is_vanished(tmp_path):
    (tmp_path / "keep.md").write_text("# Keep\n")
    (tmp_path / "doomed.md").write_text("# Doomed\n")
    result = walk(tmp_path, WalkConfig())
    entries = {f.source: f for f in result.files}
    assert set(entries) == {"doomed.md", "keep.md"}
    entries["doomed.md"].path.unlink()
    assert reason_of(entries["doomed.md"].path, "doomed.md") == "vanished"
    assert read_file(entries["keep.md"].path, "keep.md").title == "Keep"


def test_walk_of_missing_folder_raises(tmp_path):
    with pytest.raises(ReaderError) as info:
        walk(tmp_path / "nope", WalkConfig())
    assert info.value.reason == "vanished"


def test_an_aes_pdf_without_the_cryptography_package_is_encrypted_not_corrupt(tmp_path):
    import subprocess
    import sys

    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, NameObject

    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    stream = DecodedStreamObject()
    stream.set_data(b"BT /F1 12 Tf 20 100 Td (Hello AES) Tj ET")
    writer.pages[0][NameObject("/Contents")] = writer._add_object(stream)
    writer.encrypt(user_password="", owner_password="owner", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    # the same key derivation (revision 3 -> 4) with streams declared AES-128: pypdf needs a crypto package
    aes = buffer.getvalue().replace(b"/V 2\n/R 3\n", b"/V 4\n/R 4\n/StmF /StdCF /StrF /StdCF /CF << /StdCF << "
                                                     b"/CFM /AESV2 /Length 16 /AuthEvent /DocOpen >> >>\n")
    path = tmp_path / "aes.pdf"
    path.write_bytes(aes)
    code = ("import sys\n"
            "sys.modules['cryptography'] = sys.modules['Crypto'] = None  # as on a machine without them\n"
            "from ragforge.errors import ReaderError\nfrom ragforge.readers import read_file\n"
            "try:\n    read_file(sys.argv[1], 'aes.pdf')\nexcept ReaderError as exc:\n"
            "    print(exc.reason, '|', exc)\n")
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=60)
    reason, _, message = out.stdout.strip().partition(" | ")
    assert reason == "encrypted" and "cryptography" in message, out.stdout + out.stderr
