"""The new formats on bad inputs: damaged files skip with a reason; zip bombs, huge sheets and huge texts are
refused or cut quickly instead of hanging or filling memory."""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ragforge.errors import ReaderError
from ragforge.readers import _builder, _zip, read_file

ROOT = Path(__file__).resolve().parents[2]
BROKEN = ROOT / "tests" / "data" / "broken"
SAMPLE = ROOT / "corpora" / "sample"
DOCX = SAMPLE / "home" / "garden_plot_handbook.docx"


def reason_of(path: Path, source: str | None = None) -> ReaderError:
    with pytest.raises(ReaderError) as info:
        read_file(path, source or path.name)
    assert info.value.path == (source or path.name) and str(info.value)
    return info.value


@pytest.mark.parametrize("name,reason", [
    ("truncated.docx", "corrupt"),
    ("password_protected.docx", "encrypted"),
    ("not_a_zip.pptx", "corrupt"),
    ("no_workbook.xlsx", "corrupt"),
    ("binary.csv", "binary"),
    ("no_spine.epub", "corrupt"),
    ("binary.eml", "binary"),
    ("no_from_line.mbox", "corrupt"),
    ("invalid_json.ipynb", "corrupt"),
])
def test_broken_files(name, reason):
    assert reason_of(BROKEN / name).reason == reason


@pytest.mark.parametrize("suffix", [".docx", ".pptx", ".xlsx", ".csv", ".epub", ".eml", ".mbox", ".ipynb"])
def test_empty_files_are_empty(tmp_path, suffix):
    path = tmp_path / f"zero{suffix}"
    path.write_bytes(b"")
    assert reason_of(path).reason == "empty"


def test_old_binary_office_file_renamed_is_corrupt_with_advice(tmp_path):
    path = tmp_path / "old.docx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 2048)
    error = reason_of(path)
    assert error.reason == "corrupt" and "Save As" in str(error)


def _bomb(path: Path, member: str, megabytes: int = 8) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open(member, "w") as fh:
            block = b"\x00" * (1024 * 1024)
            for _ in range(megabytes):
                fh.write(block)
    return path


@pytest.mark.parametrize("name,member", [
    ("bomb.docx", "word/document.xml"), ("bomb.pptx", "ppt/slides/slide1.xml"),
    ("bomb.xlsx", "xl/worksheets/sheet1.xml"), ("bomb.epub", "OEBPS/chapter1.xhtml"),
])
def test_zip_bombs_are_refused_before_unpacking(tmp_path, name, member):
    path = _bomb(tmp_path / name, member)
    started = time.perf_counter()
    error = reason_of(path)
    assert error.reason == "corrupt" and "zip bomb" in str(error)
    assert time.perf_counter() - started < 1.0


def test_declared_total_and_member_count_limits(tmp_path, monkeypatch):
    monkeypatch.setattr(_zip, "MAX_UNPACKED_BYTES", 10_000)
    assert "would unpack to" in str(reason_of(DOCX))
    monkeypatch.setattr(_zip, "MAX_UNPACKED_BYTES", 256 * 1024 * 1024)
    monkeypatch.setattr(_zip, "MAX_MEMBERS", 3)
    assert "parts" in str(reason_of(DOCX))


