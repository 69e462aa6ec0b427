from __future__ import annotations

import math

import pytest

from ragforge.eval import retrieval_metrics as m

QRELS = {"q1": {"d1": 2, "d2": 1, "d3": 0}, "q2": {"d9": 1}, "q3": {"d5": 0}}
RUN = {"q1": {"d2": 0.9, "d4": 0.8, "d1": 0.7, "d3": 0.6}, "qX": {"d1": 1.0}}


def test_hand_computed_ndcg_graded_log2():
    # ranking d2 (grade 1), d4 (0), d1 (grade 2): DCG = 1/log2(2) + 2/log2(4) = 2
    # ideal: 2/log2(2) + 1/log2(3)
    expected = 2 / (2 + 1 / math.log2(3))
    values = m.ndcg_at_k(QRELS, RUN, 3)
    assert values["q1"] == pytest.approx(expected)
    assert values["q2"] == 0.0  # judged but missing from the run: scores 0
    assert "q3" not in values  # no relevant document: not scored
    assert "qX" not in values  # not judged: ignored
    assert m.ndcg_at_k(QRELS, RUN, 1)["q1"] == pytest.approx(1 / 2)  # gain 1 against ideal gain 2


def test_hand_computed_recall_precision_mrr_map():
    assert m.recall_at_k(QRELS, RUN, 1)["q1"] == pytest.approx(0.5)
    assert m.recall_at_k(QRELS, RUN, 3)["q1"] == pytest.approx(1.0)
    assert m.precision_at_k(QRELS, RUN, 3)["q1"] == pytest.approx(2 / 3)
    assert m.precision_at_k(QRELS, RUN, 10)["q1"] == pytest.approx(2 / 10)  # divides by k
    assert m.mrr_at_k(QRELS, RUN, 3)["q1"] == pytest.approx(1.0)
    assert m.map_at_k(QRELS, RUN, 3)["q1"] == pytest.approx((1 / 1 + 2 / 3) / 2)
    assert m.map_at_k(QRELS, RUN, 2)["q1"] == pytest.approx((1 / 1) / 2)  # map_cut: divides by all relevant


def test_perfect_and_worst_rankings_from_the_definition():
    qrels = {"q": {"a": 3, "b": 2, "c": 1}}
    perfect = {"q": {"a": 3.0, "b": 2.0, "c": 1.0, "z": 0.5}}
    nothing = {"q": {"x": 1.0, "y": 0.5}}
    for k in (1, 2, 3, 10):
        assert m.ndcg_at_k(qrels, perfect, k)["q"] == pytest.approx(1.0)
        assert m.ndcg_at_k(qrels, nothing, k)["q"] == 0.0
        assert m.mrr_at_k(qrels, nothing, k)["q"] == 0.0
    assert m.recall_at_k(qrels, perfect, 3)["q"] == 1.0
    assert m.map_at_k(qrels, perfect, 10)["q"] == pytest.approx(1.0)
    # the relevant document found only at rank 4: MRR@3 = 0, MRR@4 = 1/4
    late = {"q": {"x": 4.0, "y": 3.0, "w": 2.0, "c": 1.0}}
    assert m.mrr_at_k(qrels, late, 3)["q"] == 0.0
    assert m.mrr_at_k(qrels, late, 4)["q"] == pytest.approx(0.25)


def test_ties_break_by_doc_id_ascending():
    assert m.rank_documents({"b": 1.0, "a": 1.0, "c": 2.0}) == ["c", "a", "b"]
    qrels = {"q": {"b": 1}}
    run = {"q": {"b": 1.0, "a": 1.0}}
    assert m.mrr_at_k(qrels, run, 10)["q"] == pytest.approx(0.5)
    assert m.rank_documents({"b": 1.0, "a": 1.0}, k=1) == ["a"]


def test_evaluate_means_and_names():
    out = m.evaluate(QRELS, RUN, k_values=(1, 3), metrics=("nDCG", "Recall"))
    assert set(out) == {"nDCG@1", "nDCG@3", "Recall@1", "Recall@3"}
    assert out["Recall@3"] == pytest.approx((1.0 + 0.0) / 2)  # q1 and q2 scored
    assert m.per_query(QRELS, RUN, "MRR@3") == {"q1": 1.0, "q2": 0.0}
    assert m.mean({}) == 0.0


@pytest.mark.parametrize("bad", ["nDCG", "foo@10", "nDCG@x"])
def test_unknown_metric_names_raise(bad):
    with pytest.raises(ValueError):
        m.parse_metric(bad)


def test_k_must_be_positive():
    with pytest.raises(ValueError):
        m.ndcg_at_k(QRELS, RUN, 0)


def test_ndcg_agrees_with_scikit_learn_on_tie_free_random_runs():
    np = pytest.importorskip("numpy")
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(7)
    docs = [f"d{i}" for i in range(40)]
    for trial in range(20):
        grades = {d: int(g) for d, g in zip(docs, rng.integers(0, 3, size=len(docs)), strict=True) if g > 0}
        scores = dict(zip(docs, rng.permutation(len(docs)).astype(float), strict=True))  # distinct: no ties
        qrels, run = {"q": grades}, {"q": scores}
        y_true = np.array([[grades.get(d, 0) for d in docs]])
        y_score = np.array([[scores[d] for d in docs]])
        for k in (1, 5, 10):
            expected = sklearn_metrics.ndcg_score(y_true, y_score, k=k)
            assert m.ndcg_at_k(qrels, run, k)["q"] == pytest.approx(expected), (trial, k)
