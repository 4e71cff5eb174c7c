"""Forecast metrics (scoring.metrics) against hand-computed values and their properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scoring.metrics import (
    accuracy,
    brier_score,
    expected_calibration_error,
    log_loss,
    reliability_bins,
    roc_auc,
)

Y = [1.0, 0.0, 1.0, 1.0]
P = [0.9, 0.2, 0.6, 0.35]


def test_brier_score_by_hand() -> None:
    # (0.1² + 0.2² + 0.4² + 0.65²) / 4
    assert brier_score(Y, P) == pytest.approx((0.01 + 0.04 + 0.16 + 0.4225) / 4)


def test_log_loss_by_hand() -> None:
    expected = -(math.log(0.9) + math.log(0.8) + math.log(0.6) + math.log(0.35)) / 4
    assert log_loss(Y, P) == pytest.approx(expected)


def test_log_loss_of_a_certain_miss_is_large_but_finite() -> None:
    assert 30 < log_loss([1.0], [0.0]) < 40


def test_accuracy_by_hand() -> None:
    assert accuracy([1, 0, 1, 1], np.asarray(P) >= 0.5) == 0.75
    assert accuracy(["a", "b"], ["a", "c"]) == 0.5


def test_roc_auc_by_hand() -> None:
    # Positives 0.9, 0.6, 0.35 against the negative 0.2: all three rank above.
    assert roc_auc(Y, P) == 1.0
    # Positives 0.9, 0.3 against negatives 0.5, 0.3: (1 + 1 + 0 + 0.5) / 4.
    assert roc_auc([1, 0, 1, 0], [0.9, 0.5, 0.3, 0.3]) == pytest.approx(0.625)


def test_reliability_bins_by_hand() -> None:
    bins = reliability_bins([0, 1, 1, 0, 1], [0.05, 0.15, 0.55, 0.6, 1.0], n_bins=2)
    np.testing.assert_allclose(bins.lower, [0.0, 0.5])
    np.testing.assert_allclose(bins.upper, [0.5, 1.0])
    np.testing.assert_allclose(bins.predicted, [0.1, (0.55 + 0.6 + 1.0) / 3])
    np.testing.assert_allclose(bins.observed, [0.5, 2 / 3])
    np.testing.assert_array_equal(bins.count, [2, 3])


def test_reliability_bins_leave_out_empty_bins() -> None:
    bins = reliability_bins([0, 1], [0.05, 0.95], n_bins=10)
    np.testing.assert_allclose(bins.lower, [0.0, 0.9])
    np.testing.assert_array_equal(bins.count, [1, 1])


def test_expected_calibration_error_by_hand() -> None:
    # Bins as above: |0.1 - 0.5| * 2/5 + |0.7167 - 0.6667| * 3/5.
    expected = 0.4 * 2 / 5 + abs((0.55 + 0.6 + 1.0) / 3 - 2 / 3) * 3 / 5
    ece = expected_calibration_error([0, 1, 1, 0, 1], [0.05, 0.15, 0.55, 0.6, 1.0], n_bins=2)
    assert ece == pytest.approx(expected)


def test_calibrated_forecasts_have_small_calibration_error() -> None:
    rng = np.random.default_rng(0)
    p = rng.random(50_000)
    y = (rng.random(p.size) < p).astype(float)
    assert expected_calibration_error(y, p) < 0.02
    overconfident = np.clip((p - 0.5) * 2 + 0.5, 0, 1)
    assert expected_calibration_error(y, overconfident) > 0.1


@pytest.mark.parametrize(
    ("y", "p"),
    [([1, 0], [0.5]), ([], []), ([2, 0], [0.5, 0.5]), ([1, 0], [1.5, 0.5])],
)
def test_bad_inputs_are_refused(y: list[float], p: list[float]) -> None:
    with pytest.raises(ValueError):
        brier_score(y, p)


def test_roc_auc_needs_both_outcomes() -> None:
    with pytest.raises(ValueError, match="both outcomes"):
        roc_auc([1, 1], [0.2, 0.8])


forecasts = st.lists(
    st.tuples(st.sampled_from([0.0, 1.0]), st.floats(0.0, 1.0)), min_size=1, max_size=60
)


@given(forecasts)
def test_scores_stay_in_their_ranges(pairs: list[tuple[float, float]]) -> None:
    y, p = np.array(pairs).T
    assert 0.0 <= brier_score(y, p) <= 1.0
    assert log_loss(y, p) >= 0.0
    assert 0.0 <= expected_calibration_error(y, p) <= 1.0
    bins = reliability_bins(y, p)
    assert bins.count.sum() == y.size
    assert ((bins.predicted >= bins.lower - 1e-12) & (bins.predicted <= bins.upper + 1e-12)).all()


@given(st.lists(st.sampled_from([0.0, 1.0]), min_size=1, max_size=60))
def test_perfect_forecasts_score_zero(outcomes: list[float]) -> None:
    y = np.array(outcomes)
    assert brier_score(y, y) == 0.0
    assert log_loss(y, y) < 1e-12
    assert expected_calibration_error(y, y) == 0.0


@given(forecasts)
def test_roc_auc_is_the_share_of_correctly_ordered_pairs(pairs: list[tuple[float, float]]) -> None:
    y, p = np.array(pairs).T
    pos, neg = p[y == 1], p[y == 0]
    if pos.size == 0 or neg.size == 0:
        return
    diff = pos[:, None] - neg[None, :]
    expected = (np.sum(diff > 0) + 0.5 * np.sum(diff == 0)) / diff.size
    assert roc_auc(y, p) == pytest.approx(expected)
