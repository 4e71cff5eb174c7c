import numpy as np

from scoring.intervals import (
    credible_interval,
    reliability_draws,
)


def test_draws_are_seeded_by_source_and_read_only() -> None:
    a = reliability_draws("kr-nis", 6.5, 3.5, 64)
    assert np.array_equal(a, reliability_draws("kr-nis", 6.5, 3.5, 64))
    assert not np.array_equal(a, reliability_draws("ap", 6.5, 3.5, 64))
    assert not a.flags.writeable


def test_interval_matches_quantiles_and_contains_the_point() -> None:
    samples = np.random.default_rng(0).random((3, 101))
    low, high = credible_interval(samples, [0.5, 0.0, 1.0], 0.9)
    expected = np.quantile(samples, [0.05, 0.95], axis=1)
    assert np.allclose(low[0], expected[0][0]) and np.allclose(high[0], expected[1][0])
    assert low[1] == 0.0 and high[2] == 1.0
