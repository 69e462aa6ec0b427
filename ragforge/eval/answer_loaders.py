"""Gold sets for answer evaluation: SQuAD v1.1, ClapNQ, the FinanceBench sample and your own gold questions.

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
* Your own gold questions on your own documents (a ``.jsonl`` file in the folder of documents, the format
  ``ragforge eval retrieval`` reads, e.g. ``corpora/sample/questions.jsonl``)::

      {"id": "q1", "question": "...", "answer": "every four weeks", "relevant": ["manual.pdf"], "page": 3}
      {"id": "q2", "question": "...", "answerable": false}

  ``answer`` is the expected answer (a string or a list of accepted ones); ``relevant`` the files that hold
  it (paths relative to the folder) and ``page`` its 1-based page (optional: any page of those files
  counts). A question the documents cannot answer has ``"answerable": false`` (or neither ``answer`` nor
  ``relevant``). The documents are every file of the gold file's folder but the gold file itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from ..errors import DatasetError
from ..types import Document, content_hash
from .retrieval_loaders import gold_questions

Kind = Literal["squad", "clapnq", "financebench", "gold"]
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
    folder: Path | None = None  # the corpus for FinanceBench and gold files: a folder of documents to index
    exclude: tuple[str, ...] = ()  # files of ``folder`` that are not documents (the gold file itself)

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
                         examples=tuple(examples), folder=pdfs)


def _gold_answers(record: dict[str, Any], where: str) -> tuple[str, ...]:
    answer = record.get("answer", record.get("answers"))
    answers = [answer] if isinstance(answer, str) else answer if isinstance(answer, list) else []
    if answer is not None and (not answers or not all(isinstance(a, str) and a.strip() for a in answers)):
        raise DatasetError(f"{where}: 'answer' must be a non-empty string or a list of them")
    return tuple(a.strip() for a in answers)


def load_gold(path: Path | str) -> AnswerDataset:
    """A JSONL file of your own gold questions; the documents are the other files of its folder."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"gold file not found: {path}")
    examples = []
    for qid, question, where, record in gold_questions(path):  # the same lines as eval retrieval reads
        answers = _gold_answers(record, where)
        relevant = record.get("relevant", record.get("relevant_ids")) or []
        relevant = [relevant] if isinstance(relevant, str) else relevant
        if not isinstance(relevant, list) or not all(isinstance(r, str) for r in relevant):
            raise DatasetError(f"{where}: 'relevant' must be a list of file paths")
        answerable = record.get("answerable", bool(answers or relevant))
        if not isinstance(answerable, bool):
            raise DatasetError(f"{where}: 'answerable' must be true or false")
        if answerable and not answers:
            raise DatasetError(f"{where}: an answerable question needs its 'answer' (the expected answer "
                               f"text); mark a question the documents cannot answer with \"answerable\": false")
        page = record.get("page")
        page = page if isinstance(page, int) and not isinstance(page, bool) else None
        evidence = tuple(dict.fromkeys((r.replace("\\", "/").removeprefix("./"), page) for r in relevant))
        examples.append(AnswerExample(id=qid, question=question.strip(), answers=answers if answerable else (),
                                      answerable=answerable, evidence=evidence if answerable else ()))
    if not examples:
        raise DatasetError(f"{path}: no questions")
    return AnswerDataset(name=path.parent.resolve().name, kind="gold", path=path, examples=tuple(examples),
                         folder=path.parent, exclude=(path.name,))


def detect_kind(path: Path) -> Kind:
    if path.is_file() and path.suffix == ".json":
        return "squad"
    if path.is_file() and path.suffix == ".jsonl":
        return "gold"
    if path.is_dir():
        if (path / "dev-v1.1.json").exists():
            return "squad"
        if any((path / name).exists() for name in CLAPNQ_FILES):
            return "clapnq"
        if (path / "questions.jsonl").exists() and (path / "pdfs").is_dir():
            return "financebench"
    raise DatasetError(f"{path}: not a SQuAD v1.1 JSON file, a ClapNQ folder, a FinanceBench folder or a .jsonl "
                       f"file of gold questions")


def load_answer_dataset(path: Path | str) -> AnswerDataset:
    """Load SQuAD, ClapNQ, FinanceBench or a JSONL file of your own gold questions, recognised by their files."""
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"{path}: no such file or folder")
    loader = {"squad": load_squad, "clapnq": load_clapnq, "financebench": load_financebench, "gold": load_gold}
    return loader[detect_kind(path)](path)
