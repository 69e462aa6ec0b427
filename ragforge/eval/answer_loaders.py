"""Gold sets for answer evaluation: SQuAD v1.1, ClapNQ and the FinanceBench sample.

Every loader returns an :class:`AnswerDataset`: the questions with their gold answers and evidence, and
where the corpus comes from (``Document`` passages for SQuAD and ClapNQ, a folder of PDFs for FinanceBench).
Evidence is a ``(source, page)`` key in the index's own terms: the passage's ``Document.source`` (page
``None``), or the PDF's file name and its 1-based page.

* SQuAD v1.1 (``dev-v1.1.json``, or its folder): one Document per paragraph, source ``Title/i``
  (the paragraph's index in its article); every question is answerable; gold answers are the spans.
* ClapNQ (the folder with ``clapnq_dev_answerable.jsonl`` and ``clapnq_dev_unanswerable.jsonl``): one
  Document per distinct passage, source ``Title #hash8``; a question is unanswerable when all its
  ``output`` answers are empty.
* FinanceBench (the folder with ``questions.jsonl`` and ``pdfs/``): evidence pages are 0-based in the
  file and 1-based here; the source is ``doc_name + ".pdf"``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from ..errors import DatasetError
from ..types import Document, content_hash

Kind = Literal["squad", "clapnq", "financebench"]
CLAPNQ_FILES = ("clapnq_dev_answerable.jsonl", "clapnq_dev_unanswerable.jsonl")


class AnswerExample(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    question: str
    answers: tuple[str, ...] = ()  # empty for unanswerable questions
    answerable: bool = True
    evidence: tuple[tuple[str, int | None], ...] = ()  # (source, page) keys that hold the answer


class AnswerDataset(BaseModel):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    name: str
    kind: Kind
    path: Path
    examples: tuple[AnswerExample, ...]
    passages: tuple[Document, ...] = ()  # the corpus for SQuAD / ClapNQ
    pdf_folder: Path | None = None  # the corpus for FinanceBench

    def select(self, limit: int | None, exclude: frozenset[str] = frozenset(),
               only: frozenset[str] | None = None) -> tuple[AnswerExample, ...]:
        """``limit`` questions spread evenly over the set (keeps ClapNQ's answerable/unanswerable mix),
        leaving out the ids in ``exclude`` first (e.g. the questions a setting was tuned on) and, when
        ``only`` is given, every id not in it (a fixed question list; ids the set lacks are an error)."""
        if only is not None:
            missing = only - {e.id for e in self.examples}
            if missing:
                raise DatasetError(f"{len(missing)} of the requested ids are not in {self.path}, "
                                   f"e.g. {sorted(missing)[0]!r}: check the ids file")
        examples = tuple(e for e in self.examples if e.id not in exclude and (only is None or e.id in only))
        if limit is None or limit >= len(examples):
            return examples
        if limit < 1:
            raise DatasetError(f"limit must be >= 1, got {limit}")
        step = len(examples) / limit
        return tuple(examples[int(i * step)] for i in range(limit))


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetError(f"cannot read {path}: {exc}") from exc


def _read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"cannot read {path}: {exc}") from exc
    for number, line in enumerate(lines, start=1):
        if line.strip():
            try:
                yield json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{path}:{number}: not JSON ({exc.msg})") from exc


def load_squad(path: Path | str) -> AnswerDataset:
    """SQuAD v1.1 JSON (``{"data": [{"title", "paragraphs": [{"context", "qas"}]}]}``)."""
    path = Path(path)
    file = path / "dev-v1.1.json" if path.is_dir() else path
    data = _read_json(file)
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise DatasetError(f"{file}: not a SQuAD v1.1 file (no 'data' list)")
    passages, examples = [], []
    try:
        for article in data["data"]:
            title = article["title"]
            for i, para in enumerate(article["paragraphs"]):
                source = f"{title}/{i}"
                passages.append(Document(source=source, text=para["context"], file_type="corpus",
                                         title=title.replace("_", " ")))
                for qa in para["qas"]:
                    answers = tuple(dict.fromkeys(a["text"] for a in qa["answers"]))
                    examples.append(AnswerExample(id=qa["id"], question=qa["question"], answers=answers,
                                                  answerable=bool(answers), evidence=((source, None),)))
    except (KeyError, TypeError) as exc:
        raise DatasetError(f"{file}: malformed SQuAD record ({exc!r})") from exc
    return AnswerDataset(name="squad-v1.1", kind="squad", path=file, examples=tuple(examples),
                         passages=tuple(passages))


def clapnq_source(title: str, text: str) -> str:
    return f"{title} #{content_hash(title + chr(0) + text)[:8]}"


def load_clapnq(folder: Path | str) -> AnswerDataset:
    """ClapNQ dev: answerable and unanswerable JSONL (``id``, ``input``, ``passages``, ``output``)."""
    folder = Path(folder)
    files = [folder / name for name in CLAPNQ_FILES if (folder / name).exists()]
    if not files:
        raise DatasetError(f"{folder}: no {' or '.join(CLAPNQ_FILES)}")
    passages: dict[str, Document] = {}
    examples = []
    for file in files:
        for row in _read_jsonl(file):
            try:
                sources = []
                for p in row["passages"]:
                    source = clapnq_source(p["title"], p["text"])
                    passages.setdefault(source, Document(source=source, text=p["text"], file_type="corpus",
                                                         title=p["title"]))
                    sources.append(source)
                answers = tuple(dict.fromkeys(o["answer"] for o in row["output"] if o.get("answer")))
                examples.append(AnswerExample(id=str(row["id"]), question=row["input"], answers=answers,
                                              answerable=bool(answers),
                                              evidence=tuple((s, None) for s in sources) if answers else ()))
            except (KeyError, TypeError) as exc:
                raise DatasetError(f"{file}: malformed ClapNQ record ({exc!r})") from exc
    return AnswerDataset(name="clapnq-dev", kind="clapnq", path=folder, examples=tuple(examples),
                         passages=tuple(passages.values()))


def load_financebench(folder: Path | str) -> AnswerDataset:
    """FinanceBench: ``questions.jsonl`` (question, answer, doc_name, evidence pages 0-based) + ``pdfs/``."""
    folder = Path(folder)
    file, pdfs = folder / "questions.jsonl", folder / "pdfs"
    if not file.exists() or not pdfs.is_dir():
        raise DatasetError(f"{folder}: expected questions.jsonl and a pdfs/ folder")
    examples = []
    for row in _read_jsonl(file):
        try:
            evidence = tuple(dict.fromkeys(
                (f"{e.get('doc_name') or row['doc_name']}.pdf", int(e["evidence_page_num"]) + 1)
                for e in row.get("evidence") or ()
            ))
            examples.append(AnswerExample(id=str(row["financebench_id"]), question=row["question"],
                                          answers=(row["answer"],), answerable=True, evidence=evidence))
        except (KeyError, TypeError, ValueError) as exc:
            raise DatasetError(f"{file}: malformed FinanceBench record ({exc!r})") from exc
    return AnswerDataset(name="financebench-sample", kind="financebench", path=folder,
                         examples=tuple(examples), pdf_folder=pdfs)


def detect_kind(path: Path) -> Kind:
    if path.is_file() and path.suffix == ".json":
        return "squad"
    if path.is_dir():
        if (path / "dev-v1.1.json").exists():
            return "squad"
        if any((path / name).exists() for name in CLAPNQ_FILES):
            return "clapnq"
        if (path / "questions.jsonl").exists() and (path / "pdfs").is_dir():
            return "financebench"
    raise DatasetError(f"{path}: not a SQuAD v1.1 JSON file, a ClapNQ folder or a FinanceBench folder")


def load_answer_dataset(path: Path | str) -> AnswerDataset:
    """Load any of the three gold sets, recognised by their files."""
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"{path}: no such file or folder")
    loader = {"squad": load_squad, "clapnq": load_clapnq, "financebench": load_financebench}
    return loader[detect_kind(path)](path)
