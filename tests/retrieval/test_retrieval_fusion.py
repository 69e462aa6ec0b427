from __future__ import annotations

import pytest

from ragforge.errors import ConfigError
from ragforge.retrieval.fusion import normalise, reciprocal_rank_fusion, weighted_fusion

A = [("x", 3.0), ("y", 2.0), ("z", 1.0)]
B = [("y", 10.0), ("w", 5.0)]


def test_rrf_by_hand():
    fused = dict(reciprocal_rank_fusion([A, B], k=60))
    assert fused["y"] == pytest.approx(1 / 62 + 1 / 61)
    assert fused["x"] == pytest.approx(1 / 61)
    assert fused["w"] == pytest.approx(1 / 62)
    assert fused["z"] == pytest.approx(1 / 63)
    assert [item for item, _ in reciprocal_rank_fusion([A, B], k=60)] == ["y", "x", "w", "z"]


def test_rrf_k_and_weights_change_the_order():
    # k=0: x = 1/1 beats y = 1/2 + 1/1? no: y = 1/2 + 1 = 1.5 > x = 1
    assert reciprocal_rank_fusion([A, B], k=0)[0] == ("y", pytest.approx(1.5))
    # weight the second ranking to zero: order is A's
    assert [i for i, _ in reciprocal_rank_fusion([A, B], weights=[1, 0])][:3] == ["x", "y", "z"]
    with pytest.raises(ConfigError):
        reciprocal_rank_fusion([A, B], weights=[1])
    with pytest.raises(ConfigError):
        reciprocal_rank_fusion([A], k=-1)


def test_rrf_ignores_scores_only_order():
    scaled = [(i, s * 1000) for i, s in A]
    assert reciprocal_rank_fusion([A, B]) == reciprocal_rank_fusion([scaled, B])


def test_weighted_minmax_by_hand_with_missing_items_at_the_floor():
    fused = weighted_fusion([A, B], weights=[0.5, 0.5])
    # A -> x 1, y .5, z 0 ; B -> y 1, w 0 ; missing -> 0
    assert fused == [("y", pytest.approx(0.75)), ("x", pytest.approx(0.5)), ("w", 0.0), ("z", 0.0)]


def test_weighted_zscore():
    fused = dict(weighted_fusion([A, B], weights=[1.0, 0.0], normalisation="zscore"))
    z = normalise([3.0, 2.0, 1.0], "zscore")
    assert fused["x"] == pytest.approx(z[0]) and fused["z"] == pytest.approx(z[2])
    assert fused["w"] == pytest.approx(z[2])  # absent from A: A's lowest z


def test_normalise_edge_cases():
    assert normalise([]) == []
    assert normalise([2.0, 2.0]) == [1.0, 1.0]
    assert normalise([2.0, 2.0], "zscore") == [0.0, 0.0]
    with pytest.raises(ConfigError):
        normalise([1.0], "softmax")  # type: ignore[arg-type]


def test_deterministic_tie_order():
    assert reciprocal_rank_fusion([[("b", 1.0)], [("a", 1.0)]]) == [
        ("a", pytest.approx(1 / 61)), ("b", pytest.approx(1 / 61))]


def test_absent_items_never_tie_with_a_single_returned_item():
    # a ranking with one item normalises it to 1 (min-max) or 0 (z-score); absent items must rank below it
    for method in ("minmax", "zscore"):
        fused = weighted_fusion([[("a", 1.0), ("b", 0.5)], [("b", 7.0)]], weights=[0.0, 1.0],
                                normalisation=method)
        assert fused[0][0] == "b" and fused[0][1] > fused[1][1]


def test_an_empty_ranking_leaves_the_other_order_intact():
    for method in ("minmax", "zscore"):
        fused = weighted_fusion([A, []], weights=[0.5, 0.5], normalisation=method)
        assert [item for item, _ in fused] == ["x", "y", "z"]
    assert [item for item, _ in reciprocal_rank_fusion([[], B])] == ["y", "w"]
