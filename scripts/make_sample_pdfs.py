#!/usr/bin/env python3
"""Write the sample corpus's PDFs with a tiny, dependency-free PDF writer.

The writer emits raw PDF objects: a catalog, a page tree, one content stream per page, the standard
Helvetica / Helvetica-Bold Type1 fonts with WinAnsiEncoding, an info dictionary with the title, and a
classic cross-reference table. Text is wrapped to the page width with Helvetica's average character
width, so pypdf (and any viewer) extracts it line by line.

    python scripts/make_sample_pdfs.py            # writes corpora/sample/**.pdf and checks them with pypdf
    python scripts/make_sample_pdfs.py --out DIR  # somewhere else

Prose written for ragforge; CC0.
"""

from __future__ import annotations

import argparse
import textwrap
from pathlib import Path

PAGE_W, PAGE_H, MARGIN = 612, 792, 72
BODY_SIZE, HEAD_SIZE, LEADING = 11, 16, 15
WRAP = 84  # characters per line at 11 pt Helvetica across 468 pt


def _escape(text: str) -> bytes:
    raw = text.encode("cp1252", errors="replace")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def page_stream(heading: str, paragraphs: list[str]) -> bytes:
    """A content stream: a bold heading, then wrapped paragraphs separated by a blank line."""
    ops = [b"BT", f"/F2 {HEAD_SIZE} Tf {MARGIN} {PAGE_H - MARGIN} Td {LEADING + 6} TL".encode()]
    ops.append(b"(" + _escape(heading) + b") Tj T*")
    ops.append(f"/F1 {BODY_SIZE} Tf {LEADING} TL".encode())
    for paragraph in paragraphs:
        for line in textwrap.wrap(paragraph, WRAP):
            ops.append(b"(" + _escape(line) + b") Tj T*")
        ops.append(b"( ) Tj T*")  # a blank line that text extraction keeps, marking the paragraph
    ops.append(b"ET")
    return b"\n".join(ops)


