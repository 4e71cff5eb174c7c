"""The shared arithmetic's fast paths agree with the plain definitions."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scoring.evidence import exclusive_posterior, logit, noisy_or, segment_sum


def test_segment_sum_adds_each_segments_rows_in_their_order_to_the_bit() -> None:
    rng = np.random.default_rng(1)
    values = rng.normal(0, 1e6, (400, 7))
    index = rng.integers(0, 9, 400).astype(np.int32)  # the fit's narrow row indices
    expected = np.zeros((10, 7))
    for row, segment in zip(values, index.tolist(), strict=True):
        expected[segment] += row
    assert np.array_equal(segment_sum(values, index, 10), expected)
    assert np.array_equal(segment_sum(values[:, 0], index, 10), expected[:, 0])
    # And as np.bincount, which it replaced, sums one column.
    assert np.array_equal(
        segment_sum(values[:, 0], index, 10), np.bincount(index, values[:, 0], 10)
    )


def test_segment_sum_keeps_bincounts_bounds() -> None:
    """An index past ``n_segments`` lengthens the sums; a negative one is an error."""
    assert segment_sum([1.0, 2.0], [0, 3], 2).tolist() == [1.0, 0.0, 0.0, 2.0]
    assert segment_sum([], [], 3).tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(ValueError, match=">= 0"):
        segment_sum([1.0], [-1], 2)


def test_exclusive_posterior_matches_the_formula_in_2d() -> None:
    rng = np.random.default_rng(2)
    score = rng.normal(0, 30, (6, 5))
    question = np.array([2, 0, 2, 1, 2, 0])
    got = exclusive_posterior(score, question, 3)
    for q in range(3):
        rows = question == q
        odds = np.exp(score[rows].astype(np.longdouble))
        assert np.allclose(got[rows], (odds / (1 + odds.sum(axis=0))).astype(float))


@given(
    st.lists(st.integers(0, 40), min_size=0, max_size=25),
    st.integers(0, 3),
    st.sampled_from([0.1, 5.0, 800.0]),
    st.integers(0, 2**32 - 1),
)
def test_exclusive_posterior_is_each_questions_arithmetic_to_the_bit(
    question: list[int], samples: int, spread: float, seed: int
) -> None:
    """Questions taken alone, one by one (its maximum, and its sum in claim order),
    give the same bits: whatever questions the claims leave unnamed, in any order."""
    rng = np.random.default_rng(seed)
    q = np.array(question, dtype=np.intp)
    score = rng.normal(0, spread, (q.size, samples) if samples else q.size)
    closed = rng.random(41) < 0.3
    # A closed question's weights can all underflow: its claims are then 0 / 0.
    with np.errstate(invalid="ignore"):
        check_exclusive_posterior(score, q, closed)


def check_exclusive_posterior(score: np.ndarray, q: np.ndarray, closed: np.ndarray) -> None:
    got = exclusive_posterior(score, q, 41, closed)
    assert got.shape == score.shape
    for k in np.unique(q).tolist():
        rows = score[q == k]
        top = np.maximum(rows.max(axis=0), 0.0)
        weights = np.exp(rows - top)
        total = np.zeros_like(top)
        for w in weights:
            total = total + w
        total = total + (0.0 if closed[k] else np.exp(-top))
        np.testing.assert_array_equal(got[q == k], weights / total)


def test_noisy_or_and_logit() -> None:
    assert np.allclose(noisy_or([[0.5], [0.5], [1.0]], [0, 0, 1], 2), [[0.75], [1.0]])
    assert np.allclose(logit([0.5, 0.8]), [0.0, np.log(4)])
