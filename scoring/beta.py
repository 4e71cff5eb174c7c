"""Beta beliefs about a source's reliability: the chance that what it asserts is true."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

# Interval quantiles come from a fixed-seed sample: numpy has no Beta quantile
# function, and a fixed seed keeps every reported interval reproducible.
_INTERVAL_DRAWS = 4096
_INTERVAL_SEED = 20240918


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
    """Equal-tailed credible intervals of many Beta beliefs at once.

    Parameters
    ----------
    alpha, beta : array_like, shape (n,)
    level : float in (0, 1)

    Returns
    -------
    low, high : ndarray, shape (n,)
    """
    a = np.asarray(alpha, dtype=float)
    b = np.asarray(beta, dtype=float)
    rng = np.random.default_rng(_INTERVAL_SEED)
    draws = rng.beta(a[:, None], b[:, None], size=(a.size, _INTERVAL_DRAWS))
    tail = (1 - level) / 2
    low, high = np.quantile(draws, [tail, 1 - tail], axis=1)
    return low, high
