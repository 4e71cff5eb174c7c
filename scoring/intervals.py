"""Monte Carlo credible intervals from the uncertainty of sources' reliabilities."""

from __future__ import annotations

import functools
import zlib

import numpy as np
from numpy.typing import ArrayLike

from scoring.evidence import FloatArray

# Entries of the draw cache (2 KB each at 256 samples, so at most 32 MB): a
# serving process's sources. A re-scoring job keeps its store's in a
# ``scoring.confidence.DrawTable``.
DRAW_CACHE_SIZE = 1 << 14


def new_draws_and_mean(source_id: str, alpha: float, beta: float, samples: int) -> FloatArray:
    """``draws_and_mean`` made afresh, not memoised (for a caller that keeps them itself)."""
    rng = np.random.default_rng(zlib.crc32(source_id.encode()))
    row = np.empty(samples + 1)
    row[:samples] = rng.beta(alpha, beta, samples)
    row[samples] = alpha / (alpha + beta)
    row.flags.writeable = False
    return row


_memo = functools.lru_cache(maxsize=DRAW_CACHE_SIZE)(new_draws_and_mean)


def draws_and_mean(source_id: str, alpha: float, beta: float, samples: int) -> FloatArray:
    """``reliability_draws`` followed by the belief's mean ``alpha / (alpha + beta)``.

    The scorer pushes both through the model in one pass. Memoised; the
    returned array is read-only.

    Returns
    -------
    ndarray, shape (samples + 1,)
    """
    return _memo(source_id, alpha, beta, samples)


def clear_draw_cache() -> None:
    """Forget every memoised draw (benchmarks of a cold scorer)."""
    _memo.cache_clear()


def reliability_draws(source_id: str, alpha: float, beta: float, samples: int) -> FloatArray:
    """Draws of one source's reliability from its Beta(alpha, beta) belief.

    Seeded by a stable hash of the source id alone, so a source gets the same
    draws whatever else is scored with it: a claim's interval does not depend
    on the batch it came in. Memoised, since creating a generator costs more
    than the draws; the returned array is read-only.

    Returns
    -------
    ndarray, shape (samples,)
    """
    return draws_and_mean(source_id, alpha, beta, samples)[:samples]


def quantile_positions(n: int, level: float) -> list[tuple[int, int, float]]:
    """Where an equal-tailed interval's bounds lie among ``n`` sorted samples.

    numpy's default (linear) method: a bound is ``sorted[below] * (1 - frac) +
    sorted[above] * frac``.

    Returns
    -------
    list of (below, above, frac)
        For the lower bound, then the upper.
    """
    last = n - 1
    tail = (1 - level) / 2
    positions = []
    for q in (tail, 1 - tail):
        position = q * last
        below = int(np.floor(position))
        positions.append((below, min(below + 1, last), position - below))
    return positions


def credible_interval(
    samples: ArrayLike, point: ArrayLike, level: float = 0.9
) -> tuple[FloatArray, FloatArray]:
    """Equal-tailed intervals of sampled values, widened to contain the point estimates.

    Quantiles interpolate linearly between order statistics (numpy's default
    method), computed from one sort, which is several times cheaper than
    ``np.quantile`` on small rows.

    Parameters
    ----------
    samples : array_like, shape (n, s)
        s draws of each of n quantities.
    point : array_like, shape (n,)
        Point estimate of each quantity; the plug-in estimate need not lie
        between the sample quantiles of a skewed distribution.
    level : float in (0, 1)

    Returns
    -------
    low, high : ndarray, shape (n,)
    """
    ordered = np.sort(np.asarray(samples, dtype=float), axis=1)
    bounds = [
        ordered[:, below] * (1 - frac) + ordered[:, above] * frac
        for below, above, frac in quantile_positions(ordered.shape[1], level)
    ]
    p = np.asarray(point, dtype=float)
    return np.minimum(bounds[0], p), np.maximum(bounds[1], p)
