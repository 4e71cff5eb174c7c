import numpy as np

from scoring.intervals import (
    DRAW_CACHE_SIZE,
    credible_interval,
    draw_cache,
    draws_and_mean,
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


def _first_survives(sources: int) -> bool:
    """Whether the first of ``sources`` sources drawn in turn is still memoised after
    the last (the same array comes back, not a fresh one)."""
    first = draws_and_mean("s0", 2.0, 3.0, 4)
    for i in range(1, sources):
        draws_and_mean(f"s{i}", 2.0, 3.0, 4)
    return draws_and_mean("s0", 2.0, 3.0, 4) is first


def test_a_job_draws_each_source_of_a_large_store_once() -> None:
    # A job meets its sources again every chunk: with more of them than the
    # usual cache holds, each would be drawn afresh every time.
    more = DRAW_CACHE_SIZE + 100
    assert not _first_survives(more)
    with draw_cache(more):
        inside = draws_and_mean("s7", 2.0, 3.0, 4)
        assert _first_survives(more)
    assert np.array_equal(inside, draws_and_mean("s7", 2.0, 3.0, 4))
    assert not _first_survives(more)
