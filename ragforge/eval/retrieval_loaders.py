"""Gold-set loaders: BEIR folders and a plain JSONL gold format.

BEIR folder::

    corpus.jsonl     {"_id", "title", "text"}
    queries.jsonl    {"_id", "text"}
    qrels/<split>.tsv  header "query-id corpus-id score", tab separated

Plain JSONL gold (one question per line), e.g. ``corpora/sample/questions.jsonl``::

    {"id": "q1", "question": "...", "relevant": ["guide.md", "manual.pdf"], "page": 3, "answer": "..."}

``relevant`` holds document ids or paths (relative to the corpus folder, POSIX); ``relevant_ids`` is
accepted as a synonym; a string is one relevant document; ``page`` and ``answer`` are optional. A question
marked ``"answerable": false`` (the documents cannot answer it; ``ragforge eval answers`` asks it to see a
refusal) has nothing to retrieve and is left out here. With no corpus folder given, the documents are the
files of the JSONL file's own folder.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..errors import DatasetError
from ..types import Document


class GoldQuery(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    text: str
    answer: str | None = None
    page: int | None = None


class RetrievalDataset(BaseModel):
    """Queries, relevance judgements and where the documents come from.

    Exactly one of ``corpus_file`` (BEIR ``corpus.jsonl``) and ``corpus_folder`` (files to sync) is set.
    """

    model_config = ConfigDict(frozen=True)

    name: str
    split: str
    queries: dict[str, GoldQuery]
    qrels: dict[str, dict[str, int]]
    corpus_file: Path | None = None
    corpus_folder: Path | None = None
    exclude: tuple[str, ...] = Field(default=())  # globs left out when syncing corpus_folder

    def documents(self, limit: int | None = None) -> Iterator[Document]:
        """BEIR corpus documents (title + blank line + text); nothing for a folder corpus."""
        if self.corpus_file is None:
            return iter(())
        return iter_beir_corpus(self.corpus_file, limit=limit)

    @property
    def scored_queries(self) -> list[str]:
        """Query ids that have a text and at least one relevant document, sorted."""
        return sorted(q for q, judged in self.qrels.items() if q in self.queries and any(
            g > 0 for g in judged.values()))


def _read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        with path.open(encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DatasetError(f"{path}:{lineno}: not valid JSON ({exc.msg})") from exc
                if not isinstance(record, dict):
                    raise DatasetError(f"{path}:{lineno}: expected a JSON object per line")
                yield lineno, record
    except OSError as exc:
        raise DatasetError(f"cannot read {path}: {exc.strerror or exc}") from exc


def beir_document(record: dict[str, Any]) -> Document:
    """One BEIR corpus record as a Document whose text is the title, a blank line, then the text."""
    doc_id = str(record["_id"])
    title = str(record.get("title") or "").strip()
    body = str(record.get("text") or "")
    text = f"{title}\n\n{body}" if title else body
    return Document(source=doc_id, text=text, file_type="corpus", title=title or None)


def iter_beir_corpus(path: Path, limit: int | None = None) -> Iterator[Document]:
    for count, (lineno, record) in enumerate(_read_jsonl(path)):
        if limit is not None and count >= limit:
            return
        if "_id" not in record:
            raise DatasetError(f"{path}:{lineno}: corpus record has no '_id'")
        yield beir_document(record)


def load_qrels(path: Path) -> dict[str, dict[str, int]]:
    """A BEIR qrels TSV (``query-id corpus-id score``, header optional) as ``{qid: {doc: grade}}``."""
    qrels: dict[str, dict[str, int]] = {}
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            for lineno, row in enumerate(csv.reader(fh, delimiter="\t"), start=1):
                if not row or (lineno == 1 and row[0] == "query-id"):
                    continue
                if len(row) < 3:
                    raise DatasetError(f"{path}:{lineno}: expected 'query-id corpus-id score'")
                try:
                    grade = int(float(row[2]))
                except ValueError as exc:
                    raise DatasetError(f"{path}:{lineno}: score {row[2]!r} is not a number") from exc
                qrels.setdefault(row[0], {})[row[1]] = grade
    except OSError as exc:
        raise DatasetError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return qrels


def load_beir(folder: Path | str, split: str = "test") -> RetrievalDataset:
    """A BEIR folder; raises DatasetError naming the missing file or split."""
    folder = Path(folder)
    corpus, queries_file = folder / "corpus.jsonl", folder / "queries.jsonl"
    qrels_file = folder / "qrels" / f"{split}.tsv"
    for needed in (corpus, queries_file):
        if not needed.is_file():
            raise DatasetError(f"{folder} is not a BEIR folder: {needed.name} is missing")
    if not qrels_file.is_file():
        splits = sorted(p.stem for p in (folder / "qrels").glob("*.tsv"))
        raise DatasetError(f"no qrels for split {split!r} in {folder}/qrels (found: {splits or 'none'})")
    queries = {
        str(r["_id"]): GoldQuery(id=str(r["_id"]), text=str(r.get("text", "")))
        for _, r in _read_jsonl(queries_file)
    }
    return RetrievalDataset(
        name=folder.name, split=split, queries=queries, qrels=load_qrels(qrels_file), corpus_file=corpus
    )


def _relevant_ids(record: dict[str, Any], where: str) -> list[str]:
    relevant = record.get("relevant", record.get("relevant_ids"))
    if isinstance(relevant, str):
        relevant = [relevant]
    if not isinstance(relevant, list) or not relevant:
        raise DatasetError(f"{where}: 'relevant' must be a non-empty list of document ids or paths")
    return [str(r).replace("\\", "/").removeprefix("./") for r in relevant]


def gold_questions(path: Path) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    """``(id, question, where, record)`` for each line of a plain JSONL gold file (the id defaults to the line
    number; ``where`` is ``path:line`` for messages). A missing question or a repeated id is a DatasetError."""
    seen: set[str] = set()
    for lineno, record in _read_jsonl(path):
        where = f"{path}:{lineno}"
        text = record.get("question", record.get("query"))
        if not isinstance(text, str) or not text.strip():
            raise DatasetError(f"{where}: 'question' is missing or empty")
        qid = str(record.get("id", lineno))
        if qid in seen:
            raise DatasetError(f"{where}: duplicate id {qid!r}")
        seen.add(qid)
        yield qid, text, where, record


def load_jsonl_gold(
    path: Path | str, *, corpus_folder: Path | str | None = None
) -> RetrievalDataset:
    """A plain JSONL gold file; every relevant document gets grade 1."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"gold file not found: {path}")
    queries: dict[str, GoldQuery] = {}
    qrels: dict[str, dict[str, int]] = {}
    for qid, text, where, record in gold_questions(path):
        if record.get("answerable") is False:
            continue  # nothing to retrieve: for `eval answers`' refusals
        page = record.get("page")
        queries[qid] = GoldQuery(
            id=qid, text=text, answer=record.get("answer"), page=page if isinstance(page, int) else None
        )
        qrels[qid] = {doc: 1 for doc in _relevant_ids(record, where)}
    folder = Path(corpus_folder) if corpus_folder is not None else path.parent
    exclude = (path.name,) if path.parent.resolve() == folder.resolve() else ()
    return RetrievalDataset(
        name=path.stem if corpus_folder else folder.name, split="gold", queries=queries, qrels=qrels,
        corpus_folder=folder, exclude=exclude,
    )


def load_dataset(path: Path | str, *, split: str = "test") -> RetrievalDataset:
    """A BEIR folder, or a JSONL gold file (its folder is the corpus)."""
    path = Path(path)
    if path.is_dir():
        return load_beir(path, split=split)
    if path.suffix == ".jsonl":
        return load_jsonl_gold(path)
    raise DatasetError(f"{path} is neither a BEIR folder nor a .jsonl gold file")
