"""Beta beliefs about a source's reliability: the chance that what it asserts is true."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

# The incomplete beta function's continued fraction: terms at most, the relative
# size of a term at which it has converged, and the floor that keeps Lentz's
# method away from dividing by zero (Numerical Recipes, 3rd ed., 6.4).
_CF_TERMS = 10_000
_CF_EPS = 1e-15
_CF_FLOOR = 1e-300
# Halley steps of the quantile's inversion, at most (it converges in a handful).
_INVERSION_STEPS = 20

_lgamma = np.frompyfunc(math.lgamma, 1, 1)


@dataclass(frozen=True, slots=True)
class Beta:
    """A Beta(alpha, beta) belief; both parameters are pseudo-counts > 0."""

    alpha: float
    beta: float

    def __post_init__(self) -> None:
        if not (self.alpha > 0 and self.beta > 0 and np.isfinite(self.alpha + self.beta)):
            raise ValueError(f"Beta parameters must be finite and > 0, got {self}")

    @classmethod
    def from_reliability(cls, reliability: float, strength: float) -> Beta:
        """Belief with mean ``reliability`` worth ``strength`` pseudo-observations."""
        if not 0 < reliability < 1:
            raise ValueError("reliability must be in (0, 1)")
        if not strength > 0:
            raise ValueError("strength must be > 0")
        return cls(reliability * strength, (1 - reliability) * strength)

    @property
    def mean(self) -> float:
        return self.alpha / (self.alpha + self.beta)

    @property
    def strength(self) -> float:
        return self.alpha + self.beta

    def interval(self, level: float = 0.9) -> tuple[float, float]:
        """Equal-tailed credible interval of probability mass ``level``."""
        low, high = beta_intervals([self.alpha], [self.beta], level)
        return float(low[0]), float(high[0])


def beta_means(alpha: ArrayLike, beta: ArrayLike) -> NDArray[np.float64]:
    a = np.asarray(alpha, dtype=float)
    return a / (a + np.asarray(beta, dtype=float))


def beta_intervals(
    alpha: ArrayLike, beta: ArrayLike, level: float = 0.9
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Equal-tailed credible intervals of many Beta beliefs at once (exact quantiles).

    Parameters
    ----------
    alpha, beta : array_like, shape (n,)
    level : float in (0, 1)

    Returns
    -------
    low, high : ndarray, shape (n,)
    """
    tail = (1 - level) / 2
    return beta_quantile(tail, alpha, beta), beta_quantile(1 - tail, alpha, beta)


def _log_beta(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
    """``log B(a, b)``, elementwise."""
    return np.asarray(_lgamma(a) + _lgamma(b) - _lgamma(a + b), dtype=float)


def beta_cdf(x: ArrayLike, alpha: ArrayLike, beta: ArrayLike) -> NDArray[np.float64]:
    """The Beta(alpha, beta) distribution function at ``x``: the regularised incomplete
    beta function, by its continued fraction (modified Lentz), on the side of the
    mean where it converges fast.

    Parameters
    ----------
    x, alpha, beta : array_like, broadcast together
        ``alpha``, ``beta`` > 0.

    Returns
    -------
    ndarray
    """
    x, a, b = (np.asarray(v, dtype=float) for v in np.broadcast_arrays(x, alpha, beta))
    inside = (x > 0) & (x < 1)
    xi = np.where(inside, x, 0.5)
    swap = xi > (a + 1) / (a + b + 2)
    # I_x(a, b) = 1 - I_{1-x}(b, a): the fraction converges fast below the mean.
    xs, as_, bs = np.where(swap, 1 - xi, xi), np.where(swap, b, a), np.where(swap, a, b)
    front = np.exp(as_ * np.log(xs) + bs * np.log1p(-xs) - _log_beta(as_, bs)) / as_
    part = front * _continued_fraction(xs, as_, bs)
    value = np.where(swap, 1 - part, part)
    return np.where(inside, value, np.where(x >= 1, 1.0, 0.0))


def _continued_fraction(
    x: NDArray[np.float64], a: NDArray[np.float64], b: NDArray[np.float64]
) -> NDArray[np.float64]:
    """The incomplete beta function's continued fraction, elementwise (NR ``betacf``)."""

    def floored(v: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.where(np.abs(v) < _CF_FLOOR, _CF_FLOOR, v)

    c = np.ones_like(x)
    d = 1 / floored(1 - (a + b) * x / (a + 1))
    h = d.copy()
    # Each element stops at its own convergence, so its value does not depend on
    # what else is computed with it.
    active = np.ones(x.shape, dtype=bool)
    for m in range(1, _CF_TERMS + 1):
        even = m * (b - m) * x / ((a - 1 + 2 * m) * (a + 2 * m))
        d = 1 / floored(1 + even * d)
        c = floored(1 + even / c)
        h *= d * c
        odd = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 1 + 2 * m))
        d = 1 / floored(1 + odd * d)
        c = floored(1 + odd / c)
        step = d * c
        h = np.where(active, h * step, h)
        active &= np.abs(step - 1) >= _CF_EPS
        if not active.any():
            break
    return h


