"""A tiny hashing-embedder index shared by the query tests (no model load, milliseconds)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ragforge.retrieval.index import Index
from ragforge.types import Document, Section

TOWER = ("The Eiffel Tower is a wrought-iron lattice tower in Paris. "
         "It opened in 1889 for the World's Fair and is 330 metres tall.")
BRIDGE = "The Golden Gate Bridge spans the strait in San Francisco. It opened in 1937."
FRUIT = "Bananas are yellow fruit rich in potassium. They grow in tropical regions."
REPORT_P1 = "Annual report 2023. Revenue grew strongly."
REPORT_P2 = "Net revenue was 4,210 million dollars in fiscal 2023, up 7 percent."
PARLIAMENT = ("The Scottish Parliament meets at Holyrood in Edinburgh. "
              "Much of the work of the Scottish Parliament is done in committee. "
              "Committees have a stronger role than in other parliamentary systems.")
RUBBER = "Malaysia is the third largest producer of natural rubber. Plantations cover much of the country."


def documents() -> list[Document]:
    report = REPORT_P1 + "\n" + REPORT_P2
    sections = (Section(start=0, end=len(REPORT_P1) + 1, page=1),
                Section(start=len(REPORT_P1) + 1, end=len(report), page=2))
    return [
        Document(source="tower.md", text=TOWER, file_type="markdown"),
        Document(source="bridge.txt", text=BRIDGE, file_type="text"),
        Document(source="fruit.txt", text=FRUIT, file_type="text"),
        Document(source="report.pdf", text=report, file_type="pdf", sections=sections),
        Document(source="parliament.txt", text=PARLIAMENT, file_type="text"),
        Document(source="rubber.txt", text=RUBBER, file_type="text"),
    ]


@pytest.fixture
def index(tmp_path: Path) -> Iterator[Index]:
    idx = Index.open(tmp_path / "idx", model="hashing:256", create=True)
    idx.sync_documents(documents())
    yield idx
    idx.close()
