"""The shared arithmetic's fast paths agree with the plain definitions."""

import numpy as np

from scoring.evidence import exclusive_posterior, logit, noisy_or, segment_sum


def test_segment_sum_matches_add_at() -> None:
    rng = np.random.default_rng(1)
    values = rng.random((40, 7))
    index = rng.integers(0, 9, 40)
    expected = np.zeros((10, 7))
    np.add.at(expected, index, values)
    assert np.allclose(segment_sum(values, index, 10), expected)
    assert np.allclose(segment_sum(values[:, 0], index, 10), expected[:, 0])


def test_exclusive_posterior_matches_the_formula_in_2d() -> None:
    rng = np.random.default_rng(2)
    score = rng.normal(0, 30, (6, 5))
    question = np.array([2, 0, 2, 1, 2, 0])
    got = exclusive_posterior(score, question, 3)
    for q in range(3):
        rows = question == q
        odds = np.exp(score[rows].astype(np.longdouble))
        assert np.allclose(got[rows], (odds / (1 + odds.sum(axis=0))).astype(float))


def test_noisy_or_and_logit() -> None:
    assert np.allclose(noisy_or([[0.5], [0.5], [1.0]], [0, 0, 1], 2), [[0.75], [1.0]])
    assert np.allclose(logit([0.5, 0.8]), [0.0, np.log(4)])