def beta_quantile(q: ArrayLike, alpha: ArrayLike, beta: ArrayLike) -> NDArray[np.float64]:
    """The ``q`` quantile of Beta(alpha, beta): ``beta_cdf`` inverted by Halley's
    method from Numerical Recipes' first guess (``invbetai``).

    Parameters
    ----------
    q : array_like in [0, 1]
    alpha, beta : array_like, > 0; all three broadcast together.

    Returns
    -------
    ndarray
    """
    p, a, b = (np.asarray(v, dtype=float) for v in np.broadcast_arrays(q, alpha, beta))
    # Above the median, 1 - the (1 - q) quantile of Beta(beta, alpha): the root is then
    # near 0, where floats are dense, never near 1.
    upper = p > 0.5
    p, a, b = np.where(upper, 1 - p, p), np.where(upper, b, a), np.where(upper, a, b)
    log_beta = _log_beta(a, b)
    # First guess: a normal approximation when both parameters are >= 1, else the
    # power laws of the two tails.
    pp = np.clip(np.where(p < 0.5, p, 1 - p), 1e-300, 0.5)
    t = np.sqrt(-2 * np.log(pp))
    z = (2.30753 + t * 0.27061) / (1 + t * (0.99229 + t * 0.04481)) - t
    z = np.where(p < 0.5, -z, z)
    al = (z * z - 3) / 6
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        h = 2 / (1 / (2 * a - 1) + 1 / (2 * b - 1))
        w = z * np.sqrt(al + h) / h - (1 / (2 * b - 1) - 1 / (2 * a - 1)) * (
            al + 5 / 6 - 2 / (3 * h)
        )
        normal = a / (a + b * np.exp(2 * w))
        left = np.exp(a * np.log(a / (a + b))) / a
        right = np.exp(b * np.log(b / (a + b))) / b
        total = left + right
        tails = np.where(
            p < left / total,
            (a * total * p) ** (1 / a),
            1 - (b * total * (1 - p)) ** (1 / b),
        )
    x = np.where((a >= 1) & (b >= 1), normal, tails)
    x = np.clip(np.nan_to_num(x, nan=0.5), 1e-300, 1 - 1e-16)
    settled = p <= 0
    last = np.full(x.shape, np.inf)
    for _ in range(_INVERSION_STEPS):
        error = beta_cdf(x, a, b) - p
        density = np.exp((a - 1) * np.log(x) + (b - 1) * np.log1p(-x) - log_beta)
        u = error / np.maximum(density, 1e-300)
        step = u / (1 - 0.5 * np.minimum(1.0, u * ((a - 1) / x - (b - 1) / (1 - x))))
        moved = x - step
        # A step out of (0, 1) goes halfway to the edge instead.
        moved = np.where(moved <= 0, 0.5 * x, moved)
        moved = np.where(moved >= 1, 0.5 * (x + 1), moved).clip(1e-300, 1 - 1e-16)
        x = np.where(settled, x, moved)
        # Done at full precision, or where the distribution function's own rounding is
        # reached: with large parameters (a source of thousands of claims) its exponent
        # is in the tens of thousands, so it is exact to ~1e-12 only, and the steps go
        # on back and forth by a few units in the last place instead of shrinking. That
        # rounding is judged against the root's distance to the nearer edge: a root a
        # hair below 1 still moves by steps of 1e-12 that are far from done.
        size = np.abs(step)
        rounding = (size <= 1e-12 * np.minimum(x, 1 - x)) & (size >= 0.5 * last)
        settled |= (size <= 1e-15 * x) | rounding
        last = size
        if settled.all():
            break
    x = np.where(p <= 0, 0.0, x)
    return np.where(upper, 1 - x, x)
