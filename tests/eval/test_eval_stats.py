from __future__ import annotations

import numpy as np
import pytest

from ragforge.eval import stats


def test_bootstrap_ci_of_a_constant_is_that_constant():
    assert stats.bootstrap_ci([0.7] * 30) == pytest.approx((0.7, 0.7))
    assert stats.bootstrap_ci([]) == (0.0, 0.0)
    assert stats.bootstrap_ci([0.3]) == (0.3, 0.3)


def test_bootstrap_ci_contains_the_mean_and_is_reproducible():
    values = np.random.default_rng(1).random(200)
    low, high = stats.bootstrap_ci(values, resamples=2000, seed=3)
    assert low < values.mean() < high
    # standard error of a uniform mean over 200 queries ~ 0.0204; a 95% interval is about +-1.96 se
    assert high - low == pytest.approx(2 * 1.96 * np.sqrt(1 / 12 / 200), rel=0.15)
    assert stats.bootstrap_ci(values, resamples=2000, seed=3) == (low, high)


def test_randomization_test_identical_runs_and_clear_difference():
    a = [0.1, 0.5, 0.3, 0.9]
    assert stats.randomization_test(a, a) == 1.0
    b = [x + 1.0 for x in [0.0] * 20]
    # only the two all-same sign assignments reach the observed |mean|: p ~ 2 / 2**20, floored by +1
    p = stats.randomization_test([0.0] * 20, b, resamples=5000)
    assert p == pytest.approx(1 / 5001)


def test_compare_calls_better_only_when_significant():
    rng = np.random.default_rng(0)
    base = {f"q{i}": float(v) for i, v in enumerate(rng.random(100))}
    better = {q: v + 0.2 for q, v in base.items()}
    noisy = {q: v + float(rng.normal(0, 0.05)) for q, v in base.items()}
    c = stats.compare(base, better, names=("dense", "hybrid"))
    assert c.significant and c.difference == pytest.approx(0.2)
    assert c.ci_low == pytest.approx(0.2) and c.ci_high == pytest.approx(0.2)
    assert c.verdict.startswith("hybrid is better")
    c2 = stats.compare(base, noisy)
    assert not c2.significant and "no significant difference" in c2.verdict
    assert c2.queries == 100


def test_paired_difference_holds_both_means_and_the_interval_of_the_difference():
    a, b = [0.0, 1.0, 1.0, 0.0], [0.0, 1.0, 0.0, 0.0]
    row = stats.paired_difference(a, b, resamples=500, seed=0)
    assert (row["mean_a"], row["mean_b"], row["difference"], row["n"]) == (0.5, 0.25, -0.25, 4)
    low, high = row["ci"]
    assert -1.0 <= low <= -0.25 <= high <= 0.0
    assert stats.paired_difference([1.0, 1.0], [1.0, 1.0])["ci"] == [0.0, 0.0]


def test_paired_lengths_must_match():
    with pytest.raises(ValueError):
        stats.randomization_test([1.0], [1.0, 2.0])


def test_percentile():
    assert stats.percentile([1, 2, 3, 4, 5], 50) == 3.0
    assert stats.percentile([], 95) == 0.0


def test_for_a_cost_the_lower_run_is_the_better_one():
    slow = {f"q{i}": 30.0 + i % 3 for i in range(50)}
    fast = {q: v - 10.0 for q, v in slow.items()}
    c = stats.compare(slow, fast, metric="seconds", names=("plain", "engine"), higher_is_better=False)
    assert c.significant and c.difference == pytest.approx(-10.0)
    assert c.verdict.startswith("engine is better")
    assert stats.compare(fast, slow, names=("engine", "plain"), higher_is_better=False).verdict.startswith(
        "engine is better")