def test_a_member_larger_than_declared_fails_its_check(tmp_path):
    data = bytearray(DOCX.read_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo("word/document.xml")
    central = data.index(b"PK\x01\x02")
    while True:  # find this member's central directory record and declare it 100 bytes long
        name_len = int.from_bytes(data[central + 28:central + 30], "little")
        if data[central + 46:central + 46 + name_len] == info.filename.encode():
            break
        central = data.index(b"PK\x01\x02", central + 4)
    data[central + 24:central + 28] = (100).to_bytes(4, "little")
    path = tmp_path / "lying.docx"
    path.write_bytes(bytes(data))
    assert reason_of(path).reason == "corrupt"


def test_a_sheet_that_claims_a_million_rows_is_cut_quickly(tmp_path):
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet["A1"], sheet["B1"] = "name", "value"
    sheet["A2"], sheet["B2"] = "first", 1
    sheet["A1048576"] = "last row"  # every row in between comes back from openpyxl as an empty row
    sheet["XFD2"] = "far column"
    path = tmp_path / "sparse.xlsx"
    workbook.save(path)
    started = time.perf_counter()
    doc = read_file(path, "sparse.xlsx")
    assert time.perf_counter() - started < 5.0
    assert doc.metadata["truncated_sheets"] == ["Sheet"]
    assert "name: first\nvalue: 1" in doc.text and "last row" not in doc.text and "far column" not in doc.text


def test_text_is_capped(tmp_path, monkeypatch):
    monkeypatch.setattr(_builder, "MAX_CHARS", 200)
    path = tmp_path / "long.csv"
    path.write_text("n,square\n" + "".join(f"{n},{n * n}\n" for n in range(1000)))
    doc = read_file(path, "long.csv")
    assert len(doc.text) <= 200 and doc.metadata["truncated"] is True
    assert doc.sections[-1].end == len(doc.text)


def test_csv_with_a_huge_field_is_corrupt(tmp_path):
    path = tmp_path / "huge.csv"
    path.write_text('a,b\n1,"' + "x" * 200_000 + '"\n')
    error = reason_of(path)
    assert error.reason == "corrupt" and "line" in str(error)


def test_index_skips_broken_new_formats_with_reasons(tmp_path):
    import shutil

    import ragforge

    folder = tmp_path / "docs"
    folder.mkdir()
    for name in ("truncated.docx", "password_protected.docx", "no_spine.epub", "invalid_json.ipynb"):
        shutil.copy(BROKEN / name, folder / name)
    shutil.copy(SAMPLE / "nature" / "winter_bird_count.csv", folder / "birds.csv")
    with ragforge.open_index(tmp_path / "idx", model="hashing:256", create=True) as index:
        report = index.sync(folder)
    assert report.added == 1
    assert {(s.source, s.reason) for s in report.skipped} == {
        ("truncated.docx", "corrupt"), ("password_protected.docx", "encrypted"),
        ("no_spine.epub", "corrupt"), ("invalid_json.ipynb", "corrupt")}


NEW_FORMATS = sorted(p for p in SAMPLE.rglob("*")
                     if p.suffix in {".docx", ".pptx", ".xlsx", ".csv", ".epub", ".eml", ".mbox", ".ipynb"})


def _repacked(data: bytes, member_pick: int, cut: int) -> bytes:
    """The same archive with one XML member cut short (damage inside a sound zip)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    names = [n for n in source.namelist() if n.endswith((".xml", ".rels", ".xhtml", ".opf"))]
    target = names[member_pick % len(names)]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name in source.namelist():
            content = source.read(name)
            archive.writestr(name, content[: cut % max(1, len(content))] if name == target else content)
    return out.getvalue()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pick=st.integers(0, len(NEW_FORMATS) - 1), kind=st.sampled_from(["flip", "truncate", "member"]),
       where=st.integers(0, 10**9), what=st.binary(min_size=1, max_size=16))
def test_damaged_files_give_a_document_or_a_reader_error(tmp_path, pick, kind, where, what):
    """Any damage to any sample of the new formats is read or skipped with a reason, never raised as
    something else."""
    original = NEW_FORMATS[pick]
    data = original.read_bytes()
    if kind == "flip":
        at = where % len(data)
        data = data[:at] + what + data[at + len(what):]
    elif kind == "truncate":
        data = data[: where % len(data)]
    elif zipfile.is_zipfile(original):
        data = _repacked(data, where, int.from_bytes(what, "little"))
    path = tmp_path / f"damaged{original.suffix}"
    path.write_bytes(data)
    try:
        doc = read_file(path, path.name)
    except ReaderError as exc:
        assert exc.reason in {"corrupt", "empty", "binary", "encrypted", "undecodable"}, exc
    else:
        assert doc.sections[0].start == 0 and doc.sections[-1].end == len(doc.text)
