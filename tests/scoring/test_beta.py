"""Exact Beta quantiles (scoring.beta): the intervals every source document reports."""

from __future__ import annotations

from math import lgamma

import numpy as np
import pytest

from scoring import Beta, beta_intervals
from scoring.beta import beta_cdf, beta_quantile

Q = np.array([0.0, 0.01, 0.05, 0.3, 0.5, 0.7, 0.95, 0.99, 1.0])


@pytest.mark.parametrize(
    ("a", "b", "quantile"),
    [
        (1.0, 1.0, lambda q: q),  # uniform
        (3.0, 1.0, lambda q: q ** (1 / 3)),  # F(x) = x^a
        (1.0, 4.0, lambda q: 1 - (1 - q) ** (1 / 4)),  # F(x) = 1 - (1 - x)^b
        (0.5, 0.5, lambda q: np.sin(np.pi * q / 2) ** 2),  # arcsine
    ],
)
def test_quantiles_of_closed_form_cases(a: float, b: float, quantile: object) -> None:
    expected = quantile(Q)  # type: ignore[operator]
    np.testing.assert_allclose(beta_quantile(Q, a, b), expected, rtol=1e-12, atol=1e-15)


def test_the_cdf_of_beta_2_2_is_its_polynomial() -> None:
    x = np.linspace(0, 1, 101)
    np.testing.assert_allclose(beta_cdf(x, 2.0, 2.0), 3 * x**2 - 2 * x**3, atol=1e-14)


@pytest.mark.parametrize(("smallest", "largest"), [(0.3, 1e4), (1e3, 1e6)])
def test_quantiles_invert_the_cdf_over_a_wide_range_of_beliefs(
    smallest: float, largest: float
) -> None:
    # The second range is of sources of thousands of claims, whose cdf is exact to about
    # 1e-12 only (its exponent is in the tens of thousands): the inversion, which stops
    # on that rounding there, must still invert it.
    rng = np.random.default_rng(7)
    a = np.exp(rng.uniform(np.log(smallest), np.log(largest), 2000))
    b = np.exp(rng.uniform(np.log(smallest), np.log(largest), 2000))
    q = rng.uniform(0.001, 0.999, 2000)
    x = beta_quantile(q, a, b)
    assert ((x > 0) & (x < 1)).all()
    np.testing.assert_allclose(beta_cdf(x, a, b), q, atol=1e-10)


def test_intervals_agree_with_a_large_sample() -> None:
    rng = np.random.default_rng(3)
    a, b = np.array([2.0, 8.0, 0.7, 40.0]), np.array([5.0, 2.0, 0.9, 60.0])
    draws = rng.beta(a[:, None], b[:, None], size=(4, 400_000))
    low, high = beta_intervals(a, b, 0.9)
    sample_low, sample_high = np.quantile(draws, [0.05, 0.95], axis=1)
    np.testing.assert_allclose(low, sample_low, atol=2e-3)
    np.testing.assert_allclose(high, sample_high, atol=2e-3)


def test_an_interval_does_not_depend_on_what_else_is_computed() -> None:
    alone = Beta(3.0, 4.0).interval()
    low, high = beta_intervals([10.0, 3.0, 0.5], [1.0, 4.0, 0.5])
    assert (low[1], high[1]) == alone
    assert low[1] < Beta(3.0, 4.0).mean < high[1]


def test_a_quantile_a_hair_below_one_is_found_to_the_last_float() -> None:
    # Beta(0.05, 8e5) above its median is found as 1 - a quantile of Beta(8e5, 0.05),
    # a root about 1e-12 below 1 that Halley's steps of ~1e-12 approach slowly: they
    # must not be taken for the cdf's rounding. Floats there are 1.1e-16 apart, so the
    # cdf can be matched only to its change over a few of them.
    a, b = np.array([0.05133, 0.05122, 0.05054]), np.array([8.341e5, 9.045e5, 5.699e5])
    q = np.array([0.515468, 0.500083, 0.503969])
    x = beta_quantile(q, a, b)
    log_beta = np.array([lgamma(i) + lgamma(j) - lgamma(i + j) for i, j in zip(a, b, strict=True)])
    log_density = (a - 1) * np.log(x) + (b - 1) * np.log1p(-x) - log_beta
    float_step = np.exp(log_density) * np.spacing(1 - x)
    assert np.all(np.abs(beta_cdf(x, a, b) - q) <= 4 * float_step)
