"""The retrieval harness end to end on tiny gold sets made here, with the hashing embedder."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from ragforge.errors import ConfigError
from ragforge.eval.retrieval import run_retrieval_eval

CORPUS = [
    {"_id": "d1", "title": "Zebra", "text": "Stripes on the savanna."},
    {"_id": "d2", "title": "", "text": "An otter swims in the river and eats fish."},
    {"_id": "d3", "title": "Tall animals", "text": "A giraffe eats leaves from the top of a tree."},
    {"_id": "d4", "title": "", "text": "A walrus rests on the ice floe."},
    {"_id": "d5", "title": "Seals", "text": "Seals gather in a colony on the beach."},
]
QUERIES = [("q1", "zebra"), ("q2", "giraffe"), ("q3", "walrus"), ("q4", "nothing judged relevant")]
QRELS = [("q1", "d1", 1), ("q2", "d2", 1), ("q3", "d4", 1), ("q3", "d5", 2), ("q4", "d1", 0)]


@pytest.fixture()
def beir(tmp_path: Path) -> Path:
    folder = tmp_path / "tiny"
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text("".join(json.dumps(d) + "\n" for d in CORPUS))
    queries = "".join(json.dumps({"_id": q, "text": t}) + "\n" for q, t in QUERIES)
    (folder / "queries.jsonl").write_text(queries)
    (folder / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{d}\t{g}\n" for q, d, g in QRELS))
    return folder


def test_lexical_figures_match_the_hand_computation(beir: Path, tmp_path: Path):
    out = tmp_path / "out"
    calls: list[tuple[int, int, str]] = []
    result = run_retrieval_eval(beir, model="hashing:256", modes=("lexical", "dense"), k_values=(1, 3, 10),
                                out_dir=out, progress=lambda d, t, s: calls.append((d, t, s)),
                                resamples=200)
    lexical = result.modes["lexical"].metrics
    # q1: only d1 (its title) has "zebra" -> perfect; q2: only d3 has "giraffe", d2 is the relevant one -> 0;
    # q3: only d4 has "walrus" (grade 1), d5 (grade 2) is never found -> DCG 1, ideal 2 + 1/log2(3)
    q3 = 1 / (2 + 1 / math.log2(3))
    assert result.queries == 3 and result.documents == 5
    assert lexical["nDCG@10"] == pytest.approx((1 + 0 + q3) / 3)
    assert lexical["Recall@10"] == pytest.approx((1 + 0 + 0.5) / 3)
    assert lexical["MRR@10"] == pytest.approx(2 / 3)
    assert lexical["P@3"] == pytest.approx((1 / 3 + 0 + 1 / 3) / 3)
    assert result.modes["lexical"].per_query["nDCG@10"] == pytest.approx({"q1": 1.0, "q2": 0.0, "q3": q3})
    low, high = result.modes["lexical"].ci["nDCG@10"]
    assert low <= lexical["nDCG@10"] <= high
    assert result.modes["dense"].per_query["MRR@10"]["q1"] == 1.0  # "zebra" is only in d1 for hashing too
    assert result.modes["lexical"].latency_ms["p95"] >= result.modes["lexical"].latency_ms["p50"] > 0
    assert len(result.comparisons) == 1 and result.comparisons[0].metric == "nDCG@10"
    # reports
    saved = json.loads((out / "results.json").read_text())
    assert saved["modes"]["lexical"]["metrics"]["nDCG@10"] == pytest.approx(lexical["nDCG@10"])
    assert saved["settings"]["options"]["fusion"] in ("rrf", "weighted") and saved["versions"]["python"]
    assert (out / "retrieval.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = (out / "report.md").read_text()
    assert "| lexical |" in report and "retrieval.png" in report and "ragforge eval retrieval" in report
    table = result.table()
    assert "nDCG@10" in table and "lexical" in table and "p95 ms" in table
    assert ("lexical: query q1" in {c[2] for c in calls}) and calls[-1][:2] == (3, 3)


def test_reuses_an_index_dir(beir: Path, tmp_path: Path):
    first = run_retrieval_eval(beir, index_dir=tmp_path / "idx", model="hashing:256", modes=("hybrid",),
                               k_values=(10,), resamples=100)
    again = run_retrieval_eval(beir, index_dir=tmp_path / "idx", model="hashing:256", modes=("hybrid",),
                               k_values=(10,), resamples=100, limit=2)
    assert "unchanged 5" in again.settings["sync"] and "added 5" in first.settings["sync"]
    assert again.queries == 2
    assert again.modes["hybrid"].per_query["nDCG@10"] == pytest.approx(
        {q: v for q, v in first.modes["hybrid"].per_query["nDCG@10"].items() if q in ("q1", "q2")})


def test_jsonl_gold_over_a_folder(tmp_path: Path):
    corpus = tmp_path / "corpus"
    (corpus / "sub").mkdir(parents=True)
    (corpus / "keys.md").write_text("# Keys\n\nRotate the signing keys every ninety days.\n")
    (corpus / "sub" / "backup.txt").write_text("Backups run nightly to the offsite bucket.\n")
    (corpus / "questions.jsonl").write_text(
        json.dumps({"id": "k", "question": "how often are signing keys rotated",
                    "relevant": ["keys.md"]}) + "\n"
        + json.dumps({"id": "b", "question": "when do backups run", "relevant": ["sub/backup.txt"]}) + "\n")
    result = run_retrieval_eval(corpus / "questions.jsonl", model="hashing:256", modes=("lexical",),
                                k_values=(1,), resamples=100)
    assert result.documents == 2  # the gold file itself is not indexed
    assert result.modes["lexical"].metrics["nDCG@1"] == 1.0


def test_bad_arguments(beir: Path):
    with pytest.raises(ConfigError):
        run_retrieval_eval(beir, model="hashing:256", modes=("semantic",))
    with pytest.raises(ConfigError):
        run_retrieval_eval(beir, model="hashing:256", k_values=(0,))


def test_settings_the_cli_cannot_express_are_recorded_as_a_python_call(beir: Path):
    plain = run_retrieval_eval(beir, model="hashing:256", modes=("lexical",), k_values=(10,), resamples=50)
    assert plain.command is not None and plain.command.startswith("ragforge eval retrieval --dataset")
    tuned = run_retrieval_eval(beir, model="hashing:256", modes=("lexical",), k_values=(10,), resamples=50,
                               options={"fusion": "rrf", "rrf_k": 10})
    assert tuned.command is not None and tuned.command.startswith("run_retrieval_eval(")
    assert "'rrf_k': 10" in tuned.command and tuned.settings["options"]["rrf_k"] == 10


def test_without_matplotlib_reports_say_how_to_get_plots(beir: Path, tmp_path: Path, monkeypatch):
    import sys

    from click.testing import CliRunner

    from ragforge.cli import main

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if the [eval] extra were not installed
    out = tmp_path / "out"
    result = run_retrieval_eval(beir, model="hashing:64", modes=("lexical",), out_dir=out, resamples=50)
    assert sorted(p.name for p in out.iterdir()) == ["report.md", "results.json"]
    assert "pip install 'ragforge[eval]'" in (out / "report.md").read_text() and "retrieval.png" not in \
        (out / "report.md").read_text()
    assert set(result.write(tmp_path / "again")) == {"json", "report"}
    cli = CliRunner().invoke(main, ["eval", "retrieval", "--dataset", str(beir), "--model", "hashing:64", "--mode",
                                    "lexical", "--out", str(tmp_path / "cli"), "-q"])
    assert cli.exit_code == 0, cli.output
    assert "no plot: matplotlib is not installed; pip install 'ragforge[eval]' adds it" in cli.output