def build_pdf(title: str, streams: list[bytes]) -> bytes:
    """A complete PDF file: one page per content stream."""
    objects: list[bytes] = []  # object n is objects[n - 1]
    n_pages = len(streams)
    page_ids = [5 + 2 * i for i in range(n_pages)]
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    kids = " ".join(f"{p} 0 R" for p in page_ids)
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {n_pages} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>")
    for page_id, stream in zip(page_ids, streams, strict=True):
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_W} {PAGE_H}] "
            f"/Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents {page_id + 1} 0 R >>".encode()
        )
        objects.append(f"<< /Length {len(stream)} >>\nstream\n".encode() + stream + b"\nendstream")
    objects.append(b"<< /Title (" + _escape(title) + b") /Producer (ragforge make_sample_pdfs.py) >>")
    info_id = len(objects)
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info {info_id} 0 R >>\n".encode()
    out += f"startxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def write_pdf(path: Path, title: str, pages: list[tuple[str, list[str]]]) -> Path:
    """Write a text PDF: ``pages`` is a list of (heading, paragraphs)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(build_pdf(title, [page_stream(h, ps) for h, ps in pages]))
    return path


# The prose of the sample PDFs: {relative path: (title, [(page heading, [paragraphs])])}.
DOCUMENTS: dict[str, tuple[str, list[tuple[str, list[str]]]]] = {
    "manuals/kettlewick_k2_manual.pdf": ("Kettlewick K2 Smart Kettle: Owner's Manual", [
        ("1. Welcome and safety", [
            "Thank you for choosing the Kettlewick K2, a 1.7 litre smart kettle with six temperature presets "
            "and a keep-warm mode. This manual covers unpacking, first use, pairing with the Kettlewick app, "
            "cleaning, and what to do when the display shows an error code.",
            "Safety first. Never fill the kettle above the MAX line, because boiling water can spit from the "
            "spout. Do not immerse the base, the cord or the plug in water. Always place the kettle on its "
            "base before switching it on; the heating element will not start unless the kettle is seated. "
            "Children should not use the kettle without supervision.",
            "Before the first use, fill the kettle to the MAX line, boil it, and pour the water away. Repeat "
            "this twice to rinse out any dust from manufacturing. A faint plastic smell during the first "
            "few boils is normal and fades quickly.",
        ]),
        ("2. Presets, keep-warm and app pairing", [
            "The six presets are 40, 60, 70, 80, 90 and 100 degrees Celsius. Green tea tastes best at 80 "
            "degrees, white tea at 70, and baby formula is usually prepared at 40. Press the thermometer "
            "button to cycle through the presets, then press the power button to start heating.",
            "Keep-warm holds the chosen temperature for up to 30 minutes. Press and hold the thermometer "
            "button for two seconds to switch keep-warm on or off; a small sun icon appears while it is "
            "active. The kettle switches itself off after 30 minutes to save energy.",
            "To pair the kettle with your phone, open the Kettlewick app and press and hold the power button "
            "for five seconds until the ring light pulses blue. The kettle connects over Bluetooth Low "
            "Energy and remembers up to four phones. If pairing fails, move the phone within two metres of "
            "the kettle and try again.",
        ]),
        ("3. Cleaning and descaling", [
            "Limescale builds up quickly in hard-water areas and makes the kettle slower and noisier. "
            "Descale the K2 every four weeks in hard-water areas, or every three months where the water is "
            "soft. The display shows a droplet icon when the kettle thinks it is time.",
            "To descale, dissolve two tablespoons of citric acid in one litre of water, pour the solution "
            "into the kettle, and start the descaling programme by holding the thermometer and power "
            "buttons together for three seconds. The programme heats the solution to 60 degrees and holds "
            "it for 20 minutes. Afterwards, empty the kettle and boil fresh water twice before making "
            "drinks.",
            "Do not use vinegar: its smell lingers in the lid seal. Wipe the outside with a damp cloth only. "
            "The mesh filter in the spout slides out upwards and can be rinsed under the tap.",
        ]),
        ("4. Troubleshooting and warranty", [
            "E1 means the kettle was switched on while empty; the boil-dry sensor cut the power. Let it cool "
            "for ten minutes, fill it, and try again. E2 means the base cannot sense the kettle: wipe the "
            "contacts and reseat it. E3 means the temperature sensor is reading out of range, usually "
            "because of heavy limescale; descale the kettle and the error normally clears. E4 means the "
            "firmware update failed; keep the phone close and retry the update from the app.",
            "If the kettle does not switch off after boiling, the lid is probably not fully closed, so the "
            "steam cannot reach the switch. Press the lid down until it clicks.",
            "The K2 carries a two-year limited warranty from the date of purchase. The warranty does not "
            "cover damage caused by limescale when the kettle has not been descaled as this manual "
            "describes. Keep your receipt; you will need it for any claim.",
        ]),
    ]),
    "history/lighthouse_history.pdf": ("A Short History of Lighthouses", [
        ("Ancient lights", [
            "People have guided ships with fire for as long as they have sailed at night. The most famous "
            "ancient lighthouse, the Pharos of Alexandria, was completed around 280 BC on a small island "
            "at the entrance to the harbour of Alexandria in Egypt. Ancient writers describe a tower of "
            "three stages, with a fire at the top whose light was said to be reflected far out to sea.",
            "The Pharos stood for more than a thousand years, but a series of earthquakes between the tenth "
            "and fourteenth centuries damaged it badly, and by the fifteenth century its stones were reused "
            "to build a fortress on the same site. The Romans built many smaller lights along their trade "
            "routes; the Tower of Hercules in northern Spain is a Roman lighthouse still in use today.",
        ]),
        ("The Fresnel lens", [
            "For centuries lighthouses burned wood, coal or candles, and later oil lamps with polished "
            "metal reflectors. Much of the light was wasted. In 1822 the French physicist Augustin Fresnel "
            "demonstrated a new kind of lens made of concentric rings of glass prisms. Each ring bent the "
            "light of a single lamp into one horizontal beam, so far less light escaped upwards into the "
            "sky.",
            "A large first-order Fresnel lens could be seen more than twenty nautical miles away. Because "
            "the rings could be made separately, the lens was thinner and lighter than a solid lens of the "
            "same power. Rotating lens panels produced flashes, and each lighthouse was given its own "
            "pattern, called its characteristic, so sailors could tell one light from another.",
        ]),
        ("Keepers and the Greyhaven Point light", [
            "Until automation, every light needed keepers who trimmed the wicks, wound the clockwork that "
            "turned the lens, and kept a daily logbook of weather and passing ships. The fictional "
            "Greyhaven Point lighthouse in this sample corpus was kept by Marta Olsen from 1879 to 1911.",
            "Her logbook for the great storm of October 1887 records waves breaking over the gallery, "
            "sixty hours without sleep, and the lamp kept burning throughout by rationing the last "
            "barrel of colza oil. She noted that the schooner Wren anchored safely in the lee of the "
            "point after sighting the light.",
            "Greyhaven Point was automated in 1962, when an electric lamp and a light sensor replaced the "
            "keepers. Most lighthouses today are automated, and many are kept by volunteer societies as "
            "museums.",
        ]),
    ]),
    "bikes/bicycle_repair_basics.pdf": ("Bicycle Repair Basics", [
        ("Fixing a flat tyre", [
            "Most flats are caused by a thorn or a sharp stone, or by a pinch flat, where the tube is "
            "trapped between the rim and an obstacle and gets two small cuts that look like a snake bite. "
            "Carry two tyre levers, a spare tube or a patch kit, and a pump.",
            "Remove the wheel, let out any remaining air, and use the levers to lift one side of the tyre "
            "off the rim. Pull out the tube. Before fitting a new tube, run your fingers carefully around "
            "the inside of the tyre to find whatever caused the puncture; otherwise the new tube will go "
            "flat at once. Put a little air in the new tube so it holds its shape, tuck it in, and push the "
            "tyre bead back over the rim with your thumbs rather than the levers.",
        ]),
        ("Adjusting rim brakes", [
            "Brake pads should meet the rim squarely, about one millimetre below the top edge of the rim, "
            "and never touch the tyre. If the brake lever pulls almost to the handlebar, the cable has "
            "stretched: turn the barrel adjuster anticlockwise a few turns to take up the slack.",
            "Squealing brakes can often be cured by toeing in the pads, so that the front edge of each pad "
            "touches the rim about half a millimetre before the back edge. Replace the pads when the "
            "grooves in them are worn away.",
        ]),
        ("Chain care and wear", [
            "A clean, lightly oiled chain shifts better and lasts longer. Wipe the chain with a rag, apply "
            "one drop of chain lubricant to each roller, wait a few minutes, and then wipe off the excess; "
            "oil left on the outside only collects grit.",
            "Chains stretch as their pins and rollers wear. Measure the chain with a chain checker: replace "
            "it when wear reaches 0.5 percent on an 11- or 12-speed drivetrain, or 0.75 percent on older "
            "drivetrains with fewer gears. Replacing a chain in time saves the much more expensive "
            "cassette and chainrings.",
        ]),
    ]),
}


def _corpus() -> dict[str, tuple[str, list[tuple[str, list[str]]]]]:
    return DOCUMENTS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(__file__).resolve().parent.parent / "corpora" / "sample"
    parser.add_argument("--out", type=Path, default=default, help=f"output folder (default: {default})")
    args = parser.parse_args(argv)
    for relative, (title, pages) in _corpus().items():
        path = write_pdf(args.out / relative, title, pages)
        print(f"wrote {path} ({len(pages)} pages, {path.stat().st_size} bytes)")
        _check(path, pages)
    return 0


def _check(path: Path, pages: list[tuple[str, list[str]]]) -> None:
    """Read the PDF back with pypdf (when installed): every page's heading must be on that page."""
    try:
        from pypdf import PdfReader
    except ImportError:
        print("  (pypdf not installed: not checked)")
        return
    reader = PdfReader(path)
    assert len(reader.pages) == len(pages), path
    for number, (page, (heading, _)) in enumerate(zip(reader.pages, pages, strict=True), start=1):
        text = page.extract_text()
        assert heading in text, f"{path} page {number}: heading {heading!r} not extracted"
    print(f"  pypdf reads {len(reader.pages)} pages; headings found on their pages")


if __name__ == "__main__":
    raise SystemExit(main())
